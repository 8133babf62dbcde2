/**
 * `n3xus/cli:3.0`: the n3xus CLI itself as an image, built like every other image here, without a registry. It is
 * what `verify` runs inside the fleet's network, and a user can run the CLI from it:
 *
 *   docker run --rm --network nexus-net n3xus/cli:3.0 verify --full --host <service host> --no-docker
 *
 * It holds the compiled CLI (dist/src, and dist/services for the law's constants), bin/run.js, the manifest and
 * the production dependencies, installed on the host by `npm ci --omit=dev` from the lock file (the engine's build
 * cannot reach the npm registry), on the Node base image.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DockerEngine } from '../docker/engine.ts';
import { run } from '../process/run.ts';
import { projectRoot } from '../util/project-root.ts';
import { BASE_IMAGE_TAGS, INPUTS_LABEL, NAME_LABEL, hashInputs } from './bases.ts';
import { decideBuild, type BuildCause } from './build-decision.ts';

/** The CLI image's tag. */
export const CLI_IMAGE = 'n3xus/cli:3.0';

/** The user and group the CLI image runs as (its USER). */
export const CLI_UID = 1000;

/** Where the CLI lives in the image. */
export const CLI_HOME = '/opt/n3xus-cli';

/** What the image carries from the project, relative to its root. */
const CONTENTS = ['package.json', 'package-lock.json', 'oclif.manifest.json', 'bin', 'dist/src', 'dist/services', 'compose'];

export const CLI_DOCKERFILE = `# n3xus/cli:3.0: the n3xus CLI (see src/images/cli-image.ts). Generated at build time; do not edit.
ARG BASE_IMAGE=${BASE_IMAGE_TAGS.node}
FROM \${BASE_IMAGE}
COPY node_modules/ ${CLI_HOME}/node_modules/
COPY package.json package-lock.json oclif.manifest.json ${CLI_HOME}/
COPY bin/ ${CLI_HOME}/bin/
COPY dist/ ${CLI_HOME}/dist/
COPY compose/ ${CLI_HOME}/compose/
# A read-only root file system is fine: the fleet cache and Node's compile cache go to /tmp.
ENV HOME=/tmp N3XUS_CACHE_DIR=/tmp/n3xus-cache NODE_COMPILE_CACHE=/tmp/node-compile-cache
WORKDIR ${CLI_HOME}
USER ${CLI_UID}:${CLI_UID}
ENTRYPOINT ["node", "${CLI_HOME}/bin/run.js"]
CMD ["--help"]
`;

/** sha256 of every file under `dir` (or of the file), by path relative to `root`. */
function hashPath(target: string, root: string, into: Record<string, string> = {}): Record<string, string> {
  if (!existsSync(target)) return into;
  if (statSync(target).isDirectory()) {
    for (const entry of readdirSync(target)) hashPath(path.join(target, entry), root, into);
  } else {
    into[path.relative(root, target)] = createHash('sha256').update(readFileSync(target)).digest('hex');
  }
  return into;
}

export interface CliImageResult {
  tag: string;
  action: 'built' | 'skipped';
  cause: BuildCause;
  durationMs: number;
}

/**
 * Builds {@link CLI_IMAGE} from the compiled project (`npm run build` first), skipping it while its inputs (the
 * files it carries, the lock file and the base image) are unchanged.
 * @throws Error naming what is missing when the project is not built; ProcessError when `npm ci` fails.
 */
/** `onLine` gets progress lines, `onOutput` the engine's build output. */
export async function buildCliImage(engine: DockerEngine, options: { force?: boolean; onLine?: (line: string) => void; onOutput?: (line: string) => void; root?: string } = {}): Promise<CliImageResult> {
  const startedAt = performance.now();
  const root = options.root ?? projectRoot();
  const onLine = options.onLine ?? (() => undefined);
  const missing = CONTENTS.filter((p) => !existsSync(path.join(root, p)));
  if (missing.length > 0) throw Object.assign(new Error(`The CLI image needs the built project, and ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing under ${root}.`), { code: 'IMAGE_BUILD_FAILED', suggestions: ['Build it first: npm run build'] });
  const base = await engine.image.inspect(BASE_IMAGE_TAGS.node);
  const files: Record<string, string> = {};
  for (const p of CONTENTS) hashPath(path.join(root, p), root, files);
  const inputsHash = hashInputs({ base: base.id, files, dockerfile: CLI_DOCKERFILE });
  const observed = (await engine.image.exists(CLI_IMAGE)) ? await engine.image.inspect(CLI_IMAGE) : undefined;
  const decision = decideBuild({ force: options.force ?? false, baseRebuilt: false, inputsHash, observed: observed && { inputsHash: observed.labels[INPUTS_LABEL] } });
  if (!decision.build) return { tag: CLI_IMAGE, action: 'skipped', cause: decision.cause, durationMs: Math.round(performance.now() - startedAt) };

  const context = mkdtempSync(path.join(os.tmpdir(), 'n3xus-cli-image-'));
  try {
    for (const p of CONTENTS) cpSync(path.join(root, p), path.join(context, p), { recursive: true });
    // The kit is a workspace of the project: its package.json must be there for the lock file to install.
    mkdirSync(path.join(context, 'services', '_kit'), { recursive: true });
    cpSync(path.join(root, 'services', '_kit', 'package.json'), path.join(context, 'services', '_kit', 'package.json'));
    onLine(`${CLI_IMAGE}: installing the production dependencies (npm ci --omit=dev)…`);
    await run('npm', ['ci', '--omit=dev', '--omit=optional', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: context, timeoutMs: 600_000 });
    // The CLI reaches the kit's sources by path (dist/services), never by the workspace link.
    rmSync(path.join(context, 'node_modules', '@n3xus'), { recursive: true, force: true });
    writeFileSync(path.join(context, 'Dockerfile'), CLI_DOCKERFILE);
    await engine.image.build({
      contextDir: context,
      files: ['Dockerfile', 'node_modules', ...CONTENTS],
      tag: CLI_IMAGE,
      buildArgs: { BASE_IMAGE: BASE_IMAGE_TAGS.node },
      labels: { [INPUTS_LABEL]: inputsHash, [NAME_LABEL]: 'cli' },
      noCache: options.force ?? false,
      ...(options.onOutput === undefined ? {} : { onOutput: options.onOutput }),
    });
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
  const durationMs = Math.round(performance.now() - startedAt);
  onLine(`${CLI_IMAGE}: built (${decision.cause}) in ${(durationMs / 1000).toFixed(1)} s`);
  return { tag: CLI_IMAGE, action: 'built', cause: decision.cause, durationMs };
}
