import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { DockerEngine } from '../../docker/engine.ts';
import { loadFleetImages, saveImageArchive, type SaveArchiveResult } from '../../images/archive.ts';

export default class ImagesSave extends BaseCommand {
  static override summary = 'Save every image the fleet runs into one tar archive, for a site without a registry.';
  static override description =
    "Writes the image of each service of the compose file (postgres and redis included, as the file names them after interpolation with compose/airgap.env) into one archive, as `docker save` does. The archive appears under its name only once it is complete; a missing image, a failure or Ctrl-C leaves nothing behind. Load it elsewhere with `n3xus images load`.";
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> -o /media/usb/n3xus-fleet.tar',
    '<%= config.bin %> <%= command.id %> -f other-fleet.yml --env-file other.env --json',
  ];
  static override flags = {
    output: Flags.string({ char: 'o', description: 'Archive to write (replaced when it exists).', default: 'fleet-images.tar' }),
    file: Flags.string({ char: 'f', description: 'Compose file of the fleet [default: compose/docker-compose.full.yml].' }),
    'env-file': Flags.string({ description: 'Variables for the compose file [default: airgap.env next to it, when present].' }),
  };

  async run(): Promise<SaveArchiveResult> {
    const { flags } = await this.parse(ImagesSave);
    const { images, envFile } = await loadFleetImages({ file: flags.file, envFile: flags['env-file'] });
    this.log(`Saving ${images.length} images to ${flags.output}${envFile === undefined ? '' : ` (variables from ${envFile})`}…`);
    // Ctrl-C must not kill the process mid-write: aborting lets the save remove its temporary file first.
    const result = await this.interruptible((signal) => saveImageArchive(new DockerEngine(), { images, outputPath: flags.output, signal }));
    this.log(`Saved ${result.images.length} images to ${result.file}: ${formatBytes(result.sizeBytes)} in ${(result.durationMs / 1000).toFixed(1)} s`);
    return result;
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}
