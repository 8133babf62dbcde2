/**
 * `n3xus logs`: finds a service's container by its labels alone (labels are the state) and streams its output,
 * demultiplexed, until it has all been read — or, with `follow`, until the container stops or the caller aborts.
 */
import type { Readable } from 'node:stream';
import type { ContainerClient, ContainerInfo } from '../docker/engine.ts';
import type { Fleet } from '../fleet/model.ts';
import type { FleetDriver } from '../drivers/driver.ts';
import { STATE_LABELS } from '../launch/labels.ts';
import { LogFrameDecoder, type LogStreamName } from './log-frames.ts';

/** The service is not one of the fleet file's services. */
export class ServiceNotInFleetError extends Error {
  override readonly name = 'ServiceNotInFleetError';
  readonly code = 'UNKNOWN_SERVICE';
  readonly service: string;
  readonly file: string;
  readonly suggestions: readonly string[];

  constructor(service: string, file: string, known: readonly string[]) {
    const close = closestNames(service, known);
    const hint = close.length === 0 ? '' : ` Did you mean ${close.map((n) => `"${n}"`).join(' or ')}?`;
    super(`Unknown service "${service}": ${file} has no such service.${hint}`);
    this.service = service;
    this.file = file;
    this.suggestions = [
      `The ${known.length} services are the keys under \`services:\` in ${file}${known.length > 0 ? `, e.g. ${known.slice(0, 3).join(', ')}` : ''}.`,
      'For another fleet file, pass it with -f/--file.',
    ];
  }
}

/** No container of the project carries the service's label: it was never launched, or was taken down. */
export class NotLaunchedError extends Error {
  override readonly name = 'NotLaunchedError';
  readonly code = 'NOT_LAUNCHED';
  readonly service: string;
  readonly project: string;
  readonly suggestions: readonly string[];

  constructor(service: string, project: string, stage: string | undefined) {
    super(
      `Service "${service}" is not launched in project "${project}" (no container labelled ` +
        `${STATE_LABELS.project}=${project}, ${STATE_LABELS.service}=${service}); run n3xus launch`,
    );
    this.service = service;
    this.project = project;
    this.suggestions = [
      'Launch the fleet: n3xus launch',
      ...(stage === undefined ? [] : [`Or only its stage: n3xus launch --phase ${stage} --with-deps`]),
      'If it was launched under another project name, pass the same --project.',
    ];
  }
}

/**
 * The instance of `service` in `project` (a container, or a process of the process driver), found by the labels
 * launch puts on it, through whichever driver runs the fleet.
 * @throws ServiceNotInFleetError when the fleet file has no such service (exit 10).
 * @throws NotLaunchedError when no instance carries the labels (exit 14).
 */
export async function findServiceContainer(
  driver: Pick<FleetDriver, 'observe'>,
  fleet: Pick<Fleet, 'file' | 'services'>,
  service: string,
  project: string,
): Promise<ContainerInfo> {
  const entry = fleet.services.find((s) => s.name === service);
  if (entry === undefined) throw new ServiceNotInFleetError(service, fleet.file, fleet.services.map((s) => s.name));
  const instances = (await driver.observe(project)).filter((i) => i.labels[STATE_LABELS.service] === service);
  // Launch keeps one instance per service (its name is fixed), so more than one means a foreign copy with the
  // same labels; the running one is the one whose output is wanted.
  const instance = instances.find((c) => c.running) ?? instances[0];
  if (instance === undefined) throw new NotLaunchedError(service, project, entry.stage);
  return instance;
}

/** Options of {@link streamServiceLogs}. */
export interface StreamLogsOptions {
  /** Keep reading until the container stops (or `signal` aborts); default false: what has been printed so far. */
  follow?: boolean;
  /** Only the last N lines of the output so far; default: all of it. */
  tailLines?: number;
  /** Prefix each line with the engine's RFC 3339 timestamp; default false. */
  timestamps?: boolean;
  /** Called with each piece of output in the order the engine sent it. */
  onOutput: (stream: LogStreamName, payload: Buffer) => void;
  /** Stops reading (Ctrl-C): the promise then resolves with `interrupted: true`. */
  signal?: AbortSignal;
}

/** How a log stream ended. */
export interface StreamLogsResult {
  /** True when `signal` stopped it; false when the engine ended it (all read, or the container stopped). */
  interrupted: boolean;
  stdoutBytes: number;
  stderrBytes: number;
}

/** Reads a container's output, demultiplexed, and hands it to `onOutput` as it arrives. */
export async function streamServiceLogs(
  engine: { container: Pick<ContainerClient, 'logStream'> },
  containerId: string,
  options: StreamLogsOptions,
): Promise<StreamLogsResult> {
  const result: StreamLogsResult = { interrupted: false, stdoutBytes: 0, stderrBytes: 0 };
  const { signal } = options;
  if (signal?.aborted) return { ...result, interrupted: true };
  const stream: Readable = await engine.container.logStream(containerId, {
    follow: options.follow ?? false,
    ...(options.tailLines === undefined ? {} : { tailLines: options.tailLines }),
    timestamps: options.timestamps ?? false,
  });
  const decoder = new LogFrameDecoder();
  const emit = (chunks: ReturnType<LogFrameDecoder['push']>): void => {
    for (const { stream: name, payload } of chunks) {
      if (name === 'stdout') result.stdoutBytes += payload.length;
      else result.stderrBytes += payload.length;
      options.onOutput(name, payload);
    }
  };
  const stop = (): void => {
    stream.destroy();
  };
  signal?.addEventListener('abort', stop, { once: true });
  try {
    if (signal?.aborted) stop();
    for await (const chunk of stream) emit(decoder.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))));
    emit(decoder.end());
  } catch (error) {
    // Destroying the stream on abort makes the iteration fail with a premature close: that is the clean way out.
    if (signal?.aborted) return { ...result, interrupted: true };
    throw error;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  return { ...result, interrupted: signal?.aborted ?? false };
}

/** Up to three known names within a small edit distance of `name` (or containing it), closest first. */
function closestNames(name: string, known: readonly string[]): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  return known
    .map((candidate) => ({ candidate, distance: name.length >= 3 && (candidate.includes(name) || name.includes(candidate)) ? 0.5 : editDistance(name, candidate) }))
    .filter((c) => c.distance <= limit)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map((c) => c.candidate);
}

/** Levenshtein distance: insertions, deletions and substitutions each count one. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
