/**
 * The verdicts: pure functions from what a service answered to a {@link CheckResult}. No I/O here, so every way a
 * service can be wrong is unit-tested with hand-written answers; the runner only collects the answers.
 */
import type { Instance } from '../drivers/driver.ts';
import type { HttpFailureKind, HttpResponse } from '../http/client.ts';
import { HANDSHAKE_HEADER, LAW_LINK_PATH } from '../../services/_kit/src/law.ts';
import { describeVariant, NEAR_MISS_PATH, type HandshakeVariant } from './near-miss.ts';
import type { CheckCode, CheckName, CheckResult } from './types.ts';

/** A request that got no answer, as the runner records it: `message` says why, without the URL. */
export interface HttpFailure {
  kind: HttpFailureKind;
  message: string;
  durationMs: number;
}

/** What one request came back with: a response, or why there was none. */
export type Answer = HttpResponse | HttpFailure;

/** True when the request got no answer. */
export function isFailure(answer: Answer): answer is HttpFailure {
  return 'kind' in answer;
}

/** The protected route the law check asks for: every kit service serves it, and only with the handshake. */
export const LAW_PROBE_PATH = '/metrics';


/** A header's value (repeated headers joined with `, `), or undefined. Names are compared case-insensitively. */
export function header(headers: HttpResponse['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    return Array.isArray(value) ? value.join(', ') : value;
  }
  return undefined;
}

/** The start of a body for a message, quoted, so control characters and long bodies cannot garble the output. */
export function preview(body: string, maxChars = 60): string {
  if (body === '') return 'an empty body';
  const cut = body.length > maxChars ? `${body.slice(0, maxChars)}…` : body;
  return JSON.stringify(cut);
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    return { ok: false };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const ms = (value: number): string => `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;

function result(name: CheckName, durationMs: number, fields: Omit<CheckResult, 'name' | 'durationMs' | 'required'> & { required?: boolean }): CheckResult {
  const { required = true, ...rest } = fields;
  return { name, required, durationMs: Math.round(durationMs * 10) / 10, ...rest };
}

function failed(name: CheckName, durationMs: number, code: CheckCode, message: string, details?: Record<string, unknown>): CheckResult {
  return result(name, durationMs, { status: 'fail', code, message, ...(details ? { details } : {}) });
}

/** The code of a request that got no answer: refused and reset read as unreachable. */
export function failureCode(kind: HttpFailureKind): CheckCode {
  if (kind === 'timeout') return 'timeout';
  if (kind === 'too-large') return 'malformed';
  return 'unreachable';
}

/** A check that did not run because an earlier one failed (it never counts as passed). */
export function notRun(name: CheckName, because: string, required = true): CheckResult {
  return result(name, 0, { status: 'not-run', code: 'dependency-failed', message: `not run: ${because}`, required });
}

/** A check that could not be carried out (an unexpected error in verify itself); it never counts as passed. */
export function checkError(name: CheckName, error: unknown, durationMs = 0): CheckResult {
  const message = error instanceof Error ? error.message : String(error);
  return result(name, durationMs, { status: 'not-run', code: 'error', message: `could not run: ${message}` });
}

const totalMs = (answers: readonly Answer[]): number => answers.reduce((sum, a) => sum + a.durationMs, 0);

/**
 * `GET /health` without a handshake must answer 200 `{"status": "ok", "service": <name>}`: the liveness
 * endpoint is exempt from the law, and the name proves the port is the service's and not another's.
 */
export function judgeHealth(answer: Answer, expectedService: string): CheckResult {
  const what = 'GET /health';
  if (isFailure(answer)) return failed('health', answer.durationMs, failureCode(answer.kind), `${what}: ${answer.message}`);
  const took = answer.durationMs;
  if (answer.status !== 200) {
    const law = answer.status === 451 ? ' (the health endpoint must be exempt from the law)' : '';
    return failed('health', took, 'bad-status', `${what} answered ${answer.status}${law}; expected 200 with {"status":"ok"}`);
  }
  const json = parseJson(answer.body);
  if (!json.ok || !isRecord(json.value)) {
    return failed('health', took, 'malformed', `${what} answered 200 with ${preview(answer.body)}, which is not a JSON object; expected {"status":"ok","service":"${expectedService}"}`);
  }
  const { status, service, uptimeSeconds } = json.value;
  if (status !== 'ok') {
    return failed('health', took, 'malformed', `${what} answered 200 with status ${JSON.stringify(status ?? null)}; expected "ok"`);
  }
  if (service !== expectedService) {
    const found = typeof service === 'string' ? `service "${service}" answers there` : 'the body names no service';
    return failed('health', took, 'wrong-service', `${what}: ${found}; expected "${expectedService}" (is the port mapped to the right container?)`);
  }
  return result('health', took, {
    status: 'pass',
    message: `200 ok in ${ms(took)}`,
    details: { latencyMs: Math.round(took * 10) / 10, ...(typeof uptimeSeconds === 'number' ? { uptimeSeconds } : {}) },
  });
}

/** The three answers the law check collects from {@link LAW_PROBE_PATH}. */
export interface LawAnswers {
  /** Without any handshake header. */
  without: Answer;
  /** With a well-formed but wrong handshake. */
  wrong: Answer;
  /** With the fleet's handshake. */
  right: Answer;
  /** With values close to the handshake (see near-miss.ts), each with what it answered. */
  nearMisses?: ReadonlyArray<{ variant: HandshakeVariant; answer: Answer }>;
  /** `GET` of the refusal's `Link` target without a handshake, and the path asked. */
  link?: { path: string; answer: Answer };
}

/**
 * The target of a 451's `Link: <…>; rel="blocked-by"`, or undefined when it has none. Only a path on the service
 * itself can be followed; anything else is returned as it is, for the judge to refuse.
 */
export function blockedByTarget(answer: Answer): string | undefined {
  if (isFailure(answer)) return undefined;
  const link = header(answer.headers, 'link');
  return link === undefined ? undefined : /<([^>]*)>\s*;\s*rel="?blocked-by"?/i.exec(link)?.[1];
}

/** What is wrong with a 451 answer, or undefined when it is exactly the law's refusal and leaks nothing. */
function refusalFault(answer: HttpResponse, handshake: string): { code: CheckCode; problem: string } | undefined {
  if (answer.status !== 451) return { code: 'law-not-enforced', problem: `answered ${answer.status}; expected 451` };
  for (const [name, value] of Object.entries(answer.headers)) {
    const text = Array.isArray(value) ? value.join(', ') : (value ?? '');
    if (text.includes(handshake)) return { code: 'law-leak', problem: `answered 451 but its ${name} header carries the handshake` };
  }
  if (answer.body.includes(handshake)) return { code: 'law-leak', problem: 'answered 451 but its body carries the handshake' };
  const poweredBy = header(answer.headers, 'x-powered-by');
  if (poweredBy !== undefined) return { code: 'law-leak', problem: `answered 451 but names its framework (X-Powered-By: ${poweredBy})` };
  const link = header(answer.headers, 'link');
  const blockedBy = link !== undefined && /<([^>]*)>\s*;\s*rel="?blocked-by"?/i.exec(link);
  if (!blockedBy) {
    return { code: 'malformed', problem: `answered 451 without the RFC 7725 header Link: <${LAW_LINK_PATH}>; rel="blocked-by"${link === undefined ? '' : ` (Link: ${link})`}` };
  }
  const cacheControl = header(answer.headers, 'cache-control');
  if (!cacheControl || !/\bno-store\b/i.test(cacheControl)) {
    return { code: 'malformed', problem: `answered 451 with Cache-Control ${cacheControl === undefined ? 'missing' : JSON.stringify(cacheControl)}; expected no-store, so no cache keeps the refusal` };
  }
  const json = parseJson(answer.body);
  const error = json.ok && isRecord(json.value) ? json.value.error : undefined;
  if (!json.ok || !isRecord(json.value) || !isRecord(error) || typeof error.code !== 'string' || typeof error.message !== 'string') {
    return { code: 'malformed', problem: `answered 451 with ${preview(answer.body)}; expected {"error":{"code":"N3XUS_LAW","message":…}}` };
  }
  const extra = [...Object.keys(json.value).filter((k) => k !== 'error'), ...Object.keys(error).filter((k) => k !== 'code' && k !== 'message').map((k) => `error.${k}`)];
  if (extra.length > 0) return { code: 'law-leak', problem: `answered 451 with more than the rule it enforces (${extra.join(', ')})` };
  if (error.code !== 'N3XUS_LAW') return { code: 'malformed', problem: `answered 451 with error code ${JSON.stringify(error.code)}; expected "N3XUS_LAW"` };
  return undefined;
}

/**
 * The request layer of the N3XUS LAW, from the outside: a protected route answers 451 without the handshake and
 * with a wrong one — each with RFC 7725's `Link: <…>; rel="blocked-by"`, `Cache-Control: no-store`, a body of
 * exactly `{error: {code, message}}`, and no trace of the handshake or the framework — and 2xx with the right one.
 */
export function judgeLaw(answers: LawAnswers, handshake: string): CheckResult {
  const took = totalMs([answers.without, answers.wrong, answers.right]);
  const probes: Array<[Answer, string]> = [
    [answers.without, `GET ${LAW_PROBE_PATH} without a handshake`],
    [answers.wrong, `GET ${LAW_PROBE_PATH} with a wrong handshake`],
  ];
  for (const [answer, what] of probes) {
    if (isFailure(answer)) return failed('law', took, failureCode(answer.kind), `${what}: ${answer.message}`);
    const fault = refusalFault(answer, handshake);
    if (fault) {
      const why = fault.code === 'law-not-enforced' ? ' (the law is not enforced)' : '';
      return failed('law', took, fault.code, `${what} ${fault.problem}${why}`);
    }
  }
  const what = `GET ${LAW_PROBE_PATH} with the right handshake`;
  const right = answers.right;
  if (isFailure(right)) return failed('law', took, failureCode(right.kind), `${what}: ${right.message}`);
  if (right.status === 451) return failed('law', took, 'law-refused', `${what} was refused with 451; expected 2xx (does the service hold the fleet's handshake?)`);
  if (right.status < 200 || right.status > 299) return failed('law', took, 'bad-status', `${what} answered ${right.status}; expected 2xx`);
  const nearMisses = answers.nearMisses ?? [];
  const tookAll = took + totalMs(nearMisses.map((n) => n.answer)) + (answers.link?.answer.durationMs ?? 0);
  const nearMissFault = judgeNearMisses(nearMisses, handshake);
  if (nearMissFault) return failed('law', tookAll, nearMissFault.code, nearMissFault.message, nearMissFault.details);
  if (answers.link) {
    const { path, answer } = answers.link;
    const got = isFailure(answer) ? answer.message : `answered ${answer.status}`;
    if (!path.startsWith('/') || path.startsWith('//')) return failed('law', tookAll, 'malformed', `the 451's Link target ${JSON.stringify(path)} is not a path on the service; expected <${LAW_LINK_PATH}>`);
    if (isFailure(answer) || answer.status !== 200) return failed('law', tookAll, 'malformed', `the 451's Link target GET ${path} without a handshake ${got}; expected 200 (it tells a refused client what the law asks)`);
  }
  const refused = nearMisses.filter((n) => n.variant.expect === 'refused').length;
  const equal = nearMisses.length - refused;
  const extra = [
    ...(refused > 0 ? [`451 to ${refused} near ${refused === 1 ? 'miss' : 'misses'}`] : []),
    ...(equal > 0 ? [`${equal} equal ${equal === 1 ? 'variant' : 'variants'} accepted`] : []),
    ...(answers.link ? ['its Link target answers 200'] : []),
  ];
  return result('law', tookAll, {
    status: 'pass',
    message: `451 without and with a wrong ${HANDSHAKE_HEADER} (blocked-by link, no-store, nothing leaked), ${right.status} with the right one${extra.length > 0 ? `; ${extra.join(', ')}` : ''}`,
    ...(nearMisses.length > 0 ? { details: { nearMisses: { refused, equal } } } : {}),
  });
}

/**
 * The near misses' verdict, or undefined when each near miss was refused with the law's exact 451 and each equal
 * variant accepted. Every accepted near miss is named, not only the first: which ones pass says how the comparison
 * is sloppy (a prefix match accepts the suffix extensions, a substring match the comma-joined values…).
 */
function judgeNearMisses(nearMisses: NonNullable<LawAnswers['nearMisses']>, handshake: string): { code: CheckCode; message: string; details: Record<string, unknown> } | undefined {
  const accepted: string[] = [];
  for (const { variant, answer } of nearMisses) {
    const what = `GET ${NEAR_MISS_PATH} with ${variant.expect === 'refused' ? 'the near miss' : 'the equal variant'} ${describeVariant(variant)}`;
    if (isFailure(answer)) return { code: failureCode(answer.kind), message: `${what}: ${answer.message}`, details: {} };
    if (variant.expect === 'accepted') {
      if (answer.status === 451) return { code: 'law-refused', message: `${what} was refused with 451; HTTP makes it equal to the handshake, so it must be accepted`, details: {} };
      if (answer.status < 200 || answer.status > 299) return { code: 'bad-status', message: `${what} answered ${answer.status}; expected 2xx`, details: {} };
      continue;
    }
    if (answer.status >= 200 && answer.status < 400) {
      accepted.push(`${describeVariant(variant)} (${answer.status})`);
      continue;
    }
    const fault = refusalFault(answer, handshake);
    if (fault && fault.code !== 'law-not-enforced') return { code: fault.code, message: `${what} ${fault.problem}`, details: {} };
    if (fault) return { code: 'bad-status', message: `${what} answered ${answer.status}; expected 451`, details: {} };
  }
  if (accepted.length === 0) return undefined;
  return {
    code: 'law-near-miss',
    message: `accepted ${accepted.length === 1 ? 'a near miss' : `${accepted.length} near misses`} of the handshake on GET ${NEAR_MISS_PATH}, each expected 451: ${accepted.join('; ')} (the comparison is not exact)`,
    details: { accepted },
  };
}

interface DependencyReport {
  status?: unknown;
  latencyMs?: unknown;
  error?: unknown;
}

function dependency(checks: Record<string, unknown>, name: string): DependencyReport | undefined {
  const value = checks[name];
  return isRecord(value) ? value : undefined;
}

function describeDependency(label: string, report: DependencyReport): string {
  if (report.status === 'unconfigured') return `${label} not configured`;
  const error = typeof report.error === 'string' && report.error !== '' ? ` (${report.error})` : '';
  return `${label} ${String(report.status)}${error}`;
}

/**
 * `GET /ready` must answer 200 `status: "ready"` with a PostgreSQL and a Redis round trip, both `up`: the seed's
 * "validate database connectivity", seen from each service. A 503 names what is down and why.
 */
export function judgeReadiness(answer: Answer): CheckResult {
  const what = 'GET /ready';
  if (isFailure(answer)) return failed('readiness', answer.durationMs, failureCode(answer.kind), `${what}: ${answer.message}`);
  const took = answer.durationMs;
  if (answer.status !== 200 && answer.status !== 503) return failed('readiness', took, 'bad-status', `${what} answered ${answer.status}; expected 200 (or 503 naming what is down)`);
  const json = parseJson(answer.body);
  const checks = json.ok && isRecord(json.value) ? json.value.checks : undefined;
  const postgres = isRecord(checks) ? dependency(checks, 'postgres') : undefined;
  const redis = isRecord(checks) ? dependency(checks, 'redis') : undefined;
  if (!json.ok || !isRecord(json.value) || postgres === undefined || redis === undefined) {
    return failed('readiness', took, 'malformed', `${what} answered ${answer.status} with ${preview(answer.body)}; expected a report of the PostgreSQL and Redis round trips`);
  }
  const down = ([['PostgreSQL', postgres], ['Redis', redis]] as const).filter(([, report]) => report.status !== 'up');
  const details: Record<string, unknown> = {};
  if (typeof postgres.latencyMs === 'number') details.postgresMs = postgres.latencyMs;
  if (typeof redis.latencyMs === 'number') details.redisMs = redis.latencyMs;
  if (down.length > 0) {
    details.down = down.map(([label]) => (label === 'PostgreSQL' ? 'postgres' : 'redis'));
    return failed('readiness', took, 'dependency-down', `${what} answered ${answer.status}: ${down.map(([label, report]) => describeDependency(label, report)).join(', ')}`, details);
  }
  const migrations = isRecord(json.value.migrations) ? json.value.migrations : undefined;
  if (answer.status !== 200 || json.value.status !== 'ready') {
    const pending = migrations?.complete === false ? ': its schema migrations have not completed' : '';
    const error = typeof migrations?.error === 'string' ? ` (${migrations.error})` : '';
    return failed('readiness', took, 'not-ready', `${what} answered ${answer.status} ${JSON.stringify(json.value.status ?? null)} with PostgreSQL and Redis up${pending}${error}`, details);
  }
  const latency = (value: unknown) => (typeof value === 'number' ? ms(value) : 'up');
  return result('readiness', took, {
    status: 'pass',
    message: `PostgreSQL ${latency(postgres.latencyMs)}, Redis ${latency(redis.latencyMs)} round trips`,
    details,
  });
}

/** What a TCP protocol probe of PostgreSQL or Redis saw: the first bytes of the reply, or why there were none. */
export type ProtocolAnswer = { reply: string; durationMs: number } | HttpFailure;

/**
 * PostgreSQL must answer an SSLRequest with `S` or `N` (its first protocol exchange, no credentials needed); Redis
 * must answer `PING` with `+PONG` (or `-NOAUTH`: alive, and password-protected as the fleet's ACL makes it); any other TCP target must accept
 * a connection.
 */
export function judgeProtocol(kind: 'postgres' | 'redis' | 'tcp', answer: ProtocolAnswer): CheckResult {
  const label = kind === 'postgres' ? 'PostgreSQL' : kind === 'redis' ? 'Redis' : 'TCP';
  if ('kind' in answer) return failed('protocol', answer.durationMs, failureCode(answer.kind), `${label}: ${answer.message}`);
  const took = answer.durationMs;
  const pass = (message: string, warnings?: string[]) =>
    result('protocol', took, { status: 'pass', message, details: { latencyMs: Math.round(took * 10) / 10 }, ...(warnings ? { warnings } : {}) });
  if (kind === 'tcp') return pass(`accepted a connection in ${ms(took)}`);
  if (kind === 'postgres') {
    if (answer.reply === 'S' || answer.reply === 'N') return pass(`PostgreSQL answered the protocol handshake in ${ms(took)}`);
    return failed('protocol', took, 'malformed', `PostgreSQL: the port answered ${preview(answer.reply)} to an SSLRequest; expected "S" or "N" (is it PostgreSQL?)`);
  }
  if (answer.reply.startsWith('+PONG')) return pass(`Redis answered PING in ${ms(took)}`);
  // The fleet's Redis takes its users from an ACL file with the default user off: NOAUTH to an anonymous PING is
  // how it answers when it is well, not a warning.
  if (/^-NOAUTH/.test(answer.reply)) return pass(`Redis answered PING in ${ms(took)} with NOAUTH: no one gets in without a password`);
  if (/^-LOADING/.test(answer.reply)) return failed('protocol', took, 'not-ready', 'Redis is loading its dataset into memory');
  return failed('protocol', took, 'malformed', `Redis: the port answered ${preview(answer.reply)} to PING; expected +PONG (is it Redis?)`);
}

/**
 * The container as the engine sees it: it must exist with the project's labels, be running, and not be unhealthy
 * or restarting. A health status still `starting` passes with a warning (the service's own health endpoint is
 * checked over HTTP); restarts are reported as a warning when known.
 */
export function judgeContainer(container: Instance | undefined, service: string, project: string): CheckResult {
  if (container === undefined) {
    return failed('container', 0, 'container-missing', `no container labelled n3xus.project=${project}, n3xus.service=${service} (was it launched, or removed?)`);
  }
  const restarts = container.restartCount ?? 0;
  const details: Record<string, unknown> = {
    container: container.name,
    state: container.status,
    health: container.health ?? 'none',
    ...(container.restartCount === undefined ? {} : { restartCount: container.restartCount }),
    // The driver runs the fleet without it on purpose (the process driver without redis-server): why, in one sentence.
    ...(container.degraded === undefined ? {} : { degraded: container.degraded }),
  };
  const restarted = restarts > 0 ? `, restarted ${restarts} time${restarts === 1 ? '' : 's'}` : '';
  const replicas = container.replicas;
  if (replicas !== undefined && replicas.desired > 0 && replicas.running < replicas.desired) {
    // Every copy must run: a service that answers through one replica can still fail every other caller.
    const down = replicas.tasks.filter((t) => t.state !== 'running').map((t) => `task ${t.id.slice(0, 12)} ${t.state}${t.message ? ` (${t.message})` : ''}`);
    return failed(
      'container',
      0,
      'replicas-missing',
      `${replicas.running} of ${replicas.desired} replicas of ${container.name} are running${down.length > 0 ? `: ${down.join('; ')}` : ''}${restarted}`,
      { ...details, replicas: { desired: replicas.desired, running: replicas.running } },
    );
  }
  if (container.status === 'restarting') {
    return failed('container', 0, 'container-restarting', `container ${container.name} is restarting (last exit code ${container.exitCode}${restarted})`, details);
  }
  if (!container.running) {
    const exit = container.status === 'exited' || container.status === 'dead' ? ` with exit code ${container.exitCode}` : '';
    const oom = container.oomKilled ? ', killed for lack of memory' : '';
    const error = container.error ? ` (${container.error})` : '';
    return failed('container', 0, 'container-not-running', `container ${container.name} is ${container.status}${exit}${oom}${restarted}${error}`, details);
  }
  if (container.health === 'unhealthy') {
    const output = (container.lastHealthOutput ?? '').trim();
    return failed('container', 0, 'container-unhealthy', `container ${container.name} is running but Docker reports it unhealthy${restarted}${output ? `: ${preview(output, 120)}` : ''}`, details);
  }
  const warnings: string[] = [];
  if (restarts > 0) warnings.push(`the engine restarted it ${restarts} time${restarts === 1 ? '' : 's'}`);
  // "starting" is not a warning: with a long healthcheck interval Docker says it for minutes after every launch,
  // and the HTTP checks, which just reached the service itself, say more than its first check would.
  const health =
    container.health === undefined ? 'no Docker healthcheck' : container.health === 'starting' ? 'health starting (no Docker health check has run yet)' : `health ${container.health}`;
  return result('container', 0, { status: 'pass', message: `running, ${health}${restarted}`, details, ...(warnings.length ? { warnings } : {}) });
}

/** One replica's answer to `GET /health`, at its own address inside the network. */
export interface ReplicaAnswer {
  task: string;
  address: string;
  answer: Answer;
}

/**
 * Every replica of a service must answer `GET /health` as the service: one that does not fails the service, since
 * the callers that Swarm's DNS sends to it fail. Judged only where each replica can be reached (inside the network).
 */
export function judgeReplicas(service: string, answers: readonly ReplicaAnswer[]): CheckResult {
  const took = Math.max(0, ...answers.map((a) => a.answer.durationMs));
  const bad = answers.map((a) => ({ ...a, check: judgeHealth(a.answer, service) })).filter((a) => a.check.status !== 'pass');
  const details = { replicas: answers.length, addresses: answers.map((a) => a.address) };
  if (bad.length === 0) return result('replicas', took, { status: 'pass', message: `all ${answers.length} replicas answer GET /health`, details });
  const first = bad[0]!;
  const named = bad.map((b) => `task ${b.task.slice(0, 12)} at ${b.address}: ${b.check.message}`).join('; ');
  return failed('replicas', took, first.check.code ?? 'bad-status', `${bad.length} of ${answers.length} replicas do not answer as ${service}: ${named}`, details);
}

/** The two answers of the route check: the peer's health and a protected route of the peer, both via the gateway. */
export interface RouteAnswers {
  gateway: string;
  peer: string;
  /** `GET /v1/route/<peer>/health` through the gateway. */
  health: Answer;
  /** `GET /v1/route/<peer>/metrics` through the gateway: only reachable if the gateway adds the handshake. */
  protectedRoute: Answer;
}

function routeProblem(answer: Answer, gateway: string, peer: string, what: string): { code: CheckCode; message: string } | undefined {
  if (isFailure(answer)) return { code: failureCode(answer.kind), message: `${what}: ${answer.message}` };
  if (answer.status === 502 || answer.status === 503 || answer.status === 504) {
    const json = parseJson(answer.body);
    const error = json.ok && isRecord(json.value) && isRecord(json.value.error) ? json.value.error : undefined;
    const detail = error && typeof error.message === 'string' ? `: ${error.message}` : '';
    return { code: 'route-failed', message: `${what}: ${gateway} answered ${answer.status}, it could not reach ${peer}${detail}` };
  }
  if (answer.status === 451) {
    const routed = header(answer.headers, 'x-n3xus-routed-by') !== undefined;
    return routed
      ? { code: 'route-failed', message: `${what}: ${peer} refused the routed call with 451 (${gateway} did not present the handshake)` }
      : { code: 'law-refused', message: `${what}: ${gateway} refused the right handshake with 451` };
  }
  if (answer.status < 200 || answer.status > 299) return { code: 'route-failed', message: `${what} answered ${answer.status}; expected 2xx from ${peer}` };
  return undefined;
}

/**
 * Inter-service, full mode: a request through federation-gateway reaches its peer and comes back — the peer's
 * health (the body must name the peer, and the gateway must mark the answer as routed) and one of the peer's
 * protected routes (which only answers if the gateway added the handshake: zero trust).
 */
export function judgeRoute(answers: RouteAnswers): CheckResult {
  const { gateway, peer } = answers;
  const took = answers.health.durationMs + answers.protectedRoute.durationMs;
  const healthWhat = `GET /v1/route/${peer}/health via ${gateway}`;
  const healthProblem = routeProblem(answers.health, gateway, peer, healthWhat);
  if (healthProblem) return failed('route', took, healthProblem.code, healthProblem.message);
  const health = answers.health as HttpResponse;
  const json = parseJson(health.body);
  const service = json.ok && isRecord(json.value) ? json.value.service : undefined;
  if (service !== peer) {
    return failed('route', took, 'route-failed', `${healthWhat} came back with ${preview(health.body)}; expected the health of ${peer}`);
  }
  const routedBy = header(health.headers, 'x-n3xus-routed-by');
  if (routedBy !== gateway) {
    return failed('route', took, 'route-failed', `${healthWhat} came back without X-N3XUS-Routed-By: ${gateway}${routedBy === undefined ? '' : ` (got ${JSON.stringify(routedBy)})`}`);
  }
  const protectedProblem = routeProblem(answers.protectedRoute, gateway, peer, `GET /v1/route/${peer}${LAW_PROBE_PATH} via ${gateway}`);
  if (protectedProblem) return failed('route', took, protectedProblem.code, protectedProblem.message);
  return result('route', took, {
    status: 'pass',
    message: `routed to ${peer} and back (its health, and a protected route with the handshake added) in ${ms(took)}`,
    details: { peer },
  });
}

/** What the event-delivery flow saw, step by step; a step that was not reached is absent. */
export interface DeliveryObservation {
  bus: string;
  dispatcher: string;
  audit: string;
  topic: string;
  /** `POST /v1/webhooks` on the dispatcher: the subscription of audit-trail's ingest endpoint to the topic. */
  subscribe: Answer;
  /** `POST /v1/topics/<topic>/events` on the bus. */
  publish?: Answer;
  /** The last `GET /v1/ingest/events/<id>` on audit-trail. */
  observed?: Answer;
  /** Time from publishing to the last look at audit-trail, in milliseconds. */
  waitedMs: number;
  /** `GET /v1/deliveries?eventId=<id>` on the dispatcher, asked only when the event was not observed. */
  deliveries?: Answer;
}

function statusLine(answer: Answer): string {
  if (isFailure(answer)) return answer.message;
  const json = parseJson(answer.body);
  const error = json.ok && isRecord(json.value) && isRecord(json.value.error) ? json.value.error : undefined;
  return `${answer.status}${error && typeof error.message === 'string' ? ` ${error.message}` : ''}`;
}

/** The `id` of what a `201 Created` answer created, if it carries one. */
export function createdId(answer: Answer): string | undefined {
  if (isFailure(answer) || answer.status !== 201) return undefined;
  const json = parseJson(answer.body);
  const id = json.ok && isRecord(json.value) ? json.value.id : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** The event id event-bus gave a published event, if the answer carries one. */
export function publishedEventId(answer: Answer | undefined): string | undefined {
  if (answer === undefined || isFailure(answer) || (answer.status !== 201 && answer.status !== 202)) return undefined;
  const json = parseJson(answer.body);
  const id = json.ok && isRecord(json.value) ? json.value.id : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** True when audit-trail's answer is the record of event `eventId`. */
export function isRecorded(answer: Answer | undefined, eventId: string): boolean {
  if (answer === undefined || isFailure(answer) || answer.status !== 200) return false;
  const json = parseJson(answer.body);
  return json.ok && isRecord(json.value) && typeof json.value.eventId === 'string' && json.value.eventId.toLowerCase() === eventId.toLowerCase();
}

function deliveryState(answer: Answer | undefined): string {
  if (answer === undefined) return '';
  if (isFailure(answer) || answer.status !== 200) return `; ${'kind' in answer ? answer.message : `its delivery log answered ${answer.status}`}`;
  const json = parseJson(answer.body);
  const items = json.ok && isRecord(json.value) && Array.isArray(json.value.items) ? json.value.items : [];
  const first: unknown = items[0];
  if (!isRecord(first)) return '; the dispatcher has no delivery of it (did it receive the event?)';
  const lastError = typeof first.lastError === 'string' ? `, last error: ${first.lastError.slice(0, 160)}` : '';
  return `; delivery ${String(first.status)} after ${String(first.attempts)} attempt(s)${lastError}`;
}

/**
 * Inter-service, full mode: an event published on event-bus is delivered by webhook-dispatcher to audit-trail's
 * ingest endpoint, and audit-trail records it. The failure names the step that broke.
 */
export function judgeEventDelivery(observation: DeliveryObservation): CheckResult {
  const { bus, dispatcher, audit, topic } = observation;
  const took = observation.subscribe.durationMs + (observation.publish?.durationMs ?? 0) + observation.waitedMs;
  const sub = observation.subscribe;
  if (createdId(sub) === undefined) {
    const why = !isFailure(sub) && sub.status === 201 ? `answered 201 with ${preview(sub.body)}, without the webhook's id` : statusLine(sub);
    return failed('event-delivery', took, isFailure(sub) ? failureCode(sub.kind) : 'not-delivered', `${dispatcher} did not register the webhook for topic ${topic}: ${why}`);
  }
  const eventId = publishedEventId(observation.publish);
  if (observation.publish === undefined || eventId === undefined) {
    const pub = observation.publish;
    const code = pub !== undefined && isFailure(pub) ? failureCode(pub.kind) : 'not-delivered';
    return failed('event-delivery', took, code, `${bus} did not accept an event on topic ${topic}: ${pub === undefined ? 'not sent' : statusLine(pub)}`);
  }
  if (isRecorded(observation.observed, eventId)) {
    return result('event-delivery', took, {
      status: 'pass',
      message: `event published on ${bus}, delivered by ${dispatcher}, recorded by ${audit} ${ms(observation.waitedMs)} later`,
      details: { eventId, topic, deliveredMs: Math.round(observation.waitedMs) },
    });
  }
  const last = observation.observed === undefined ? 'not asked' : statusLine(observation.observed);
  return failed(
    'event-delivery',
    took,
    'not-delivered',
    `event ${eventId} published on ${bus} was not recorded by ${audit} within ${Math.round(observation.waitedMs)} ms (${audit} last answered ${last})${deliveryState(observation.deliveries)}`,
    { eventId, topic },
  );
}
