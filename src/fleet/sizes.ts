/** Sizes as compose and Docker write them; a module of its own so that the drivers need not load the fleet parser. */

/** A byte size as Docker takes it (`128m`, `1.5g`, `512mb`, `64MiB`, a plain number), powers of 1024. */
export function parseBytes(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text.trim());
  if (!match) return undefined;
  const power = match[2] ? 'kmgtp'.indexOf(match[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(match[1]) * 1024 ** power);
}
