/**
 * The 98 service images: bundled by {@link buildFleet} into `dist/fleet`, then built on the engine from the
 * Node base, each skipped while its inputs are unchanged. Plugs into `buildImages` as its `buildServices`.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import pLimit from 'p-limit';
import { N3XUS_LAW } from '../../services/_kit/src/law.ts';
import { FLEET_DIST, buildFleet } from '../fleet/build-fleet.ts';
import { loadCatalog, type Catalog } from '../fleet/catalog.ts';
import { LABELS } from '../fleet/compose.ts';
import { imageTag } from '../fleet/service-files.ts';
import { BASE_IMAGE_TAGS, INPUTS_LABEL, NAME_LABEL, hashInputs } from './bases.ts';
import { decideBuild } from './build-decision.ts';
import type { ServiceImageResult, ServiceImagesBuilder } from './build-images.ts';

export interface ServiceImagesOptions {
  catalog?: Catalog;
  /** The handshake passed as build argument (default: `N3XUS_HANDSHAKE` from the environment, else the law). */
  handshake?: string;
  /** Base image of every service (default: the locally built `n3xus/node:24`). */
  baseImage?: string;
  /** Builds at once (default 2: the legacy builder's layer commits are disk-bound, and this machine has 2 cores). */
  concurrency?: number;
  /** Only these services (default: all). */
  only?: string[];
}

/** Raised when asked for services the catalog does not have. */
export class UnknownServiceError extends Error {
  override name = 'UnknownServiceError';
  readonly code = 'UNKNOWN_SERVICE';
  readonly suggestions = ['List the services with their stages in services/catalog.yaml.'];
  constructor(readonly services: string[]) {
    super(`Unknown service${services.length > 1 ? 's' : ''}: ${services.join(', ')}. Names are those of services/catalog.yaml.`);
  }
}

/** Throws UnknownServiceError naming every name that is not a service of the catalog. */
export function checkServiceNames(catalog: Catalog, names: readonly string[]): void {
  const unknown = names.filter((name) => !catalog.services.some((s) => s.name === name));
  if (unknown.length > 0) throw new UnknownServiceError(unknown);
}

/** sha256 of every file under `dir`, by relative path: what a build context carries. */
function hashTree(dir: string, root = dir, into: Record<string, string> = {}): Record<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) hashTree(full, root, into);
    else into[relative(root, full)] = createHash('sha256').update(readFileSync(full)).update(String(statSync(full).mode)).digest('hex');
  }
  return into;
}

/** A builder for the service images, for `buildImages({ buildServices })`. */
export function serviceImagesBuilder(options: ServiceImagesOptions = {}): ServiceImagesBuilder {
  return async ({ engine, force, onLine }) => {
    const catalog = options.catalog ?? loadCatalog();
    const handshake = options.handshake ?? process.env.N3XUS_HANDSHAKE ?? N3XUS_LAW;
    const baseImage = options.baseImage ?? BASE_IMAGE_TAGS.node;
    const started = performance.now();
    await buildFleet(catalog);
    onLine(`bundled ${catalog.services.length} services into dist/fleet in ${Math.round(performance.now() - started)} ms`);

    checkServiceNames(catalog, options.only ?? []);
    const base = await engine.imageInspect(baseImage);
    const runtimeHash = hashInputs(hashTree(join(FLEET_DIST, 'runtime')));
    const wanted = options.only ? catalog.services.filter((s) => options.only!.includes(s.name)) : catalog.services;
    const limit = pLimit(options.concurrency ?? 2);
    return Promise.all(
      wanted.map((entry) =>
        limit(async (): Promise<ServiceImageResult> => {
          const t0 = performance.now();
          const tag = imageTag(catalog, entry.name);
          const inputsHash = hashInputs({
            base: base.id,
            runtime: runtimeHash,
            service: hashTree(join(FLEET_DIST, 'services', entry.name)),
            handshake: createHash('sha256').update(handshake).digest('hex'),
          });
          const observed = (await engine.imageExists(tag)) ? await engine.imageInspect(tag) : undefined;
          const decision = decideBuild({ force, baseRebuilt: false, inputsHash, observed: observed && { inputsHash: observed.labels[INPUTS_LABEL] } });
          if (!decision.build) return { service: entry.name, tag, action: 'skipped', cause: decision.cause, durationMs: Math.round(performance.now() - t0) };
          await engine.buildImage({
            contextDir: FLEET_DIST,
            files: ['runtime', `services/${entry.name}`],
            dockerfile: `services/${entry.name}/Dockerfile`,
            tag,
            buildArgs: { BASE_IMAGE: baseImage, N3XUS_HANDSHAKE: handshake },
            labels: {
              [INPUTS_LABEL]: inputsHash,
              [NAME_LABEL]: entry.name,
              [LABELS.stage]: entry.stage,
              [LABELS.group]: entry.group,
              [LABELS.category]: entry.category,
            },
            noCache: force,
          });
          const durationMs = Math.round(performance.now() - t0);
          onLine(`${tag}: built (${decision.cause}) in ${(durationMs / 1000).toFixed(1)} s`);
          return { service: entry.name, tag, action: 'built', cause: decision.cause, durationMs };
        }),
      ),
    );
  };
}
