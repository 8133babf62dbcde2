/**
 * images distribute --via registry's two halves against a real registry (n3xus/registry:2, Debian's
 * docker-registry) in a container on 127.0.0.1: the archive pushed straight from the file, a blob two images share
 * uploaded once and mounted into the other repository, nothing sent again the second time; then the engine pulls
 * both back (after they were removed) and gets the same image IDs.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DockerEngine } from '../../src/docker/engine.ts';
import { httpRequest } from '../../src/http/client.ts';
import { saveImageArchive } from '../../src/images/archive.ts';
import { REGISTRY_IMAGE } from '../../src/images/registry-service.ts';
import { pullEverywhere, pullsPlainHttp, pushArchive } from '../../src/images/registry.ts';
import { describeWithImage, TEST_LABELS } from '../support/docker.ts';
import { runCli } from '../support/cli.ts';
import { freePort } from '../support/local-servers.ts';

const engine = new DockerEngine();
const run = randomUUID().slice(0, 8);
const base = `n3xus-test/registry-base:${run}`;
const child = `n3xus-test/registry-child:${run}`;
let dir = '';
let address = '';
let container = '';
const ids = new Map<string, string>();

await describeWithImage(REGISTRY_IMAGE, 'images through a registry: pushed from the archive, pulled by the engine', () => {
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-registry-'));
    // Two images of this run only: a one-layer base (a file of random bytes), and a child adding a layer to it.
    writeFileSync(path.join(dir, 'a.txt'), randomUUID());
    const tar = spawn('tar', ['-c', '-C', dir, 'a.txt']);
    await engine.image.import({ tag: base, tarStream: tar.stdout as Readable, changes: ['LABEL n3xus.test=1'] });
    writeFileSync(path.join(dir, 'b.txt'), randomUUID());
    writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${base}\nCOPY b.txt /b.txt\n`);
    await engine.image.build({ contextDir: dir, files: ['Dockerfile', 'b.txt'], tag: child, labels: TEST_LABELS });
    for (const tag of [base, child]) ids.set(tag, (await engine.image.inspect(tag)).id);
    const port = await freePort();
    container = await engine.container.create({ name: `n3xus-test-registry-${run}`, image: REGISTRY_IMAGE, labels: TEST_LABELS, publish: [{ hostPort: port, containerPort: 5000 }] });
    await engine.container.start(container);
    address = `127.0.0.1:${port}`;
    const { waitForRegistry } = await import('../../src/images/registry.ts');
    await waitForRegistry(address, 30_000);
  });
  afterAll(async () => {
    if (container !== '') await engine.container.remove(container).catch(() => undefined);
    for (const tag of [child, base, `${address}/${child}`, `${address}/${base}`]) await engine.image.remove(tag, { force: true }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('pushes each blob once, mounts the shared one, and sends nothing the second time', async () => {
    const archive = (await saveImageArchive(engine, { images: [base, child], outputPath: path.join(dir, 'two.tar') })).file;
    const first = await pushArchive(archive, address);
    // Two configs and two distinct layers uploaded; the base's layer mounted into the child's repository.
    expect(first.uploaded).toBe(4);
    expect(first.mounted).toBe(1);
    expect(first.images.sort()).toEqual([`${address}/${base}`, `${address}/${child}`].sort());
    const catalog = JSON.parse((await httpRequest(`http://${address}/v2/_catalog`)).body) as { repositories: string[] };
    expect(catalog.repositories).toEqual(expect.arrayContaining(['n3xus-test/registry-base', 'n3xus-test/registry-child']));
    const again = await pushArchive(archive, address);
    expect(again.bytes).toBe(0);
    expect(again.uploaded).toBe(0);

    // Gone from the engine, then pulled back: the same images, under the names they were saved with.
    await engine.image.remove(child);
    await engine.image.remove(base);
    const [pulled] = await pullEverywhere(first.plan, address, [{ name: 'this engine', image: engine.image }]);
    expect(pulled!.layersDownloaded).toBe(2);
    expect(pulled!.bytes).toBeGreaterThan(0);
    for (const tag of [base, child]) expect((await engine.image.inspect(tag)).id, tag).toBe(ids.get(tag));
  });

  it('knows which registries an engine speaks plain HTTP to, and refuses before pushing to one it would not pull from', async () => {
    const { insecureRegistries } = await engine.info();
    // Every engine trusts the loopback range unless told otherwise.
    expect(pullsPlainHttp(insecureRegistries, address)).toBe(true);
    // 192.0.2.0/24 is for documentation: no engine lists it, and nothing is sent there.
    const archive = (await saveImageArchive(engine, { images: [base], outputPath: path.join(dir, 'one.tar') })).file;
    const refused = await runCli(['images', 'distribute', '-i', archive, '--engine', 'unix:///var/run/docker.sock', '--via', 'registry', '--registry', '192.0.2.1:5000']);
    expect(refused.code).toBe(31);
    expect(refused.message).toContain('would not pull from 192.0.2.1:5000');
    expect(refused.message).toContain('Nothing was pushed');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const missing = await runCli(['images', 'distribute', '-i', archive, '--engine', 'unix:///var/run/docker.sock', '--via', 'registry']);
    expect(missing.code).toBe(22);
    expect(missing.message).toContain('--via registry needs --registry HOST:PORT');
  });
});
