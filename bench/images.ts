/**
 * Rebuilding the 98 service images after a change to the service kit, against the engine's floor, in one run:
 *   node --import tsx bench/images.ts [--runs N] [--concurrency C]
 *
 * Each run:
 *   a. touches the kit: one statement appended to services/_kit/src/index.ts (a global assignment, which the bundler
 *      keeps), so the shared runtime layer changes and every service image is out of date;
 *   b. times `n3xus images build` (the built CLI, process start and bundling included; the bases are up to date and
 *      skipped), which must rebuild all 98;
 *   c. times `n3xus images build` again, unchanged: the no-op, every image skipped;
 *   d. the floor: 98 builds through the same engine API at the same concurrency of the least a service image can
 *      be, FROM the same base and one COPY of that service's own files (no shared layer, no law check), then removed.
 * The kit file is restored afterwards and the images rebuilt from it (untimed), so the engine ends as it started.
 * Medians over N runs (default 2); the ratio is against the floor. Needs the bases built (`n3xus images build`).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pLimit from 'p-limit';
import { DockerEngine } from '../src/docker/engine.ts';
import { FLEET_DIST } from '../src/fleet/build-fleet.ts';
import { loadCatalog } from '../src/fleet/catalog.ts';
import { BASE_IMAGE_TAGS } from '../src/images/bases.ts';
import { run } from '../src/process/run.ts';
import { projectRoot } from '../src/util/project-root.ts';
import { countOption, median, seconds } from './lib/util.ts';

const ROOT = projectRoot();
const runs = countOption('--runs', 2);
const concurrency = countOption('--concurrency', 2);

const catalog = loadCatalog();
const engine = new DockerEngine();
const kitFile = path.join(ROOT, 'services', '_kit', 'src', 'index.ts');
const original = readFileSync(kitFile, 'utf8');

/** `n3xus images build`, timed; returns the time and how many images it built. */
async function imagesBuild(): Promise<{ ms: number; built: number }> {
  const startedAt = performance.now();
  const { stdout } = await run(process.execPath, [path.join(ROOT, 'bin', 'run.js'), 'images', 'build', '--concurrency', String(concurrency)], { timeoutMs: 1_800_000 });
  return { ms: performance.now() - startedAt, built: stdout.split('\n').filter((l) => /: built \(/.test(l) && !/^n3xus\/(debian|node|postgres|redis|cli)[:]/.test(l)).length };
}

/** d: 98 builds of FROM base + COPY of the service's own files, at the same concurrency; the images removed after. */
async function floor(): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-bench-images-'));
  try {
    for (const s of catalog.services) {
      cpSync(path.join(FLEET_DIST, 'services', s.name), path.join(dir, s.name), { recursive: true });
      writeFileSync(path.join(dir, s.name, 'Dockerfile.floor'), `FROM ${BASE_IMAGE_TAGS.node}\nCOPY ${s.name}/ /opt/n3xus/services/${s.name}/\n`);
    }
    const limit = pLimit(concurrency);
    const startedAt = performance.now();
    await Promise.all(
      catalog.services.map((s) =>
        limit(() => engine.buildImage({ contextDir: dir, files: [s.name], dockerfile: `${s.name}/Dockerfile.floor`, tag: `n3xus-bench-floor/${s.name}:1`, buildArgs: {}, labels: {}, noCache: true })),
      ),
    );
    return performance.now() - startedAt;
  } finally {
    for (const s of catalog.services) await engine.image.remove(`n3xus-bench-floor/${s.name}:1`, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = { rebuild: [] as number[], noop: [] as number[], floor: [] as number[] };
console.log('bringing the images up to date first…');
await imagesBuild();
try {
  for (let i = 1; i <= runs; i++) {
    writeFileSync(kitFile, `${original}\n(globalThis as Record<string, unknown>).__n3xusBenchTouch = '${Date.now()}-${i}';\n`);
    const rebuild = await imagesBuild();
    if (rebuild.built !== catalog.services.length) throw new Error(`after touching the kit, images build rebuilt ${rebuild.built} service images, not ${catalog.services.length}`);
    results.rebuild.push(rebuild.ms);
    const noop = await imagesBuild();
    if (noop.built !== 0) throw new Error(`an unchanged images build rebuilt ${noop.built} service images`);
    results.noop.push(noop.ms);
    const floorMs = await floor();
    results.floor.push(floorMs);
    console.log(`run ${i} of ${runs}: rebuild ${seconds(rebuild.ms)}, no-op ${seconds(noop.ms)}, floor ${seconds(floorMs)}`);
  }
} finally {
  writeFileSync(kitFile, original);
  console.log('kit restored; rebuilding the images from it…');
  await imagesBuild();
}

const row = (what: string, xs: number[]): string => `${what.padEnd(60)} ${seconds(median(xs)).padStart(7)}   (${xs.map(seconds).join(', ')})`;
console.log(`\n${catalog.services.length} service images, ${concurrency} at a time, medians of ${runs} run(s), ${os.cpus().length} cores:`);
console.log(row('n3xus images build after a kit change (whole command)', results.rebuild));
console.log(row('n3xus images build, nothing changed (whole command)', results.noop));
console.log(row('floor: FROM base + COPY of the service, per service', results.floor));
console.log(`rebuild / floor                                              ${(median(results.rebuild) / median(results.floor)).toFixed(2)}x`);
