/**
 * Variables for a compose file's `${VAR}` references, as compose takes them: an env file of KEY=VALUE lines under
 * the process environment (the environment wins). Kept free of heavy imports: verify reads it on its fast path.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Env } from './model.ts';

/** The env file used when none is named: this one, next to the compose file, when it exists. */
export const DEFAULT_ENV_FILE_NAME = 'airgap.env';

/** An env file named with --env-file that cannot be read. */
export class EnvFileError extends Error {
  override readonly name = 'EnvFileError';
  readonly code = 'INVALID_ARGUMENT';
  readonly file: string;
  readonly suggestions: readonly string[] = ['Pass an existing file of KEY=VALUE lines, e.g. --env-file compose/airgap.env'];

  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`Env file ${file} ${reason}`, options);
    this.file = file;
  }
}

/**
 * Reads a compose-style env file: `KEY=VALUE` lines, `#` comments, blank lines, an optional `export ` prefix,
 * values optionally in single or double quotes; an unquoted value ends at ` #`.
 */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim().replace(/^export\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const equals = line.indexOf('=');
    if (equals <= 0) continue;
    const key = line.slice(0, equals).trim();
    let value = line.slice(equals + 1).trim();
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.length >= 2 && value.endsWith(quote)) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, '');
    vars[key] = value;
  }
  return vars;
}

/**
 * The variables to interpolate `composeFile` with: `envFile` (default: {@link DEFAULT_ENV_FILE_NAME} next to the
 * compose file, when present) under `env` (default `process.env`), and the env file that was read.
 * @throws EnvFileError when a named env file cannot be read.
 */
export function interpolationEnv(composeFile: string, options: { envFile?: string | undefined; env?: Env } = {}): { env: Env; envFile: string | undefined } {
  const env = options.env ?? process.env;
  const beside = path.join(path.dirname(composeFile), DEFAULT_ENV_FILE_NAME);
  const envFile = options.envFile ?? (existsSync(beside) ? beside : undefined);
  if (envFile === undefined) return { env, envFile };
  let text: string;
  try {
    text = readFileSync(envFile, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new EnvFileError(envFile, code === 'ENOENT' ? 'does not exist' : `cannot be read (${(error as Error).message})`, { cause: error });
  }
  return { env: { ...parseEnvFile(text), ...env }, envFile };
}
