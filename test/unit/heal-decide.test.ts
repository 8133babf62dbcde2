import { describe, expect, it } from 'vitest';
import { decide, DEFAULT_POLICY, type Memory, type Observation, type WatchedService } from '../../src/heal/decide.ts';

const fleet: WatchedService[] = [
  { name: 'postgres', stage: 'infra', dependsOn: [] },
  { name: 'redis', stage: 'infra', dependsOn: [] },
  { name: 'identity-registry', stage: 'federation', dependsOn: ['postgres', 'redis'] },
  { name: 'content-registry', stage: 'domain', dependsOn: ['postgres', 'redis', 'identity-registry'] },
  { name: 'search-index', stage: 'extended', dependsOn: ['postgres', 'redis'] },
];
const up: Observation = { running: true, healthy: true };
const sick: Observation = { running: true, healthy: false };
/** No instance at all: the sweep leaves it out. */
const gone: Observation = { running: false, healthy: false };
const stopped: Observation = { running: false, healthy: false };
const sweep = (changes: Record<string, Observation>) => new Map(fleet.filter((s) => changes[s.name] !== gone).map((s) => [s.name, changes[s.name] ?? up]));

/** Runs sweeps one after another from nothing remembered; returns every decision. */
function run(sweeps: Array<[number, Record<string, Observation>]>) {
  let memory = new Map<string, Memory>();
  return sweeps.map(([now, changes]) => {
    const decision = decide(fleet, sweep(changes), memory, now);
    memory = decision.memory;
    return decision;
  });
}

describe("the watcher's decisions", () => {
  it('leave a healthy fleet alone and say nothing', () => {
    expect(run([[0, {}], [5_000, {}]]).map((d) => [d.restart, d.events])).toEqual([[[], []], [[], []]]);
  });

  it('restart a service that is gone at once, and one that is unhealthy after two sweeps in a row', () => {
    const [first, second] = run([[0, { 'search-index': gone, 'identity-registry': sick }], [5_000, { 'identity-registry': sick }]]);
    expect(first!.restart).toEqual(['search-index']);
    expect(first!.events).toEqual([{ kind: 'restart', service: 'search-index', reason: 'gone' }]);
    expect(run([[0, { 'search-index': stopped }]])[0]!.events).toEqual([{ kind: 'restart', service: 'search-index', reason: 'stopped, exit code unknown' }]);
    expect(second!.restart).toEqual(['identity-registry']);
    expect(second!.events).toContainEqual({ kind: 'restart', service: 'identity-registry', reason: 'unhealthy for 2 sweeps' });
  });

  it('name an exit code when the instance exited, and report the recovery', () => {
    const [first, second] = run([[0, { 'search-index': { running: false, healthy: false, exitCode: 137 } }], [5_000, {}]]);
    expect(first!.events).toEqual([{ kind: 'restart', service: 'search-index', reason: 'exited with code 137' }]);
    expect(second!.events).toEqual([{ kind: 'recovered', service: 'search-index' }]);
  });

  it('restart a dependency before its dependents, which wait for it and are restarted only if it did not bring them back', () => {
    const [first, second, third] = run([
      [0, { postgres: gone, 'identity-registry': gone, 'content-registry': sick }],
      [5_000, { 'content-registry': sick, 'identity-registry': gone }],
      [10_000, { 'content-registry': sick }],
    ]);
    expect(first!.restart).toEqual(['postgres']);
    expect(first!.events).toContainEqual({ kind: 'waiting', service: 'identity-registry', on: 'postgres' });
    // content-registry's first failed sweep: not yet unhealthy enough to act on.
    expect(first!.events.filter((e) => e.service === 'content-registry')).toEqual([]);
    expect(second!.restart).toEqual(['identity-registry']);
    expect(second!.events).toContainEqual({ kind: 'waiting', service: 'content-registry', on: 'identity-registry' });
    expect(third!.restart).toEqual(['content-registry']);
  });

  it('order the restarts of one sweep by stage, then name', () => {
    const [first] = run([[0, { 'search-index': gone, redis: gone, postgres: gone }]]);
    expect(first!.restart).toEqual(['postgres', 'redis']);
    expect(first!.events).toContainEqual({ kind: 'waiting', service: 'search-index', on: 'postgres' });
  });

  it('detect a crash loop, report it once, and back off, doubling each time', () => {
    const dead = { 'search-index': { running: false, healthy: false, exitCode: 1 } };
    const sweeps: Array<[number, Record<string, Observation>]> = [];
    for (let t = 0; t <= 120_000; t += 5_000) sweeps.push([t, dead]);
    const decisions = run(sweeps);
    const restartsAt = decisions.flatMap((d, i) => (d.restart.length > 0 ? [sweeps[i]![0]] : []));
    // Three restarts, then waits of 10 s, 20 s, 40 s after the last.
    expect(restartsAt).toEqual([0, 5_000, 10_000, 20_000, 40_000, 80_000]);
    const loops = decisions.flatMap((d) => d.events.filter((e) => e.kind === 'crash-loop'));
    expect(loops).toEqual([{ kind: 'crash-loop', service: 'search-index', restarts: 3, backoffMs: 10_000, exitCode: 1 }]);
    expect(decisions[3]!.events).toContainEqual({ kind: 'backing-off', service: 'search-index', untilMs: 5_000 });
    // The rest of the fleet is left alone throughout.
    expect(decisions.flatMap((d) => d.restart).every((s) => s === 'search-index')).toBe(true);
  });

  it('cap the back-off', () => {
    let memory = new Map<string, Memory>([['search-index', { failing: 0, restarts: Array.from({ length: 20 }, (_, i) => i), inLoop: true }]]);
    const decision = decide(fleet, sweep({ 'search-index': gone }), memory, 19 + DEFAULT_POLICY.maxBackoffMs - 1);
    expect(decision.restart).toEqual([]);
    memory = decision.memory;
    expect(decide(fleet, sweep({ 'search-index': gone }), memory, 19 + DEFAULT_POLICY.maxBackoffMs).restart).toEqual(['search-index']);
  });

  it('forgive a service its restarts once it stayed healthy for the loop window', () => {
    const dead = { 'search-index': gone };
    const decisions = run([
      [0, dead], [5_000, dead], [10_000, dead],
      [15_000, {}], [75_000, {}],
      [80_000, dead],
    ]);
    expect(decisions[3]!.events).toEqual([{ kind: 'recovered', service: 'search-index' }]);
    expect(decisions[4]!.memory.get('search-index')).toMatchObject({ restarts: [] });
    // A new failure after that is a first one again: restarted at once, no loop.
    expect(decisions[5]!.restart).toEqual(['search-index']);
    expect(decisions[5]!.events.some((e) => e.kind === 'crash-loop')).toBe(false);
  });

  it('take a service the sweep could not see at all as gone', () => {
    const decision = decide(fleet, new Map(fleet.filter((s) => s.name !== 'search-index').map((s) => [s.name, up])), new Map(), 0);
    expect(decision.restart).toEqual(['search-index']);
  });
});
