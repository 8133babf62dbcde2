/**
 * Docker 20.10 can keep counting an endpoint of a container long gone and refuse to remove its network until it
 * restarts (moby/moby#42119). The Docker driver goes on with the rest of the teardown and reports the network as
 * stale; a network that still has a container attached is a real error. The engine is a stand-in here: the bug
 * cannot be produced on demand (it was met on the real engine, where .ci/run restarts the engine and runs down again).
 */
import { describe, expect, it } from 'vitest';
import { DockerApiError, type DockerEngine } from '../../src/docker/engine.ts';
import { DockerDriver } from '../../src/drivers/docker/docker-driver.ts';
import { EXIT_CODES } from '../../src/cli/base-command.ts';
import { StaleNetworkError } from '../../src/launch/errors.ts';

function engineWith(attached: string[]): { engine: DockerEngine; removedVolumes: string[] } {
  const removedVolumes: string[] = [];
  const engine = {
    network: {
      list: async () => [{ id: 'net1', name: 'nexus-net', labels: { 'n3xus.project': 'p' }, driver: 'bridge', scope: 'local', internal: false }],
      remove: async () => {
        throw new DockerApiError('remove network net1', 'error while removing network: network nexus-net id net1 has active endpoints', 403);
      },
      attached: async () => attached,
    },
    volume: {
      list: async () => [{ name: 'p_pgdata', labels: { 'n3xus.project': 'p' } }],
      remove: async (name: string) => void removedVolumes.push(name),
    },
  } as unknown as DockerEngine;
  return { engine, removedVolumes };
}

describe('a network the engine will not remove', () => {
  it('with no container attached: reported as stale, and the volumes are still removed', async () => {
    const { engine, removedVolumes } = engineWith([]);
    const result = await new DockerDriver(engine).removeResources('p', { volumes: true });
    expect(result).toEqual({ networks: [], volumes: ['p_pgdata'], stale: ['nexus-net'] });
    expect(removedVolumes).toEqual(['p_pgdata']);
  });

  it('with a container attached: the engine is right, and the error stands', async () => {
    const { engine } = engineWith(['someone-else']);
    await expect(new DockerDriver(engine).removeResources('p', { volumes: true })).rejects.toBeInstanceOf(DockerApiError);
  });

  it('down says what is left, why, and how to clear it, with exit 28', () => {
    const error = new StaleNetworkError(['nexus-net']);
    expect(error.message).toBe('The network nexus-net was not removed: the Docker engine counts an endpoint on it that no container holds (a known engine bug, moby/moby#42119). Everything else was removed.');
    expect(error.suggestions[0]).toContain('Restart the engine');
    expect(EXIT_CODES[error.code]).toBe(28);
  });
});
