import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import { DockerEngine } from '../../docker/engine.ts';
import { loadImageArchive, type LoadArchiveResult } from '../../images/archive.ts';

export default class ImagesLoad extends BaseCommand {
  static override summary = 'Load an image archive written by `n3xus images save` into the engine.';
  static override description =
    'Checks that the archive is complete (its table of contents and every layer it names), then loads it as `docker load` does and lists the tags loaded.';
  static override examples = ['<%= config.bin %> <%= command.id %> -i fleet-images.tar', '<%= config.bin %> <%= command.id %> -i /media/usb/n3xus-fleet.tar --json'];
  static override flags = {
    input: Flags.string({ char: 'i', description: 'Archive to load.', required: true }),
  };

  async run(): Promise<LoadArchiveResult> {
    const { flags } = await this.parse(ImagesLoad);
    const result = await this.interruptible((signal) => loadImageArchive(new DockerEngine(), { inputPath: flags.input, signal }));
    for (const tag of result.loaded) this.log(`Loaded ${tag}`);
    this.log(`Loaded ${result.loaded.length} images from ${result.file} (${(result.sizeBytes / 1e6).toFixed(1)} MB) in ${(result.durationMs / 1000).toFixed(1)} s`);
    return result;
  }
}
