import { describe, expect, it } from 'vitest';
import type { InstanceEvent } from '../../src/drivers/driver.ts';
import { describeRestarts, restartsDuringLaunch } from '../../src/launch/restarts.ts';

const start = (id: string, service: string): InstanceEvent => ({ kind: 'start', id, service });
const exit = (id: string, service: string, exitCode?: number): InstanceEvent => ({ kind: 'exit', id, service, ...(exitCode === undefined ? {} : { exitCode }) });
const none = new Set<string>();

describe('restartsDuringLaunch', () => {
  it('counts each exit the engine followed with a start, with its exit code', () => {
    const events = [start('c1', 'api'), exit('c1', 'api', 3), start('c1', 'api'), exit('c1', 'api', 1), start('c1', 'api')];
    expect(restartsDuringLaunch(events, none, none)).toEqual([{ service: 'api', count: 2, exitCodes: [3, 1] }]);
  });

  it('leaves out the exits of instances launch stopped or removed itself', () => {
    // A recreate: launch removes the old container (killed, 137) and starts a new one.
    const events = [exit('old', 'api', 137), start('new', 'api')];
    expect(restartsDuringLaunch(events, new Set(['old']), none)).toEqual([]);
  });

  it('leaves out the last exit of a service launch reports as failed: that exit is the failure', () => {
    const events = [start('c1', 'api'), exit('c1', 'api', 1)];
    expect(restartsDuringLaunch(events, none, new Set(['api']))).toEqual([]);
  });

  it('keeps the restarts of a failed service before its last exit', () => {
    const events = [start('c1', 'api'), exit('c1', 'api', 3), start('c1', 'api'), exit('c1', 'api', 3)];
    expect(restartsDuringLaunch(events, none, new Set(['api']))).toEqual([{ service: 'api', count: 1, exitCodes: [3] }]);
  });

  it('keeps an exit nothing started again when launch took the service for healthy: it went down after', () => {
    expect(restartsDuringLaunch([start('c1', 'api'), exit('c1', 'api', 0)], none, none)).toEqual([{ service: 'api', count: 1, exitCodes: [0] }]);
  });

  it('lists the services in the order of their first exit, and counts an exit without a code', () => {
    const events = [exit('b1', 'b', 2), start('b1', 'b'), exit('a1', 'a'), start('a1', 'a'), exit('b1', 'b', 2), start('b1', 'b')];
    expect(restartsDuringLaunch(events, none, none)).toEqual([
      { service: 'b', count: 2, exitCodes: [2, 2] },
      { service: 'a', count: 1, exitCodes: [] },
    ]);
  });
});

describe('describeRestarts', () => {
  it('names each service with its count and exit codes', () => {
    expect(
      describeRestarts([
        { service: 'v-supercore', count: 1, exitCodes: [3] },
        { service: 'identity-registry', count: 2, exitCodes: [1, 137] },
        { service: 'api', count: 1, exitCodes: [] },
      ]),
    ).toBe('v-supercore (1 restart, exit 3), identity-registry (2 restarts, exits 1, 137), api (1 restart)');
  });
});
