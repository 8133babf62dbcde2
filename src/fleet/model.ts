/**
 * The fleet model: a compose file whose services carry the n3xus labels, read with `yaml`, interpolated the way
 * docker compose does, validated with zod and turned into typed services. Everything here is pure except
 * {@link loadFleet}, which reads the file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { parseBytes } from './sizes.ts';
import { projectFromDir } from './project-name.ts';
import { DEFAULT_FLEET_FILE } from './fleet-file.ts';
import { LABELS } from './compose.ts';
import type { CatalogEntry } from './catalog.ts';
import { STAGES, type Stage } from './stages.ts';
import { displayPath } from '../util/display-path.ts';

/** Variables that `${VAR}` in the compose file is resolved against (default: `process.env`). */
export type Env = Readonly<Record<string, string | undefined>>;

export interface FleetOptions {
  /** Variables for interpolation and for environment entries without a value (default: `process.env`). */
  env?: Env;
}

export type DependencyCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

/** One `depends_on` entry; the short (list) form means `service_started`, required, no restart. */
export interface FleetDependency {
  name: string;
  condition: DependencyCondition;
  /** `required: false` lets the service start when the dependency is not part of the fleet. */
  required: boolean;
  /** Restart this service when the dependency is restarted (compose's `restart: true`). */
  restart: boolean;
}

/**
 * A service's healthcheck. An absent timing means "the image's value, else Docker's default" (interval 30 s,
 * timeout 30 s, 3 retries, no start period), as with compose; `test` is `[]` to keep the image's test and
 * `['NONE']` when the healthcheck is disabled.
 */
export interface FleetHealthcheck {
  /** `['CMD', ...argv]`, `['CMD-SHELL', script]`, `['NONE']`, or `[]` for the image's own test. */
  test: string[];
  intervalMs?: number;
  timeoutMs?: number;
  retries?: number;
  startPeriodMs?: number;
  startIntervalMs?: number;
}

export interface FleetBuild {
  /** The build context, resolved against the compose file's directory (a git or http URL is kept as is). */
  context: string;
  /** Path of the Dockerfile inside the context (default `Dockerfile`). */
  dockerfile: string;
  args: Record<string, string>;
  target?: string;
}

/** A published port. Only 127.0.0.1 is accepted: see {@link parseFleet}. */
export interface FleetPort {
  hostIp: '127.0.0.1';
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
}

export interface FleetMount {
  type: 'volume' | 'bind' | 'tmpfs';
  /** Volume name (a key of {@link Fleet.volumes}) or absolute host path; absent for an anonymous volume. */
  source?: string;
  target: string;
  readOnly: boolean;
}

/**
 * A secret file mounted into a service at `/run/secrets/<target>`, as compose and Swarm do: `source` names a
 * top-level secret, whose `file` on this machine holds the value.
 */
export interface FleetSecretRef {
  source: string;
  /** The file name under /run/secrets (compose's default: the source's name). */
  target: string;
}

/** A top-level secret: a file on this machine, resolved against the fleet file's directory. */
export interface FleetSecret {
  file: string;
}

export type RestartPolicy = 'no' | 'always' | 'unless-stopped' | 'on-failure' | `on-failure:${number}`;

/**
 * One container of the fleet: its n3xus metadata, read from the labels (`n3xus.stage`, `.phase`, `.group`,
 * `.category`, `.port`, `.calls`; the published port gives `hostPort`), and its compose definition.
 */
export interface FleetService extends Omit<CatalogEntry, 'description'> {
  /** The image to run; for a built service without `image`, compose's `<project>-<service>`. */
  image: string;
  build?: FleetBuild;
  /** The container's environment, interpolated; entries without a value take it from the env, or are left out. */
  environment: Record<string, string>;
  dependsOn: FleetDependency[];
  /** Absent: the image's healthcheck applies. */
  healthcheck?: FleetHealthcheck;
  /** Default `no`, as with compose. */
  restart: RestartPolicy;
  readOnly: boolean;
  capDrop: string[];
  capAdd: string[];
  securityOpt: string[];
  user?: string;
  /** `mem_limit` in bytes (`128m` is 134217728: units are powers of 1024, as Docker's). */
  memLimitBytes?: number;
  /** `cpus`: at most this many cores (a hard quota). */
  cpus?: number;
  /** `pids_limit`: at most this many processes and threads in the container. */
  pidsLimit?: number;
  /** `secrets`: files mounted under /run/secrets. */
  secrets: FleetSecretRef[];
  /** `shm_size` in bytes. */
  shmSizeBytes?: number;
  /** `logging`: the engine's log driver and its options (`max-size`, `max-file` for json-file); absent, the engine's. */
  logging?: FleetLogging;
  tmpfs: string[];
  volumes: FleetMount[];
  ports: FleetPort[];
  /** The command as argv; a string command is split as a shell would, like compose does. */
  command?: string[];
  /** Keys of {@link Fleet.networks}; empty means the project's default network. */
  networks: string[];
  /** All labels, the n3xus ones included. */
  labels: Record<string, string>;
}

/** A service's `logging`: the log driver (absent: the engine's default) and its options, as compose passes them. */
export interface FleetLogging {
  driver?: string;
  options: Record<string, string>;
}

export interface FleetNetwork {
  /** The engine's name of the network, when the file sets one. */
  name?: string;
  driver?: string;
  external: boolean;
  internal: boolean;
  labels: Record<string, string>;
}

export interface FleetVolume {
  name?: string;
  driver?: string;
  external: boolean;
  labels: Record<string, string>;
}

/** A compose file read into typed services, in the order the file lists them. */
export interface Fleet {
  /** The file as it was named to {@link parseFleet} or {@link loadFleet}; error messages use it. */
  file: string;
  /** The project name: `COMPOSE_PROJECT_NAME`, else the file's top-level `name`. */
  project?: string;
  services: FleetService[];
  networks: Record<string, FleetNetwork>;
  volumes: Record<string, FleetVolume>;
  /** Top-level `secrets`, by name. */
  secrets: Record<string, FleetSecret>;
  /** Variables used without a value and without a default: compose uses an empty string and warns. */
  warnings: string[];
}

/** One thing wrong with a fleet file, and where. */
export interface FleetProblem {
  service?: string;
  /** Dotted path inside the service (or the file), e.g. `labels.n3xus.stage` or `ports[0]`. */
  key?: string;
  /** 1-based position, for YAML syntax errors. */
  line?: number;
  column?: number;
  message: string;
}

const MAX_LISTED_PROBLEMS = 10;

function formatProblem(file: string, problem: FleetProblem): string {
  let where = file;
  if (problem.line !== undefined) where += `:${problem.line}:${problem.column ?? 1}`;
  if (problem.service !== undefined) where += `: service "${problem.service}"`;
  if (problem.key !== undefined) where += `: key "${problem.key}"`;
  return `${where}: ${problem.message}`;
}

/**
 * A fleet file that cannot be read or does not describe a fleet. The message names the file, then for each
 * problem (up to 10, one a line) the service, the key, what was expected and what was found.
 */
export class FleetFileError extends Error {
  override readonly name = 'FleetFileError';
  readonly code = 'INVALID_FLEET_FILE';
  readonly file: string;
  readonly problems: readonly FleetProblem[];
  readonly suggestions: readonly string[];

  constructor(file: string, problems: readonly FleetProblem[], suggestions: readonly string[], options?: { cause?: unknown }) {
    const lines = problems.slice(0, MAX_LISTED_PROBLEMS).map((p) => formatProblem(file, p));
    if (problems.length > MAX_LISTED_PROBLEMS) lines.push(`…and ${problems.length - MAX_LISTED_PROBLEMS} more problems`);
    super(lines.join('\n'), options);
    this.file = file;
    this.problems = problems;
    this.suggestions = suggestions;
  }
}

const FIX_SUGGESTION = 'Fix the file and run again; `docker compose -f <file> config` shows how compose itself reads it.';
const LABEL_SUGGESTION = `Every service needs the labels ${LABELS.stage}, ${LABELS.group}, ${LABELS.category} and ${LABELS.port}; compose/docker-compose.full.yml shows them.`;

// ---------------------------------------------------------------------------------------------------------------
// Reading values back for messages

type Segment = string | number;

function joinKey(segments: readonly Segment[]): string | undefined {
  let key = '';
  for (const s of segments) key += typeof s === 'number' ? `[${s}]` : key === '' ? s : `.${s}`;
  return key === '' ? undefined : key;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function valueAt(root: unknown, segments: readonly PropertyKey[]): unknown {
  let value = root;
  for (const s of segments) {
    if (Array.isArray(value) && typeof s === 'number') value = value[s];
    else if (isMapping(value) && typeof s === 'string') value = value[s];
    else return undefined;
  }
  return value;
}

/** How a found value reads in a message: strings quoted, structures as short JSON, a missing value as "nothing". */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value !== 'object') return String(value);
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

const expected = (what: string, got: unknown): string => `expected ${what}; got ${describe(got)}`;

// ---------------------------------------------------------------------------------------------------------------
// Interpolation, as docker compose does it: ${VAR}, $VAR, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
// ${VAR?error}, ${VAR:+replacement}, ${VAR+replacement}, $$ for a literal $, defaults nested.

interface Interpolation {
  env: Env;
  /** Records a variable that is unset and has no default (compose warns and uses ""). */
  unset(variable: string): void;
  fail(message: string, suggestion: string): never;
}

const VARIABLE = /[_a-zA-Z][_a-zA-Z0-9]*/y;

function interpolate(text: string, ctx: Interpolation): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar < 0) return out + text.slice(i);
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
    } else if (next === '{') {
      const [value, end] = braced(text, dollar + 2, ctx);
      out += value;
      i = end;
    } else {
      VARIABLE.lastIndex = dollar + 1;
      const name = VARIABLE.exec(text)?.[0];
      if (name === undefined) invalidTemplate(text, ctx);
      out += plain(name, ctx);
      i = dollar + 1 + name.length;
    }
  }
  return out;
}

function invalidTemplate(text: string, ctx: Interpolation): never {
  return ctx.fail(`invalid interpolation format in ${JSON.stringify(text)}; write $VAR or \${VAR}, and "$$" for a literal "$"`, 'Write "$$" where a literal "$" is meant.');
}

function plain(name: string, ctx: Interpolation): string {
  const value = ctx.env[name];
  if (value === undefined) ctx.unset(name);
  return value ?? '';
}

/** Reads `NAME[op word]}` from `start`; returns the value and the index after the closing brace. */
function braced(text: string, start: number, ctx: Interpolation): [string, number] {
  VARIABLE.lastIndex = start;
  const name = VARIABLE.exec(text)?.[0];
  if (name === undefined) invalidTemplate(text, ctx);
  let i = start + name.length;
  if (text[i] === '}') return [plain(name, ctx), i + 1];
  const op = /^(:-|-|:\?|\?|:\+|\+)/.exec(text.slice(i))?.[1];
  if (op === undefined) invalidTemplate(text, ctx);
  i += op.length;
  // The word runs to the matching brace: nested ${...} open one more level, $$ is an escaped dollar.
  const wordStart = i;
  let depth = 0;
  for (;;) {
    if (i >= text.length) invalidTemplate(text, ctx);
    if (text.startsWith('$$', i)) i += 2;
    else if (text.startsWith('${', i)) {
      depth += 1;
      i += 2;
    } else if (text[i] === '}') {
      if (depth === 0) break;
      depth -= 1;
      i += 1;
    } else i += 1;
  }
  const word = (): string => interpolate(text.slice(wordStart, i), ctx);
  const value = ctx.env[name];
  const isSet = value !== undefined;
  const isFilled = isSet && value !== '';
  const end = i + 1;
  switch (op) {
    case ':-':
      return [isFilled ? value : word(), end];
    case '-':
      return [isSet ? value : word(), end];
    case ':+':
      return [isFilled ? word() : '', end];
    case '+':
      return [isSet ? word() : '', end];
    default: {
      // ':?' and '?': a required variable.
      if (op === ':?' ? isFilled : isSet) return [value!, end];
      const reason = word();
      return ctx.fail(`required variable ${name} is missing a value${reason === '' ? '' : `: ${reason}`}`, `Set ${name} in the environment, or give it a default: \${${name}:-default}.`);
    }
  }
}

/** Interpolates every string value of the document (keys are left alone, as compose does). */
function interpolateTree(value: unknown, at: Segment[], ctx: (at: Segment[]) => Interpolation): unknown {
  if (typeof value === 'string') return value.includes('$') ? interpolate(value, ctx(at)) : value;
  if (Array.isArray(value)) return value.map((item, i) => interpolateTree(item, [...at, i], ctx));
  if (isMapping(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateTree(v, [...at, k], ctx);
    return out;
  }
  return value;
}

// ---------------------------------------------------------------------------------------------------------------
// Units

const DURATION_UNITS_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration as compose takes it (`30s`, `1m30s`, `500ms`) in milliseconds, or undefined. */
function parseDurationMs(text: string): number | undefined {
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let i = 0;
  while (i < text.length) {
    part.lastIndex = i;
    const match = part.exec(text);
    if (!match) return undefined;
    total += Number(match[1]) * DURATION_UNITS_MS[match[2]!]!;
    i = part.lastIndex;
  }
  return i === 0 ? undefined : total;
}

/** Splits a command string into argv as a POSIX shell would (quotes and backslashes), or undefined if unbalanced. */
function shellSplit(text: string): string[] | undefined {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) return undefined;
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i += 1; ; i++) {
        if (i >= text.length) return undefined;
        const d = text[i]!;
        if (d === '"') break;
        if (d === '\\' && '"\\$`'.includes(text[i + 1] ?? '')) word += text[++i];
        else word += d;
      }
    } else if (c === '\\') {
      if (i + 1 >= text.length) return undefined;
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

// ---------------------------------------------------------------------------------------------------------------
// The schema of one service. Compose's polymorphic fields (list or mapping, string or list) are normalised by
// transforms; every message is the "what was expected" half, and the formatter adds what was found.

type Ctx = z.RefinementCtx;

function problem(ctx: Ctx, what: string, at: Segment[] = []): void {
  ctx.addIssue({ code: 'custom', message: what, path: at });
}

const NAME_LIST = 'a list of strings';
const stringList = z.array(z.string({ error: 'a string' }), { error: NAME_LIST });
const scalarText = (what: string) => z.union([z.string(), z.number(), z.boolean()], { error: what }).transform(String);
const duration = z
  .string({ error: 'a duration such as 30s or 1m30s' })
  .transform((text, ctx) => parseDurationMs(text) ?? (problem(ctx, 'a duration such as 30s or 1m30s'), z.NEVER));
const bytes = z
  .union([z.string(), z.number()], { error: 'a size such as 128m or 1g' })
  .transform((value, ctx) => parseBytes(String(value)) ?? (problem(ctx, 'a size such as 128m or 1g'), z.NEVER));

/** `{NAME: value}` or `["NAME=value", "NAME"]`; null stands for "no value given". */
function keyValues(what: string) {
  return z.unknown().transform((value, ctx): Record<string, string | null> => {
    const out: Record<string, string | null> = {};
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        const eq = typeof item === 'string' ? item.indexOf('=') : 0;
        if (typeof item !== 'string' || eq === 0 || item === '') return problem(ctx, '"NAME=value" or "NAME"', [i]);
        if (eq < 0) out[item] = null;
        else out[item.slice(0, eq)] = item.slice(eq + 1);
      });
    } else if (isMapping(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (v === null) out[k] = null;
        else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
        else problem(ctx, 'a string, a number or a boolean', [k]);
      }
    } else problem(ctx, what);
    return out;
  });
}

const portSchema = z.unknown().transform((value, ctx): FleetPort => {
  const loopback = (example: string): never => (problem(ctx, `"127.0.0.1:${example}" (n3xus publishes on 127.0.0.1 only: its services have no authentication)`), z.NEVER);
  const shape = '"127.0.0.1:HOST:CONTAINER" with ports from 1 to 65535';
  const port = (text: string): number | undefined => (/^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535 ? Number(text) : undefined);
  if (typeof value === 'number') return loopback(`${value}:${value}`);
  if (isMapping(value)) {
    const { target, published, host_ip: hostIp, protocol = 'tcp', mode, ...rest } = value;
    const containerPort = port(String(target));
    const hostPort = published === undefined ? undefined : port(String(published));
    const unknown = Object.keys(rest);
    if (unknown.length > 0 || containerPort === undefined || (published !== undefined && hostPort === undefined) || !['tcp', 'udp', 'sctp'].includes(String(protocol)) || (mode !== undefined && mode !== 'ingress' && mode !== 'host')) {
      return (problem(ctx, '{target, published, host_ip: 127.0.0.1, protocol?} with ports from 1 to 65535'), z.NEVER);
    }
    if (hostIp !== '127.0.0.1' || hostPort === undefined) return loopback(`${hostPort ?? containerPort}:${containerPort}`);
    return { hostIp, hostPort, containerPort, protocol: protocol as FleetPort['protocol'] };
  }
  if (typeof value !== 'string') return (problem(ctx, shape), z.NEVER);
  const match = /^(?:(?:(\[[^\]]*\]|[^:]*):)?([^:]*):)?([^:/]+)(?:\/(tcp|udp|sctp))?$/.exec(value);
  if (!match) return (problem(ctx, shape), z.NEVER);
  const [, hostIp, hostText, containerText, protocol = 'tcp'] = match;
  const containerPort = port(containerText!);
  const hostPort = hostText ? port(hostText) : undefined;
  if (containerPort === undefined || (hostText && hostPort === undefined)) return (problem(ctx, shape), z.NEVER);
  if (hostIp !== '127.0.0.1' || hostPort === undefined) return loopback(`${hostPort ?? containerPort}:${containerPort}`);
  return { hostIp, hostPort, containerPort, protocol: protocol as FleetPort['protocol'] };
});

const CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'] as const;

const dependsOnSchema = z.unknown().transform((value, ctx): FleetDependency[] => {
  const out: FleetDependency[] = [];
  if (Array.isArray(value)) {
    value.forEach((name, i) => {
      if (typeof name === 'string' && name !== '') out.push({ name, condition: 'service_started', required: true, restart: false });
      else problem(ctx, 'a service name', [i]);
    });
    return out;
  }
  if (!isMapping(value)) return (problem(ctx, 'a list of service names, or a mapping of service names to {condition}'), z.NEVER);
  for (const [name, options] of Object.entries(value)) {
    const spec = options ?? {};
    if (!isMapping(spec)) {
      problem(ctx, `{condition: ${CONDITIONS.join(' | ')}}`, [name]);
      continue;
    }
    const { condition = 'service_started', required = true, restart = false, ...rest } = spec;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) problem(ctx, 'only the keys condition, required and restart', [name, extra]);
    else if (!CONDITIONS.includes(condition as DependencyCondition)) problem(ctx, `one of ${CONDITIONS.join(', ')}`, [name, 'condition']);
    else if (typeof required !== 'boolean') problem(ctx, 'true or false', [name, 'required']);
    else if (typeof restart !== 'boolean') problem(ctx, 'true or false', [name, 'restart']);
    else out.push({ name, condition: condition as DependencyCondition, required, restart });
  }
  return out;
});

const healthcheckSchema = z
  .strictObject({
    test: z.union([z.string(), stringList], { error: 'a string, or a list starting with CMD, CMD-SHELL or NONE' }).optional(),
    interval: duration.optional(),
    timeout: duration.optional(),
    retries: z.number({ error: 'a whole number from 0 up' }).int({ error: 'a whole number from 0 up' }).min(0, { error: 'a whole number from 0 up' }).optional(),
    start_period: duration.optional(),
    start_interval: duration.optional(),
    disable: z.boolean({ error: 'true or false' }).optional(),
  })
  .transform((h, ctx): FleetHealthcheck => {
    let test: string[] = h.test === undefined ? [] : typeof h.test === 'string' ? ['CMD-SHELL', h.test] : h.test;
    if (test.length > 0 && !['CMD', 'CMD-SHELL', 'NONE'].includes(test[0]!)) problem(ctx, 'a list starting with CMD, CMD-SHELL or NONE', ['test']);
    if (h.disable === true) test = ['NONE'];
    const out: FleetHealthcheck = { test };
    if (h.interval !== undefined) out.intervalMs = h.interval;
    if (h.timeout !== undefined) out.timeoutMs = h.timeout;
    if (h.retries !== undefined) out.retries = h.retries;
    if (h.start_period !== undefined) out.startPeriodMs = h.start_period;
    if (h.start_interval !== undefined) out.startIntervalMs = h.start_interval;
    return out;
  });

const buildSchema = z.preprocess(
  // The short form `build: ./dir` is the context alone.
  (v) => (typeof v === 'string' ? { context: v } : v),
  z.strictObject(
    {
      context: z.string({ error: 'a path' }).default('.'),
      dockerfile: z.string({ error: 'a path' }).default('Dockerfile'),
      args: keyValues('a mapping of build arguments, or a list of "NAME=value"').optional(),
      target: z.string({ error: 'a stage name' }).optional(),
    },
    { error: 'a context path, or {context, dockerfile, args, target}' },
  ),
);

interface RawMount {
  type: FleetMount['type'];
  source?: string;
  target: string;
  readOnly: boolean;
}

const mountSchema = z.unknown().transform((value, ctx): RawMount => {
  if (typeof value === 'string') {
    const parts = value.split(':');
    const [first, second, mode] = parts;
    if (parts.length > 3 || first === '' || second === '') return (problem(ctx, '"SOURCE:TARGET[:ro]" or "TARGET"'), z.NEVER);
    const target = parts.length === 1 ? first! : second!;
    if (!target.startsWith('/')) return (problem(ctx, 'an absolute path inside the container as target, e.g. "data:/var/lib/data"'), z.NEVER);
    const readOnly = (mode ?? '').split(',').includes('ro');
    if (parts.length === 1) return { type: 'volume', target, readOnly };
    const type = /^[./~]/.test(first!) ? 'bind' : 'volume';
    return { type, source: first!, target, readOnly };
  }
  if (isMapping(value)) {
    const { type, source, target, read_only: readOnly = false, ...rest } = value;
    const ok = ['volume', 'bind', 'tmpfs'].includes(String(type)) && typeof target === 'string' && target.startsWith('/') && (source === undefined || typeof source === 'string') && typeof readOnly === 'boolean' && Object.keys(rest).length === 0;
    if (!ok) return (problem(ctx, '{type: volume | bind | tmpfs, source, target, read_only}'), z.NEVER);
    return { type: type as RawMount['type'], ...(source === undefined ? {} : { source: source as string }), target: target as string, readOnly: readOnly as boolean };
  }
  return (problem(ctx, '"SOURCE:TARGET[:ro]" or {type, source, target}'), z.NEVER);
});

const serviceNetworksSchema = z.unknown().transform((value, ctx): string[] => {
  if (Array.isArray(value)) {
    value.forEach((name, i) => typeof name !== 'string' && problem(ctx, 'a network name', [i]));
    return value.filter((name): name is string => typeof name === 'string');
  }
  if (isMapping(value)) {
    for (const [name, options] of Object.entries(value)) {
      if (options !== null && !(isMapping(options) && Object.keys(options).length === 0)) {
        problem(ctx, 'no options (n3xus does not support aliases or fixed addresses)', [name]);
      }
    }
    return Object.keys(value);
  }
  return (problem(ctx, 'a list of network names'), z.NEVER);
});

const SECRET_TARGET = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const secretRefSchema = z.unknown().transform((value, ctx): FleetSecretRef => {
  const shape = 'a secret name, or {source, target} with target a file name under /run/secrets';
  if (typeof value === 'string' && value !== '') return { source: value, target: value };
  if (isMapping(value)) {
    const { source, target = source, ...rest } = value;
    // Compose also takes target as an absolute path; n3xus mounts secrets under /run/secrets only, as Swarm does.
    const name = typeof target === 'string' ? target.replace(/^\/run\/secrets\//, '') : undefined;
    if (typeof source === 'string' && source !== '' && name !== undefined && SECRET_TARGET.test(name) && Object.keys(rest).length === 0) return { source, target: name };
  }
  return (problem(ctx, shape), z.NEVER);
});

const RESTART = /^(no|always|unless-stopped|on-failure(:\d+)?)$/;
const RESTART_TEXT = 'one of no, always, unless-stopped, on-failure, on-failure:N';

const serviceSchema = z.strictObject({
  image: z.string({ error: 'an image reference such as postgres:15' }).min(1, { error: 'an image reference such as postgres:15' }).optional(),
  build: buildSchema.optional(),
  command: z
    .union([z.string(), z.array(z.union([z.string(), z.number()]))], { error: 'a string or a list of strings' })
    .transform((command, ctx) => {
      if (Array.isArray(command)) return command.map(String);
      return shellSplit(command) ?? (problem(ctx, 'a command with balanced quotes'), z.NEVER);
    })
    .optional(),
  environment: keyValues('a mapping of names to values, or a list of "NAME=value"').optional(),
  labels: keyValues('a mapping of label keys to values, or a list of "key=value"').optional(),
  ports: z.array(portSchema, { error: 'a list of port mappings' }).optional(),
  depends_on: dependsOnSchema.optional(),
  healthcheck: healthcheckSchema.optional(),
  restart: z.string({ error: RESTART_TEXT }).regex(RESTART, { error: RESTART_TEXT }).optional(),
  read_only: z.boolean({ error: 'true or false' }).optional(),
  cap_drop: stringList.optional(),
  cap_add: stringList.optional(),
  security_opt: stringList.optional(),
  user: scalarText('a user such as 1000:1000').optional(),
  mem_limit: bytes.optional(),
  shm_size: bytes.optional(),
  cpus: z
    .union([z.number(), z.string()], { error: 'a number of cores such as 0.5' })
    .transform((v, ctx) => {
      const n = Number(v);
      return Number.isFinite(n) && n > 0 && n <= 1024 ? n : (problem(ctx, 'a number of cores above 0, such as 0.5'), z.NEVER);
    })
    .optional(),
  pids_limit: z
    .number({ error: 'a whole number of processes from 1 up, or -1 for no limit' })
    .int({ error: 'a whole number of processes from 1 up, or -1 for no limit' })
    .refine((n) => n === -1 || n >= 1, { error: 'a whole number of processes from 1 up, or -1 for no limit' })
    .optional(),
  secrets: z.array(secretRefSchema, { error: 'a list of secret names, or of {source, target}' }).optional(),
  logging: z
    .strictObject(
      {
        driver: z.string({ error: 'a log driver name such as json-file' }).min(1, { error: 'a log driver name such as json-file' }).optional(),
        options: keyValues('a mapping of option names to values, such as {max-size: 10m, max-file: "3"}').optional(),
      },
      { error: 'a mapping such as {driver: json-file, options: {max-size: 10m, max-file: "3"}}' },
    )
    .optional(),
  tmpfs: z.union([z.string().transform((t) => [t]), stringList], { error: 'a path or a list of paths' }).optional(),
  volumes: z.array(mountSchema, { error: 'a list of mounts' }).optional(),
  networks: serviceNetworksSchema.optional(),
});

type ParsedService = z.output<typeof serviceSchema>;

const SUPPORTED_SERVICE_KEYS = Object.keys(serviceSchema.shape).sort();

const networkSchema = z.preprocess(
  (v) => v ?? {},
  z.strictObject(
    {
      name: z.string({ error: 'a string' }).optional(),
      driver: z.string({ error: 'a string' }).optional(),
      external: z.boolean({ error: 'true or false' }).optional(),
      internal: z.boolean({ error: 'true or false' }).optional(),
      labels: keyValues('a mapping of label keys to values').optional(),
    },
    { error: 'a mapping such as {driver: bridge}' },
  ),
);

const volumeSchema = z.preprocess(
  (v) => v ?? {},
  z.strictObject(
    {
      name: z.string({ error: 'a string' }).optional(),
      driver: z.string({ error: 'a string' }).optional(),
      external: z.boolean({ error: 'true or false' }).optional(),
      labels: keyValues('a mapping of label keys to values').optional(),
    },
    { error: 'a mapping such as {driver: local}' },
  ),
);

const documentSchema = z.strictObject({
  version: z.unknown().optional(),
  name: z.string({ error: 'a project name' }).regex(/^[a-z0-9][a-z0-9_-]*$/, { error: 'a project name of lower-case letters, digits, "_" and "-"' }).optional(),
  services: z.record(z.string(), z.unknown(), { error: 'a mapping of service names to their definitions' }),
  networks: z.record(z.string(), networkSchema, { error: 'a mapping of network names to their definitions' }).optional(),
  volumes: z.record(z.string(), volumeSchema, { error: 'a mapping of volume names to their definitions' }).optional(),
  secrets: z
    .record(z.string(), z.strictObject({ file: z.string({ error: 'a path' }).min(1, { error: 'a path' }) }, { error: 'a mapping {file: PATH} (n3xus reads secrets from files)' }), {
      error: 'a mapping of secret names to {file: PATH}',
    })
    .optional(),
});

const SUPPORTED_TOP_KEYS = Object.keys(documentSchema.shape).sort();

/** The "expected" half of zod's generic issues, in the words of a compose file. */
function genericExpectation(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    const words: Record<string, string> = { string: 'a string', number: 'a number', int: 'a whole number', boolean: 'true or false', object: 'a mapping', array: 'a list', record: 'a mapping' };
    return words[issue.expected] ?? issue.expected;
  }
  if (issue.code === 'invalid_value') return `one of ${issue.values.map(String).join(', ')}`;
  return undefined;
}

/** Turns zod issues into problems: the key, what was expected, and what the (interpolated) file holds there. */
function toProblems(error: z.ZodError, raw: unknown, service: string | undefined, supportedKeys: readonly string[] | undefined): FleetProblem[] {
  return error.issues.map((issue) => {
    const at = issue.path.filter((s): s is Segment => typeof s !== 'symbol');
    const base = service === undefined ? {} : { service };
    if (issue.code === 'unrecognized_keys') {
      const extra = issue.keys[0]!;
      const supported = supportedKeys && at.length === 0 ? `; supported keys: ${supportedKeys.join(', ')}` : '';
      return { ...base, key: joinKey([...at, extra])!, message: `not a key n3xus supports${supported}` };
    }
    const key = joinKey(at);
    return { ...base, ...(key === undefined ? {} : { key }), message: expected(issue.message, valueAt(raw, at)) };
  });
}

const parseParams = { error: (issue: z.core.$ZodRawIssue) => genericExpectation(issue) };

// ---------------------------------------------------------------------------------------------------------------
// From the validated document to the model

const SERVICE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const LABEL_NAME = 'a name such as core-runtime';

interface Assembly {
  dir: string;
  env: Env;
  project: string;
  problems: FleetProblem[];
}

function isUrl(context: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@');
}

function resolveHostPath(source: string, a: Assembly): string {
  if (source === '~' || source.startsWith('~/')) return path.join(a.env.HOME ?? '~', source.slice(1));
  return path.resolve(a.dir, source);
}

/** Values given as `NAME` or `NAME:` (no value) come from the env; unset ones are left out, as with compose. */
function resolveValues(values: Record<string, string | null> | undefined, env: Env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(values ?? {})) {
    const value = v ?? env[k];
    if (value !== undefined) out[k] = value;
  }
  return out;
}

function toService(name: string, s: ParsedService, raw: Record<string, unknown>, a: Assembly): FleetService | undefined {
  const count = a.problems.length;
  const fail = (key: string, message: string): void => void a.problems.push({ service: name, key, message });
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(s.labels ?? {})) labels[k] = v ?? '';
  const label = (key: string): string | undefined => labels[key];
  const labelKey = (key: string): string => `labels.${key}`;

  const stage = label(LABELS.stage);
  if (!STAGES.includes(stage as Stage)) fail(labelKey(LABELS.stage), expected(`one of ${STAGES.join(', ')}`, stage));
  for (const key of [LABELS.group, LABELS.category]) {
    if (!label(key)) fail(labelKey(key), expected(LABEL_NAME, label(key)));
  }
  const portText = label(LABELS.port);
  const port = portText !== undefined && /^\d{1,5}$/.test(portText) && Number(portText) >= 1 && Number(portText) <= 65535 ? Number(portText) : undefined;
  if (port === undefined) fail(labelKey(LABELS.port), expected('the port the container listens on, from 1 to 65535', portText));
  const phaseText = label(LABELS.phase);
  const phase = phaseText === undefined ? undefined : Number(phaseText);
  if (phaseText !== undefined && !(/^\d+$/.test(phaseText) && phase! >= 1)) fail(labelKey(LABELS.phase), expected('a whole number from 1 up', phaseText));
  const calls = (label(LABELS.calls) ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');

  const ports = s.ports ?? [];
  const published = port === undefined ? undefined : ports.find((p) => p.containerPort === port && p.protocol === 'tcp');
  if (port !== undefined && published === undefined) {
    fail('ports', expected(`a publish of the container port ${port} (${LABELS.port}), such as "127.0.0.1:${port}:${port}"`, raw.ports));
  }

  let build: FleetBuild | undefined;
  if (s.build) {
    build = {
      context: isUrl(s.build.context) ? s.build.context : path.resolve(a.dir, s.build.context),
      dockerfile: s.build.dockerfile,
      args: resolveValues(s.build.args, a.env),
    };
    if (s.build.target !== undefined) build.target = s.build.target;
  }
  if (s.image === undefined && build === undefined) fail('image', expected('an image reference such as postgres:15 (or a build section)', undefined));

  const volumes: FleetMount[] = (s.volumes ?? []).map((m) => ({ ...m, ...(m.type === 'bind' && m.source !== undefined ? { source: resolveHostPath(m.source, a) } : {}) }));
  if (a.problems.length > count) return undefined;

  const service: FleetService = {
    name,
    stage: stage as Stage,
    group: label(LABELS.group)!,
    category: label(LABELS.category)!,
    port: port!,
    hostPort: published!.hostPort,
    calls,
    image: s.image ?? `${a.project}-${name}`,
    environment: resolveValues(s.environment, a.env),
    dependsOn: s.depends_on ?? [],
    restart: (s.restart ?? 'no') as RestartPolicy,
    readOnly: s.read_only ?? false,
    capDrop: s.cap_drop ?? [],
    capAdd: s.cap_add ?? [],
    securityOpt: s.security_opt ?? [],
    tmpfs: s.tmpfs ?? [],
    volumes,
    ports,
    networks: s.networks ?? [],
    secrets: s.secrets ?? [],
    labels,
  };
  if (phase !== undefined) service.phase = phase;
  if (build) service.build = build;
  if (s.healthcheck) service.healthcheck = s.healthcheck;
  if (s.user !== undefined) service.user = s.user;
  if (s.mem_limit !== undefined) service.memLimitBytes = s.mem_limit;
  if (s.shm_size !== undefined) service.shmSizeBytes = s.shm_size;
  if (s.cpus !== undefined) service.cpus = s.cpus;
  if (s.pids_limit !== undefined && s.pids_limit !== -1) service.pidsLimit = s.pids_limit;
  if (s.logging !== undefined) {
    const options: Record<string, string> = {};
    for (const [key, value] of Object.entries(s.logging.options ?? {})) if (value !== null) options[key] = value;
    // Checked here, not left to the engine: the process driver rotates its log files by the same two options.
    const maxSize = options['max-size'];
    if (maxSize !== undefined && (parseBytes(maxSize) ?? 0) <= 0) fail('logging.options.max-size', expected('a size such as 10m or 512k', maxSize));
    const maxFile = options['max-file'];
    if (maxFile !== undefined && !/^[1-9]\d*$/.test(maxFile)) fail('logging.options.max-file', expected('a whole number of files, 1 or more', maxFile));
    service.logging = { ...(s.logging.driver === undefined ? {} : { driver: s.logging.driver }), options };
  }
  if (s.command !== undefined) service.command = s.command;
  return service;
}

/** Checks between services and the top level: calls, networks, volumes and host ports must all fit together. */
function checkReferences(fleet: Omit<Fleet, 'warnings'>, problems: FleetProblem[]): void {
  const names = new Set(fleet.services.map((s) => s.name));
  const publishedBy = new Map<string, string>();
  for (const s of fleet.services) {
    const unknownCall = s.calls.find((c) => !names.has(c));
    if (unknownCall !== undefined) {
      problems.push({ service: s.name, key: `labels.${LABELS.calls}`, message: expected('names of services in this file, separated by commas', s.labels[LABELS.calls]) + ` ("${unknownCall}" is not a service)` });
    }
    s.networks.forEach((n, i) => {
      if (n !== 'default' && !(n in fleet.networks)) {
        const declared = Object.keys(fleet.networks);
        problems.push({ service: s.name, key: `networks[${i}]`, message: expected(`a network declared under the top-level networks (${declared.join(', ') || 'none declared'})`, n) });
      }
    });
    s.volumes.forEach((m, i) => {
      if (m.type === 'volume' && m.source !== undefined && !(m.source in fleet.volumes)) {
        problems.push({ service: s.name, key: `volumes[${i}]`, message: expected(`a volume declared under the top-level volumes (${Object.keys(fleet.volumes).join(', ') || 'none declared'})`, m.source) });
      }
    });
    s.secrets.forEach((ref, i) => {
      if (!(ref.source in fleet.secrets)) {
        problems.push({ service: s.name, key: `secrets[${i}]`, message: expected(`a secret declared under the top-level secrets (${Object.keys(fleet.secrets).join(', ') || 'none declared'})`, ref.source) });
      }
    });
    s.ports.forEach((p, i) => {
      const where = `${p.hostIp}:${p.hostPort}/${p.protocol}`;
      const other = publishedBy.get(where);
      if (other !== undefined) problems.push({ service: s.name, key: `ports[${i}]`, message: `host port ${p.hostPort} is already published by service "${other}"` });
      else publishedBy.set(where, s.name);
    });
  }
}

/**
 * Parses compose text into a {@link Fleet}: YAML (anchors and `<<` merges allowed), then compose interpolation
 * against `options.env` (default `process.env`), then validation. `file` names the file in messages, and
 * relative paths (build contexts, bind mounts) are resolved against its directory.
 *
 * Beyond compose's own rules, every service must carry the n3xus labels (stage, group, category, port), publish
 * that port on 127.0.0.1 (the launcher probes it there, and the services have no authentication), and use only
 * the compose keys n3xus knows how to run: an unknown key is an error rather than something silently dropped.
 *
 * @throws FleetFileError listing every problem with its service and key.
 */
export function parseFleet(text: string, file: string, options: FleetOptions = {}): Fleet {
  const env = options.env ?? process.env;
  const doc = parseDocument(text, { merge: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e): FleetProblem => {
      const position = e.linePos?.[0];
      const message = `YAML syntax error: ${e.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')}`;
      return position ? { line: position.line, column: position.col, message } : { message };
    });
    const first = problems[0]!;
    throw new FleetFileError(file, problems, [first.line === undefined ? 'Fix the YAML syntax.' : `Fix the YAML at line ${first.line}, column ${first.column}.`]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: -1 });
  } catch (error) {
    throw new FleetFileError(file, [{ message: `YAML error: ${(error as Error).message}` }], [FIX_SUGGESTION], { cause: error });
  }

  if (isMapping(raw)) {
    // Extension fields (x-...) hold anchors for reuse; compose ignores them, and so does n3xus.
    raw = Object.fromEntries(Object.entries(raw).filter(([k]) => !k.startsWith('x-')));
    const services = (raw as Record<string, unknown>).services;
    if (isMapping(services)) {
      for (const [name, def] of Object.entries(services)) {
        if (isMapping(def)) services[name] = Object.fromEntries(Object.entries(def).filter(([k]) => !k.startsWith('x-')));
      }
    }
  }

  const warned = new Map<string, string>();
  const interpolation = (at: Segment[]): Interpolation => {
    const [top, service, ...rest] = at;
    const where: Omit<FleetProblem, 'message'> = top === 'services' && typeof service === 'string' ? { service, ...(rest.length > 0 ? { key: joinKey(rest)! } : {}) } : { key: joinKey(at)! };
    return {
      env,
      unset: (variable) => {
        if (!warned.has(variable)) warned.set(variable, formatProblem(file, { ...where, message: `variable ${variable} is not set; using an empty string` }));
      },
      fail: (message, suggestion) => {
        throw new FleetFileError(file, [{ ...where, message }], [suggestion]);
      },
    };
  };
  const document = interpolateTree(raw, [], interpolation);

  const top = documentSchema.safeParse(document ?? {}, parseParams);
  if (!top.success) {
    throw new FleetFileError(file, toProblems(top.error, document, undefined, SUPPORTED_TOP_KEYS), [FIX_SUGGESTION]);
  }

  const problems: FleetProblem[] = [];
  const project = env.COMPOSE_PROJECT_NAME || top.data.name;
  const dir = path.dirname(file);
  const assembly: Assembly = { dir, env, project: project ?? projectFromDir(dir), problems };
  const services: FleetService[] = [];
  for (const [name, def] of Object.entries(top.data.services)) {
    if (!SERVICE_NAME.test(name)) {
      problems.push({ service: name, message: expected('a service name of letters, digits, "_", "." and "-"', name) });
      continue;
    }
    if (!isMapping(def)) {
      problems.push({ service: name, message: expected('a mapping with image, ports, labels and so on', def) });
      continue;
    }
    const parsed = serviceSchema.safeParse(def, parseParams);
    if (!parsed.success) {
      problems.push(...toProblems(parsed.error, def, name, SUPPORTED_SERVICE_KEYS));
      continue;
    }
    const service = toService(name, parsed.data, def, assembly);
    if (service) services.push(service);
  }
  if (Object.keys(top.data.services).length === 0) problems.push({ key: 'services', message: expected('at least one service', top.data.services) });

  const networks: Record<string, FleetNetwork> = {};
  for (const [key, n] of Object.entries(top.data.networks ?? {})) {
    networks[key] = { ...(n.name ? { name: n.name } : {}), ...(n.driver ? { driver: n.driver } : {}), external: n.external ?? false, internal: n.internal ?? false, labels: resolveValues(n.labels, {}) };
  }
  const volumes: Record<string, FleetVolume> = {};
  for (const [key, v] of Object.entries(top.data.volumes ?? {})) {
    volumes[key] = { ...(v.name ? { name: v.name } : {}), ...(v.driver ? { driver: v.driver } : {}), external: v.external ?? false, labels: resolveValues(v.labels, {}) };
  }
  const secrets: Record<string, FleetSecret> = {};
  for (const [key, v] of Object.entries(top.data.secrets ?? {})) secrets[key] = { file: resolveHostPath(v.file, assembly) };
  const fleet = { file, ...(project ? { project } : {}), services, networks, volumes, secrets };
  if (problems.length === 0) checkReferences(fleet, problems);
  if (problems.length > 0) {
    const required = [LABELS.stage, LABELS.group, LABELS.category, LABELS.port].map((l) => `labels.${l}`);
    const labelProblem = problems.some((p) => p.key !== undefined && required.includes(p.key));
    throw new FleetFileError(file, problems, labelProblem ? [LABEL_SUGGESTION, FIX_SUGGESTION] : [FIX_SUGGESTION]);
  }
  return { ...fleet, warnings: [...warned.values()] };
}

/**
 * Reads and parses a fleet file (default: this repository's compose/docker-compose.full.yml).
 * @throws FleetFileError when the file is missing, unreadable or invalid.
 */
export function loadFleet(file: string = DEFAULT_FLEET_FILE, options: FleetOptions = {}): Fleet {
  const shown = displayPath(file);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a compose file' : `cannot be read (${(error as Error).message})`;
    throw new FleetFileError(shown, [{ message: `${reason}; pass the compose file of the fleet with -f/--file` }], [`Pass the compose file with -f/--file, e.g. -f ${displayPath(DEFAULT_FLEET_FILE)}`], { cause: error });
  }
  // The shown name is relative to the working directory, so paths resolved against it come out the same.
  return parseFleet(text, shown, options);
}
