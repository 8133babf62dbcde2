/**
 * Writing the report files (`--junit`, `--html`): each path is checked before the verification, so a typo or a
 * place that cannot be written costs no run, and after a run the report is written whatever its verdict.
 */
import { mkdir, open, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidVerifyArgumentError } from './errors.ts';

/** The flags that write a report, and an example path each. */
const EXAMPLES = { '--junit': 'reports/verify.xml', '--html': 'reports/verify.html' } as const;
export type ReportFlag = keyof typeof EXAMPLES;

/** Why a file system call failed, in words (the code alone means nothing to most readers). */
function reason(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return message;
  }
}

/**
 * Creates the report's directory and makes sure the file can be written there, before anything is probed: it
 * refuses a directory, and tries the file itself (opened for writing without truncating an existing one; a new one
 * is created and removed): only trying tells, since permission bits do not stop root and a read-only file system
 * stops everyone.
 */
export async function prepareReportFile(flag: ReportFlag, file: string): Promise<void> {
  const example = [`Name a file in a directory you can write to, for example: ${flag} ${EXAMPLES[flag]}`];
  const shown = JSON.stringify(file);
  const existing = await stat(file).catch(() => undefined);
  if (existing?.isDirectory()) throw new InvalidVerifyArgumentError(`${flag} must name a file; ${shown} is a directory.`, example);
  try {
    await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  } catch (error) {
    // mkdir says EEXIST when a file stands where a directory of the path should be.
    const why = (error as NodeJS.ErrnoException).code === 'EEXIST' ? 'a part of the path is a file, not a directory' : reason(error);
    throw new InvalidVerifyArgumentError(`${flag} ${shown}: cannot create its directory ${JSON.stringify(path.dirname(path.resolve(file)))} (${why}).`, example);
  }
  try {
    const handle = await open(file, existing === undefined ? 'wx' : 'r+');
    await handle.close();
    if (existing === undefined) await unlink(file);
  } catch (error) {
    throw new InvalidVerifyArgumentError(`${flag} ${shown}: the report cannot be written there (${reason(error)}).`, example);
  }
}

/** Writes a report; a failure (the place changed during the run) is one message naming the file, not a stack. */
export async function writeReportFile(flag: ReportFlag, file: string, text: string): Promise<void> {
  try {
    await writeFile(file, text);
  } catch (error) {
    throw new InvalidVerifyArgumentError(`${flag} ${JSON.stringify(file)}: the report could not be written (${reason(error)}).`, [`Name a file in a directory you can write to, for example: ${flag} ${EXAMPLES[flag]}`]);
  }
}
