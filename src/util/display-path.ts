import path from 'node:path';

/** How a path reads in messages: relative to the working directory when it is inside it, else as given. */
export function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
