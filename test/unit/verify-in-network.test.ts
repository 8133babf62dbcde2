import { describe, expect, it } from 'vitest';
import type { Instance } from '../../src/drivers/driver.ts';
import { decodeInput, encodeInput, type NetworkInput } from '../../src/verify/in-network.ts';
import { judgeReplicas } from '../../src/verify/judge.ts';
import type { VerifyFleetService } from '../../src/verify/fleet-source.ts';
import { selectTargets } from '../../src/verify/targets.ts';

const services: VerifyFleetService[] = [
  { name: 'postgres', stage: 'infra' as const, group: 'infrastructure', category: 'database', port: 5432, hostPort: 15432, environment: {} as Record<string, string>, image: 'postgres:15', configHash: 'a'.repeat(64) },
  { name: 'identity-registry', stage: 'federation' as const, group: 'federation', category: 'identity', port: 3011, hostPort: 3011, environment: { N3XUS_PEERS: '' }, image: 'n3xus/identity-registry:3.0', configHash: 'b'.repeat(64) },
];
const instance: Instance = {
  id: 'svc1',
  name: 'n3xus-identity-registry',
  image: 'n3xus/identity-registry:3.0',
  imageId: 'sha256:abc',
  labels: { 'n3xus.project': 'n3xus', 'n3xus.service': 'identity-registry', 'n3xus.config-hash': 'h', 'com.example.other': 'x' },
  status: 'running',
  running: true,
  exitCode: 0,
  health: undefined,
  lastHealthOutput: undefined,
  ports: { '3011/tcp': 3011 },
  restartCount: 0,
  replicas: { desired: 2, running: 2, tasks: [{ id: 't1', state: 'running', message: 'started', address: '10.0.1.5' }, { id: 't2', state: 'running', message: 'started', address: '10.0.1.6' }] },
};
const input: NetworkInput = { project: 'n3xus', where: 'inside network nexus-net', driver: 'swarm', fleet: { file: 'compose/docker-compose.full.yml', project: 'n3xus', services }, instances: [instance] };

describe('in-network verify: what the CLI outside hands the run inside', () => {
  it('reads back what it wrote, with each instance cut down to what verify judges', () => {
    const back = decodeInput(encodeInput(input));
    expect(back.fleet).toEqual(input.fleet);
    // The config hash goes along, to be compared inside; not the image ID, which nothing inside can resolve.
    expect(back.instances[0]!.labels).toEqual({ 'n3xus.project': 'n3xus', 'n3xus.service': 'identity-registry', 'n3xus.config-hash': 'h' });
    expect(back.instances[0]!.imageId).toBe('');
    expect(back.instances[0]!.replicas).toEqual(instance.replicas);
    expect(back).toMatchObject({ project: 'n3xus', where: 'inside network nexus-net', driver: 'swarm' });
  });

  it('refuses an input that is missing, not JSON, or not of its shape, naming the variable', () => {
    for (const bad of [undefined, '', 'not json', '{"project":"n3xus"}', JSON.stringify({ ...JSON.parse(encodeInput(input)), driver: 'process' })]) {
      expect(() => decodeInput(bad)).toThrow(/N3XUS_VERIFY_INPUT/);
    }
  });

  it('addresses every target by its name and own port inside the network, by the published port outside', () => {
    const inside = selectTargets(services, 'full', 'ignored', 'network');
    expect(inside.map((t) => t.url)).toEqual(['tcp://postgres:5432', 'http://identity-registry:3011']);
    expect(inside.map((t) => [t.host, t.port])).toEqual([['postgres', 5432], ['identity-registry', 3011]]);
    expect(selectTargets(services, 'full', '127.0.0.1').map((t) => t.url)).toEqual(['tcp://127.0.0.1:15432', 'http://127.0.0.1:3011']);
  });
});

describe('judgeReplicas: every copy answers as the service', () => {
  const ok = (service: string) => ({ status: 200, headers: {}, body: JSON.stringify({ status: 'ok', service }), durationMs: 3 });

  it('passes when each replica answers /health as the service', () => {
    expect(judgeReplicas('identity-registry', [{ task: 't1', address: '10.0.1.5', answer: ok('identity-registry') }, { task: 't2', address: '10.0.1.6', answer: ok('identity-registry') }])).toMatchObject({
      name: 'replicas',
      status: 'pass',
      message: 'all 2 replicas answer GET /health',
    });
  });

  it('fails naming each replica that does not answer, or answers as another service, with its task and address', () => {
    const check = judgeReplicas('identity-registry', [
      { task: 't1aaaaaaaaaaaaaa', address: '10.0.1.5', answer: { kind: 'timeout', message: 'no answer within 2000 ms', durationMs: 2000 } },
      { task: 't2', address: '10.0.1.6', answer: ok('attestation-service') },
      { task: 't3', address: '10.0.1.7', answer: ok('identity-registry') },
    ]);
    expect(check).toMatchObject({ status: 'fail', code: 'timeout' });
    expect(check.message).toContain('2 of 3 replicas do not answer as identity-registry');
    expect(check.message).toContain('task t1aaaaaaaaaa at 10.0.1.5');
    expect(check.message).toContain('task t2 at 10.0.1.6');
  });
});
