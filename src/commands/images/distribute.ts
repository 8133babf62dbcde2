import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';

/** Bytes in megabytes, for the lines it prints. */
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export default class ImagesDistribute extends BaseCommand {
  static override summary = 'Load an image archive into the engines of other machines, each getting only the layers it lacks.';
  static override description =
    'For a cluster without a registry (Swarm nodes, air-gapped sites): reads the archive `n3xus images save` wrote, asks each engine which layers it has, and sends it the archive without those layer files, through its API (an engine reads a layer file only when it lacks that layer). Engines are given as --engine URLs, as DOCKER_HOST takes them (unix:///…, tcp://host:2376 with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH).';
  static override examples = [
    '<%= config.bin %> <%= command.id %> -i fleet.tar --engine tcp://node2:2376 --engine tcp://node3:2376',
    '<%= config.bin %> <%= command.id %> -i fleet.tar --engine unix:///run/n3xus-cluster/n3xc-node2.sock --json',
  ];
  static override flags = {
    input: Flags.string({ char: 'i', description: 'Archive written by n3xus images save.', required: true }),
    engine: Flags.string({ description: 'An engine to load it into, as DOCKER_HOST names one; repeat for each.', required: true, multiple: true }),
    concurrency: Flags.integer({ description: 'Engines loaded at once (default: all).', min: 1 }),
    via: Flags.string({
      description: 'load: through each engine\'s API, only the layers it lacks. registry: pushed once to --registry, then every engine pulls.',
      options: ['load', 'registry'],
      default: 'load',
    }),
    registry: Flags.string({ description: 'With --via registry: the registry\'s host:port as this CLI and every engine reach it (n3xus images registry prints it).' }),
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ImagesDistribute);
    const [{ DockerEngine }, { distributeArchive }] = await Promise.all([import('../../docker/engine.ts'), import('../../images/distribute.ts')]);
    const targets = flags.engine.map((url) => ({ name: url, engine: new DockerEngine({ env: { ...process.env, DOCKER_HOST: url } }) }));
    if (flags.via === 'registry' && flags.registry === undefined) {
      const { CodedError } = await import('../../util/coded-error.ts');
      throw new CodedError('--via registry needs --registry HOST:PORT, the registry every engine pulls from', 'INVALID_ARGUMENT', ['Start one on the swarm and take the address it prints: n3xus images registry.', 'Or send the images through each engine\'s API: --via load.']);
    }
    // Every engine answers before anything is sent.
    await Promise.all(targets.map((t) => t.engine.ping()));
    const started = performance.now();
    if (flags.via === 'registry') return this.#viaRegistry(flags.input, flags.registry!, targets, started);
    const result = await this.interruptible((signal) =>
      distributeArchive(
        flags.input,
        targets.map((t) => ({ name: t.name, image: t.engine.image })),
        {
          signal,
          ...(flags.concurrency === undefined ? {} : { concurrency: flags.concurrency }),
          onDone: (d) => {
            if (!this.jsonEnabled()) this.log(`${d.engine}: ${mb(d.bytes)} sent (${d.layersSent} layers; ${d.layersKept} it had), ${d.loaded.length} images in ${(d.durationMs / 1000).toFixed(1)} s`);
          },
        },
      ),
    );
    const sent = result.engines.reduce((sum, e) => sum + e.bytes, 0);
    if (!this.jsonEnabled()) this.log(`${result.engines.length} engines: ${mb(sent)} sent in all, of ${mb(result.index.totalBytes * result.engines.length)} for the whole archive to each, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    return { via: 'load', archive: result.index.file, archiveBytes: result.index.totalBytes, engines: result.engines };
  }

  async #viaRegistry(input: string, address: string, targets: { name: string; engine: import('../../docker/engine.ts').DockerEngine }[], started: number): Promise<unknown> {
    const { pullEverywhere, pullsPlainHttp, pushArchive, RegistryError } = await import('../../images/registry.ts');
    // An engine that would refuse the registry's plain HTTP is found before anything is pushed.
    const refusing = [];
    for (const t of targets) if (pullsPlainHttp((await t.engine.info()).insecureRegistries, address) === false) refusing.push(t.name);
    if (refusing.length > 0) {
      throw new RegistryError(`${refusing.length === 1 ? 'The engine' : 'The engines'} at ${refusing.join(', ')} would not pull from ${address}: the registry speaks plain HTTP, and ${address} is not among ${refusing.length === 1 ? 'its' : 'their'} insecure registries. Nothing was pushed.`, [
        `Add "insecure-registries": ["${address}"] to /etc/docker/daemon.json on ${refusing.length === 1 ? 'that node' : 'those nodes'} and restart the engine (dockerd --insecure-registry ${address}).`,
        'Or send the images through each engine\'s API: n3xus images distribute --via load.',
      ]);
    }
    const pushed = await this.interruptible((signal) => pushArchive(input, address, { signal }));
    if (!this.jsonEnabled()) this.log(`${address}: ${mb(pushed.bytes)} pushed (${pushed.uploaded} blobs; ${pushed.present} it had, ${pushed.mounted} mounted), ${pushed.images.length} images in ${(pushed.durationMs / 1000).toFixed(1)} s`);
    const engines = await this.interruptible((signal) =>
      pullEverywhere(pushed.plan, address, targets.map((t) => ({ name: t.name, image: t.engine.image })), {
        signal,
        onDone: (d) => {
          if (!this.jsonEnabled()) this.log(`${d.engine}: ${mb(d.bytes)} pulled (${d.layersDownloaded} layers; ${d.layersPresent} it had), ${d.images.length} images in ${(d.durationMs / 1000).toFixed(1)} s`);
        },
      }),
    );
    const pulled = engines.reduce((sum, e) => sum + e.bytes, 0);
    if (!this.jsonEnabled()) this.log(`${engines.length} engines: ${mb(pushed.bytes)} pushed and ${mb(pulled)} pulled in all, in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const { plan: _plan, ...push } = pushed;
    return { via: 'registry', archive: input, push, engines };
  }
}
