import { describe, expect, it } from 'vitest';
import type { DockerEngine } from '../../src/docker/engine.ts';
import type { SwarmState } from '../../src/docker/types.ts';
import { requireSwarmManager, SwarmUnavailableError } from '../../src/drivers/swarm/swarm-driver.ts';

/** Only what requireSwarmManager reads of an engine: where it is, and its place in a swarm. */
function engineIn(state: Partial<SwarmState>): Pick<DockerEngine, 'swarm' | 'endpoint'> {
  const full: SwarmState = { state: 'active', nodeId: 'abcdef0123456789', manager: true, nodeAddr: '127.0.0.1', nodes: 1, managers: 1, ...state };
  return { endpoint: { display: 'unix:///var/run/docker.sock' }, swarm: { state: async () => full } } as unknown as Pick<DockerEngine, 'swarm' | 'endpoint'>;
}

describe('--driver swarm needs a swarm manager', () => {
  it('goes on with a manager', async () => {
    await expect(requireSwarmManager(engineIn({}))).resolves.toBeUndefined();
  });

  it('refuses an engine in no swarm: exit 24, what is wrong, where, and the command that makes one', async () => {
    const error = await requireSwarmManager(engineIn({ state: 'inactive', manager: false })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SwarmUnavailableError);
    expect(error).toMatchObject({ code: 'SWARM_UNAVAILABLE', message: expect.stringContaining('unix:///var/run/docker.sock is not in a swarm (swarm state: inactive)') });
    expect((error as SwarmUnavailableError).suggestions.join(' ')).toContain('n3xus bootstrap --fix --swarm');
  });

  it('refuses a worker, naming the node and where the managers are listed', async () => {
    const error = (await requireSwarmManager(engineIn({ manager: false })).catch((e: unknown) => e)) as SwarmUnavailableError;
    expect(error.message).toContain('is a swarm worker (node abcdef012345)');
    expect(error.message).toContain('Nothing was changed');
    expect(error.suggestions.join(' ')).toContain('docker node ls');
  });
});
