/** Writing the `--junit` report: the path is checked before the verification, so a typo costs no run. */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidVerifyArgumentError } from './errors.ts';
import { renderJunit } from './junit.ts';
import type { VerifyReport } from './types.ts';

/** Creates the report's directory; refuses a path that is a directory. */
export async function prepareJunitFile(file: string): Promise<void> {
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw new InvalidVerifyArgumentError(`--junit must name a file; ${JSON.stringify(file)} is a directory.`, ['For example: --junit reports/verify.xml']);
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  } catch (error) {
    throw new InvalidVerifyArgumentError(`--junit ${JSON.stringify(file)}: cannot create its directory (${(error as Error).message}).`);
  }
}

/** Writes the report as JUnit XML. */
export async function writeJunit(file: string, report: VerifyReport): Promise<void> {
  await writeFile(file, renderJunit(report));
}
