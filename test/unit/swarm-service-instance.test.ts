import { describe, expect, it } from 'vitest';
import type { SwarmServiceInfo, SwarmTaskInfo } from '../../src/docker/types.ts';
import { serviceInstance } from '../../src/drivers/swarm/service-instance.ts';
import { instanceFailure } from '../../src/launch/health.ts';

const service = (replicas: number, updatedAt = '2026-12-03T10:00:00Z'): SwarmServiceInfo => ({
  id: 'svc',
  name: 'p-api',
  version: 7,
  labels: { 'n3xus.service': 'api', 'n3xus.image-id': 'sha256:img' },
  replicas,
  image: 'api:1',
  updatedAt,
  spec: {},
});
let n = 0;
const task = (state: string, timestamp: string, patch: Partial<SwarmTaskInfo> = {}): SwarmTaskInfo => ({
  id: `t${++n}`,
  serviceId: 'svc',
  slot: 1,
  nodeId: 'node1',
  desiredState: ['running', 'starting', 'preparing', 'pending', 'assigned'].includes(state) ? 'running' : 'shutdown',
  state,
  message: state,
  error: undefined,
  exitCode: undefined,
  containerId: 'c',
  addresses: { net: ['10.0.1.5'] },
  timestamp,
  ...patch,
});

describe('a Swarm service and its tasks, read as one instance', () => {
  it('is running when as many tasks run as are wanted, with each replica, its node and address', () => {
    const i = serviceInstance(service(2), [task('running', '2026-12-03T10:00:02Z'), task('running', '2026-12-03T10:00:01Z', { addresses: { net: ['10.0.1.6'] } })]);
    expect(i).toMatchObject({ status: 'running', running: true, imageId: 'sha256:img', startedAt: '2026-12-03T10:00:01Z' });
    expect(i.replicas).toMatchObject({ desired: 2, running: 2 });
    expect(i.replicas!.tasks.map((t) => [t.node, t.address])).toEqual([['node1', '10.0.1.5'], ['node1', '10.0.1.6']]);
    expect(instanceFailure(i)).toBeUndefined();
  });

  it('is starting while its tasks are on their way, and nothing has failed since the last change', () => {
    expect(serviceInstance(service(1), []).status).toBe('starting');
    expect(serviceInstance(service(1), [task('preparing', '2026-12-03T10:00:01Z')]).status).toBe('starting');
    // A failure before the last change belongs to another configuration.
    expect(serviceInstance(service(1), [task('starting', '2026-12-03T10:00:05Z'), task('failed', '2026-12-03T09:00:00Z', { exitCode: 1 })]).status).toBe('starting');
  });

  it('is restarting with the exit code and error of a task that failed since the last change: launch reports a crash, or the law', () => {
    const crashed = serviceInstance(service(1), [task('starting', '2026-12-03T10:00:05Z'), task('failed', '2026-12-03T10:00:03Z', { exitCode: 3, error: 'task: non-zero exit (3)' })]);
    expect(crashed).toMatchObject({ status: 'restarting', running: false, exitCode: 3, restartCount: 1 });
    expect(instanceFailure(crashed)).toMatchObject({ kind: 'exited', exitCode: 3, reason: expect.stringContaining('non-zero exit (3)') });
    const lawless = serviceInstance(service(1), [task('failed', '2026-12-03T10:00:03Z', { exitCode: 45 })]);
    expect(instanceFailure(lawless)).toMatchObject({ kind: 'law-violation', exitCode: 45 });
  });

  it('is dead when its task was rejected (no such image on the node, for example), with the engine error', () => {
    const i = serviceInstance(service(1), [task('rejected', '2026-12-03T10:00:03Z', { error: 'No such image: api:1' })]);
    expect(i.status).toBe('dead');
    expect(instanceFailure(i)!.reason).toContain('No such image: api:1');
  });

  it('is exited when scaled to 0 (stopped), with its last exit code', () => {
    const i = serviceInstance(service(0), [task('shutdown', '2026-12-03T10:00:03Z', { exitCode: 0 })]);
    expect(i).toMatchObject({ status: 'exited', running: false, exitCode: 0 });
  });

  it('counts only its own tasks', () => {
    const other = task('running', '2026-12-03T10:00:01Z', { serviceId: 'other' });
    expect(serviceInstance(service(1), [other]).status).toBe('starting');
  });
});
