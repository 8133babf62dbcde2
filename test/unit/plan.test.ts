import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { LABELS } from '../../src/fleet/compose.ts';
import { loadFleet, parseFleet, type Fleet } from '../../src/fleet/model.ts';
import type { Stage } from '../../src/fleet/stages.ts';
import { PlanError, UnknownStageError, parsePhase, planLaunch, precedes, selects, type PlanOptions } from '../../src/plan/plan.ts';
import { renderPlan } from '../../src/plan/render.ts';

const ours = loadFleet('compose/docker-compose.full.yml', { env: {} });

type DependsOn = string[] | Record<string, { condition?: string; required?: boolean }>;

/** A fleet of the given services, in this order: [name, stage, depends_on]. */
function fleetOf(...specs: [name: string, stage: Stage, dependsOn?: DependsOn][]): Fleet {
  const services: Record<string, unknown> = {};
  specs.forEach(([name, stage, dependsOn], i) => {
    services[name] = {
      image: `test/${name}:1`,
      ports: [`127.0.0.1:${20000 + i}:8080`],
      ...(dependsOn ? { depends_on: dependsOn } : {}),
      labels: { [LABELS.stage]: stage, [LABELS.group]: 'test', [LABELS.category]: 'test', [LABELS.port]: '8080' },
    };
  });
  return parseFleet(stringify({ services }), 'test/fleet.yml', { env: {} });
}

const rendered = (fleet: Fleet, options?: PlanOptions): string => renderPlan(planLaunch(fleet, options), fleet);

function planErrorOf(fleet: Fleet, options?: PlanOptions): PlanError {
  try {
    planLaunch(fleet, options);
  } catch (error) {
    expect(error).toBeInstanceOf(PlanError);
    return error as PlanError;
  }
  throw new Error('expected a PlanError, but the plan was made');
}

const INFRA = '[1] infra: postgres, redis';
const CORE = '[2] core: v-supercore (phase 3), puabo-api-ai-hf (phase 4)';
const FEDERATION = '[3] federation: federation-spine (phase 5), identity-registry (phase 5), federation-gateway (phase 6), attestation-service (phase 6)';
const FIRST_SEVEN = [
  INFRA,
  CORE,
  FEDERATION,
  '[4] domain: governance-ledger (phase 7), policy-engine (phase 7), treasury-service (phase 8), payment-rails (phase 8), content-registry (phase 9), licensing-engine (phase 9), marketplace-core (phase 10), order-service (phase 10), notification-hub (phase 11), search-index (phase 11), analytics-core (phase 12)',
  '[5] compliance: compliance-gateway, audit-trail, data-residency, consent-manager, regulatory-reporting',
  '[6] puabo: puabo-nexus-core, puabo-dsp-platform, puabo-dsp-metadata, puabo-dsp-ingest, puabo-blac-creator-hub, puabo-blac-marketplace, puabo-blac-storefront, puabo-nuki-inventory, puabo-nuki-royalties, puabo-nuki-ledger, puabo-social-feed, puabo-social-community, puabo-social-messaging, puabo-analytics-insights, puabo-analytics-dashboard, puabo-rewards',
  '[7] vsuite: v-creative-studio, v-collab-workspace, v-media-processor, v-transcoder, v-asset-library, v-rights-manager, v-licensing-desk, v-distribution-engine, v-release-scheduler, v-audience-analytics, v-performance-metrics, v-live-broadcast, v-caption-service',
];
const EXTENDED_1 =
  'ml-training, ml-inference, recommendation-engine, fraud-detection, sentiment-analysis, feature-store, model-registry, kyc-verification, aml-screening, content-moderation, abuse-prevention, secrets-vault, access-control, threat-intel, cdn-edge, cache-manager, queue-service, scheduler-service, config-service, service-registry, rate-limiter, load-shedder, email-service, sms-gateway, push-notifications';
const EXTENDED_2 =
  'in-app-messaging, template-renderer, event-bus, webhook-dispatcher, file-storage, object-storage, encryption-service, backup-service, archive-service, media-cache, log-aggregator, metrics-collector, trace-collector, alert-manager, uptime-monitor, status-page, api-gateway, sandbox-service, integration-testing, api-docs, sdk-generator, feature-flags';

describe('the plan of our fleet', () => {
  it('starts the stages in the seed order and splits extended into batches of 25 by default', () => {
    expect(rendered(ours)).toBe(
      [
        'Launch plan for compose/docker-compose.full.yml: 100 of 100 services, 8 stages, 9 batches',
        ...FIRST_SEVEN,
        `[8] extended (batch 1/2): ${EXTENDED_1}`,
        `[8] extended (batch 2/2): ${EXTENDED_2}`,
        '',
      ].join('\n'),
    );
  });

  it('puts all 47 extended services in one batch with a batch size of 47', () => {
    expect(rendered(ours, { batchSize: 47 })).toBe(
      ['Launch plan for compose/docker-compose.full.yml: 100 of 100 services, 8 stages, 8 batches', ...FIRST_SEVEN, `[8] extended: ${EXTENDED_1}, ${EXTENDED_2}`, ''].join('\n'),
    );
  });

  it('with a stage plans just that stage, under its own number', () => {
    expect(rendered(ours, { only: parsePhase('federation') })).toBe(['Launch plan for compose/docker-compose.full.yml: 4 of 100 services, 1 stage, 1 batch', FEDERATION, ''].join('\n'));
  });

  it('with a stage and withDeps plans every earlier stage too', () => {
    expect(rendered(ours, { only: parsePhase('federation'), withDeps: true })).toBe(
      ['Launch plan for compose/docker-compose.full.yml: 8 of 100 services, 3 stages, 3 batches', INFRA, CORE, FEDERATION, ''].join('\n'),
    );
  });

  it("with a seed phase plans exactly that phase's services, as the catalog numbers them", () => {
    expect(rendered(ours, { only: parsePhase('5') })).toBe(
      ['Launch plan for compose/docker-compose.full.yml: 2 of 100 services, 1 stage, 1 batch', '[3] federation: federation-spine (phase 5), identity-registry (phase 5)', ''].join('\n'),
    );
    // Every phase 1-12 starts something, and together they are the first four stages, each service once.
    const byPhase = Array.from({ length: 12 }, (_, i) => planLaunch(ours, { only: parsePhase(String(i + 1)) }).stages.flatMap((s) => s.batches.flat()));
    expect(byPhase.every((names) => names.length > 0)).toBe(true);
    expect(byPhase[0]).toEqual(['postgres', 'redis']);
    expect(byPhase[1]).toEqual(['postgres', 'redis']);
    expect([...new Set(byPhase.flat())]).toEqual(planLaunch(ours, { only: parsePhase('domain'), withDeps: true }).stages.flatMap((s) => s.batches.flat()));
    expect(byPhase.slice(2).flat()).toHaveLength(17);
  });

  it("matches the README's table of phases, row by row", () => {
    const rows = readFileSync('README.md', 'utf8')
      .split('\n')
      .map((line) => /^\| ([\d, ]+) \| ([^|]+?) (?:\(.*\) )?\| \w+ \|$/.exec(line))
      .filter((m) => m !== null);
    expect(rows.flatMap((m) => m[1]!.split(', ').map(Number))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    for (const m of rows) {
      for (const n of m[1]!.split(', ')) {
        expect(planLaunch(ours, { only: parsePhase(n) }).stages.flatMap((st) => st.batches.flat()).join(', '), `phase ${n}`).toBe(m[2]!.trim());
      }
    }
  });

  it('with a range plans the phases from one to the other, across stages', () => {
    expect(rendered(ours, { only: parsePhase('4-5') })).toBe(
      [
        'Launch plan for compose/docker-compose.full.yml: 3 of 100 services, 2 stages, 2 batches',
        '[2] core: puabo-api-ai-hf (phase 4)',
        '[3] federation: federation-spine (phase 5), identity-registry (phase 5)',
        '',
      ].join('\n'),
    );
    expect(planLaunch(ours, { only: parsePhase('5-6') }).stages).toEqual(planLaunch(ours, { only: parsePhase('federation') }).stages);
  });

  it('with a phase and withDeps plans the earlier stages and the earlier phases of its own stage', () => {
    expect(rendered(ours, { only: parsePhase('6'), withDeps: true })).toBe(
      [
        'Launch plan for compose/docker-compose.full.yml: 8 of 100 services, 3 stages, 3 batches',
        INFRA,
        CORE,
        FEDERATION,
        '',
      ].join('\n'),
    );
    const service = (name: string) => ours.services.find((s) => s.name === name)!;
    const six = parsePhase('6');
    expect(['postgres', 'v-supercore', 'federation-spine', 'identity-registry'].every((n) => precedes(six, service(n)))).toBe(true);
    expect(['federation-gateway', 'governance-ledger', 'audit-trail'].some((n) => precedes(six, service(n)))).toBe(false);
    expect(selects(six, service('federation-gateway'))).toBe(true);
    expect(precedes(parsePhase('compliance'), service('analytics-core'))).toBe(true);
    expect(precedes(parsePhase('1'), service('postgres'))).toBe(false);
  });
});

describe('order within a stage', () => {
  it("keeps the file's order, moving a service only so that its dependency in the same stage starts first", () => {
    const fleet = fleetOf(['api', 'core', ['db', 'cache']], ['web', 'core'], ['db', 'core'], ['cache', 'core', ['db']], ['db0', 'infra']);
    expect(planLaunch(fleet).stages).toEqual([
      { stage: 'infra', batches: [['db0']] },
      { stage: 'core', batches: [['web', 'db', 'cache', 'api']] },
    ]);
  });

  it('splits extended into batches after ordering, so a dependency lands in an earlier or the same batch', () => {
    const fleet = fleetOf(['e1', 'extended', ['e4']], ['e2', 'extended'], ['e3', 'extended'], ['e4', 'extended']);
    expect(rendered(fleet, { batchSize: 2 })).toBe(['Launch plan for test/fleet.yml: 4 of 4 services, 1 stage, 2 batches', '[8] extended (batch 1/2): e2, e3', '[8] extended (batch 2/2): e4, e1', ''].join('\n'));
  });

  it('leaves out stages without services, and the others keep their numbers', () => {
    expect(rendered(fleetOf(['db', 'infra'], ['job', 'vsuite']))).toBe(['Launch plan for test/fleet.yml: 2 of 2 services, 2 stages, 2 batches', '[1] infra: db', '[7] vsuite: job', ''].join('\n'));
  });

  it('a dependency on an earlier stage does not change the order', () => {
    const fleet = fleetOf(['b', 'core', { a: { condition: 'service_healthy' } }], ['a', 'infra']);
    expect(planLaunch(fleet).stages.map((s) => s.batches)).toEqual([[['a']], [['b']]]);
  });
});

describe('depends_on is checked against the stages', () => {
  it('a dependency on a later stage is an error naming both services and both stages', () => {
    const error = planErrorOf(fleetOf(['x', 'core', ['y']], ['y', 'extended']));
    expect(error.message).toBe('service "x" (stage core) depends on "y" of the later stage extended');
    expect(error).toMatchObject({ name: 'PlanError', code: 'INVALID_PLAN', services: ['x', 'y'] });
  });

  it('a dependency on a service that is not in the file is an error naming both', () => {
    expect(planErrorOf(fleetOf(['x', 'core', ['ghost']])).message).toBe('service "x" (stage core) depends on "ghost", which is not a service of test/fleet.yml');
  });

  it('an optional dependency (required: false) on a missing service is no error', () => {
    expect(planLaunch(fleetOf(['x', 'core', { ghost: { required: false } }])).stages).toEqual([{ stage: 'core', batches: [['x']] }]);
  });

  it('a cycle within a stage is an error that names it', () => {
    const error = planErrorOf(fleetOf(['a', 'domain', ['b']], ['b', 'domain', ['a']]));
    expect(error.message).toBe('cycle found: a -> b -> a');
    expect(error.services).toEqual(['a', 'b', 'a']);
  });

  it('a longer cycle is named from the service where it closes', () => {
    expect(planErrorOf(fleetOf(['start', 'puabo', ['a']], ['a', 'puabo', ['b']], ['b', 'puabo', ['c']], ['c', 'puabo', ['a']])).message).toBe('cycle found: a -> b -> c -> a');
  });

  it('a service that depends on itself is a cycle', () => {
    expect(planErrorOf(fleetOf(['a', 'core', ['a']])).message).toBe('cycle found: a -> a');
  });

  it('the whole fleet is checked even when only one stage is planned', () => {
    expect(planErrorOf(fleetOf(['a', 'core'], ['x', 'extended', ['y']], ['y', 'extended', ['x']]), { only: parsePhase('core') }).message).toBe('cycle found: x -> y -> x');
  });

  it('a batch size that is not an integer from 1 up is refused', () => {
    expect(() => planLaunch(ours, { batchSize: 0 })).toThrow('Expected `batchSize` to be an integer from 1 up; got 0');
    expect(() => planLaunch(ours, { batchSize: 2.5 })).toThrow(TypeError);
  });
});

describe('parsePhase', () => {
  it('takes a stage name in any case', () => {
    expect(['infra', 'Core', ' FEDERATION ', 'extended'].map(parsePhase)).toEqual(['infra', 'core', 'federation', 'extended'].map((stage) => ({ kind: 'stage', stage })));
  });

  it("takes a seed phase 1-12 as a bare number, phase-N or pN, and a range N-M", () => {
    for (let n = 1; n <= 12; n++) expect(parsePhase(String(n))).toEqual({ kind: 'phases', from: n, to: n });
    expect(['phase-3', 'phase5', 'p6', 'Phase 7'].map(parsePhase)).toEqual([3, 5, 6, 7].map((n) => ({ kind: 'phases', from: n, to: n })));
    expect(['5-6', ' 3 - 12 ', 'phases-7-9', '4-4'].map(parsePhase)).toEqual([
      { kind: 'phases', from: 5, to: 6 },
      { kind: 'phases', from: 3, to: 12 },
      { kind: 'phases', from: 7, to: 9 },
      { kind: 'phases', from: 4, to: 4 },
    ]);
  });

  it('an unknown value is one error listing the valid values, with the nearest stage name', () => {
    let error: unknown;
    try {
      parsePhase('fedration');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownStageError);
    expect(error).toMatchObject({
      name: 'UnknownStageError',
      code: 'UNKNOWN_STAGE',
      message:
        '--phase "fedration" is not a phase or a stage (did you mean "federation"?). Valid values: a seed phase 1-12 (1-2 infra: PostgreSQL and Redis; 3-4 core; 5-6 federation; 7-12 domain), a range of them such as 5-6, or a stage name: infra, core, federation, domain, compliance, puabo, vsuite, extended.',
    });
  });

  it('a phase outside 1-12 or a range that runs backwards is an error that says why', () => {
    expect(() => parsePhase('0')).toThrow(/^--phase "0" is not a phase or a stage \(the seed's phases are 1 to 12\)\. Valid values: /);
    expect(() => parsePhase('13')).toThrow(/^--phase "13" is not a phase or a stage \(the seed's phases are 1 to 12\)/);
    expect(() => parsePhase('phase-0')).toThrow(UnknownStageError);
    expect(() => parsePhase('6-5')).toThrow(/^--phase "6-5" is not a phase or a stage \(a range goes from the lower phase to the higher: 5-6\)/);
    expect(() => parsePhase('5-13')).toThrow(/the seed's phases are 1 to 12/);
    for (const bad of ['', '-5', '5-', 'x5', '5.5', 'core-6']) expect(() => parsePhase(bad), bad).toThrow(UnknownStageError);
  });
});
