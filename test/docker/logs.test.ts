import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demuxLogs } from '../../src/docker/log-demux.ts';
import { DockerEngine } from '../../src/docker/engine.ts';
import { BASE_IMAGE_TAGS } from '../../src/images/bases.ts';
import { loadFleet } from '../../src/fleet/model.ts';
import { STATE_LABELS } from '../../src/launch/labels.ts';
import { LogFrameDecoder, type LogChunk } from '../../src/logs/log-frames.ts';
import { DockerDriver } from '../../src/drivers/docker/docker-driver.ts';
import { findServiceContainer, NotLaunchedError, ServiceNotInFleetError, streamServiceLogs } from '../../src/logs/service-logs.ts';
import { describeWithImage, removeTestResources, SESSION_ID, TEST_LABELS } from '../support/docker.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * Runs a command class the way bin/run.js does (oclif's error printing and exit codes) in a child process. The
 * class is imported directly because the checked-in oclif.manifest.json only lists the commands of its last
 * `npm run build`.
 */
function runCommand(commandFile: string, argv: readonly string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const script = [
    "import { flush, handle } from '@oclif/core';",
    `const { default: command } = await import(${JSON.stringify(path.join(ROOT, commandFile))});`,
    `await command.run(process.argv.slice(1), ${JSON.stringify(path.join(ROOT, 'bin', 'dev.js'))}).then(() => flush(), handle);`,
  ].join('\n');
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, '--', ...argv], { cwd: ROOT }, (error, stdout, stderr) => {
      resolve({ exitCode: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

/** Feeds `buffer` to a fresh decoder in pieces of `pieceBytes` and joins what comes out per stream. */
function decodeInPieces(buffer: Buffer, pieceBytes: number): { stdout: string; stderr: string } {
  const decoder = new LogFrameDecoder();
  const chunks: LogChunk[] = [];
  for (let offset = 0; offset < buffer.length; offset += pieceBytes) chunks.push(...decoder.push(buffer.subarray(offset, offset + pieceBytes)));
  chunks.push(...decoder.end());
  const join = (name: string): string => Buffer.concat(chunks.filter((c) => c.stream === name).map((c) => c.payload)).toString('utf8');
  return { stdout: join('stdout'), stderr: join('stderr') };
}

describe('LogFrameDecoder', () => {
  const multiplexed = Buffer.concat([frame(1, 'first line\n'), frame(2, 'oops\n'), frame(1, 'ünïcode and a longer second line\n'), frame(2, '')]);

  it('gives the same output as demuxLogs whatever the chunk boundaries', () => {
    const whole = demuxLogs(multiplexed);
    for (const pieceBytes of [1, 3, 7, 8, 9, 64, multiplexed.length]) expect(decodeInPieces(multiplexed, pieceBytes)).toEqual(whole);
  });

  it('hands on the payload of a frame before the frame is complete', () => {
    const decoder = new LogFrameDecoder();
    const big = frame(1, 'abcdefghij');
    expect(decoder.push(big.subarray(0, 12))).toEqual([{ stream: 'stdout', payload: Buffer.from('abcd') }]);
    expect(decoder.push(big.subarray(12))).toEqual([{ stream: 'stdout', payload: Buffer.from('efghij') }]);
  });

  it('passes a TTY stream (no frame headers) through as stdout', () => {
    expect(decodeInPieces(Buffer.from('plain output\nmore\n'), 5)).toEqual({ stdout: 'plain output\nmore\n', stderr: '' });
  });

  it('returns a TTY stream shorter than a header at end()', () => {
    expect(decodeInPieces(Buffer.from('hi\n'), 2)).toEqual({ stdout: 'hi\n', stderr: '' });
  });
});

describe('finding a service', () => {
  const fleet = loadFleet();

  it('a service the fleet file does not have is a ServiceNotInFleetError (exit 10) with the closest names', async () => {
    const error = await findServiceContainer({ observe: () => Promise.reject(new Error('not asked')) }, fleet, 'audit-trial', 'n3xus').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceNotInFleetError);
    expect((error as ServiceNotInFleetError).code).toBe('UNKNOWN_SERVICE');
    expect((error as Error).message).toBe('Unknown service "audit-trial": compose/docker-compose.full.yml has no such service. Did you mean "audit-trail"?');
  });

  it('n3xus logs of an unknown service exits 10', async () => {
    const { exitCode, stdout } = await runCommand('src/commands/logs.ts', ['no-such-service', '--json']);
    expect(exitCode).toBe(10);
    expect(JSON.parse(stdout)).toMatchObject({ error: { name: 'ServiceNotInFleetError', code: 'UNKNOWN_SERVICE' } });
  });
});

await describeWithImage(BASE_IMAGE_TAGS.debian, 'n3xus logs on a real engine', () => {
  const engine = new DockerEngine();
  const fleet = loadFleet();
  // A project of its own, so the labels below can only match this run's containers.
  const project = `n3xus-test-${SESSION_ID.slice(0, 8)}`;
  const service = 'audit-trail';
  let exitedId = '';

  /** Creates and starts a container labelled as launch labels `service` in the test project. */
  async function launchLike(name: string, script: string): Promise<string> {
    const id = await engine.container.create({
      image: BASE_IMAGE_TAGS.debian,
      cmd: ['sh', '-c', script],
      labels: { ...TEST_LABELS, [STATE_LABELS.project]: project, [STATE_LABELS.service]: name },
    });
    await engine.container.start(id);
    return id;
  }

  beforeAll(async () => {
    // The pause keeps the stderr line after the stdout lines: the two are separate pipes, with no order between them.
    exitedId = await launchLike(service, 'echo one; echo two; echo three; sleep 0.3; echo oops >&2');
    await engine.container.wait(exitedId, { timeoutMs: 15_000 });
  });

  afterAll(async () => {
    await removeTestResources(engine);
  });

  async function collect(id: string, options: Omit<Parameters<typeof streamServiceLogs>[2], 'onOutput'>): Promise<{ stdout: string; stderr: string; interrupted: boolean }> {
    const out = { stdout: '', stderr: '' };
    const { interrupted } = await streamServiceLogs(engine, id, { ...options, onOutput: (stream, payload) => (out[stream] += payload.toString('utf8')) });
    return { ...out, interrupted };
  }

  it('finds the container by its project and service labels', async () => {
    expect((await findServiceContainer(new DockerDriver(engine), fleet, service, project)).id).toBe(exitedId);
  });

  it('a service with no container in the project is a NotLaunchedError (exit 14) saying to run n3xus launch', async () => {
    const error = await findServiceContainer(new DockerDriver(engine), fleet, 'identity-registry', project).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotLaunchedError);
    expect((error as NotLaunchedError).code).toBe('NOT_LAUNCHED');
    expect((error as Error).message).toMatch(new RegExp(`^Service "identity-registry" is not launched in project "${project}" .*; run n3xus launch$`));
  });

  it('prints all of stdout and stderr, each on its own stream', async () => {
    expect(await collect(exitedId, {})).toEqual({ stdout: 'one\ntwo\nthree\n', stderr: 'oops\n', interrupted: false });
  });

  it('--tail 2 prints only the last two lines', async () => {
    expect(await collect(exitedId, { tailLines: 2 })).toEqual({ stdout: 'three\n', stderr: 'oops\n', interrupted: false });
  });

  it('--follow prints what comes while the container runs and ends when it exits', async () => {
    const id = await launchLike('event-bus', 'echo start; sleep 1; echo middle; sleep 1; echo end');
    const startedAt = Date.now();
    const result = await collect(id, { follow: true });
    expect(result).toEqual({ stdout: 'start\nmiddle\nend\n', stderr: '', interrupted: false });
    expect(Date.now() - startedAt).toBeGreaterThan(1_000);
    expect((await engine.container.inspect(id)).running).toBe(false);
  });

  it('--follow stops cleanly when aborted (Ctrl-C) while the container keeps running', async () => {
    const id = await launchLike('webhook-dispatcher', 'echo ready; exec sleep 30');
    const controller = new AbortController();
    const out: string[] = [];
    const result = await streamServiceLogs(engine, id, {
      follow: true,
      signal: controller.signal,
      onOutput: (_stream, payload) => {
        out.push(payload.toString('utf8'));
        controller.abort();
      },
    });
    expect(result.interrupted).toBe(true);
    expect(out.join('')).toBe('ready\n');
    expect((await engine.container.inspect(id)).running).toBe(true);
  });

  it('n3xus logs --tail 1 prints the last line, on stderr where the container wrote it, and exits 0', async () => {
    expect(await runCommand('src/commands/logs.ts', [service, '--project', project, '--tail', '1'])).toEqual({ exitCode: 0, stdout: '', stderr: 'oops\n' });
  });

  it('n3xus logs of a service not launched in the project exits 14', async () => {
    const { exitCode, stdout } = await runCommand('src/commands/logs.ts', [service, '--project', `${project}-other`, '--json']);
    expect(exitCode).toBe(14);
    expect(JSON.parse(stdout)).toMatchObject({ error: { name: 'NotLaunchedError', code: 'NOT_LAUNCHED' } });
  });
});
