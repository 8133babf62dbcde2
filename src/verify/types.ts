/**
 * The shapes of a verification: what is checked (targets), what each check found, and the report that `n3xus
 * verify --json` prints. The report is a public, versioned format (docs/verify-schema.md): add fields freely, but
 * renaming or removing one, or changing a meaning, bumps {@link VERIFY_SCHEMA_VERSION}.
 */
import type { Stage } from '../fleet/stages.ts';

/** Version of the {@link VerifyReport} format; bumped on any change that could break a reader. */
export const VERIFY_SCHEMA_VERSION = 2;

/** `sample`: one service per category plus PostgreSQL and Redis (the seed's sampling verification); `full`: all. */
export type VerifyMode = 'sample' | 'full';

/** How a target is probed: a kit HTTP service, or an infrastructure server spoken to in its own protocol. */
export type TargetKind = 'service' | 'postgres' | 'redis' | 'tcp';

/** One container of the fleet to verify, and where it answers. */
export interface VerifyTarget {
  name: string;
  stage: Stage;
  group: string;
  category: string;
  kind: TargetKind;
  /** The host it is reached on (`--host`). */
  host: string;
  /** The port published on the host. */
  port: number;
  /** `http://host:port` for a service; `tcp://host:port` for the others. */
  url: string;
}

/**
 * The checks, by name:
 * - `health`: `GET /health` answers 200 `{status: "ok", service: <name>}` without a handshake;
 * - `law`: a protected route answers 451 without the handshake and with a wrong one (RFC 7725 `Link`, no-store, a
 *   body that leaks nothing), and 2xx with the right one;
 * - `readiness`: `GET /ready` reports a PostgreSQL and a Redis round trip, both up;
 * - `protocol`: PostgreSQL or Redis answers in its own protocol on its published port;
 * - `container`: the Docker container runs, is not unhealthy, is not restarting, and is the one launch would create
 *   from the fleet file (config hash, image); one made by docker compose is checked too, and said to be so;
 * - `route` (full): a request through federation-gateway reaches a peer and comes back;
 * - `event-delivery` (full): an event published on event-bus is delivered by webhook-dispatcher to audit-trail;
 * - `calls` (full): every service that declares peers calls each of them (`GET /_n3xus/calls`, through its circuit
 *   breaker, with the handshake) and reaches it; a broken edge names caller, callee and the side that failed;
 * - `latency` (`--bench`, informative): percentiles of a short burst of `GET /health`;
 * - `functional` (unless `--no-functional`): through the service's own API, a record verify owns is written, read
 *   back and compared, read again (Redis cache), deleted and confirmed gone (404); services without resources get a
 *   read-only probe of their real operation. `details.step` names the failed step, `details.steps` times each.
 */
export type CheckName = 'health' | 'law' | 'readiness' | 'protocol' | 'container' | 'replicas' | 'route' | 'event-delivery' | 'calls' | 'latency' | 'functional';

/**
 * - `pass`: ran and found what was expected;
 * - `fail`: ran and found something wrong (including no answer);
 * - `not-run`: could not run (e.g. the service did not answer its health check first); never counts as passed.
 */
export type CheckStatus = 'pass' | 'fail' | 'not-run';

/**
 * Machine-readable cause of a check that did not pass; stable across versions (new codes may be added).
 * `unreachable` (connection refused or reset), `timeout`, `bad-status`, `malformed` (not the expected body),
 * `wrong-service` (another service answers on the port), `law-not-enforced`, `law-leak`, `law-near-miss` (a value close to the handshake was accepted), `law-refused` (the right
 * handshake was refused), `dependency-down`, `not-ready` (up but not serving yet, e.g. migrations pending),
 * `container-missing`, `container-not-running`, `container-unhealthy`,
 * `container-restarting`, `container-drift` (not the container launch would create: another config hash, none,
 * or an image the fleet's tag no longer names), `replicas-missing` (fewer copies run than were asked for), `route-failed`, `not-delivered`,
 * `call-failed` (a declared call between two services broke), `functional-failed` (a step of the functional check
 * got the wrong answer), `dependency-failed` (not run because an earlier check
 * failed), `error` (the check itself could not be carried out).
 */
export type CheckCode =
  | 'unreachable'
  | 'timeout'
  | 'bad-status'
  | 'malformed'
  | 'wrong-service'
  | 'law-not-enforced'
  | 'law-leak'
  | 'law-refused'
  | 'law-near-miss'
  | 'dependency-down'
  | 'not-ready'
  | 'container-missing'
  | 'container-not-running'
  | 'container-unhealthy'
  | 'container-restarting'
  | 'container-drift'
  | 'replicas-missing'
  | 'route-failed'
  | 'not-delivered'
  | 'call-failed'
  | 'functional-failed'
  | 'dependency-failed'
  | 'error';

/** What one check found. */
export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  /** Whether the service must pass it to count as operational (`latency` is informative only). */
  required: boolean;
  /** Why it did not pass (absent when it passed). */
  code?: CheckCode;
  /** One sentence: what was expected and what was found; for a pass, what was seen. */
  message: string;
  /** Wall time of the check's requests, in milliseconds. */
  durationMs: number;
  /** Things worth knowing that do not fail the check (e.g. "restarted 2 times"). */
  warnings?: string[];
  /** Measurements: latencies (`postgresMs`, `redisMs`, `p50Ms`…), container state, event id… */
  details?: Record<string, unknown>;
  /** The target whose own failure explains this one (PostgreSQL down for a service not ready), when there is one. */
  causedBy?: string;
}

/** One target and its checks. */
export interface ServiceResult {
  name: string;
  stage: Stage;
  group: string;
  category: string;
  kind: TargetKind;
  url: string;
  /** True when every required check passed. */
  operational: boolean;
  checks: CheckResult[];
}

/** Where container state came from, or why there is none. */
export interface DockerUse {
  /** True when container checks ran. */
  used: boolean;
  /** Why they did not (`--no-docker`, engine unreachable, no container of the project). */
  reason?: string;
  /** The project label value looked for (`n3xus.project=<project>`). */
  project: string;
  /** Containers of the project the engine listed. */
  containers?: number;
  /** Of those, the ones docker compose made (by its project label): checked, but not launched by n3xus. */
  compose?: number;
  /** Compose's project label value they were found by, when it is not `project` (compose named it after the file's directory). */
  composeProject?: string;
  /** Set when the instances came from another driver than Docker: the process driver's state, or Swarm. */
  driver?: 'process' | 'swarm';
}

/** A service that does not enforce the N3XUS LAW, and how. */
export interface LawViolation {
  service: string;
  code: CheckCode;
  message: string;
}

/** Latency percentiles of one service from the `--bench` burst. */
export interface LatencySummary {
  name: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The result of `n3xus verify`, printed by `--json`. Documented in docs/verify-schema.md. */
export interface VerifyReport {
  schemaVersion: typeof VERIFY_SCHEMA_VERSION;
  mode: VerifyMode;
  host: string;
  /** The fleet (compose) file the targets came from, as given. */
  fleetFile: string;
  /** ISO 8601 time the verification started. */
  startedAt: string;
  durationMs: number;
  /** Operational % needed to pass the gate, 0-100. */
  threshold: number;
  /** Services whose required checks all passed, as a % of those checked (one decimal). */
  operationalPercent: number;
  /** The gate: true when the fleet enforces the N3XUS LAW (`law.passed`) and meets the threshold (`availabilityPassed`). */
  passed: boolean;
  /** True when `operationalPercent >= threshold`: the seed's availability target. */
  availabilityPassed: boolean;
  /**
   * The N3XUS LAW, gated on its own: it is a rule, not a percentage. A single service that does not enforce it
   * (a `law` check failed with a `law-*` code) fails the gate, whatever the threshold.
   */
  law: { passed: boolean; checked: number; violations: LawViolation[] };
  counts: { services: number; operational: number; failed: number; checks: number; checksPassed: number };
  docker: DockerUse;
  /** In fleet order (stage by stage). */
  services: ServiceResult[];
  /** Present with `--bench`: every benchmarked service, slowest (by p95) first. */
  latency?: LatencySummary[];
  /** In sample mode: the seed the sample was drawn from (`--seed` repeats it) and its size (non-infra services). */
  sample?: { seed: number; size: number };
  /** With `--escalate`, when the sample failed and `--full` ran instead: the sample that failed. */
  escalatedFrom?: { seed: number; size: number; failed: string[] };
  /** Whether the functional checks ran (they write); `reason` says why not, e.g. `--no-functional`. */
  functional?: { ran: boolean; reason?: string };
}
