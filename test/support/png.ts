/**
 * A small PNG decoder for screenshots: 8-bit RGB or RGBA, not interlaced — what Chromium writes. Anything else is
 * refused by name rather than misread, so a test never looks at pixels it decoded wrongly.
 */
import { inflateSync } from 'node:zlib';

export interface Image {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA). */
  channels: number;
  /** Unfiltered pixels, row after row, `channels` bytes each. */
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Decodes a PNG file's bytes. */
export function decodePng(png: Buffer): Image {
  if (!png.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG file');
  let offset = 8;
  let header: { width: number; height: number; bitDepth: number; colourType: number; interlace: number } | undefined;
  const idat: Buffer[] = [];
  while (offset + 8 <= png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') header = { width: body.readUInt32BE(0), height: body.readUInt32BE(4), bitDepth: body[8]!, colourType: body[9]!, interlace: body[12]! };
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length; // length, type, body, CRC
  }
  if (!header) throw new Error('PNG without an IHDR chunk');
  const { width, height, bitDepth, colourType, interlace } = header;
  if (bitDepth !== 8 || (colourType !== 2 && colourType !== 6) || interlace !== 0) {
    throw new Error(`unsupported PNG: bit depth ${bitDepth}, colour type ${colourType}, interlace ${interlace} (only 8-bit RGB/RGBA, not interlaced)`);
  }
  const channels = colourType === 6 ? 4 : 3;
  const stride = width * channels;
  const raw = inflateSync(Buffer.concat(idat));
  if (raw.length !== height * (stride + 1)) throw new Error(`PNG data is ${raw.length} bytes; expected ${height * (stride + 1)}`);
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const row = y * stride;
    const previous = row - stride;
    for (let x = 0; x < stride; x += 1) {
      const left = x >= channels ? data[row + x - channels]! : 0;
      const up = y > 0 ? data[previous + x]! : 0;
      const upLeft = y > 0 && x >= channels ? data[previous + x - channels]! : 0;
      const predictor = filter === 0 ? 0 : filter === 1 ? left : filter === 2 ? up : filter === 3 ? (left + up) >> 1 : filter === 4 ? paeth(left, up, upLeft) : Number.NaN;
      if (Number.isNaN(predictor)) throw new Error(`PNG row ${y} has an unknown filter type ${filter}`);
      data[row + x] = (line[x]! + predictor) & 0xff;
    }
  }
  return { width, height, channels, data };
}

/** `#rrggbb` as [r, g, b]. */
export function rgbOf(hex: string): [number, number, number] {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new Error(`not a #rrggbb colour: ${hex}`);
  return [parseInt(match[1]!, 16), parseInt(match[2]!, 16), parseInt(match[3]!, 16)];
}

/** A connected area of one colour: its bounding box and how many pixels it has. */
export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
  pixels: number;
}

/**
 * The connected areas (4-neighbours) of one colour, within `tolerance` per channel, of at least `minPixels`: a cell
 * filled with the colour is one area (its text sits inside it), while text, thin borders and small swatches in the
 * colour fall under the size.
 */
export function colourRegions(image: Image, hex: string, minPixels: number, tolerance = 2): Region[] {
  const [r, g, b] = rgbOf(hex);
  const { width, height, channels, data } = image;
  const inColour = new Uint8Array(width * height);
  for (let p = 0; p < width * height; p += 1) {
    const i = p * channels;
    if (Math.abs(data[i]! - r) <= tolerance && Math.abs(data[i + 1]! - g) <= tolerance && Math.abs(data[i + 2]! - b) <= tolerance) inColour[p] = 1;
  }
  const regions: Region[] = [];
  const stack: number[] = [];
  for (let start = 0; start < inColour.length; start += 1) {
    if (inColour[start] !== 1) continue;
    inColour[start] = 2;
    stack.push(start);
    let [minX, minY, maxX, maxY, pixels] = [width, height, 0, 0, 0];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const x = p % width;
      const y = (p - x) / width;
      pixels += 1;
      minX = Math.min(minX, x);
      maxX = Math.max(maxX, x);
      minY = Math.min(minY, y);
      maxY = Math.max(maxY, y);
      for (const q of [x > 0 ? p - 1 : -1, x < width - 1 ? p + 1 : -1, y > 0 ? p - width : -1, y < height - 1 ? p + width : -1]) {
        if (q >= 0 && inColour[q] === 1) {
          inColour[q] = 2;
          stack.push(q);
        }
      }
    }
    if (pixels >= minPixels) regions.push({ x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1, pixels });
  }
  return regions;
}
