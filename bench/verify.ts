/**
 * `n3xus verify --full` against a sequential curl loop making the same requests (what the seed's verify-launch.sh
 * would do), on this machine, one run each:
 *   node --import tsx bench/verify.ts            # against the launched fleet (n3xus launch), 127.0.0.1
 *   node --import tsx bench/verify.ts --stub     # against 98 stub HTTP servers in a child process (not the fleet)
 * Needs the built CLI (npm run build). verify is timed as a spawned `node bin/run.js verify --full --json`, process
 * start included; the curl loop is one bash script running one curl per request, as a shell script would. Both make
 * per service: GET /health, GET /metrics without, with a wrong and with the right handshake, GET /ready; plus the
 * inter-service flows (two routed requests; webhook, publish, polling audit-trail, webhook removal). PostgreSQL and
 * Redis are probed by verify in their protocols; curl cannot speak them, so the loop leaves them out.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HANDSHAKE_HEADER, LAW_REFUSAL_BODY, LAW_REFUSAL_HEADERS, N3XUS_LAW } from '../services/_kit/src/law.ts';
import { projectRoot } from '../src/util/project-root.ts';
import { loadVerifyFleet } from '../src/verify/fleet-source.ts';
import { internalUrl, selectTargets } from '../src/verify/targets.ts';
import { probeProtocol } from '../src/verify/tcp-probe.ts';
import type { VerifyReport } from '../src/verify/types.ts';

const STUB_SERVICES = 98;
const root = projectRoot();

/** The stub side of `--stub`: kit-shaped answers on 98 ports; prints the ports as JSON, then serves until killed. */
async function serveStubs(): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < STUB_SERVICES; i++) {
    const name = `stub-${String(i + 1).padStart(2, '0')}`;
    const server = createServer((req, res) => {
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
      if (req.url === '/health') return json(200, { status: 'ok', service: name, uptimeSeconds: 1 });
      if (req.url === '/ready') return json(200, { status: 'ready', service: name, checks: { postgres: { status: 'up', latencyMs: 0.4 }, redis: { status: 'up', latencyMs: 0.2 } }, migrations: { complete: true } });
      if (req.headers[HANDSHAKE_HEADER] !== N3XUS_LAW) return json(451, LAW_REFUSAL_BODY, { ...LAW_REFUSAL_HEADERS });
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
  } finally {
    stub?.stop();
  }
}

await main();
