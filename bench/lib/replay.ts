/**
 * A floor made of the very requests a run of `verify` sends: recorded through undici's diagnostics channels while
 * the run goes (method, URL, headers, body, and each answer's body), then sent again by `curl --parallel`, in as few
 * waves as the requests' own dependencies allow. What a wave needs from an earlier one (the id a POST answered with)
 * is substituted in; nothing is judged.
 *
 * The waves: every GET that carries nothing an earlier answer made goes in the first (health, the law's probes and
 * near misses, readiness, discovery, lists, the special services' reads, the declared calls); the rest, which verify
 * sends one after another per service (write, read, read again, delete, gone; a flow's subscribe, publish, polls,
 * removal), go one per wave in the order verify sent them to that service, all services at once.
 */
import dc from 'node:diagnostics_channel';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CALLER_HEADER } from '../../services/_kit/src/caller.ts';

/** One request verify sent, and the body of its answer. */
export interface Recorded {
  method: string;
  origin: string;
  path: string;
  /** Header lines as sent, [name, value], values as the wire carries them (latin1 of their bytes). */
  headers: Array<[string, string]>;
  body?: string;
  answer: string;
}

/** Records every undici request made while `run` runs, in the order they were created. */
export async function recordRequests<T>(run: () => Promise<T>): Promise<{ result: T; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const byRequest = new WeakMap<object, Recorded>();
  type Message = { request: { method: string; origin: string; path: string; headers: unknown; body: unknown } };
  const onCreate = (message: unknown) => {
    const { request } = message as Message;
    const flat = Array.isArray(request.headers) ? (request.headers as unknown[]).map(String) : [];
    const headers: Array<[string, string]> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) headers.push([flat[i]!, flat[i + 1]!]);
    const body = Buffer.isBuffer(request.body) ? request.body.toString('utf8') : typeof request.body === 'string' ? request.body : undefined;
    const recorded: Recorded = { method: request.method, origin: String(request.origin), path: request.path, headers, ...(body === undefined ? {} : { body }), answer: '' };
    byRequest.set(request, recorded);
    requests.push(recorded);
  };
  const onChunk = (message: unknown) => {
    const { request, chunk } = message as { request: object; chunk: Buffer };
    const recorded = byRequest.get(request);
    if (recorded) recorded.answer += chunk.toString('utf8');
  };
  dc.subscribe('undici:request:create', onCreate);
  dc.subscribe('undici:request:bodyChunkReceived', onChunk);
  try {
    return { result: await run(), requests };
  } finally {
    dc.unsubscribe('undici:request:create', onCreate);
    dc.unsubscribe('undici:request:bodyChunkReceived', onChunk);
  }
}

/** The string leaves of a JSON text, by their path in it ("a.b.0"); none when it is not JSON. */
function leaves(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, at: string) => {
    if (typeof value === 'string') out.set(at, value);
    else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) walk(v, at === '' ? k : `${at}.${k}`);
  };
  try {
    walk(JSON.parse(text), '');
  } catch {
    // not JSON: nothing in it is reused
  }
  return out;
}

/** A value another request can carry: long enough not to be a word, and not something the request itself sent. */
const made = (value: string, sent: string | undefined) => value.length >= 12 && !(sent ?? '').includes(value);

/** Whether a request carries a value, as sent or URL-encoded. */
const carries = (r: Pick<Recorded, 'path' | 'body'>, value: string) =>
  [value, encodeURIComponent(value)].some((v) => r.path.includes(v) || (r.body ?? '').includes(v));

/**
 * The waves, as indexes into `requests`: first every GET that carries no value a POST's answer made; then, per
 * origin, the others in the order they were sent, the n-th of each origin in wave n.
 */
export function waves(requests: readonly Recorded[]): number[][] {
  const madeValues = requests.filter((r) => r.method === 'POST').flatMap((r) => [...leaves(r.answer).values()].filter((v) => made(v, r.body)));
  const first: number[] = [];
  const chains = new Map<string, number[]>();
  requests.forEach((r, i) => {
    if (r.method === 'GET' && !madeValues.some((v) => carries(r, v))) first.push(i);
    else chains.set(r.origin, [...(chains.get(r.origin) ?? []), i]);
  });
  const rest: number[][] = [];
  for (const chain of chains.values()) chain.forEach((i, n) => (rest[n] ??= []).push(i));
  return [first, ...rest];
}

/** curl's config quoting: a double-quoted string with backslash escapes. */
const quoted = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\t/g, '\\t').replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`;

/** Runs curl (not synchronously: the servers asked may live in this very process) and returns what it printed. */
function curlRun(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', args, { stdio: ['ignore', 'pipe', 'ignore'] }); // its parallel progress meter ignores -s
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('close', () => resolve(out));
  });
}

export interface ReplayResult {
  ms: number;
  sent: number;
  /** Requests that got an HTTP answer (any status). */
  answered: number;
  waves: number;
}

/**
 * Sends the recorded requests again with curl --parallel (at most `parallel` at once), wave by wave, one curl
 * process per wave, process starts included. A value an earlier answer made is replaced by the value the same
 * request's answer makes now, so a read asks for the record this replay wrote.
 */
export async function replayWithCurl(requests: readonly Recorded[], parallel = 64): Promise<ReplayResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'n3xus-bench-replay-'));
  try {
    const plan = waves(requests);
    const renamed = new Map<string, string>();
    const rename = (s: string) => {
      let out = s;
      for (const [from, to] of renamed) out = out.split(from).join(to).split(encodeURIComponent(from)).join(encodeURIComponent(to));
      return out;
    };
    let answered = 0;
    const started = performance.now();
    for (const [n, wave] of plan.entries()) {
      const config = wave
        .map((i) => {
          const r = requests[i]!;
          // A caller signature is not sent again: it names its time, and curl cannot sign (services/_kit/src/caller.ts).
          const headers = r.headers.filter(([name]) => name.toLowerCase() !== CALLER_HEADER);
          const lines = [`url = ${quoted(rename(r.origin + r.path))}`, `request = ${r.method}`, ...headers.map(([name, value]) => `header = ${quoted(`${name}: ${value}`)}`)];
          if (r.body !== undefined) lines.push(`data-binary = ${quoted(rename(r.body))}`);
          lines.push(`output = ${quoted(r.method === 'POST' ? path.join(dir, `${i}.out`) : '/dev/null')}`, 'write-out = "%{http_code}\\n"');
          return lines.join('\n');
        })
        .join('\nnext\n');
      const file = path.join(dir, `wave-${n}.curl`);
      writeFileSync(file, Buffer.from(config, 'latin1'));
      const stdout = await curlRun(['-s', '--parallel', '--parallel-max', String(parallel), '-K', file]);
      answered += stdout.split('\n').filter((code) => /^[1-5]\d\d$/.test(code)).length;
      for (const i of wave) {
        const r = requests[i]!;
        if (r.method !== 'POST') continue;
        let now: string;
        try {
          now = readFileSync(path.join(dir, `${i}.out`), 'utf8');
        } catch {
          continue; // no answer: what depends on it asks for the old value and gets its 404
        }
        const fresh = leaves(now);
        for (const [at, value] of leaves(r.answer)) if (made(value, r.body) && fresh.has(at)) renamed.set(value, fresh.get(at)!);
      }
    }
    return { ms: performance.now() - started, sent: requests.length, answered, waves: plan.length };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
