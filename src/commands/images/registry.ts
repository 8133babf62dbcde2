import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';

export default class ImagesRegistry extends BaseCommand {
  static override summary = 'Run a private registry on the swarm, for images distribute --via registry.';
  static override description =
    "Creates the Swarm service n3xus-registry (n3xus/registry:2, Debian's docker-registry) on the node of the engine DOCKER_HOST names, a manager, with its storage in a volume there and its port published in host mode, and waits until it answers. Prints its address as the nodes reach it (the node's swarm address): give that to images distribute --via registry --registry. When that engine lacks the registry's image, it is sent from the engine --from names. The nodes' engines must accept that address over plain HTTP (insecure-registries in their daemon.json). An existing registry is kept.";
  static override examples = [
    'DOCKER_HOST=ssh://manager <%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --port 5001 --from unix:///var/run/docker.sock',
    '<%= config.bin %> <%= command.id %> --remove --volumes',
  ];
  static override flags = {
    port: Flags.integer({ description: 'Port published on the node.', default: 5000, min: 1, max: 65_535 }),
    from: Flags.string({ description: 'Engine to send the registry image from, when the manager lacks it (as DOCKER_HOST names one).', default: 'unix:///var/run/docker.sock' }),
    remove: Flags.boolean({ description: 'Remove the registry service instead.', default: false }),
    volumes: Flags.boolean({ description: 'With --remove: remove its storage too.', default: false, dependsOn: ['remove'] }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ImagesRegistry);
    const [{ DockerEngine }, { ensureRegistry, removeRegistry, REGISTRY_SERVICE }] = await Promise.all([import('../../docker/engine.ts'), import('../../images/registry-service.ts')]);
    const engine = new DockerEngine();
    await engine.ping();
    if (flags.remove) {
      const removed = await removeRegistry(engine, { volumes: flags.volumes });
      if (!this.jsonEnabled()) this.log(removed ? `${REGISTRY_SERVICE} removed${flags.volumes ? ', with its storage' : ''}` : `no ${REGISTRY_SERVICE} on this swarm`);
      return { removed };
    }
    const from = new DockerEngine({ env: { ...process.env, DOCKER_HOST: flags.from } });
    const place = await this.interruptible((signal) =>
      ensureRegistry(engine, { port: flags.port, from, fromName: flags.from, signal, onLine: (line) => (this.jsonEnabled() ? undefined : this.log(line)) }),
    );
    if (!this.jsonEnabled()) this.log(`${REGISTRY_SERVICE} answers at ${place.address}${place.created ? '' : ' (it was running)'}: n3xus images distribute --via registry --registry ${place.address} …`);
    return place;
  }
}
