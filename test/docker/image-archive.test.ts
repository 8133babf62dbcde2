import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, open, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.ts';
import {
  ArchiveInterruptedError,
  EnvFileError,
  ImageArchiveError,
  MissingImagesError,
  loadFleetImages,
  loadImageArchive,
  parseEnvFile,
  readArchiveManifest,
  saveImageArchive,
} from '../../src/images/archive.ts';
import { describeDocker, SESSION_ID, TEST_LABELS } from '../support/docker.ts';
import { fixtureContext } from './fixtures.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Runs a command class the way bin/run.js does (oclif's error printing and exit codes) in a child process. The
 * class is imported directly because the checked-in oclif.manifest.json only lists the commands of its last
 * `npm run build`.
 */
function runCommand(commandFile: string, argv: readonly string[], env: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const script = [
    "import { flush, handle } from '@oclif/core';",
    `const { default: command } = await import(${JSON.stringify(path.join(ROOT, commandFile))});`,
    `await command.run(process.argv.slice(1), ${JSON.stringify(path.join(ROOT, 'bin', 'dev.js'))}).then(() => flush(), handle);`,
  ].join('\n');
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...argv], { cwd: ROOT, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({ exitCode: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-archive-test-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('which images a fleet needs', () => {
  it('parseEnvFile reads KEY=VALUE lines, skipping comments and unquoting values', () => {
    const text = '# comment\n\nA=1\nexport B="two words"\nC=\'x # y\'\nD=plain # trailing comment\nnot a variable\n';
    expect(parseEnvFile(text)).toEqual({ A: '1', B: 'two words', C: 'x # y', D: 'plain' });
  });

  it("loadFleetImages resolves the repository fleet through compose/airgap.env: 100 images, the locally built postgres and redis", async () => {
    const { images, envFile } = await loadFleetImages({ env: {} });
    expect(envFile).toBe(path.join(ROOT, 'compose', 'airgap.env'));
    expect(images).toHaveLength(100);
    expect(images).toContainEqual({ image: 'n3xus/postgres:15', services: ['postgres'] });
    expect(images).toContainEqual({ image: 'n3xus/redis:7', services: ['redis'] });
    expect(images).toContainEqual({ image: 'n3xus/audit-trail:3.0', services: ['audit-trail'] });
  });

  it('the environment wins over the env file, as with compose', async () => {
    const { images } = await loadFleetImages({ env: { N3XUS_POSTGRES_IMAGE: 'example/pg:1' } });
    expect(images).toContainEqual({ image: 'example/pg:1', services: ['postgres'] });
  });

  it('a missing --env-file is an EnvFileError (exit 22) naming it', async () => {
    const error = await loadFleetImages({ envFile: '/nonexistent/site.env', env: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EnvFileError);
    expect((error as EnvFileError).code).toBe('INVALID_ARGUMENT');
    expect((error as Error).message).toBe('Env file /nonexistent/site.env does not exist');
  });
});

describe('reading an archive', () => {
  it('readArchiveManifest refuses a file that is not a tar archive', async () => {
    const file = path.join(await tempDir(), 'notes.tar');
    await writeFile(file, 'x'.repeat(2048));
    await expect(readArchiveManifest(file)).rejects.toThrow(`${file} is not a complete image archive: it is not a tar archive`);
  });

  it('readArchiveManifest refuses an empty file', async () => {
    const file = path.join(await tempDir(), 'empty.tar');
    await writeFile(file, '');
    await expect(readArchiveManifest(file)).rejects.toThrow(/it is empty/);
  });

  it('n3xus images load of a missing file exits 18 with the error in --json', async () => {
    const missing = path.join(await tempDir(), 'absent.tar');
    const { exitCode, stdout } = await runCommand('src/commands/images/load.ts', ['-i', missing, '--json']);
    expect(exitCode).toBe(18);
    const { error } = JSON.parse(stdout) as { error: { name: string; code: string; message: string } };
    expect(error).toMatchObject({ name: 'ImageArchiveError', code: 'ARCHIVE_ERROR', message: `No image archive at ${missing}: no such file` });
  });
});

describeDocker('image archives on a real engine', () => {
  const engine = new DockerEngine();
  const suffix = SESSION_ID.slice(0, 8);
  const tags = [`n3xus-test/archive-a:${suffix}`, `n3xus-test/archive-b:${suffix}`];
  const ids = new Map<string, string>();

  beforeAll(async () => {
    const contextDir = await fixtureContext('tiny');
    tempDirs.push(contextDir);
    // Content of our own, so no other test's image shares these layers (a shared layer would not be re-read on load).
    await writeFile(path.join(contextDir, 'hello.txt'), `image archive test ${randomUUID()}\n`);
    // Two images with different IDs (a label tells them apart) that share their layers, as the fleet's do.
    for (const [index, tag] of tags.entries()) {
      const result = await engine.buildImage({ contextDir, files: ['busybox', 'hello.txt'], tag, labels: { ...TEST_LABELS, 'n3xus.test.variant': String(index) } });
      ids.set(tag, result.imageId);
    }
  });

  afterAll(async () => {
    for (const tag of tags) await engine.image.remove(tag, { force: true });
  });

  /** Saves both test images into a fresh directory and returns the archive's path. */
  async function saveBoth(): Promise<string> {
    const outputPath = path.join(await tempDir(), 'fleet-images.tar');
    await saveImageArchive(engine, { images: tags, outputPath });
    return outputPath;
  }

  it('save writes one archive of both images, and load brings them back with the same IDs', async () => {
    expect(new Set(ids.values()).size).toBe(2);
    const dir = await tempDir();
    const outputPath = path.join(dir, 'fleet-images.tar');
    const saved = await saveImageArchive(engine, { images: tags, outputPath });
    expect(saved.file).toBe(outputPath);
    expect(saved.images).toEqual(tags.map((image) => ({ image, id: ids.get(image) })));
    expect(saved.sizeBytes).toBeGreaterThan(1_000_000);
    expect(await readdir(dir)).toEqual(['fleet-images.tar']);
    const manifest = await readArchiveManifest(outputPath);
    expect(manifest).toHaveLength(2);
    expect(manifest).toEqual(expect.arrayContaining(tags.map((tag) => ({ id: ids.get(tag), tags: [tag] }))));

    for (const tag of tags) await engine.image.remove(tag, { force: true });
    for (const tag of tags) expect(await engine.imageExists(tag)).toBe(false);

    const loaded = await loadImageArchive(engine, { inputPath: outputPath });
    expect([...loaded.loaded].sort()).toEqual([...tags].sort());
    for (const tag of tags) expect((await engine.imageInspect(tag)).id).toBe(ids.get(tag));
  });

  it('a save naming a missing image fails naming it and "n3xus images build", and writes nothing', async () => {
    const dir = await tempDir();
    const absent = `n3xus-test/never-built:${suffix}`;
    const error = await saveImageArchive(engine, { images: [tags[0] ?? '', { image: absent, services: ['ghost'] }], outputPath: path.join(dir, 'fleet.tar') }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MissingImagesError);
    expect((error as MissingImagesError).code).toBe('ARCHIVE_ERROR');
    expect((error as Error).message).toBe(`Image not on this engine, so no archive was written: ${absent} (service ghost). Run n3xus images build`);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a save stopped by its signal mid-stream removes its temporary file and writes nothing', async () => {
    const dir = await tempDir();
    const controller = new AbortController();
    // Aborts once the engine has started answering, so the stop lands while the archive is being written.
    const interrupting = {
      image: {
        inspect: (tag: string) => engine.image.inspect(tag),
        save: async (names: readonly string[], options?: { signal?: AbortSignal }) => {
          const stream = await engine.image.save(names, options);
          controller.abort();
          return stream;
        },
      },
    };
    const error = await saveImageArchive(interrupting, { images: tags, outputPath: path.join(dir, 'fleet.tar'), signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArchiveInterruptedError);
    expect((error as ArchiveInterruptedError).code).toBe('INTERRUPTED');
    expect(await readdir(dir)).toEqual([]);
  });

  it('load refuses a cut-off archive before sending anything to the engine', async () => {
    const archive = await saveBoth();
    const cut = path.join(path.dirname(archive), 'cut.tar');
    await copyFile(archive, cut);
    await truncate(cut, 700_000);
    const error = await loadImageArchive(engine, { inputPath: cut }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageArchiveError);
    expect((error as Error).message).toMatch(new RegExp(`^${cut} is not a complete image archive: it ends at byte 700000, .*\\(cut off\\?\\)$`));
  });

  it("load of an archive with a damaged layer fails with the engine's reason, exit code ARCHIVE_ERROR", async () => {
    const archive = await saveBoth();
    const damaged = path.join(path.dirname(archive), 'damaged.tar');
    await copyFile(archive, damaged);
    // The middle of the archive lies in the busybox layer; the tar structure stays intact, the layer's digest does not.
    const handle = await open(damaged, 'r+');
    const middle = Math.floor((await handle.stat()).size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, middle);
    await handle.write(Buffer.from([(byte[0] ?? 0) ^ 0xff]), 0, 1, middle);
    await handle.close();
    // With the layers on the engine the damaged copy would be skipped, not read.
    for (const tag of tags) await engine.image.remove(tag, { force: true });
    try {
      const error = await loadImageArchive(engine, { inputPath: damaged }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ImageArchiveError);
      expect((error as ImageArchiveError).code).toBe('ARCHIVE_ERROR');
      expect((error as Error).message).toMatch(new RegExp(`^The engine could not load ${damaged}: `));
    } finally {
      await loadImageArchive(engine, { inputPath: archive });
    }
  });

  it('n3xus images load prints the loaded tags and exits 0', async () => {
    const archive = await saveBoth();
    const { exitCode, stdout } = await runCommand('src/commands/images/load.ts', ['-i', archive]);
    expect(exitCode).toBe(0);
    for (const tag of tags) expect(stdout).toContain(`Loaded ${tag}\n`);
    expect(stdout).toMatch(/Loaded 2 images from .* MB\) in \d+\.\d s/);
  });

  it('n3xus images save exits 18 naming a missing fleet image, and leaves no file', async () => {
    const dir = await tempDir();
    const absent = `n3xus-test/absent-postgres:${suffix}`;
    const { exitCode, stdout, stderr } = await runCommand('src/commands/images/save.ts', ['-o', path.join(dir, 'fleet.tar'), '--json'], { N3XUS_POSTGRES_IMAGE: absent });
    expect(exitCode).toBe(18);
    const { error } = JSON.parse(stdout) as { error: { name: string; code: string; message: string } };
    expect(error).toMatchObject({ name: 'MissingImagesError', code: 'ARCHIVE_ERROR' });
    expect(error.message).toContain(`${absent} (service postgres)`);
    expect(error.message).toMatch(/Run n3xus images build$/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(await readdir(dir)).toEqual([]);
  });
});
