/** The parts of the tar format the image archives need: header fields, their checksum, and PAX paths. */

export const BLOCK_BYTES = 512;

export function readString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul < 0 ? field.length : nul).toString('utf8');
}

/** A numeric header field: octal text, or base-256 when its top bit is set (sizes of 8 GiB and up). */
export function readNumber(block: Buffer, start: number, length: number): number {
  const first = block[start] ?? 0;
  if (first & 0x80) {
    let value = first & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + (block[i] ?? 0);
    return value;
  }
  const text = readString(block, start, length).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

/** The header checksum: the sum of its bytes with the checksum field itself counted as spaces. */
export function checksumMatches(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK_BYTES; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] ?? 0);
  return sum === readNumber(block, 148, 8);
}

/** `path=` from PAX extended header records (`<length> <key>=<value>\n`). */
export function paxPath(data: Buffer): string | undefined {
  let offset = 0;
  let found: string | undefined;
  while (offset < data.length) {
    const space = data.indexOf(0x20, offset);
    if (space < 0) break;
    const length = Number.parseInt(data.subarray(offset, space).toString('ascii'), 10);
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    if (record.startsWith('path=')) found = record.slice('path='.length);
    offset += length;
  }
  return found;
}
