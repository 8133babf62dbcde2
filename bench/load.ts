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
 *   node --import tsx bench/load.ts --throughput [--requests 3000] [--levels 1,8,32,64] [--memory 100000]
 *     throughput, p50 and p99 of GET /_n3xus/ping (lawful, signed as n3xus's own tooling) at each concurrency level,
 *     `--requests` each: on one kit service (search-index's image and configuration), routed through
 *     federation-gateway to it, and on the floor, a bare node HTTP server in the same image. Each is a container of
 *     its own on the fleet's network (the fleet's limits: half a core, 128 MiB), with a rate limit too high to
 *     reach, so that what is measured is the work, not the limit. Then `--memory` requests to the service, with its
 *     resident memory (its own /metrics) before and after: the bound is 16 MiB of growth.
 * Needs the fleet launched (n3xus launch) and, for --mixed, the CLI built (npm run build).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Pool } from 'undici';
import { HANDSHAKE_HEADER, N3XUS_LAW } from '../services/_kit/src/law.ts';
import { CALLER_HEADER, callerKeyFromSeed, callerPublicKey, checkCaller, parseCallerKeys, rememberingChecker, reusingSigner, signCall } from '../services/_kit/src/caller.ts';
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
  const remembering = rememberingChecker(callers);
  const repeated = signCall(mine, 'GET', '/_n3xus/ping');
  started = performance.now();
  for (let i = 0; i < n; i++) if (remembering(repeated, 'GET', '/_n3xus/ping').kind !== 'caller') throw new Error('a signature did not check');
  const rememberedUs = ((performance.now() - started) * 1000) / n;
  console.log(`in this process, ${n} each: signCall ${signUs.toFixed(1)} µs, checkCaller ${checkUs.toFixed(1)} µs per request; a signature seen before (the services' remembering check) ${rememberedUs.toFixed(2)} µs`);

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

/** Runs docker with `args`; its output, or a thrown error naming the command. */
function docker(args: string[]): string {
  const run = spawnSync('docker', args, { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`docker ${args.slice(0, 3).join(' ')} … failed: ${run.stderr.trim()}`);
  return run.stdout.trim();
}

/** The host port a container publishes its `port` on. */
const publishedPort = (name: string, port: number) => Number(docker(['port', name, `${port}/tcp`]).split('\n')[0]!.split(':').pop());

/**
 * A container of the bench from the fleet's `like` container: its image, environment (with `env` over it) and
 * secrets, on the fleet's network, under the fleet's limits; `command` replaces the image's. Returns its host port.
 */
function benchContainer(name: string, like: string, env: Record<string, string>, command: string[] = []): number {
  const inspected = JSON.parse(docker(['inspect', like]))[0] as { Config: { Env: string[]; Image: string; Labels: Record<string, string> }; HostConfig: { Binds?: string[]; Mounts?: Array<{ Source: string; Target: string }> }; Mounts: Array<{ Source: string; Destination: string }> };
  const port = Number(inspected.Config.Labels['n3xus.port']);
  const given = new Map(inspected.Config.Env.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  for (const [key, value] of Object.entries(env)) given.set(key, value);
  const envArgs = [...given].flatMap(([key, value]) => ['-e', `${key}=${value}`]);
  const mounts = inspected.Mounts.filter((m) => m.Destination.startsWith('/run/secrets/')).flatMap((m) => ['-v', `${m.Source}:${m.Destination}:ro`]);
  docker(['rm', '-f', name]);
  docker(['run', '-d', '--name', name, '--network', 'nexus-net', '-p', `127.0.0.1::${port}`, '--cpus', '0.5', '--memory', '128m', '--user', '1000:1000', '--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', ...envArgs, ...mounts, inspected.Config.Image, ...command]);
  return publishedPort(name, port);
}

/** Waits until `url` answers 200, up to 30 s. */
async function answers(url: string, headers: Record<string, string> = {}): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const ok = await fetch(url, { headers }).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer 200 within 30 s`);
}

interface Level {
  concurrency: number;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
}

/** `count` GET `path` at `concurrency`, closed loop on `concurrency` connections; throughput and latency percentiles. */
async function measure(url: string, path: string, headers: () => Record<string, string>, count: number, concurrency: number): Promise<Level> {
  const pool = new Pool(url, { connections: concurrency });
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        const t0 = performance.now();
        try {
          const res = await pool.request({ method: 'GET', path, headers: headers(), headersTimeout: 10_000, bodyTimeout: 10_000 });
          await res.body.dump();
          if (res.statusCode === 200) latencies.push(performance.now() - t0);
          else failed += 1;
        } catch {
          failed += 1;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { concurrency, rps: latencies.length / seconds, p50: at(0.5), p99: at(0.99), failed };
}

/** The service's resident memory, from its own /metrics. */
async function residentBytes(url: string, headers: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  return Number(/^process_resident_memory_bytes(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1]);
}

async function throughput(): Promise<void> {
  const requests = countOption('--requests', 3000);
  const memoryRequests = countOption('--memory', 100_000);
  const levels = (option('--levels') ?? '1,8,32,64').split(',').map(Number);
  if (levels.some((n) => !Number.isInteger(n) || n < 1 || n > 256)) throw new Error(`--levels: whole numbers from 1 to 256, comma-separated; got ${option('--levels')}`);
  const { secretsFile } = await serviceUrl('search-index');
  const key = secretsFile === undefined ? undefined : operatorCallerKey(secretsFile);
  if (key === undefined) throw new Error('The fleet has no secrets file n3xus manages (or it cannot be read): no operator key to sign with.');
  const sign = reusingSigner(key);
  const lawful = (path: string) => () => ({ [HANDSHAKE_HEADER]: N3XUS_LAW, [CALLER_HEADER]: sign('GET', path) });
  const high = { N3XUS_RATE_LIMIT_PER_MINUTE: '10000000' };
  const names = ['n3xus-bench-load-service', 'n3xus-bench-load-gateway', 'n3xus-bench-load-bare'];
  try {
    const servicePort = benchContainer(names[0]!, 'n3xus-search-index', high);
    const innerPort = Number(JSON.parse(docker(['inspect', 'n3xus-search-index']))[0].Config.Labels['n3xus.port']);
    const gatewayPort = benchContainer(names[1]!, 'n3xus-federation-gateway', { ...high, N3XUS_PEERS: `search-index=http://${names[0]}:${innerPort}` });
    const bare = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'application/json' }); s.end('{"ok":true}'); }).listen(${innerPort})`;
    const barePort = benchContainer(names[2]!, 'n3xus-search-index', {}, ['node', '-e', bare]);
    const targets = [
      { what: 'floor: bare node HTTP server, same image', url: `http://127.0.0.1:${barePort}`, path: '/_n3xus/ping' },
      { what: 'one kit service (search-index)', url: `http://127.0.0.1:${servicePort}`, path: '/_n3xus/ping' },
      { what: 'routed through federation-gateway', url: `http://127.0.0.1:${gatewayPort}`, path: '/v1/route/search-index/_n3xus/ping' },
    ];
    for (const t of targets) await answers(`${t.url}${t.path}`, lawful(t.path)());
    console.log(`GET /_n3xus/ping, ${requests} requests per level, containers of the fleet's limits (0.5 core, 128 MiB), 2 cores shared with the client:`);
    console.log(`  ${'what'.padEnd(44)} ${'conc.'.padStart(5)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}  vs floor`);
    const floor = new Map<number, Level>();
    for (const concurrency of levels) {
      for (const t of targets) {
        const level = await measure(t.url, t.path, lawful(t.path), requests, concurrency);
        if (t === targets[0]) floor.set(concurrency, level);
        const f = floor.get(concurrency)!;
        const ratio = t === targets[0] ? '' : `  ${(level.rps / f.rps).toFixed(2)}x req/s, ${(level.p99 / f.p99).toFixed(1)}x p99`;
        console.log(`  ${t.what.padEnd(44)} ${String(concurrency).padStart(5)} ${level.rps.toFixed(0).padStart(8)} ${level.p50.toFixed(2).padStart(8)} ${level.p99.toFixed(2).padStart(8)}${ratio}${level.failed > 0 ? `  (${level.failed} failed)` : ''}`);
      }
    }
    const service = targets[1]!;
    const headers = lawful('/metrics')();
    const before = await residentBytes(service.url, headers);
    const run = await measure(service.url, service.path, lawful(service.path), memoryRequests, 32);
    const after = await residentBytes(service.url, headers);
    const growth = (after - before) / 2 ** 20;
    console.log(`\n${memoryRequests} requests to one service (32 at a time, ${run.rps.toFixed(0)} req/s, ${run.failed} failed): resident memory ${(before / 2 ** 20).toFixed(1)} MiB before, ${(after / 2 ** 20).toFixed(1)} MiB after (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} MiB; the bound: +16 MiB)`);
    if (!(growth <= 16)) process.exitCode = 1;
  } finally {
    for (const name of names) spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' });
  }
}

if (process.argv.includes('--mixed')) await mixed();
else if (process.argv.includes('--throughput')) await throughput();
else if (process.argv.includes('--cost')) await cost();
else {
  console.error('Say what to run: --mixed, --cost or --throughput (see the top of bench/load.ts).');
  process.exitCode = 2;
}
