/**
 * `n3xus images build`: the base images, then the service images. Service builds are plugged in by the fleet code
 * through {@link BuildImagesOptions.buildServices}, so this module does not depend on the fleet.
 */
import { DockerEngine } from '../docker/engine.ts';
import { buildBaseImages, type BaseImageEvent, type BaseImageResult } from './bases.ts';

/** What a service image builder reports for each image. */
export interface ServiceImageResult {
  service: string;
  tag: string;
  action: 'built' | 'skipped';
  /** Why it was built or skipped, e.g. `not found`, `up to date`. */
  cause: string;
  durationMs: number;
}

/** Builds the service images on top of the base images; given the engine and what the user asked. */
export type ServiceImagesBuilder = (context: {
  engine: DockerEngine;
  force: boolean;
  onLine: (line: string) => void;
}) => Promise<ServiceImageResult[]>;

export interface BuildImagesOptions {
  /** Rebuild images that are up to date; default false. */
  force?: boolean;
  /** Stop after the base images; default false. */
  basesOnly?: boolean;
  engine?: DockerEngine;
  onBaseProgress?: (event: BaseImageEvent) => void;
  /** Output lines of the service builds. */
  onServiceLine?: (line: string) => void;
  /** The service image builder; when absent, only base images are built and `services` is undefined. */
  buildServices?: ServiceImagesBuilder;
}

/** What `n3xus images build` did; this is also its `--json` output. */
export interface BuildImagesResult {
  bases: BaseImageResult[];
  /** Undefined when service images were not asked for or no builder is plugged in. */
  services: ServiceImageResult[] | undefined;
  durationMs: number;
}

/** Builds base images and then, unless `basesOnly`, service images. */
export async function buildImages(options: BuildImagesOptions = {}): Promise<BuildImagesResult> {
  const startedAt = performance.now();
  const engine = options.engine ?? new DockerEngine();
  const force = options.force ?? false;
  const bases = await buildBaseImages({ engine, force, onProgress: options.onBaseProgress });
  const services =
    options.basesOnly || options.buildServices === undefined
      ? undefined
      : await options.buildServices({ engine, force, onLine: options.onServiceLine ?? ((): void => undefined) });
  return { bases, services, durationMs: Math.round(performance.now() - startedAt) };
}
