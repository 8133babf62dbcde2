/**
 * Load on the launched fleet (issue 17), bounded in count and time, on 127.0.0.1 only:
 *   node --import tsx bench/load.ts --mixed [--requests 8000] [--concurrency 50] [--service search-index]
 *     one unidentified client sends `--requests` lawful GET /metrics to one service, `--concurrency` at a time, far
 *     past the service's per-minute limit, while `n3xus verify --full` (the built CLI, spawned) runs; prints what
 *     the client got (200, 429) and verify's verdict. Exit 1 unless verify is at 100 % and the client was limited:
 *     one noisy client must not starve verify, which signs as n3xus's own tooling (services/_kit/src/caller.ts).
 *     Then, as the control, verify --full unsigned (in this process) within the same minute.
 *   node --import tsx bench/load.ts --cost [--rounds 5] [--requests 500] [--service search-index]
 *     what a caller signature costs: signing and checking one in this process (µs each), and a signed against an
 *     unsigned request to the service, one at a time, interleaved (median latency each).
 * Needs the fleet launched (n3xus launch) and, for --mixed, the CLI built (npm run build).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Pool } from 'undici';
import { HANDSHAKE_HEADER, N3XUS_LAW } from '../services/_kit/src/law.ts';
import { CALLER_HEADER, callerKeyFromSeed, callerPublicKey, checkCaller, parseCallerKeys, signCall } from '../services/_kit/src/caller.ts';
import { operatorCallerKey } from '../src/secrets/secrets-file.ts';
import { loadVerifyFleet } from '../src/verify/fleet-source.ts';
import { verifyFleet } from '../src/verify/verify.ts';
import { projectRoot } from '../src/util/project-root.ts';
import type { VerifyReport } from '../src/verify/types.ts';
import { countOption, median, option } from './lib/util.ts';

const root = projectRoot();

/** The published URL of `service` in the default fleet file. */
async function serviceUrl(service: string): Promise<{ url: string; secretsFile?: string }> {
  const fleet = await loadVerifyFleet();
  const found = fleet.services.find((s) => s.name === service);
  if (found === undefined) throw new Error(`--service ${service}: no such service in ${fleet.file}`);
  return { url: `http://127.0.0.1:${found.hostPort}`, ...(fleet.secretsFile === undefined ? {} : { secretsFile: fleet.secretsFile }) };
}

/** `count` lawful GET `path`, `concurrency` at a time, on one pool; the statuses counted. */
async function flood(url: string, path: string, count: number, concurrency: number): Promise<{ statuses: Map<string, number>; ms: number }> {
  const pool = new Pool(url, { connections: concurrency });
  const statuses = new Map<string, number>();
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      next += 1;
      let status: string;
      try {
        const res = await pool.request({ method: 'GET', path, headers: { [HANDSHAKE_HEADER]: N3XUS_LAW }, headersTimeout: 5000, bodyTimeout: 5000 });
        await res.body.dump();
        status = String(res.statusCode);
      } catch (error) {
        status = (error as { code?: string }).code ?? 'error';
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const ms = performance.now() - started;
  await pool.close();
  return { statuses, ms };
}

/** `n3xus verify --full --json`, spawned; its report. */
function verifyFull(): Promise<{ report: VerifyReport; exit: number | null; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/run.js'), 'verify', '--full', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.once('error', reject);
    child.once('close', (exit) => {
      try {
        resolve({ report: JSON.parse(out) as VerifyReport, exit, ms: performance.now() - started });
      } catch {
        reject(new Error(`verify --full printed no report (exit ${exit}): ${out.slice(0, 300)}`));
      }
    });
  });
}

async function mixed(): Promise<void> {
  const requests = countOption('--requests', 8000);
  const concurrency = countOption('--concurrency', 50);
  const service = option('--service') ?? 'search-index';
  const { url } = await serviceUrl(service);
  console.log(`mixed run: an unidentified client sends ${requests} lawful GET /metrics to ${service} (${url}), ${concurrency} at a time, while verify --full runs`);
  const noisy = flood(url, '/metrics', requests, concurrency);
  // verify starts once the client has had a second to spend the shared bucket.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const [client, verify] = await Promise.all([noisy, verifyFull()]);
  const statuses = [...client.statuses].sort().map(([s, n]) => `${n} × ${s}`).join(', ');
  console.log(`  the client: ${statuses} in ${(client.ms / 1000).toFixed(1)} s`);
  const failed = verify.report.services.filter((s) => !s.operational);
  console.log(`  verify --full: ${verify.report.operationalPercent} % operational (${verify.report.counts.checksPassed}/${verify.report.counts.checks} checks) in ${(verify.ms / 1000).toFixed(1)} s, exit ${verify.exit}`);
  for (const s of failed) console.log(`    ✗ ${s.name}: ${s.checks.filter((c) => c.status !== 'pass').map((c) => `${c.name}: ${c.message}`).join('; ')}`);
  const limited = client.statuses.get('429') ?? 0;
  if (limited === 0) {
    console.error(`  the client was never limited (no 429): it did not go past ${service}'s limit, so this run shows nothing. Send more (--requests).`);
    process.exitCode = 1;
  } else if (verify.report.operationalPercent !== 100 || verify.exit !== 0) {
    console.error(`  verify is not at 100 % while one client was over its limit: that client starved it.`);
    process.exitCode = 1;
  } else console.log(`  verify stayed at 100 % while the client was refused ${limited} times.`);
  // The control, in this process and within the same minute: verify unsigned, an unidentified client like the noisy one.
  const control = await verifyFleet({ mode: 'full', caller: null, functional: false });
  const starved = control.services.filter((s) => !s.operational).map((s) => `${s.name} (${s.checks.find((c) => c.status !== 'pass')?.message ?? ''})`);
  console.log(`  control, verify --full unsigned right after: ${control.operationalPercent} %${starved.length > 0 ? `; not operational: ${starved.join(', ')}` : ' (the bucket had refilled: no starvation shown)'}`);
}

async function cost(): Promise<void> {
  const rounds = countOption('--rounds', 5);
  const requests = countOption('--requests', 500);
  const service = option('--service') ?? 'search-index';
  const { url, secretsFile } = await serviceUrl(service);
  const key = secretsFile === undefined ? undefined : operatorCallerKey(secretsFile);
  if (key === undefined) throw new Error('The fleet has no secrets file n3xus manages (or it cannot be read): no operator key to sign with.');

  // In this process: a key of our own, checked against a list of 100 callers as a service holds it.
  const seeds = Array.from({ length: 100 }, () => randomBytes(32).toString('base64url'));
  const callers = { keys: parseCallerKeys(seeds.map((s, i) => `caller-${i}=${callerPublicKey(s)}`).join(','), 'bench'), relays: new Set<string>() };
  const mine = callerKeyFromSeed('caller-7', seeds[7]!);
  const n = 20_000;
  let started = performance.now();
  const headers: string[] = [];
  for (let i = 0; i < n; i++) headers.push(signCall(mine, 'GET', `/v1/items/${i}`));
  const signUs = ((performance.now() - started) * 1000) / n;
  started = performance.now();
  for (let i = 0; i < n; i++) if (checkCaller(headers[i], 'GET', `/v1/items/${i}`, callers).kind !== 'caller') throw new Error('a signature did not check');
  const checkUs = ((performance.now() - started) * 1000) / n;
  console.log(`in this process, ${n} each: signCall ${signUs.toFixed(1)} µs, checkCaller ${checkUs.toFixed(1)} µs per request`);

  // On the wire: one request at a time, signed and unsigned in turn, so both see the same machine.
  const pool = new Pool(url, { connections: 1 });
  const times: Record<'signed' | 'unsigned', number[]> = { signed: [], unsigned: [] };
  for (let round = 0; round < rounds; round++) {
    for (const which of ['unsigned', 'signed'] as const) {
      for (let i = 0; i < requests / rounds; i++) {
        const headers: Record<string, string> = { [HANDSHAKE_HEADER]: N3XUS_LAW };
        if (which === 'signed') headers[CALLER_HEADER] = signCall(key, 'GET', '/_n3xus/ping');
        const t0 = performance.now();
        const res = await pool.request({ method: 'GET', path: '/_n3xus/ping', headers });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`GET /_n3xus/ping (${which}) answered ${res.statusCode}`);
        times[which].push(performance.now() - t0);
      }
    }
  }
  await pool.close();
  const [u, s] = [median(times.unsigned), median(times.signed)];
  console.log(`${service} GET /_n3xus/ping, ${times.signed.length} each, one at a time, interleaved: unsigned median ${u.toFixed(2)} ms, signed ${s.toFixed(2)} ms (+${((s - u) * 1000).toFixed(0)} µs, signing included)`);
}

if (process.argv.includes('--mixed')) await mixed();
else if (process.argv.includes('--cost')) await cost();
else {
  console.error('Say what to run: --mixed or --cost (see the top of bench/load.ts).');
  process.exitCode = 2;
}
