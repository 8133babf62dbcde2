import { describe, expect, it } from 'vitest';
import { htmlEscape, renderHtml, serviceVerdict, VERDICT_COLOURS } from '../../src/verify/html.ts';
import { buildReport, serviceResult } from '../../src/verify/score.ts';
import { summarizeLatency } from '../../src/verify/stats.ts';
import type { CheckResult, VerifyReport, VerifyTarget } from '../../src/verify/types.ts';

const target = (name: string, stage: VerifyTarget['stage'], category: string, kind: VerifyTarget['kind'] = 'service'): VerifyTarget => ({
  name, stage, group: stage, category, kind, host: '127.0.0.1', port: 1, url: 'http://127.0.0.1:1',
});
const check = (name: CheckResult['name'], patch: Partial<CheckResult> = {}): CheckResult => ({ name, status: 'pass', required: true, message: `${name} ok`, durationMs: 4.5, ...patch });
const service = (name: string, stage: VerifyTarget['stage'], category: string, checks: CheckResult[] = [check('health'), check('law'), check('readiness')]) =>
  serviceResult(target(name, stage, category), checks);

/**
 * A failing fleet: Redis down (two services not ready because of it), a lawless service, one that does not answer,
 * one with a warning, and a service whose name and message carry markup.
 */
function failingReport(): VerifyReport {
  const notReady = (name: string) =>
    service(name, 'domain', 'payments', [
      check('health'),
      check('law'),
      check('readiness', { status: 'fail', code: 'dependency-down', message: 'GET /ready: redis is down', details: { down: ['redis'] } }),
    ]);
  return buildReport({
      mode: 'sample',
      host: '127.0.0.1',
      fleetFile: 'compose/docker-compose.full.yml',
      startedAt: new Date('2026-01-01T00:00:00.000Z'),
      durationMs: 2345,
      threshold: 90,
      docker: { used: false, reason: '--no-docker', project: 'n3xus' },
      sample: { seed: 424242, size: 6 },
      latency: [summarizeLatency('v-supercore', [1, 2, 3], 0)],
      services: [
        serviceResult(target('postgres', 'infra', 'database', 'postgres'), [check('protocol')]),
        serviceResult(target('redis', 'infra', 'cache', 'redis'), [check('protocol', { status: 'fail', code: 'unreachable', message: 'redis: connection refused' })]),
        service('v-supercore', 'core', 'ai', [check('health'), check('law'), check('readiness', { warnings: ['the engine restarted it 2 times'] })]),
        service('lawless-one', 'core', 'governance', [check('health'), check('law', { status: 'fail', code: 'law-not-enforced', message: 'GET /metrics without a handshake answered 200; expected 451' }), check('readiness')]),
        service('gone', 'federation', 'identity', [
          check('health', { status: 'fail', code: 'unreachable', message: 'GET /health: connection refused' }),
          check('law', { status: 'not-run', code: 'dependency-failed', message: 'not run: gone did not answer GET /health' }),
        ]),
        service('waiting', 'federation', 'identity', [check('health', { status: 'not-run', code: 'dependency-failed', message: 'not run: the route check did not start' })]),
        notReady('pay-a'),
        notReady('pay-b'),
        service('<script>alert(1)</script>', 'extended', 'security', [check('health', { status: 'fail', code: 'malformed', message: 'GET /health answered 200 with "<img src=x onerror=alert(2)>"' })]),
      ],
  });
}

const report = failingReport();
const html = renderHtml(report);
/** The grid's cell of a service, by its visible name (escaped as the page writes it). */
const cellOf = (name: string): string => {
  const found = new RegExp(`<(?:a|span) class="cell [^"]*"[^>]*>${htmlEscape(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</(?:a|span)>`).exec(html);
  if (!found) throw new Error(`no cell for ${name}`);
  return found[0];
};

describe('the HTML report', () => {
  it('is one document with the verdicts on top: the gate, the N3XUS LAW apart, availability with its figure and threshold', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    const gate = html.indexOf('FAILED: the N3XUS LAW is violated, and below the threshold');
    const law = html.indexOf('<h2>LAW VIOLATED</h2>');
    const availability = html.indexOf('<h2>Availability: below the threshold</h2><p>2/9 operational (22.2 %), threshold 90 %</p>');
    const grid = html.indexOf('<h2>Fleet</h2>');
    expect([gate, law, availability, grid].every((i) => i > 0)).toBe(true);
    expect(gate < law && law < availability && availability < grid).toBe(true);
    expect(html).toContain('<li><strong>lawless-one</strong> <code>law-not-enforced</code> GET /metrics without a handshake answered 200; expected 451</li>');
  });

  it('says when the law holds and availability is met', () => {
    const passing = renderHtml(
      buildReport({
        mode: 'full', host: 'h', fleetFile: 'f', startedAt: new Date(0), durationMs: 10, threshold: 90, docker: { used: true, project: 'n3xus', containers: 1 },
        services: [service('audit-trail', 'compliance', 'compliance')],
      }),
    );
    expect(passing).toContain('<p class="gate ok" role="status">PASSED</p>');
    expect(passing).toContain('<h2>LAW: enforced</h2><p>by every service checked (1 law check)</p>');
    expect(passing).toContain('<h2>Availability: met</h2>');
    expect(passing).toContain('<p>None: every target passed its required checks.</p>');
    expect(passing).toContain('<span class="cell v-pass" title="audit-trail: passed" aria-label="audit-trail: passed">audit-trail</span>');
  });

  it('lays the fleet out by stage and category, a cell per target (PostgreSQL and Redis too) with its verdict class and an accessible label', () => {
    expect(html.match(/class="cell /g)).toHaveLength(report.services.length);
    const stages = [...html.matchAll(/<div class="stage"><h3>([a-z]+)<\/h3>/g)].map((m) => m[1]);
    expect(stages).toEqual(['infra', 'core', 'federation', 'domain', 'extended']);
    expect(html).toContain('<div class="category"><h4>identity</h4><ul class="cells">');
    expect(cellOf('postgres')).toContain('class="cell v-pass"');
    expect(cellOf('redis')).toMatch(/class="cell v-fail" title="redis: failed: protocol: redis: connection refused" aria-label="redis: failed: protocol: redis: connection refused" href="#failure-\d+"/);
    expect(cellOf('v-supercore')).toContain('class="cell v-warn" title="v-supercore: passed with warnings: readiness: the engine restarted it 2 times"');
    expect(cellOf('lawless-one')).toContain('class="cell v-fail"');
    expect(cellOf('gone')).toContain('class="cell v-fail"');
    expect(cellOf('waiting')).toContain('class="cell v-not-run" title="waiting: not run: health: not run: the route check did not start"');
    // Failing only because Redis is down: drawn as a consequence, and linked to Redis's entry.
    const redisAnchor = /href="(#failure-\d+)"/.exec(cellOf('redis'))![1];
    expect(cellOf('pay-a')).toContain('class="cell v-fail caused"');
    expect(cellOf('pay-a')).toContain('(because redis failed)');
    expect(cellOf('pay-a')).toContain(`href="${redisAnchor}"`);
  });

  it('colours each verdict with its own colour', () => {
    for (const [verdict, colour] of Object.entries(VERDICT_COLOURS)) expect(html).toContain(`.v-${verdict}{background:${colour};`);
    expect(new Set(Object.values(VERDICT_COLOURS)).size).toBe(4);
  });

  it('lists each failure with its reasons, consequences under their root cause', () => {
    const failures = html.slice(html.indexOf('<h2>Failures'));
    expect(failures).toMatch(/^<h2>Failures \(7 of 9 targets not operational; 1 root cause\)<\/h2>/);
    expect(failures).toMatch(/<article class="failure cause" id="failure-\d+"><h3>root cause: redis failed<span class="where">infra \/ cache<\/span><\/h3><ul><li><strong>protocol<\/strong> <code>unreachable<\/code>: redis: connection refused/);
    expect(failures).toContain('<p>2 services fail because of it:</p>');
    expect(failures).toContain('<li><strong>pay-a</strong><span class="where">domain / payments</span><ul><li><strong>readiness</strong> <code>dependency-down</code>: GET /ready: redis is down — because <strong>redis</strong> failed');
    expect(failures).toContain('<h3>gone<span class="where">federation / identity</span></h3><ul><li><strong>health</strong> <code>unreachable</code>: GET /health: connection refused <span class="ms">4.5 ms</span></li><li><strong>law</strong> <code>dependency-failed</code> (not run): not run: gone did not answer GET /health');
    expect(failures).toContain('<h3>lawless-one');
    // The consequences are under their cause, not listed again on their own.
    expect(failures.match(/<h3>pay-a/g)).toBeNull();
    expect(html.match(/id="failure-\d+"/g)!.length).toBe(new Set(html.match(/id="failure-\d+"/g)).size);
  });

  it('shows the seed and size of the sample, the sample an escalation came from, the mode and the timings', () => {
    expect(html).toContain('drawn from seed <strong>424242</strong> (<code>--seed 424242</code> draws it again)');
    expect(html).toContain('<span>mode: sample</span>');
    expect(html).toContain('<span>took: 2.35 s</span>');
    expect(html).toContain('<span>started: 2026-01-01T00:00:00.000Z</span>');
    expect(html).toMatch(/<td>v-supercore<\/td><td class="num">\d+ ms<\/td>/);
    expect(html).toContain('<td>law</td><td class="s-fail">fail</td><td class="num">4.5 ms</td>');
    const { sample: _drawn, ...full } = report;
    const escalated = renderHtml({ ...full, mode: 'full', escalatedFrom: { seed: 7, size: 3, failed: ['gone', 'lawless-one'] } });
    expect(escalated).toContain('escalated to --full: the sample of 3 services drawn from seed <strong>7</strong> failed on gone, lawless-one');
    expect(escalated).toContain('<span>mode: full</span>');
  });

  it('says when the functional checks were turned off, and nothing when they ran', () => {
    expect(renderHtml({ ...report, functional: { ran: false, reason: '--no-functional' } })).toContain('<p class="note">functional checks: not run (--no-functional); nothing was written to the services</p>');
    expect(renderHtml({ ...report, functional: { ran: true } })).not.toContain('functional checks: not run');
  });

  it('renders whatever services wrote as text: markup in a name or a message is escaped everywhere', () => {
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;</');
    expect(html).toContain('GET /health answered 200 with &quot;&lt;img src=x onerror=alert(2)&gt;&quot;');
    expect(htmlEscape(`a<b>&"c"'d'\u0000\u001b[31m\uD800x`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;[31mx');
    expect(htmlEscape('ünïcödé ✓ 😀')).toBe('ünïcödé ✓ 😀');
  });

  it('refers to nothing outside itself: no script, no link, no font, no image by URL', () => {
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|@font-face|url\(/i);
    expect(html).not.toMatch(/(?:src|href)="(?!#)/);
    expect(html).not.toMatch(/(?:src|href)="http/);
    expect(html).not.toMatch(/url\(http/);
  });

  it('judges a target by its required checks, and an operational one with a warning or a failed informative check as warn', () => {
    expect(serviceVerdict(service('a', 'core', 'c'))).toBe('pass');
    expect(serviceVerdict(service('a', 'core', 'c', [check('health'), check('latency', { status: 'fail', required: false, message: 'slow' })]))).toBe('warn');
    expect(serviceVerdict(service('a', 'core', 'c', [check('health', { status: 'not-run' })]))).toBe('not-run');
    expect(serviceVerdict(service('a', 'core', 'c', [check('health', { status: 'fail' }), check('law', { status: 'not-run' })]))).toBe('fail');
    expect(serviceVerdict(service('a', 'core', 'c', []))).toBe('not-run');
  });
});
