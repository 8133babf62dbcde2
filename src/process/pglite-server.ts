/**
 * The embedded PostgreSQL's server, run as a process of its own by the process driver: PGlite (PostgreSQL in
 * WebAssembly, one session) shared by many client connections over the wire protocol, with what the fleet needs
 * from a multi-session server kept per connection:
 * - the `search_path` a client asks for at connect time (`options=-c search_path=<schema>`, how every service
 *   keeps to its own schema) is set on the session before each of that client's messages, when it differs;
 * - a client's extended-protocol sequence (Parse … Sync) and its transaction (BEGIN … COMMIT) run without another
 *   client's messages in between.
 * pglite-socket's server, which this replaces, runs every connection with PGlite's defaults and lets sequences
 * interleave: with the full fleet, services whose tables share a name collided in `public`.
 *
 *   node pglite-server.js --db=<dir> --port=<port> [--host=127.0.0.1]
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { db: { type: 'string' }, port: { type: 'string' }, host: { type: 'string', default: '127.0.0.1' } } });
if (values.db === undefined || values.port === undefined || !/^\d+$/.test(values.port)) {
  process.stderr.write('usage: pglite-server --db=<dir> --port=<port> [--host=127.0.0.1]\n');
  process.exit(64);
}

interface Db {
  waitReady: Promise<void>;
  exec(sql: string): Promise<unknown>;
  execProtocolRawStream(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }): Promise<void>;
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
  isInTransaction(): boolean;
  close(): Promise<void>;
}

const { PGlite } = (await import('@electric-sql/pglite')) as unknown as { PGlite: new (dataDir: string) => Db };
const db = new PGlite(values.db);
await db.waitReady;

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const PROTOCOL_3 = 196608;
/** Messages that leave the session in the middle of an extended-protocol sequence, until Sync. */
const EXTENDED = new Set(['P', 'B', 'D', 'E', 'C', 'H', 'F']);

interface Client {
  id: number;
  socket: net.Socket;
  searchPath: string | undefined;
  inbox: Uint8Array[];
  closed: boolean;
}

/** The search_path in a startup message's `options` (`-c search_path=x` or `--search_path=x`), if any. */
function searchPathOf(startup: Buffer): string | undefined {
  const fields = startup.subarray(8).toString('utf8').split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] !== 'options') continue;
    const match = /(?:-c\s*|--)search_path=([^\s]+)/.exec(fields[i + 1]!);
    // Only plain schema names (the fleet's are): the value goes into a SET statement.
    if (match && /^[A-Za-z_][A-Za-z0-9_$]*(,[A-Za-z_][A-Za-z0-9_$]*)*$/.test(match[1]!)) return match[1];
  }
  return undefined;
}

const clients: Client[] = [];
let sessionPath: string | undefined;
/** The client whose sequence or transaction is open: only its messages run until it ends. */
let owner: Client | undefined;
let running = false;

/** Runs queued messages one at a time, in arrival order, the owner's first while it holds the session. */
async function pump(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (;;) {
      const client = owner !== undefined ? (owner.inbox.length > 0 ? owner : undefined) : clients.find((c) => c.inbox.length > 0);
      if (client === undefined) {
        if (owner !== undefined && owner.closed) {
          // Its connection went away mid-transaction: what it began is rolled back, as a server would.
          if (db.isInTransaction()) await db.exec('ROLLBACK').catch(() => undefined);
          owner = undefined;
          continue;
        }
        return;
      }
      const message = client.inbox.shift()!;
      const type = String.fromCharCode(message[0]!);
      const wanted = client.searchPath ?? 'public';
      if (owner === undefined && sessionPath !== wanted) {
        await db.exec(`SET search_path TO ${wanted}`);
        sessionPath = wanted;
      }
      await db.runExclusive(() =>
        db.execProtocolRawStream(message, {
          onRawData: (data) => {
            if (!client.socket.destroyed) client.socket.write(data);
          },
        }),
      );
      owner = EXTENDED.has(type) || db.isInTransaction() ? client : undefined;
    }
  } finally {
    running = false;
  }
}

let nextId = 1;
const server = net.createServer((socket) => {
  const client: Client = { id: nextId++, socket, searchPath: undefined, inbox: [], closed: false };
  let buffer = Buffer.alloc(0);
  let started = false;
  const close = (): void => {
    client.closed = true;
    client.inbox.length = 0;
    const index = clients.indexOf(client);
    if (index >= 0) clients.splice(index, 1);
    void pump();
  };
  socket.on('error', close);
  socket.on('close', close);
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (;;) {
      if (!started) {
        if (buffer.length < 8) return;
        const length = buffer.readInt32BE(0);
        if (buffer.length < length) return;
        const code = buffer.readInt32BE(4);
        const message = buffer.subarray(0, length);
        buffer = buffer.subarray(length);
        if (code === SSL_REQUEST) {
          socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST) {
          socket.end();
          return;
        }
        if (code !== PROTOCOL_3) {
          socket.destroy();
          return;
        }
        started = true;
        client.searchPath = searchPathOf(message);
        clients.push(client);
        client.inbox.push(new Uint8Array(message));
        continue;
      }
      if (buffer.length < 5) break;
      const length = 1 + buffer.readInt32BE(1);
      if (buffer.length < length) break;
      const message = buffer.subarray(0, length);
      buffer = buffer.subarray(length);
      if (message[0] === 0x58) {
        // Terminate: the connection ends; the shared session goes on.
        socket.end();
        close();
        return;
      }
      client.inbox.push(new Uint8Array(message));
    }
    void pump().catch((error: unknown) => {
      process.stderr.write(`${new Date().toISOString()} ${(error as Error).message}\n`);
      socket.destroy();
    });
  });
});

server.listen({ port: Number(values.port), host: values.host }, () => process.stdout.write(`embedded PostgreSQL (PGlite) listening on ${values.host}:${values.port}\n`));
const stop = (): void => {
  server.close();
  void db.close().finally(() => process.exit(0));
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
