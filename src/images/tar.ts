/** The parts of the tar format the image archives need: header fields, their checksum, PAX paths, and the walk over entries. */
import type { FileHandle } from 'node:fs/promises';

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

/** One entry of a tar archive: where its header starts (extension headers before it included), its data, its end. */
export interface TarEntry {
  name: string;
  /** Offset of its first header block (a PAX or GNU long-name header before its own, when it has one). */
  start: number;
  dataStart: number;
  size: number;
  /** Offset after its data, padded to a block. */
  end: number;
}

/** Why a file is not a whole tar archive, in words that finish "… is not a complete image archive: ". */
export class TarDamage extends Error {
  override readonly name = 'TarDamage';
}

/**
 * Every entry of the uncompressed tar archive open in `handle` (`bytes` long), in order, checking each header's
 * checksum and that every entry and the end-of-archive marker are there; with the data of the entries `read` names.
 * Only headers and those entries are read, so this takes milliseconds for gigabytes.
 * @throws TarDamage saying what is wrong and where.
 */
export async function tarEntries(handle: FileHandle, bytes: number, read: (name: string) => boolean = () => false): Promise<{ entries: TarEntry[]; data: Map<string, Buffer> }> {
  if (bytes === 0) throw new TarDamage('it is empty');
  const block = Buffer.alloc(BLOCK_BYTES);
  const entries: TarEntry[] = [];
  const data = new Map<string, Buffer>();
  let position = 0;
  let start: number | undefined;
  let longName: string | undefined;
  for (;;) {
    const { bytesRead } = await handle.read(block, 0, BLOCK_BYTES, position);
    if (bytesRead < BLOCK_BYTES) throw new TarDamage(`it ends at byte ${bytes}, before the end-of-archive marker (cut off?)`);
    if (block.every((byte) => byte === 0)) break;
    if (!checksumMatches(block)) throw new TarDamage(position === 0 ? 'it is not a tar archive' : `the entry header at byte ${position} is damaged (checksum mismatch)`);
    const type = String.fromCharCode(block[156] ?? 0);
    const size = readNumber(block, 124, 12);
    const dataStart = position + BLOCK_BYTES;
    if (dataStart + size > bytes) throw new TarDamage(`it ends at byte ${bytes}, inside an entry that needs ${dataStart + size} bytes (cut off?)`);
    const end = dataStart + Math.ceil(size / BLOCK_BYTES) * BLOCK_BYTES;
    const readData = async (): Promise<Buffer> => {
      const buffer = Buffer.alloc(size);
      await handle.read(buffer, 0, size, dataStart);
      return buffer;
    };
    start ??= position;
    if (type === 'L') longName = readString(await readData(), 0, size);
    else if (type === 'x') longName = paxPath(await readData()) ?? longName;
    else if (type !== 'g') {
      const prefix = readString(block, 257, 6) === 'ustar' ? readString(block, 345, 155) : '';
      const shortName = readString(block, 0, 100);
      const name = (longName ?? (prefix === '' ? shortName : `${prefix}/${shortName}`)).replace(/^\.\//, '').replace(/\/$/, '');
      entries.push({ name, start, dataStart, size, end });
      if (read(name)) data.set(name, await readData());
      start = undefined;
      longName = undefined;
    }
    position = end;
  }
  return { entries, data };
}
