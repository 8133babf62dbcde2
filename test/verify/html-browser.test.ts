/**
 * The `--html` report in a real browser: a failing fleet (a real kit service, one that ignores the law, one that
 * answers markup instead of JSON, one that is down) is verified as `verify --full` does, its page is opened in
 * headless Chromium (Debian's `chromium` package), and the screenshot must show the failing cells filled with the
 * fail colour and the passing ones with the pass colour; the DOM Chromium built must hold a cell per target and
 * must not have run the markup a service sent.
 *
 * Without /usr/bin/chromium the suite is skipped with the reason, except under CI=true, where it fails: CI must
 * run it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '@n3xus/kit';
import { skipOrFail } from '../support/skip-or-fail.ts';
import identityRegistry from '../../services/identity-registry/app.ts';
import { renderHtml, serviceVerdict, VERDICT_COLOURS } from '../../src/verify/html.ts';
import type { VerifyReport } from '../../src/verify/types.ts';
import { verifyFleet } from '../../src/verify/verify.ts';
import { freePort } from '../support/local-servers.ts';
import { colourRegions, decodePng } from '../support/png.ts';
import { freshDatabase, missingServers, postgresUrl, redisUrl } from '../support/servers.ts';
import { startTestService } from '../support/service.ts';
import { lawlessServer, portOf, startHttpServer, writeFleetFile } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
const run = promisify(execFile);
const missingChromium = existsSync(CHROMIUM) ? '' : `${CHROMIUM} is missing (install Debian's chromium package: apt-get install chromium)`;
const missing = [missingServers, missingChromium].filter(Boolean).join('; ');
const name = 'the --html report in headless Chromium';

/** Chromium with nothing of its own to do (no network, no sync, no updates) and a profile of this run only. */
async function chromium(args: readonly string[]): Promise<string> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'n3xus-chromium-'));
  const { stdout } = await run(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, ...args],
    { timeout: 60_000, maxBuffer: 32 * 1024 * 1024 },
  );
  return stdout;
}

function suite(): void {
  const running: RunningService[] = [];
  const closers: Array<() => Promise<void>> = [];
  let report: VerifyReport;
  let page: string;
  let dir: string;

  beforeAll(async () => {
    const databaseUrl = await freshDatabase();
    const { svc } = await startTestService(identityRegistry, { service: 'identity-registry', databaseUrl, redisUrl });
    running.push(svc);
    await svc.ready;
    const lawless = await lawlessServer('lawless');
    // Whatever it is asked, markup that would rename the page if the report let it run.
    const markup = await startHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end("<script>document.title='pwned'</script>"));
    closers.push(lawless.close, markup.close);
    const fleetFile = await writeFleetFile([
      { name: 'postgres', stage: 'infra', group: 'infrastructure', category: 'database', port: portOf(postgresUrl) },
      { name: 'redis', stage: 'infra', group: 'infrastructure', category: 'cache', port: portOf(redisUrl) },
      { name: 'identity-registry', stage: 'federation', group: 'federation', category: 'identity', port: svc.port },
      { name: 'lawless', stage: 'domain', group: 'domain', category: 'governance', port: lawless.port },
      { name: 'markup', stage: 'domain', group: 'domain', category: 'content', port: markup.port },
      { name: 'stopped', stage: 'compliance', group: 'compliance', category: 'compliance', port: await freePort() },
    ]);
    dir = await mkdtemp(path.join(os.tmpdir(), 'n3xus-html-'));
    report = await verifyFleet({ mode: 'full', fleetFile, docker: 'off', cacheDir: dir });
    page = path.join(dir, 'verify.html');
    await writeFile(page, renderHtml(report));
  });

  afterAll(async () => {
    await Promise.all([...running.map((s) => s.close()), ...closers.map((close) => close())]);
  });

  it('is a failing fleet: three services fail, PostgreSQL, Redis and identity-registry pass', () => {
    const verdicts = Object.fromEntries(report.services.map((s) => [s.name, serviceVerdict(s)]));
    expect(verdicts).toEqual({ postgres: 'pass', redis: 'pass', 'identity-registry': 'pass', lawless: 'fail', markup: 'fail', stopped: 'fail' });
    expect(report.law.passed).toBe(false);
  });

  it('shows each failing cell filled with the fail colour, and each passing one with the pass colour', async () => {
    const screenshot = path.join(dir, 'verify.png');
    await chromium([`--screenshot=${screenshot}`, '--window-size=1400,1000', pathToFileURL(page).href]);
    const image = decodePng(await readFile(screenshot));
    expect([image.width, image.height]).toEqual([1400, 1000]);
    // A cell is at least 120 × 30 pixels, its name inside; the legend's swatches (12 × 12) fall under the size.
    const cells = (verdict: 'pass' | 'fail') => colourRegions(image, VERDICT_COLOURS[verdict], 1500).filter((r) => r.width >= 100 && r.height >= 20);
    const failing = cells('fail');
    const passing = cells('pass');
    expect(failing).toHaveLength(3);
    expect(passing).toHaveLength(3);
    // On the grid, under the verdicts: not a banner in the fail colour.
    for (const region of [...failing, ...passing]) expect(region.width).toBeLessThan(400);
  }, 90_000);

  it('holds a cell per target in the DOM Chromium built, and ran none of the markup a service sent', async () => {
    const dom = await chromium(['--dump-dom', pathToFileURL(page).href]);
    expect(dom.match(/class="cell v-fail"/g)).toHaveLength(3);
    expect(dom.match(/class="cell v-pass"/g)).toHaveLength(3);
    expect(dom).toMatch(/<a class="cell v-fail" title="lawless: failed: law: GET \/metrics without a handshake answered 200; expected 451[^"]*"/);
    expect(dom).toMatch(/<title>n3xus verify --full: FAILED, 3\/6 operational<\/title>/);
    expect(dom).not.toContain("pwned'</script>");
    expect(dom).toContain('&lt;script&gt;document.title=');
    expect(dom).not.toContain('<script');
  }, 90_000);
}

// As for a missing Docker engine: skipped with the reason, except under CI=true, where a missing browser fails.
if (missing === '') describe(name, suite);
else skipOrFail(name, missing, suite);
