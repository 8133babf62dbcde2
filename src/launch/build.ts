import pLimit from 'p-limit';
import type { DockerEngine } from '../docker/engine.ts';
import type { FleetService } from '../fleet/model.ts';

/**
 * Builds the image of every service that has a build section, from its context, Dockerfile and build arguments
 * (the handshake among them), tagged with the service's image name; two at a time. Services without a build
 * section are left to their image.
 */
export async function buildFleetImages(
  engine: DockerEngine,
  services: readonly FleetService[],
  on: { onLine?: (line: string) => void; onImage?: (tag: string, durationMs: number) => void } = {},
): Promise<void> {
  const limit = pLimit(2);
  const seen = new Set<string>();
  const builds = services.filter((s) => s.build !== undefined && !seen.has(s.image) && seen.add(s.image));
  await Promise.all(
    builds.map((s) =>
      limit(async () => {
        const build = s.build!;
        const result = await engine.image.build({
          contextDir: build.context,
          files: ['.'],
          dockerfile: build.dockerfile,
          tag: s.image,
          buildArgs: build.args,
          ...(on.onLine ? { onOutput: on.onLine } : {}),
        });
        on.onImage?.(s.image, result.durationMs);
      }),
    ),
  );
}
