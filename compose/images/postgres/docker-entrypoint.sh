#!/usr/bin/env bash
# Entrypoint for n3xus/postgres:15, following the official postgres image's environment contract:
#   POSTGRES_PASSWORD          superuser password; required unless POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER              superuser name (default postgres)
#   POSTGRES_DB                database created on first start (default: $POSTGRES_USER)
#   POSTGRES_INITDB_ARGS       extra initdb arguments
#   POSTGRES_HOST_AUTH_METHOD  pg_hba method for network connections (default scram-sha-256)
#   PGDATA                     data directory (default /var/lib/postgresql/data)
#   VAR_FILE                   read VAR from a file (for POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB, POSTGRES_INITDB_ARGS)
# and /docker-entrypoint-initdb.d/*.sh, *.sql, *.sql.gz run once after initdb, then the SQL file N3XUS_INIT_SQL_FILE
# names, if any (n3xus's: the services' roles, from a secret file). The server runs as postgres.
set -Eeuo pipefail

# file_env VAR [DEFAULT]: VAR from the environment, or from the file named by VAR_FILE, or DEFAULT.
file_env() {
  local var="$1" file_var="${1}_FILE" default="${2:-}" value
  if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
    echo >&2 "error: both $var and $file_var are set (but are exclusive)"
    exit 1
  fi
  value="$default"
  if [ -n "${!var:-}" ]; then
    value="${!var}"
  elif [ -n "${!file_var:-}" ]; then
    value="$(< "${!file_var}")"
  fi
  export "$var"="$value"
  unset "$file_var"
}

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = 'postgres' ] && [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 00700 "$PGDATA"
  chmod 03775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

if [ "$1" = 'postgres' ]; then
  file_env POSTGRES_PASSWORD
  file_env POSTGRES_USER postgres
  file_env POSTGRES_DB "$POSTGRES_USER"
  file_env POSTGRES_INITDB_ARGS
  : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"

  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
      echo >&2 'error: Database is uninitialized and superuser password is not specified.'
      echo >&2 '       Set POSTGRES_PASSWORD to a non-empty value for the superuser, or'
      echo >&2 '       POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without a password (not recommended).'
      exit 1
    fi

    # POSTGRES_INITDB_ARGS is split on spaces on purpose, as upstream does. The password goes through a process
    # substitution written on the initdb line itself: its file descriptor only lives as long as that one command.
    # shellcheck disable=SC2086
    if [ -n "$POSTGRES_PASSWORD" ]; then
      initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") $POSTGRES_INITDB_ARGS
    else
      initdb --username="$POSTGRES_USER" $POSTGRES_INITDB_ARGS
    fi
    # The socket inside the container trusts local users (as upstream); the network needs the password.
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >> "$PGDATA/pg_hba.conf"
    if [ "$POSTGRES_HOST_AUTH_METHOD" = 'md5' ]; then
      # Roles created later get md5 hashes; the superuser's scram hash still works with md5 in pg_hba.
      echo "password_encryption = md5" >> "$PGDATA/postgresql.conf"
    fi

    # A server on the socket only, so nothing outside sees a half-initialised database.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
    psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
    if [ "$POSTGRES_DB" != 'postgres' ]; then
      "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<< 'CREATE DATABASE :"db";'
    fi
    for f in /docker-entrypoint-initdb.d/*; do
      [ -e "$f" ] || continue
      case "$f" in
        *.sh) if [ -x "$f" ]; then echo "running $f"; "$f"; else echo "sourcing $f"; . "$f"; fi ;;
        *.sql) echo "running $f"; "${psql[@]}" --dbname "$POSTGRES_DB" -f "$f" ;;
        *.sql.gz) echo "running $f"; gunzip -c "$f" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
        *) echo "ignoring $f" ;;
      esac
    done
    if [ -n "${N3XUS_INIT_SQL_FILE:-}" ]; then
      echo "running $N3XUS_INIT_SQL_FILE"
      "${psql[@]}" --dbname "$POSTGRES_DB" --quiet -f "$N3XUS_INIT_SQL_FILE" > /dev/null
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop
    echo 'PostgreSQL init process complete; ready for start up.'
  else
    echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
  fi
  unset POSTGRES_PASSWORD
fi

exec "$@"
