import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { buildTimeLawCheckScript } from '../../services/_kit/src/law.ts';
import { loadCatalog, type Catalog } from './catalog.ts';
import { REPO_ROOT } from './generate.ts';
import { renderCompileCacheScript, renderHealthScript, renderStartScript } from './service-files.ts';

/** Where `npm run build` puts the fleet's build context: `runtime/` (the shared layer) and `services/<name>/`. */
export const FLEET_DIST = join(REPO_ROOT, 'dist', 'fleet');

/** Statically linked busybox locations to take the health probe from, in order. */
const BUSYBOX_CANDIDATES = [process.env.N3XUS_BUSYBOX, '/bin/busybox', '/usr/bin/busybox'].filter((p): p is string => !!p);

// CommonJS dependencies (pg, ioredis, express) call require() for Node built-ins; an ESM bundle needs one.
const banner = "import { createRequire as __n3xusRequire } from 'node:module'; const require = __n3xusRequire(import.meta.url);";

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node22',
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  // pg loads its native binding only when asked to; the fleet uses the pure-JS client.
  external: ['pg-native'],
};

/** True when `path` is an ELF executable without a program interpreter, i.e. statically linked. */
export function isStaticElf(bytes: Buffer): boolean {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2) return false;
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const type = bytes.readUInt32LE(phoff + i * phentsize);
    if (type === 3) return false; // PT_INTERP: dynamically linked
  }
  return true;
}

/**
 * Builds the fleet's image context: the kit and its dependencies bundled into one module under
 * `runtime/node_modules/@n3xus/kit`, the build-time law check and the health probe under `runtime/bin`, and
 * each service bundled (the kit left external) with its Dockerfile under `services/<name>/`.
 */
export async function buildFleet(catalog: Catalog = loadCatalog(), out = FLEET_DIST): Promise<{ busybox: string | undefined }> {
  rmSync(out, { recursive: true, force: true });
  const kitDir = join(out, 'runtime', 'node_modules', '@n3xus', 'kit');
  mkdirSync(kitDir, { recursive: true });
  await build({ ...common, entryPoints: [join(REPO_ROOT, 'services/_kit/src/index.ts')], outfile: join(kitDir, 'index.mjs'), banner: { js: banner } });
  writeFileSync(join(kitDir, 'package.json'), JSON.stringify({ name: '@n3xus/kit', version: '3.0.0', type: 'module', exports: './index.mjs' }, null, 2) + '\n');
  // Outside an image, services/<name>/main.mjs finds the bundled kit through this link, as /opt/n3xus does inside.
  symlinkSync('runtime/node_modules', join(out, 'node_modules'));

  const bin = join(out, 'runtime', 'bin');
  mkdirSync(bin, { recursive: true });
  const scripts: Array<[string, string]> = [
    ['law-check.sh', buildTimeLawCheckScript()],
    ['health.sh', renderHealthScript()],
    ['start.mjs', renderStartScript()],
    ['compile-cache.mjs', renderCompileCacheScript()],
  ];
  for (const [file, content] of scripts) {
    writeFileSync(join(bin, file), content);
    chmodSync(join(bin, file), 0o755);
  }
  const busybox = BUSYBOX_CANDIDATES.find((p) => existsSync(p) && isStaticElf(readFileSync(p)));
  if (busybox) {
    copyFileSync(busybox, join(bin, 'busybox'));
    chmodSync(join(bin, 'busybox'), 0o755);
  }

  await Promise.all(
    catalog.services.map(async (entry) => {
      const dir = join(out, 'services', entry.name);
      mkdirSync(dir, { recursive: true });
      await build({
        ...common,
        external: ['@n3xus/kit'],
        stdin: {
          contents: "import definition from './app.ts';\nimport { main } from '@n3xus/kit';\nawait main(definition);\n",
          resolveDir: join(REPO_ROOT, 'services', entry.name),
          sourcefile: `${entry.name}/main.ts`,
          loader: 'ts',
        },
        outfile: join(dir, 'main.mjs'),
      });
      copyFileSync(join(REPO_ROOT, 'services', entry.name, 'Dockerfile'), join(dir, 'Dockerfile'));
    }),
  );
  return { busybox };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const { busybox } = await buildFleet();
  console.log(`Built dist/fleet in ${Math.round(performance.now() - started)} ms.`);
  if (!busybox) {
    console.warn('Warning: no statically linked busybox found (apt-get install busybox-static, or set N3XUS_BUSYBOX); images built from dist/fleet will have no health probe.');
  }
}
