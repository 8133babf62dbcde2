import type { Catalog, CatalogEntry } from './catalog.ts';

/** Where every container finds its secrets, as compose and Swarm mount them: `/run/secrets/<target>`. */
export const SECRETS_MOUNT = '/run/secrets';

/** The public base image a service Dockerfile uses when no other is given; air-gapped sites pass their own. */
export const DEFAULT_NODE_IMAGE = 'node:24-bookworm-slim';

/** Where the shared runtime layer and the services live inside every image. */
export const RUNTIME_DIR = '/opt/n3xus';

/**
 * Docker's own healthcheck of every service. Each check is an exec in the container, ~0.14 CPU-s of engine, runc
 * and shim work whatever it runs, so across 98 services the interval decides the idle fleet's CPU: measured here,
 * every 180 s cost ~0.10 of one core, every 300 s ~0.05, every 600 s ~0.026, every 900 s ~0.017. Launch, status and verify do not wait
 * on it (they probe the published port) and a crashed service is restarted by its restart policy, so a long
 * interval costs neither start-up time nor recovery; it only makes Docker's own verdict on a hung service slower.
 * The timeout is generous: on a saturated machine the exec itself can take seconds, and three timed-out checks
 * mark a healthy server unhealthy (seen here with PostgreSQL's 3 s checks while 98 services started).
 */
export const HEALTHCHECK = { intervalSeconds: 900, timeoutSeconds: 10, startPeriodSeconds: 60, retries: 3 };

/**
 * PostgreSQL's and Redis's healthchecks run more often: compose starts every service only once both are healthy,
 * and the engine (API 1.41, no start_interval) runs the first check one whole interval after start. Two
 * containers every 30 s cost ~0.01 of one core; n3xus launch sets a 1 s start interval on engines that know it
 * (API 1.44 and up), so it does not wait for the first interval.
 */
export const INFRA_HEALTHCHECK = { ...HEALTHCHECK, intervalSeconds: 30, startPeriodSeconds: 30 };

/** The image tag of a service. */
export function imageTag(catalog: Catalog, name: string): string {
  return `n3xus/${name}:${catalog.version}`;
}

/**
 * The health probe command, run inside the container: a static busybox wget, so no curl and no second node.
 * No `-T`: busybox 1.35's wget crashes with it; Docker's own healthcheck timeout bounds the probe instead.
 */
export function healthProbe(port: number): string[] {
  return [`${RUNTIME_DIR}/bin/busybox`, 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${port}/health`];
}

/**
 * Node flags of every service: a 1 MB young generation and a capped old one keep an idle service's resident
 * memory low; the services hold little state, so the extra scavenges cost next to nothing.
 */
export const NODE_FLAGS = ['--max-semi-space-size=1', '--max-old-space-size=96'];

/** Where the service images keep Node's compile cache of the kit (see renderCompileCacheScript). */
export const COMPILE_CACHE_DIR = `${RUNTIME_DIR}/compile-cache`;

/** The user the services run as (the Dockerfile's USER); Node's compile cache is keyed by it. */
export const SERVICE_UID = 1000;

/** A Dockerfile instruction's exec form: `["node", "--flag", "file"]`. */
function execForm(args: readonly string[]): string {
  return JSON.stringify(args).replace(/","/g, '", "');
}

/**
 * The Dockerfile of one service (generated; the catalog and this template are its source). Everything up to the
 * service's own COPY is the same in all 98, so the engine builds and stores those layers once; only the last
 * three instructions are built per service.
 */
export function renderDockerfile(entry: CatalogEntry): string {
  const dir = `${RUNTIME_DIR}/services/${entry.name}`;
  const cmd = execForm(['node', ...NODE_FLAGS, `${RUNTIME_DIR}/bin/start.mjs`]);
  return `# ${entry.name}: ${entry.description}.
# Generated from services/catalog.yaml by \`npm run gen\` (template: src/fleet/service-files.ts); do not edit.
# Build context: dist/fleet (made by \`npm run build\`).
ARG BASE_IMAGE=${DEFAULT_NODE_IMAGE}
FROM \${BASE_IMAGE}
# The shared runtime layer (service kit, law check, health probe): the same bytes in every service image, so the
# engine stores it once for the whole fleet.
COPY runtime/ ${RUNTIME_DIR}/
# Node's compile cache of the kit, filled here with the services' Node flags and user (Node keys the cache by both):
# a service starts without compiling the 2 MB kit bundle. The same layer in all 98, built once.
RUN ${execForm(['node', ...NODE_FLAGS, `${RUNTIME_DIR}/bin/compile-cache.mjs`])}
ENV NODE_COMPILE_CACHE=${COMPILE_CACHE_DIR}
# N3XUS LAW 55-45-17, build-time layer: the build stops here unless N3XUS_HANDSHAKE is right.
ARG N3XUS_HANDSHAKE
RUN ["/bin/sh", "${RUNTIME_DIR}/bin/law-check.sh"]
USER ${SERVICE_UID}:${SERVICE_UID}
HEALTHCHECK --interval=${HEALTHCHECK.intervalSeconds}s --timeout=${HEALTHCHECK.timeoutSeconds}s --start-period=${HEALTHCHECK.startPeriodSeconds}s --retries=${HEALTHCHECK.retries} CMD ["/bin/sh", "${RUNTIME_DIR}/bin/health.sh"]
CMD ${cmd}
COPY services/${entry.name}/ ${dir}/
ENV N3XUS_SERVICE=${entry.name} PORT=${entry.port}
EXPOSE ${entry.port}
`;
}

/**
 * Fills Node's compile cache of the kit at image build time, as root: makes the cache directory, becomes the
 * services' user (the cache is keyed by the user ID and by the V8 flags, so it runs with NODE_FLAGS), compiles the
 * kit by importing it (the kit's module does nothing on import but define), and writes the cache. The build fails
 * if no cache was written, rather than shipping an image that compiles at every start.
 */
export function renderCompileCacheScript(): string {
  return `// Fills Node's compile cache of the kit in a service image. Generated by src/fleet/service-files.ts; do not edit.
import { chownSync, mkdirSync, readdirSync } from 'node:fs';
import module from 'node:module';
const dir = ${JSON.stringify(COMPILE_CACHE_DIR)};
mkdirSync(dir, { recursive: true });
chownSync(dir, ${SERVICE_UID}, ${SERVICE_UID});
process.setgid(${SERVICE_UID});
process.setuid(${SERVICE_UID});
const enabled = module.enableCompileCache(dir);
if (enabled.status !== module.constants.compileCacheStatus.ENABLED) {
  console.error(\`compile cache: not enabled in \${dir}: \${enabled.message ?? enabled.status}\`);
  process.exit(1);
}
await import('@n3xus/kit');
module.flushCompileCache();
const written = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
if (written.length === 0) {
  console.error(\`compile cache: nothing written to \${dir}\`);
  process.exit(1);
}
console.log(\`compile cache: \${written.length} entries in \${enabled.directory}\`);
`;
}

/** The image's health probe script: busybox wget against the service's own port (no curl, no second node). */
export function renderHealthScript(): string {
  return `#!/bin/sh
# Docker healthcheck of every n3xus service image. Generated by src/fleet/service-files.ts; do not edit.
exec ${RUNTIME_DIR}/bin/busybox wget -q -O /dev/null "http://127.0.0.1:\${PORT:-8080}/health"
`;
}

/**
 * The entry point: starts the service that N3XUS_SERVICE names, from its bundle. The bundle is found relative to
 * the script, so the same file works in an image (`/opt/n3xus/bin/start.mjs` next to `/opt/n3xus/services`) and
 * in the build output the process driver runs (`dist/fleet/runtime/bin/start.mjs`, services in `dist/fleet/services`).
 */
export function renderStartScript(): string {
  return `// Entry point of every n3xus service image. Generated by src/fleet/service-files.ts; do not edit.
import { existsSync } from 'node:fs';
const name = process.env.N3XUS_SERVICE ?? '';
if (!/^[a-z][a-z0-9-]{1,62}$/.test(name)) {
  process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), level: 'fatal', service: name || 'unknown', event: 'invalid_configuration', err: { message: 'N3XUS_SERVICE must name the service to start' } }) + '\\n');
  process.exit(78);
}
// In an image: ${RUNTIME_DIR}/bin/../services; in dist/fleet: runtime/bin/../../services.
const main = [\`../services/\${name}/main.mjs\`, \`../../services/\${name}/main.mjs\`].map((p) => new URL(p, import.meta.url)).find((u) => existsSync(u));
if (main === undefined) {
  process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), level: 'fatal', service: name, event: 'invalid_configuration', err: { message: \`no bundle for service \${name} next to \${import.meta.url}\` } }) + '\\n');
  process.exit(78);
}
await import(main.href);
`;
}

/** The manifest (package.json) of one service: its name and its one dependency, the shared kit. */
export function renderManifest(catalog: Catalog, entry: CatalogEntry): string {
  const manifest = {
    name: `@n3xus/${entry.name}`,
    version: catalog.version.includes('.') && catalog.version.split('.').length === 2 ? `${catalog.version}.0` : catalog.version,
    private: true,
    description: entry.description,
    type: 'module',
    main: 'app.ts',
    dependencies: { '@n3xus/kit': '3.0.0' },
  };
  return JSON.stringify(manifest, null, 2) + '\n';
}
