import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBootstrap, type BootstrapResult } from '../../src/bootstrap/bootstrap.ts';
import type { CheckId, CheckResult } from '../../src/bootstrap/checks.ts';
import { DockerEngine } from '../../src/docker/engine.ts';
import { freePort, listenOnEphemeralPort, writeTestFleet } from './fleet-files.ts';

/**
 * The checklist without an engine: the engine is looked for at a socket that does not exist, so nothing here
 * talks to Docker. The ports, handshake and compose-file checks still run for real.
 */
const noEngine = (): DockerEngine => new DockerEngine({ socketPath: '/nonexistent/n3xus-test/docker.sock' });
const byId = (result: BootstrapResult, id: CheckId): CheckResult => result.checks.find((c) => c.id === id)!;

describe('bootstrap without a Docker engine', () => {
  let busy: Awaited<ReturnType<typeof listenOnEphemeralPort>>;
  let file: string;
  let result: BootstrapResult;

  beforeAll(async () => {
    busy = await listenOnEphemeralPort();
    file = await writeTestFleet({ name: 'offline', network: 'n3xus-test-offline', services: { web: { hostPort: busy.port }, api: { hostPort: await freePort() } } });
    result = await runBootstrap({ file, engine: noEngine(), renderer: 'silent', env: { PATH: process.env.PATH } });
  });

  afterAll(async () => {
    await busy.close();
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  it('returns every check, in checklist order, and is not ok', () => {
    expect(result.checks.map((c) => c.id)).toEqual(['engine', 'compose-file', 'cpu', 'memory', 'disk', 'ports', 'handshake', 'secrets', 'servers', 'base-images', 'service-images', 'swarm', 'networks']);
    expect(result.ok).toBe(false);
  });

  it('fails the engine check, naming the socket and how to start an engine', () => {
    const engine = byId(result, 'engine');
    expect(engine.status).toBe('fail');
    expect(engine.detail).toContain('/nonexistent/n3xus-test/docker.sock');
    expect(engine.fix).toMatch(/dockerd/);
  });

  it('names a port bound by this process: the port, the service and the process holding it', () => {
    const ports = byId(result, 'ports');
    const command = readFileSync('/proc/self/comm', 'utf8').trim();
    expect(ports.status).toBe('fail');
    expect(ports.detail).toContain(`port ${busy.port}/tcp (service web): held by process ${command} (pid ${process.pid})`);
    expect(ports.detail).not.toContain('service api');
  });

  it('warns that an unset N3XUS_HANDSHAKE means the default', () => {
    expect(byId(result, 'handshake')).toMatchObject({ status: 'warn' });
  });

  it("leaves the engine's checks unchecked, as warnings, so only the cause fails", () => {
    for (const id of ['base-images', 'service-images', 'swarm', 'networks'] as const) {
      expect(byId(result, id)).toMatchObject({ status: 'warn', detail: 'not checked: the Docker engine is not reachable' });
    }
  });

  it("judges CPU and memory by this machine's numbers for a 2-container fleet", () => {
    expect(byId(result, 'cpu').detail).toMatch(/for 2 containers \(this machine; the engine did not answer\)/);
    expect(byId(result, 'memory').status).toBe('ok');
  });
});

describe('bootstrap with an invalid compose file', () => {
  let file: string;
  let result: BootstrapResult;

  beforeAll(async () => {
    file = await writeTestFleet({ name: 'invalid', network: 'n3xus-test-invalid', services: { web: { hostPort: await freePort() } } });
    await writeFile(file, 'services:\n  web:\n    image: x:1\n    ports: ["0.0.0.0:3000:3000"]\n');
    result = await runBootstrap({ file, engine: noEngine(), renderer: 'silent', env: {} });
  });

  afterAll(async () => {
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  it('fails the compose-file check with what is wrong and where', () => {
    const check = byId(result, 'compose-file');
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('service "web"');
    expect(check.fix).toBeDefined();
  });

  it('leaves the checks that need the fleet unchecked, and sizes resources for the 100-container fleet', () => {
    for (const id of ['ports', 'handshake', 'base-images', 'service-images', 'networks'] as const) {
      expect(byId(result, id)).toMatchObject({ status: 'warn', detail: 'not checked: the compose file is not valid' });
    }
    expect(byId(result, 'cpu').detail).toContain('for 100 containers');
  });

  it('fails for an env file that does not exist, naming it', async () => {
    const missing = await runBootstrap({ file, envFile: '/nonexistent/airgap.env', engine: noEngine(), renderer: 'silent', env: {} });
    expect(byId(missing, 'compose-file')).toMatchObject({ status: 'fail', detail: 'Env file /nonexistent/airgap.env does not exist' });
  });

  it('fails for a compose file that does not exist, saying to pass one with -f', async () => {
    const missing = await runBootstrap({ file: path.join(path.dirname(file), 'nope.yml'), engine: noEngine(), renderer: 'silent', env: {} });
    expect(byId(missing, 'compose-file').detail).toMatch(/no such file; pass the compose file of the fleet with -f\/--file/);
  });
});

describe('bootstrap reads the compose file as launch does', () => {
  let file: string;

  afterAll(async () => {
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  it('takes variables from airgap.env beside the compose file, under the environment', async () => {
    file = await writeTestFleet({ name: 'airgap', network: 'n3xus-test-airgap', services: { web: { hostPort: await freePort(), environment: { N3XUS_HANDSHAKE: '${N3XUS_HANDSHAKE:-none}' } } } });
    await writeFile(path.join(path.dirname(file), 'airgap.env'), 'N3XUS_HANDSHAKE=55-45-17\n');
    const result = await runBootstrap({ file, engine: noEngine(), renderer: 'silent', env: {} });
    expect(byId(result, 'compose-file').detail).toMatch(/\(variables from .*airgap\.env\): 1 service/);
    // The env file gave the service the law's handshake; the shell did not set one, so the default applies: a warning.
    expect(byId(result, 'handshake').status).toBe('warn');
  });
});

describe('bootstrap for the process driver (a fleet of local processes)', () => {
  let file: string;
  /** redis-server pointed at a file that does not exist: missing, as on a fresh machine. */
  const env = { PATH: process.env.PATH, N3XUS_HANDSHAKE: '55-45-17', N3XUS_REDIS_SERVER: '/nonexistent/n3xus-test/redis-server' };

  beforeAll(async () => {
    file = await writeTestFleet({ name: 'processes', network: 'n3xus-test-processes', services: { web: { hostPort: await freePort() } } });
  });

  afterAll(async () => {
    await rm(path.dirname(file), { recursive: true, force: true });
  });

  it('needs no Docker engine, and fails on a missing redis-server with the command that installs it', async () => {
    const result = await runBootstrap({ file, engine: noEngine(), renderer: 'silent', env, driver: 'process' });
    for (const id of ['engine', 'swarm', 'networks', 'base-images', 'service-images'] as const) {
      expect(byId(result, id)).toMatchObject({ status: 'ok', detail: 'not needed: the fleet runs as local processes (--driver process)' });
    }
    const servers = byId(result, 'servers');
    expect(servers.status).toBe('fail');
    expect(servers.detail).toContain('redis-server is not installed');
    expect(servers.fix).toMatch(process.getuid?.() === 0 ? /^n3xus bootstrap --fix --yes installs redis-server \(apt-get update && apt-get install -y redis-server\)/ : /redis-server/);
    expect(result.ok).toBe(false);
  });

  it('--fix without --yes and without a terminal installs nothing and names the flag', async () => {
    const result = await runBootstrap({ file, engine: noEngine(), renderer: 'silent', env, driver: 'process', fix: true });
    const servers = byId(result, 'servers');
    expect(servers.status).toBe('fail');
    if (process.getuid?.() === 0) expect(servers.detail).toContain('--fix failed: not installed: bootstrap installs system packages only when told to, and there is no terminal to ask in. Run again with --yes');
    expect(result.ok).toBe(false);
  });

  it('asks in a terminal, and a "no" installs nothing', async () => {
    const questions: string[] = [];
    const result = await runBootstrap({ file, engine: noEngine(), renderer: 'silent', env, driver: 'process', fix: true, ask: async (q) => (questions.push(q), false) });
    if (process.getuid?.() === 0) {
      expect(questions).toEqual(['Install redis-server with apt-get update && apt-get install -y redis-server? No system service is started. [y/N] ']);
      expect(byId(result, 'servers').detail).toContain('--fix failed: not installed: you answered no.');
    }
  });

  it('with the Docker driver, the servers are not needed: they run in containers', async () => {
    const result = await runBootstrap({ file, engine: noEngine(), renderer: 'silent', env });
    expect(byId(result, 'servers')).toMatchObject({ status: 'ok', detail: 'not needed: they run in containers' });
  });
});
