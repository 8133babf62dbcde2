/**
 * Helpers for tests that need a real Docker engine. A test file's Docker suites run when an engine answers and are
 * skipped with a printed reason when none does — except under CI=true, where a missing engine (or a missing base
 * image) fails the run instead of passing it silently.
 */
import { randomUUID } from 'node:crypto';
import { describe, inject } from 'vitest';
import { DockerEngine, type EngineInfo } from '../../src/docker/engine.ts';
import { skipOrFail } from './skip-or-fail.ts';
import { ensureSwarm } from './swarm.ts';

/** Label on everything a test creates, so it can be found and removed. */
export const TEST_LABEL = 'n3xus.test';
/** Label naming one test process's run, so cleanup removes only what this run created. */
export const SESSION_LABEL = 'n3xus.test.session';
export const SESSION_ID = randomUUID();
/** Labels to put on every container, network and image a test creates. */
export const TEST_LABELS: Readonly<Record<string, string>> = { [TEST_LABEL]: '1', [SESSION_LABEL]: SESSION_ID };


type Availability = { available: true; info: EngineInfo } | { available: false; reason: string };

let probe: Promise<Availability> | undefined;

/** Whether a Docker engine answers (asked once per test process). */
export function dockerAvailable(): Promise<Availability> {
  probe ??= new DockerEngine().ping({ timeoutMs: 3_000 }).then(
    (info): Availability => ({ available: true, info }),
    (error: unknown): Availability => ({ available: false, reason: error instanceof Error ? error.message : String(error) }),
  );
  return probe;
}

const availability = await dockerAvailable();

/** `describe` for suites that need an engine; see the module comment for what happens without one. */
export function describeDocker(name: string, fn: () => void): void {
  if (availability.available) {
    describe(name, fn);
    return;
  }
  skipOrFail(name, availability.reason, fn);
}

const engineForImages = new DockerEngine();

/** `describe` for suites that need a base image too (build them with `n3xus images build --bases-only`). */
export async function describeWithImage(tag: string, name: string, fn: () => void): Promise<void> {
  if (!availability.available) {
    skipOrFail(name, availability.reason, fn);
    return;
  }
  if (await engineForImages.image.exists(tag)) {
    describe(name, fn);
    return;
  }
  skipOrFail(name, `image ${tag} is not built (run: n3xus images build --bases-only)`, fn);
}

/** `describe` for suites that need a swarm manager (made for this run when the engine is in none) and an image. */
export async function describeWithSwarm(tag: string, name: string, fn: () => void): Promise<void> {
  const missing = availability.available ? await ensureSwarm(inject('runId')) : availability.reason;
  if (missing !== '') {
    skipOrFail(name, missing, fn);
    return;
  }
  await describeWithImage(tag, name, fn);
}


/**
 * Calls `check` until it resolves, then returns its value; rethrows its last error after `timeoutMs`.
 * Polls every `intervalMs` (default 250).
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }
}

/** Removes the containers and networks this test process created (by its session label). */
export async function removeTestResources(engine: DockerEngine): Promise<void> {
  const containers = await engine.container.list({ labels: { [SESSION_LABEL]: SESSION_ID } });
  await Promise.all(containers.map((container) => engine.container.remove(container.id)));
  const networks = await engine.network.list({ labels: { [SESSION_LABEL]: SESSION_ID } });
  for (const network of networks) await engine.network.remove(network.id);
}

/** Runs a container to completion and returns its exit code and output; the container is removed afterwards. */
export async function runToCompletion(
  engine: DockerEngine,
  spec: Parameters<DockerEngine['container']['create']>[0],
  timeoutMs = 20_000,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const id = await engine.container.create({ ...spec, labels: { ...TEST_LABELS, ...spec.labels } });
  try {
    await engine.container.start(id);
    const { exitCode } = await engine.container.wait(id, { timeoutMs });
    const { stdout, stderr } = await engine.container.logs(id);
    return { exitCode, stdout, stderr };
  } finally {
    await engine.container.remove(id);
  }
}
