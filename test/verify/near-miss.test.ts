/**
 * The law check's near misses against real servers: a real kit service behind the sloppy fixture
 * (test/fixtures/sloppy-law), each wrong in exactly one way and otherwise the kit's own answers.
 */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningService } from '@n3xus/kit';
import identityRegistry from '../../services/identity-registry/app.ts';
import { handshakeVariants } from '../../src/verify/near-miss.ts';
import { verifyFleet } from '../../src/verify/verify.ts';
import type { CheckResult, VerifyReport } from '../../src/verify/types.ts';
import { N3XUS_LAW } from '../../services/_kit/src/law.ts';
import { startSloppyProxy, type Sloppiness } from '../fixtures/sloppy-law/sloppy.ts';
import { freshDatabase, missingServers, redisUrl } from '../support/servers.ts';
import { startTestService } from '../support/service.ts';
import { portOf, writeFleetFile, type FleetEntry } from './support.ts';
import { postgresUrl } from '../support/servers.ts';

const law = (report: VerifyReport, service: string): CheckResult => report.services.find((s) => s.name === service)!.checks.find((c) => c.name === 'law')!;

/** Each sloppy comparison, and the kind of near miss (or message) that must name it. */
const CASES: Array<{ sloppiness: Sloppiness; code: string; names: string }> = [
  { sloppiness: 'starts-with', code: 'law-near-miss', names: 'suffix "55-45-170" (200)' },
  { sloppiness: 'ends-with', code: 'law-near-miss', names: 'prefix "x55-45-17" (200)' },
  { sloppiness: 'prefix-of', code: 'law-near-miss', names: 'truncation "55-45-1" (200)' },
  { sloppiness: 'ignores-whitespace', code: 'law-near-miss', names: 'inner-whitespace "55-4 5-17" (200)' },
  { sloppiness: 'first-of-repeated', code: 'law-near-miss', names: 'repeated "55-45-17" + "00-00-00" (200)' },
  { sloppiness: 'any-in-list', code: 'law-near-miss', names: 'comma-joined "55-45-17, 00-00-00" (200)' },
  { sloppiness: 'reads-fixed-width', code: 'law-near-miss', names: 'overlong "55-45-1777777777"…(65 chars) (200)' },
  { sloppiness: 'folds-unicode', code: 'law-near-miss', names: 'look-alike "\\uff15\\uff15-\\uff14\\uff15-\\uff11\\uff17" (200)' },
  { sloppiness: 'case-sensitive-name', code: 'law-refused', names: 'header-case X-N3XUS-HANDSHAKE: "55-45-17" was refused with 451' },
  { sloppiness: 'link-broken', code: 'malformed', names: "the 451's Link target GET /.well-known/n3xus-law without a handshake answered 404" },
];

describe.skipIf(missingServers !== '')(`near misses of the handshake, against real servers ${missingServers}`, () => {
  const running: RunningService[] = [];
  const closers: Array<() => Promise<void>> = [];
  const cacheDir = mkdtemp(path.join(os.tmpdir(), 'n3xus-verify-cache-'));
  let file: string;
  let full: VerifyReport;

  beforeAll(async () => {
    const databaseUrl = await freshDatabase();
    const entries: FleetEntry[] = [
      { name: 'postgres', stage: 'infra', group: 'infrastructure', category: 'database', port: portOf(postgresUrl) },
      { name: 'redis', stage: 'infra', group: 'infrastructure', category: 'cache', port: portOf(redisUrl) },
    ];
    // One kit service per case (its /health must name the entry), started one after another: they share a
    // database, and the same schema must not be migrated by two at once.
    for (const name of ['exact', ...CASES.map((c) => c.sloppiness)]) {
      const { svc } = await startTestService(identityRegistry, { service: name, databaseUrl, redisUrl });
      running.push(svc);
      await svc.ready;
      let port = svc.port;
      if (name !== 'exact') {
        const proxy = await startSloppyProxy({ upstream: svc.url, sloppiness: name as Sloppiness });
        closers.push(proxy.close);
        port = proxy.port;
      }
      entries.push({ name, stage: 'domain', group: 'domain', category: name, port });
    }
    file = await writeFleetFile(entries, 'near-miss-test');
    // The law's fleet: identity-registry's code under other names, which no functional probe knows (not run).
    full = await verifyFleet({ fleetFile: file, mode: 'full', docker: 'off', functional: false, cacheDir: await cacheDir });
  });

  afterAll(async () => {
    await Promise.all([...closers.map((close) => close()), ...running.map((s) => s.close())]);
  });

  it("the kit's exact comparison refuses every near miss, accepts every equal variant, and its Link target answers: no false alarm", () => {
    const refused = handshakeVariants(N3XUS_LAW).filter((v) => v.expect === 'refused').length;
    expect(law(full, 'exact')).toMatchObject({ status: 'pass', details: { nearMisses: { refused, equal: handshakeVariants(N3XUS_LAW).length - refused } } });
    expect(law(full, 'exact').message).toContain('its Link target answers 200');
  });

  for (const { sloppiness, code, names } of CASES) {
    it(`--full names a ${sloppiness} comparison for the right reason`, () => {
      const check = law(full, sloppiness);
      expect(check).toMatchObject({ status: 'fail', code });
      expect(check.message).toContain(names);
    });
  }

  it('a near miss let through is a law violation, which fails verify whatever the threshold', () => {
    const violations = full.law.violations.map((v) => v.service).sort();
    expect(violations).toEqual(CASES.filter((c) => c.code.startsWith('law-')).map((c) => c.sloppiness).sort());
    expect(full.law.passed).toBe(false);
    expect(full.passed).toBe(false);
    // Each sloppy service is otherwise healthy: health and readiness pass.
    for (const { sloppiness } of CASES) {
      const checks = full.services.find((s) => s.name === sloppiness)!.checks;
      expect(checks.filter((c) => c.name !== 'law').map((c) => `${c.name}:${c.status}`)).toEqual(['health:pass', 'readiness:pass']);
    }
  });

  it('a sample sends a few near misses drawn from the seed: the same seed gives the same verdicts', async () => {
    const a = await verifyFleet({ fleetFile: file, mode: 'sample', docker: 'off', seed: 1234, sampleSize: CASES.length + 1, cacheDir: await cacheDir });
    const b = await verifyFleet({ fleetFile: file, mode: 'sample', docker: 'off', seed: 1234, sampleSize: CASES.length + 1, cacheDir: await cacheDir });
    const verdicts = (r: VerifyReport) => r.services.map((s) => [s.name, s.checks.find((c) => c.name === 'law')?.message]);
    expect(verdicts(a)).toEqual(verdicts(b));
    expect(law(a, 'exact').message).toContain('451 to 3 near misses');
  });
});
