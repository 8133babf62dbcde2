import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';

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
  };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(ImagesDistribute);
    const [{ DockerEngine }, { distributeArchive }] = await Promise.all([import('../../docker/engine.ts'), import('../../images/distribute.ts')]);
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    const targets = flags.engine.map((url) => ({ name: url, engine: new DockerEngine({ env: { ...process.env, DOCKER_HOST: url } }) }));
    // Every engine answers before anything is sent.
    await Promise.all(targets.map((t) => t.engine.ping()));
    const started = performance.now();
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
    return { archive: result.index.file, archiveBytes: result.index.totalBytes, engines: result.engines };
  }
}
