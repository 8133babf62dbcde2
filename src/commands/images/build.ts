import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.ts';
import type { BaseImageEvent } from '../../images/bases.ts';
import { buildImages, type BuildImagesResult } from '../../images/build-images.ts';
import { checkServiceNames, serviceImagesBuilder } from '../../images/service-images.ts';
import { buildCliImage, type CliImageResult } from '../../images/cli-image.ts';
import { DockerEngine } from '../../docker/engine.ts';
import { loadCatalog } from '../../fleet/catalog.ts';

export default class ImagesBuild extends BaseCommand {
  static override summary = 'Build the fleet images on this machine, without any registry.';
  static override description =
    'Builds the base images n3xus/debian:bookworm, n3xus/node:24, n3xus/postgres:15, n3xus/redis:7 and n3xus/registry:2 (skipping those that are up to date), then the service images, then n3xus/cli:3.0 (the CLI itself, which verify runs inside a Swarm fleet\'s network).';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --bases-only',
    '<%= config.bin %> <%= command.id %> --force --verbose',
  ];
  static override flags = {
    force: Flags.boolean({ description: 'Rebuild images even when they are up to date.', default: false }),
    'bases-only': Flags.boolean({ description: 'Build only the base images.', default: false }),
    verbose: Flags.boolean({ char: 'v', description: 'Print every line of build output.', default: false }),
    service: Flags.string({ description: 'Build only this service image (repeatable).', multiple: true }),
    concurrency: Flags.integer({ description: 'Service images built at once.', default: 2, min: 1, max: 16 }),
  };

  async run(): Promise<BuildImagesResult & { cli?: CliImageResult }> {
    const { flags } = await this.parse(ImagesBuild);
    // A mistyped service name is reported before minutes of base image work, not after.
    checkServiceNames(loadCatalog(), flags.service ?? []);
    const result = await buildImages({
      force: flags.force,
      basesOnly: flags['bases-only'],
      onBaseProgress: (event) => this.render(event, flags.verbose),
      onServiceLine: (line) => this.log(line),
      buildServices: serviceImagesBuilder({ only: flags.service, concurrency: flags.concurrency }),
    });
    // The CLI image, unless only some images were asked for.
    const cli = flags['bases-only'] || flags.service !== undefined ? undefined : await buildCliImage(new DockerEngine(), { force: flags.force, onLine: (line) => this.log(line), onOutput: (line) => (flags.verbose ? this.log(`  ${line}`) : undefined) });
    if (cli?.action === 'skipped') this.log(`${cli.tag}: ${cli.cause}`);
    this.log(`done in ${((result.durationMs + (cli?.durationMs ?? 0)) / 1000).toFixed(1)} s`);
    return { ...result, ...(cli === undefined ? {} : { cli }) };
  }

  private render(event: BaseImageEvent, verbose: boolean): void {
    if (event.type === 'output') {
      if (verbose) this.log(`  ${event.line}`);
    } else if (event.type === 'skip') {
      this.log(`${event.tag}: ${event.cause}`);
    } else if (event.type === 'start') {
      this.log(`${event.tag}: building (${event.cause})…`);
    } else {
      this.log(`${event.tag}: built in ${(event.durationMs / 1000).toFixed(1)} s, ${(event.sizeBytes / 1e6).toFixed(1)} MB`);
    }
  }
}
