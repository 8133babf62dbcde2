/**
 * `n3xus verify --full` against a sequential curl loop making the same requests (what the seed's verify-launch.sh
 * would do), on this machine, one run each:
 *   node --import tsx bench/verify.ts            # against the launched fleet (n3xus launch), 127.0.0.1
 *   node --import tsx bench/verify.ts --stub     # against 98 stub HTTP servers in a child process (not the fleet)
 *   node --import tsx bench/verify.ts --runs 7   # then the floors below and verify again, interleaved, 7 rounds
 *   node --import tsx bench/verify.ts --near-misses 7   # then --full without and with the law check's near misses
 *                                                       # (issue 11), in this process, interleaved, 7 rounds each
 *   node --import tsx bench/verify.ts --before DIR --rounds 7   # then the whole `verify --full` of another checkout
 *                              # (built, e.g. a git worktree of an earlier commit) against this one's, both spawned,
 *                              # interleaved: "before and after" for a change to verify (--after-no-functional:
 *                              # the after run without the functional check, to see the rest of the change alone)
 *   node --import tsx bench/verify.ts --functional 7    # then --full without and with the functional check
 *                                                       # (issue 18), in this process, interleaved, 7 rounds each
 *   node --import tsx bench/verify.ts --same-requests 7 # then the whole `verify --full` against curl --parallel
 *                              # sending the very requests a verify run sent (recorded, see bench/lib/replay.ts),
 *                              # interleaved, 7 rounds: issue 16's row, on the same requests
 * The floors: what the services' own checks (five requests per service, 490 for the fleet) cost on this machine
 * when nothing else is done, each a process of its own, process start included:
 *   - curl --parallel: the 490 requests from one curl process (C, no runtime to start), 64 at a time;
 *   - the HTTP client alone: a node process making them through the CLI's own client (undici, as verify does: one
 *     connection per service, its requests pipelined), reading every answer, judging none;
 *   - raw sockets: a node process writing each service's five requests in one packet on one connection and
 *     counting status lines until five are back: no HTTP client at all, the least any client can do;
 *   - node start: `node -e 0`.
 * Needs the built CLI (npm run build). verify is timed as a spawned `node bin/run.js verify --full --json`, process
 * start included; the curl loop is one bash script running one curl per request, as a shell script would. Both make
 * per service: GET /health, GET /metrics without, with a wrong and with the right handshake, GET /ready; plus the
 * inter-service flows (two routed requests; webhook, publish, polling audit-trail, webhook removal). PostgreSQL and
 * Redis are probed by verify in their protocols; curl cannot speak them, so the loop leaves them out.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HANDSHAKE_HEADER, LAW_LINK_PATH, LAW_REFUSAL_BODY, LAW_REFUSAL_HEADERS, N3XUS_LAW } from '../services/_kit/src/law.ts';
import { handshakeVariants, NEAR_MISS_PATH, wireHeaders } from '../src/verify/near-miss.ts';
import { verifyFleet } from '../src/verify/verify.ts';
import { projectRoot } from '../src/util/project-root.ts';
import { loadVerifyFleet } from '../src/verify/fleet-source.ts';
import { internalUrl, selectTargets } from '../src/verify/targets.ts';
import { probeProtocol } from '../src/verify/tcp-probe.ts';
import type { VerifyReport } from '../src/verify/types.ts';
import { recordRequests, replayWithCurl } from './lib/replay.ts';
import { median } from './lib/util.ts';

const STUB_SERVICES = 98;
const root = projectRoot();

/** The one resource each stub serves, described as the kit describes its resources (GET /_n3xus/resources). */
const STUB_RESOURCE = {
  name: 'items',
  path: '/v1/items',
  schema: { type: 'object', properties: { title: { type: 'string', minLength: 1, maxLength: 200 }, count: { type: 'integer', minimum: 0 } }, required: ['title', 'count'] },
};

/**
 * The stub side of `--stub`: kit-shaped answers on 98 ports, and the kit's resource API in memory (for the functional
 * check); prints the ports as JSON, then serves until killed.
 */
async function serveStubs(): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < STUB_SERVICES; i++) {
    const name = `stub-${String(i + 1).padStart(2, '0')}`;
    const records = new Map<string, Record<string, unknown>>();
    const server = createServer((req, res) => {
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
      if (req.url === '/health') return json(200, { status: 'ok', service: name, uptimeSeconds: 1 });
      if (req.url === LAW_LINK_PATH) return json(200, { law: 'N3XUS LAW' });
      if (req.url === '/ready') return json(200, { status: 'ready', service: name, checks: { postgres: { status: 'up', latencyMs: 0.4 }, redis: { status: 'up', latencyMs: 0.2 } }, migrations: { complete: true } });
      if (req.headers[HANDSHAKE_HEADER] !== N3XUS_LAW) return json(451, LAW_REFUSAL_BODY, { ...LAW_REFUSAL_HEADERS });
      const url = req.url ?? '/';
      if (url === '/_n3xus/resources') return json(200, { service: name, resources: [STUB_RESOURCE] });
      if (url.startsWith('/v1/items?')) return json(200, { items: [...records.values()].reverse().slice(0, 100), limit: 100, offset: 0 });
      if (url === '/v1/items' && req.method === 'POST') {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          const at = new Date().toISOString();
          const record = { ...(JSON.parse(body) as Record<string, unknown>), id: randomUUID(), createdAt: at, updatedAt: at };
          records.set(record.id, record);
          json(201, record);
        });
        return;
      }
      const id = /^\/v1\/items\/([0-9a-f-]{36})$/.exec(url)?.[1];
      if (id !== undefined) {
        const record = records.get(id);
        if (record === undefined) return json(404, { error: { code: 'NOT_FOUND', message: `No items record with id "${id}".` } });
        if (req.method === 'DELETE') {
          records.delete(id);
          return res.writeHead(204).end();
        }
        return json(200, record, { 'x-cache': 'hit' });
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('# HELP up 1\nup 1\n');
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports.push((server.address() as AddressInfo).port);
  }
  process.stdout.write(`${JSON.stringify(ports)}\n`);
}

/** Starts the stub servers in a child process and writes a fleet file for them. */
async function startStubFleet(): Promise<{ file: string; stop: () => void }> {
  const child = spawn(process.execPath, [...process.execArgv, path.join(root, 'bench/verify.ts'), '--serve-stub'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<number[]>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as number[]);
    });
    child.once('exit', (code) => reject(new Error(`the stub servers exited (${code})`)));
  });
  const services = ports.map((port, i) => {
    const name = `stub-${String(i + 1).padStart(2, '0')}`;
    return `  ${name}:\n    image: n3xus/stub:1\n    ports: ["127.0.0.1:${port}:${port}"]\n    labels: { n3xus.stage: extended, n3xus.group: stub, n3xus.category: stub-${i % 25}, n3xus.port: "${port}" }\n`;
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-bench-verify-'));
  const file = path.join(dir, 'stub-fleet.yml');
  await writeFile(file, `name: n3xus-bench-stub\nservices:\n${services.join('')}`);
  return { file, stop: () => child.kill() };
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The bash script of the curl loop: the same requests as verify --full, one curl process each, in sequence. */
function curlScript(fleet: Awaited<ReturnType<typeof loadVerifyFleet>>, host: string): { script: string; requests: number } {
  const targets = selectTargets(fleet.services, 'full', host).filter((t) => t.kind === 'service');
  const lines = ['#!/usr/bin/env bash', 'ok=0; failed=0', `c() { code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@"); if [ "$code" = 200 ] || [ "$code" = 451 ] || [ "$code" = 201 ] || [ "$code" = 204 ]; then ok=$((ok+1)); else failed=$((failed+1)); fi; }`];
  let requests = 0;
  for (const t of targets) {
    lines.push(`c ${quote(`${t.url}/health`)}`, `c ${quote(`${t.url}/metrics`)}`, `c -H ${quote(`${HANDSHAKE_HEADER}: 00-00-00`)} ${quote(`${t.url}/metrics`)}`);
    lines.push(`c -H ${quote(`${HANDSHAKE_HEADER}: ${N3XUS_LAW}`)} ${quote(`${t.url}/metrics`)}`, `c ${quote(`${t.url}/ready`)}`);
    requests += 5;
  }
  const byName = new Map(targets.map((t) => [t.name, t]));
  const lawful = `-H ${quote(`${HANDSHAKE_HEADER}: ${N3XUS_LAW}`)}`;
  const gateway = byName.get('federation-gateway');
  if (gateway) {
    lines.push(`c ${lawful} ${quote(`${gateway.url}/v1/route/identity-registry/health`)}`, `c ${lawful} ${quote(`${gateway.url}/v1/route/identity-registry/metrics`)}`);
    requests += 2;
  }
  const [bus, dispatcher, audit] = ['event-bus', 'webhook-dispatcher', 'audit-trail'].map((n) => byName.get(n));
  const auditUrl = internalUrl(fleet.services, 'audit-trail');
  if (bus && dispatcher && audit && auditUrl) {
    const json = `${lawful} -H 'content-type: application/json'`;
    lines.push(
      `topic="bench.$RANDOM$RANDOM"`,
      `hook=$(curl -s --max-time 2 ${json} -d "{\\"topic\\":\\"$topic\\",\\"url\\":\\"${auditUrl}/v1/ingest/events\\"}" ${quote(`${dispatcher.url}/v1/webhooks`)} | sed -n 's/^{"id":"\\([^"]*\\)".*/\\1/p')`,
      `event=$(curl -s --max-time 2 ${json} -d '{"payload":{"check":"bench"}}' ${quote(`${bus.url}/v1/topics/`)}"$topic/events" | sed -n 's/^{"id":"\\([^"]*\\)".*/\\1/p')`,
      `for i in $(seq 1 100); do code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 ${lawful} ${quote(`${audit.url}/v1/ingest/events/`)}"$event"); [ "$code" = 200 ] && break; done`,
      `c -X DELETE ${lawful} ${quote(`${dispatcher.url}/v1/webhooks/`)}"$hook"`,
    );
    requests += 4;
  }
  lines.push('echo "$ok $failed"');
  return { script: lines.join('\n'), requests };
}

/** Each service's five requests of verify's own checks: path and handshake header (none, wrong, right). */
const OWN_CHECKS: Array<[string, string | undefined]> = [['/health', undefined], ['/metrics', undefined], ['/metrics', '00-00-00'], ['/metrics', N3XUS_LAW], ['/ready', undefined]];

/** curl's config for the 490 requests, one transfer each. */
function curlParallelConfig(urls: string[]): string {
  return urls
    .flatMap((url) => OWN_CHECKS.map(([p, h]) => [`url = "${url}${p}"`, ...(h ? [`header = "${HANDSHAKE_HEADER}: ${h}"`] : []), 'output = /dev/null'].join('\n')))
    .join('\nnext\n');
}

/** A node script (ES module) making the 490 requests through the CLI's own HTTP client; prints how many answered. */
function clientFloorScript(urls: string[]): string {
  return `
import { createHttpAgent, httpRequest } from ${JSON.stringify(path.join(root, 'dist/src/http/client.js'))};
const urls = ${JSON.stringify(urls)};
const checks = ${JSON.stringify(OWN_CHECKS)};
const agent = createHttpAgent({ connectionsPerOrigin: 1, pipelining: 5 });
let answered = 0;
await Promise.all(urls.flatMap((url) => checks.map(async ([p, h]) => {
  const res = await httpRequest(url + p, { agent, timeoutMs: 2000, ...(h ? { headers: { ${JSON.stringify(HANDSHAKE_HEADER)}: h } } : {}) }).catch(() => undefined);
  if (res) answered++;
})));
await agent.close();
console.log(answered);`;
}

/** A node script writing each service's five requests in one write on one socket, counting status lines. */
function rawFloorScript(urls: string[]): string {
  return `
import net from 'node:net';
const urls = ${JSON.stringify(urls)};
const checks = ${JSON.stringify(OWN_CHECKS)};
let answered = 0;
await Promise.all(urls.map((url) => new Promise((resolve) => {
  const u = new URL(url);
  const requests = checks.map(([p, h]) => 'GET ' + p + ' HTTP/1.1\\r\\nHost: ' + u.host + '\\r\\n' + (h ? ${JSON.stringify(HANDSHAKE_HEADER)} + ': ' + h + '\\r\\n' : '') + '\\r\\n').join('');
  const socket = net.connect(Number(u.port), u.hostname, () => socket.write(requests));
  let seen = '';
  socket.setEncoding('latin1');
  socket.on('data', (d) => {
    seen += d;
    const n = (seen.match(/HTTP\\/1\\.1 \\d{3} /g) ?? []).length;
    if (n >= checks.length) { answered += n; socket.destroy(); resolve(); }
  });
  socket.on('error', resolve);
  socket.on('close', resolve);
})));
console.log(answered);`;
}

/** Runs a command and times it, process start included. */
function timed(command: string, args: string[], input?: string): { ms: number; stdout: string; status: number | null } {
  const started = performance.now();
  const run = spawnSync(command, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...(input === undefined ? {} : { input }) });
  return { ms: performance.now() - started, stdout: run.stdout, status: run.status };
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

/** verify --full and the floors, interleaved, `rounds` times; medians and ranges. */
function floors(rounds: number, urls: string[], verifyArgs: string[]): void {
  const configDir = os.tmpdir();
  const curlConfig = path.join(configDir, `n3xus-bench-verify-${process.pid}.curl`);
  spawnSync('sh', ['-c', `cat > ${quote(curlConfig)}`], { input: curlParallelConfig(urls) });
  const runs: Record<string, number[]> = { verify: [], curl: [], client: [], raw: [], node: [] };
  const answered: Record<string, number[]> = { client: [], raw: [] };
  for (let round = 0; round < rounds; round++) {
    const verify = timed(process.execPath, verifyArgs);
    if (verify.status !== 0) throw new Error(`verify --full failed in round ${round + 1} (exit ${verify.status})`);
    runs.verify!.push(verify.ms);
    runs.curl!.push(timed('curl', ['-s', '--parallel', '--parallel-max', '64', '-K', curlConfig]).ms);
    const client = timed(process.execPath, ['--input-type=module', '-'], clientFloorScript(urls));
    runs.client!.push(client.ms);
    answered.client!.push(Number(client.stdout.trim()));
    const raw = timed(process.execPath, ['--input-type=module', '-'], rawFloorScript(urls));
    runs.raw!.push(raw.ms);
    answered.raw!.push(Number(raw.stdout.trim()));
    runs.node!.push(timed(process.execPath, ['-e', '0']).ms);
  }
  spawnSync('rm', ['-f', curlConfig]);
  const line = (what: string, xs: number[], note = '') =>
    console.log(`  ${what.padEnd(58)} median ${secs(median(xs))} (${secs(Math.min(...xs))}–${secs(Math.max(...xs))})${note}`);
  const requests = urls.length * OWN_CHECKS.length;
  console.log(`\n${rounds} rounds, interleaved, process start included (${requests} requests: the services' own checks):`);
  line('n3xus verify --full (all checks, judged, containers, flows)', runs.verify!);
  line(`floor: curl --parallel, ${requests} requests`, runs.curl!);
  line(`floor: the CLI's HTTP client alone, ${requests} requests`, runs.client!, `; answers ${Math.min(...answered.client!)}/${requests}`);
  line(`floor: raw sockets, one write per service`, runs.raw!, `; answers ${Math.min(...answered.raw!)}/${requests}`);
  line('floor: node -e 0', runs.node!);
  const v = median(runs.verify!);
  console.log(`  verify / curl --parallel = ${(v / median(runs.curl!)).toFixed(2)}x; verify / HTTP client alone = ${(v / median(runs.client!)).toFixed(2)}x; verify / raw = ${(v / median(runs.raw!)).toFixed(2)}x`);
}

/**
 * verify --full without the near misses (the law check as it was: three probes) and with them (every near miss, the
 * equal variants and the Link target), in this process, interleaved so that both see the same machine; medians.
 */
/**
 * The floor of the near misses: the same requests (every near miss and equal variant, and the Link target) written
 * for each service in one packet on one connection, all services at once, counting status lines until all are back.
 * No HTTP client and no judging: what the services, and the engine's port proxies, take to answer them at all.
 */
function nearMissFloor(urls: string[]): Promise<number> {
  const requests = [...handshakeVariants(N3XUS_LAW).map((v) => ({ path: NEAR_MISS_PATH, headers: wireHeaders(v) })), { path: LAW_LINK_PATH, headers: [] as Array<[string, string]> }];
  const started = performance.now();
  return Promise.all(
    urls.map(
      (url) =>
        new Promise<void>((resolve) => {
          const u = new URL(url);
          const text = requests.map((r) => `GET ${r.path} HTTP/1.1\r\nHost: ${u.host}\r\n${r.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`).join('');
          const socket = connect(Number(u.port), u.hostname, () => socket.write(text, 'latin1'));
          let seen = '';
          socket.setEncoding('latin1');
          socket.on('data', (d: string) => {
            seen += d;
            if ((seen.match(/HTTP\/1\.1 \d{3} /g) ?? []).length >= requests.length) socket.destroy();
          });
          socket.on('close', () => resolve());
          socket.on('error', () => resolve());
        }),
    ),
  ).then(() => performance.now() - started);
}

async function nearMissCost(rounds: number, fleetFile: string | undefined, docker: 'auto' | 'off'): Promise<void> {
  const runs: Record<'without' | 'with' | 'floor', number[]> = { without: [], with: [], floor: [] };
  const fleet = await loadVerifyFleet(fleetFile);
  const urls = selectTargets(fleet.services, 'full', '127.0.0.1').filter((t) => t.kind === 'service').map((t) => t.url);
  let checks = '';
  for (let round = 0; round < rounds; round++) {
    for (const which of ['without', 'with'] as const) {
      // The functional check off in both: this measures the near misses alone (see functionalCost).
      const report = await verifyFleet({ fleetFile, mode: 'full', docker, nearMisses: which === 'with', functional: false });
      if (!report.passed) throw new Error(`verify --full (${which} near misses) did not pass in round ${round + 1}: ${report.services.filter((x) => !x.operational).map((x) => x.name).join(', ')}`);
      runs[which].push(report.durationMs);
      if (which === 'with') checks = report.services.find((x) => x.kind === 'service')?.checks.find((c) => c.name === 'law')?.message ?? '';
    }
    runs.floor.push(await nearMissFloor(urls));
  }
  const extra = handshakeVariants(N3XUS_LAW).length + 1;
  const range = (xs: number[]) => `median ${secs(median(xs))} (${secs(Math.min(...xs))}–${secs(Math.max(...xs))})`;
  console.log(`
verify --full without and with the near misses, ${rounds} rounds each, interleaved, in this process (durationMs):`);
  console.log(`  without (3 law probes per service):                   ${range(runs.without)}`);
  console.log(`  with (${extra} more per service, ${extra * urls.length} for the fleet):       ${range(runs.with)}`);
  console.log(`  with / without = ${(median(runs.with) / median(runs.without)).toFixed(2)}x (the bar: 1.3x)`);
  console.log(`  floor: the ${extra * urls.length} requests alone, raw sockets, one packet per service: ${range(runs.floor)}`);
  console.log(`    = ${(median(runs.floor) / median(runs.without)).toFixed(2)}x of the without run by itself; the bar leaves ${secs(0.3 * median(runs.without))}`);
  console.log(`  a law check with them: ${checks}`);
}

/** `verify --full` of the checkout at `before` (built) and of this one, both spawned, interleaved; medians. */
function beforeAfter(before: string, rounds: number, extraArgs: string[], afterArgs: string[]): void {
  if (!existsSync(path.join(before, 'dist/src/commands/verify.js'))) throw new Error(`${before} is not a built checkout: run npm run build there first.`);
  const runs: Record<'before' | 'after', number[]> = { before: [], after: [] };
  const checks: Record<'before' | 'after', string> = { before: '', after: '' };
  for (let round = 0; round < rounds; round++) {
    for (const which of ['before', 'after'] as const) {
      const bin = path.join(which === 'before' ? before : root, 'bin/run.js');
      const run = timed(process.execPath, [bin, 'verify', '--full', '--json', ...extraArgs, ...(which === 'after' ? afterArgs : [])]);
      const report = JSON.parse(run.stdout) as Partial<VerifyReport>;
      if (run.status !== 0) throw new Error(`verify --full (${which}) exited ${run.status} in round ${round + 1}: ${(report.services ?? []).filter((x) => !x.operational).map((x) => x.name).join(', ')}`);
      runs[which].push(run.ms);
      checks[which] = `${report.counts?.checks} checks`;
    }
  }
  const line = (what: string, xs: number[]) => console.log(`  ${what.padEnd(40)} median ${secs(median(xs))} (${secs(Math.min(...xs))}–${secs(Math.max(...xs))})`);
  console.log(`
the whole verify --full, spawned (process start included), before and after, ${rounds} rounds, interleaved:`);
  line(`before (${before}, ${checks.before})`, runs.before);
  line(`after (this checkout${afterArgs.length > 0 ? ` ${afterArgs.join(' ')}` : ''}, ${checks.after})`, runs.after);
  console.log(`  after / before = ${(median(runs.after) / median(runs.before)).toFixed(2)}x`);
}

/**
 * verify --full without and with the functional check (issue 18: write, read, compare, cache-read, delete, gone on
 * each service, through its own API), in this process, interleaved so that both see the same machine; medians, and
 * the median of each step's latency over the fleet.
 */
async function functionalCost(rounds: number, fleetFile: string | undefined, docker: 'auto' | 'off'): Promise<void> {
  const runs: Record<'without' | 'with', number[]> = { without: [], with: [] };
  const steps = new Map<string, number[]>();
  for (let round = 0; round < rounds; round++) {
    for (const which of ['without', 'with'] as const) {
      const report = await verifyFleet({ fleetFile, mode: 'full', docker, functional: which === 'with' });
      if (!report.passed) throw new Error(`verify --full (${which} the functional check) did not pass in round ${round + 1}: ${report.services.filter((x) => !x.operational).map((x) => x.name).join(', ')}`);
      runs[which].push(report.durationMs);
      if (which === 'without') continue;
      for (const check of report.services.flatMap((x) => x.checks.filter((c) => c.name === 'functional'))) {
        for (const [step, ms] of Object.entries((check.details?.steps ?? {}) as Record<string, number>)) steps.set(step, [...(steps.get(step) ?? []), ms]);
      }
    }
  }
  const range = (xs: number[]) => `median ${secs(median(xs))} (${secs(Math.min(...xs))}–${secs(Math.max(...xs))})`;
  console.log(`
verify --full without and with the functional check, ${rounds} rounds each, interleaved, in this process (durationMs):`);
  console.log(`  without (--no-functional):                            ${range(runs.without)}`);
  console.log(`  with (a record written, read twice, deleted, seen gone): ${range(runs.with)}`);
  console.log(`  with / without = ${(median(runs.with) / median(runs.without)).toFixed(2)}x; added ${((median(runs.with) - median(runs.without)) / 1000).toFixed(2)} s`);
  console.log(`  median step latency over the fleet: ${[...steps].map(([step, xs]) => `${step} ${median(xs).toFixed(1)} ms`).join(', ')}`);
}

/**
 * The whole `verify --full` (spawned, process start included) against curl --parallel sending the very requests one
 * verify run sent: recorded in this process, then replayed wave by wave (bench/lib/replay.ts), interleaved; medians.
 */
async function sameRequests(rounds: number, fleetFile: string | undefined, docker: 'auto' | 'off', verifyArgs: string[]): Promise<void> {
  const { result: report, requests } = await recordRequests(() => verifyFleet({ fleetFile, mode: 'full', docker }));
  if (!report.passed) throw new Error('verify --full did not pass while its requests were recorded: fix the fleet first');
  const runs: Record<'verify' | 'curl' | 'node', number[]> = { verify: [], curl: [], node: [] };
  let replay: Awaited<ReturnType<typeof replayWithCurl>> | undefined;
  for (let round = 0; round < rounds; round++) {
    const verify = timed(process.execPath, verifyArgs);
    if (verify.status !== 0) throw new Error(`verify --full failed in round ${round + 1} (exit ${verify.status})`);
    runs.verify.push(verify.ms);
    replay = await replayWithCurl(requests);
    if (replay.answered < replay.sent) throw new Error(`the replay got ${replay.answered} answers to ${replay.sent} requests in round ${round + 1}`);
    runs.curl.push(replay.ms);
    runs.node.push(timed(process.execPath, ['-e', '0']).ms);
  }
  const byMethod = new Map<string, number>();
  for (const r of requests) byMethod.set(r.method, (byMethod.get(r.method) ?? 0) + 1);
  const range = (xs: number[]) => `median ${secs(median(xs))} (${secs(Math.min(...xs))}–${secs(Math.max(...xs))})`;
  console.log(`
the whole verify --full against curl --parallel on the same ${requests.length} requests (${[...byMethod].map(([m, n]) => `${n} ${m}`).join(', ')}), ${rounds} rounds, interleaved:`);
  console.log(`  n3xus verify --full, spawned (it also reads the engine's containers and speaks PostgreSQL and Redis): ${range(runs.verify)}`);
  console.log(`  floor: curl --parallel 64, the same requests in ${replay!.waves} waves, one curl each: ${range(runs.curl)}`);
  console.log(`  node -e 0: ${range(runs.node)}`);
  console.log(`  verify / curl on the same requests = ${(median(runs.verify) / median(runs.curl)).toFixed(2)}x (the bar: 1.25x)`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve-stub')) return serveStubs();
  if (!existsSync(path.join(root, 'dist/src/commands/verify.js'))) throw new Error('The CLI is not built: run npm run build first.');
  const stub = process.argv.includes('--stub') ? await startStubFleet() : undefined;
  try {
    const fleet = await loadVerifyFleet(stub?.file);
    const targets = selectTargets(fleet.services, 'full', '127.0.0.1');
    const answering = await Promise.all(targets.map((t) => probeProtocol('tcp', t.host, t.port, 500)));
    const up = answering.filter((a) => !('kind' in a)).length;
    if (up === 0) {
      console.error(`Nothing answers on 127.0.0.1: none of the ${targets.length} ports of ${fleet.file} accepts a connection. Launch the fleet first (n3xus launch), or run with --stub.`);
      process.exitCode = 1;
      return;
    }
    console.log(`${stub ? 'STUB fleet (98 stub HTTP servers, not the real fleet)' : fleet.file}: ${up}/${targets.length} ports accept connections`);

    const args = [path.join(root, 'bin/run.js'), 'verify', '--full', '--json', ...(stub ? ['-f', stub.file, '--no-docker'] : [])];
    const verifyStart = performance.now();
    const verify = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const verifyMs = performance.now() - verifyStart;
    const report = JSON.parse(verify.stdout) as Partial<VerifyReport> & { error?: { message: string } };
    if (report.error) throw new Error(`verify could not run: ${report.error.message}`);
    const { script, requests } = curlScript(fleet, '127.0.0.1');
    const curlStart = performance.now();
    const curl = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    const curlMs = performance.now() - curlStart;
    const [ok, failed] = curl.stdout.trim().split(' ').map(Number);

    const verifyRequests = report.counts ? `${report.counts.checks} checks on ${report.counts.services} targets` : '';
    console.log(`n3xus verify --full (spawned, process start included): ${(verifyMs / 1000).toFixed(2)} s, exit ${verify.status}, ${report.counts?.operational}/${report.counts?.services} operational (${verifyRequests})`);
    console.log(`  its own measure, without process start: ${((report.durationMs ?? 0) / 1000).toFixed(2)} s`);
    console.log(`sequential curl loop (${requests} requests, one curl each): ${(curlMs / 1000).toFixed(2)} s, ${ok} answered as expected, ${failed} not`);
    console.log(`ratio: verify is ${(curlMs / verifyMs).toFixed(1)}x faster`);

    const nearAt = process.argv.indexOf('--near-misses');
    if (nearAt > 0) {
      const rounds = Number(process.argv[nearAt + 1] ?? 5);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--near-misses takes a whole number from 1 to 50; got ${process.argv[nearAt + 1]}`);
      await nearMissCost(rounds, stub?.file, stub ? 'off' : 'auto');
    }
    const beforeAt = process.argv.indexOf('--before');
    if (beforeAt > 0) {
      const roundsAt = process.argv.indexOf('--rounds');
      const rounds = roundsAt > 0 ? Number(process.argv[roundsAt + 1]) : 5;
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--rounds takes a whole number from 1 to 50; got ${process.argv[roundsAt + 1]}`);
      // --after-no-functional: the after without issue 18's functional check, which writes (measured by --functional).
      const afterArgs = process.argv.includes('--after-no-functional') ? ['--no-functional'] : [];
      beforeAfter(path.resolve(process.argv[beforeAt + 1] ?? ''), rounds, stub ? ['-f', stub.file, '--no-docker'] : [], afterArgs);
    }
    const functionalAt = process.argv.indexOf('--functional');
    if (functionalAt > 0) {
      const rounds = Number(process.argv[functionalAt + 1] ?? 5);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--functional takes a whole number from 1 to 50; got ${process.argv[functionalAt + 1]}`);
      await functionalCost(rounds, stub?.file, stub ? 'off' : 'auto');
    }
    const sameAt = process.argv.indexOf('--same-requests');
    if (sameAt > 0) {
      const rounds = Number(process.argv[sameAt + 1] ?? 5);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--same-requests takes a whole number from 1 to 50; got ${process.argv[sameAt + 1]}`);
      await sameRequests(rounds, stub?.file, stub ? 'off' : 'auto', args.filter((a) => a !== '--json'));
    }
    const runsAt = process.argv.indexOf('--runs');
    if (runsAt > 0) {
      const rounds = Number(process.argv[runsAt + 1]);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 50) throw new Error(`--runs takes a whole number from 1 to 50; got ${process.argv[runsAt + 1]}`);
      const urls = targets.filter((t) => t.kind === 'service').map((t) => t.url);
      floors(rounds, urls, args.filter((a) => a !== '--json'));
    }
  } finally {
    stub?.stop();
  }
}

await main();
