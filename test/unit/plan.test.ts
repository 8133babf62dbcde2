import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { LABELS } from '../../src/fleet/compose.ts';
import { loadFleet, parseFleet, type Fleet } from '../../src/fleet/model.ts';
import type { Stage } from '../../src/fleet/stages.ts';
import { PlanError, UnknownStageError, parseStage, planLaunch, type PlanOptions } from '../../src/plan/plan.ts';
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
const CORE = '[2] core: v-supercore, puabo-api-ai-hf';
const FEDERATION = '[3] federation: federation-spine, identity-registry, federation-gateway, attestation-service';
const FIRST_SEVEN = [
  INFRA,
  CORE,
  FEDERATION,
  '[4] domain: governance-ledger, policy-engine, treasury-service, payment-rails, content-registry, licensing-engine, marketplace-core, order-service, notification-hub, search-index, analytics-core',
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

  it('with onlyStage plans just that stage, under its own number', () => {
    expect(rendered(ours, { onlyStage: 'federation' })).toBe(['Launch plan for compose/docker-compose.full.yml: 4 of 100 services, 1 stage, 1 batch', FEDERATION, ''].join('\n'));
  });

  it('with onlyStage and withDeps plans every earlier stage too', () => {
    expect(rendered(ours, { onlyStage: 'federation', withDeps: true })).toBe(
      ['Launch plan for compose/docker-compose.full.yml: 8 of 100 services, 3 stages, 3 batches', INFRA, CORE, FEDERATION, ''].join('\n'),
    );
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
    expect(planErrorOf(fleetOf(['a', 'core'], ['x', 'extended', ['y']], ['y', 'extended', ['x']]), { onlyStage: 'core' }).message).toBe('cycle found: x -> y -> x');
  });

  it('a batch size that is not an integer from 1 up is refused', () => {
    expect(() => planLaunch(ours, { batchSize: 0 })).toThrow('Expected `batchSize` to be an integer from 1 up; got 0');
    expect(() => planLaunch(ours, { batchSize: 2.5 })).toThrow(TypeError);
  });
});

describe('parseStage', () => {
  it('takes a stage name in any case', () => {
    expect(['infra', 'Core', ' FEDERATION ', 'extended'].map(parseStage)).toEqual(['infra', 'core', 'federation', 'extended']);
  });

  it('takes the stage number 1-8 that the plan prints', () => {
    expect([1, '2', 3, '4', 5, 6, 7, '8'].map(parseStage)).toEqual(['infra', 'core', 'federation', 'domain', 'compliance', 'puabo', 'vsuite', 'extended']);
  });

  it("takes the seed's phase 3-12 when written as phase-N", () => {
    expect(['phase-3', 'phase-4', 'phase5', 'p6', 'phase-7', 'phase-12'].map(parseStage)).toEqual(['core', 'core', 'federation', 'federation', 'domain', 'domain']);
  });

  it('an unknown stage is an error listing the valid stages, with the nearest name', () => {
    let error: unknown;
    try {
      parseStage('fedration');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownStageError);
    expect(error).toMatchObject({
      name: 'UnknownStageError',
      code: 'UNKNOWN_STAGE',
      message:
        'Unknown stage "fedration" (did you mean "federation"?). Stages, by name or number: 1 infra, 2 core, 3 federation, 4 domain, 5 compliance, 6 puabo, 7 vsuite, 8 extended; or a seed phase as phase-3 to phase-12.',
    });
  });

  it("a number past 8 is an error that points to the seed's phase it may mean", () => {
    expect(() => parseStage('9')).toThrow('Unknown stage "9" (stage numbers are 1-8; the seed\'s phase 9 is in stage domain, --phase domain or phase-9).');
    expect(() => parseStage('phase-2')).toThrow('Unknown stage "phase-2" (the seed has phases 3 to 12).');
  });
});
