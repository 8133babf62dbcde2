/**
 * The screenshot decoder of test/support/png.ts: the browser test trusts its pixels, so it is checked here against
 * PNGs encoded with every row filter, and its colour regions against a drawn image.
 */
import { crc32, deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { colourRegions, decodePng, type Image } from '../support/png.ts';

function chunk(type: string, body: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'latin1'), body])));
  return Buffer.concat([length, Buffer.from(type, 'latin1'), body, crc]);
}

/** Encodes pixels as a PNG, row y with filter y % 5 (None, Sub, Up, Average, Paeth), split over two IDAT chunks. */
function encodePng(image: Image): Buffer {
  const { width, height, channels, data } = image;
  const stride = width * channels;
  const at = (y: number, x: number): number => (y < 0 || x < 0 ? 0 : data[y * stride + x]!);
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y += 1) {
    const filter = y % 5;
    const row = Buffer.alloc(stride + 1);
    row[0] = filter;
    for (let x = 0; x < stride; x += 1) {
      const [left, up, upLeft] = [at(y, x - channels), at(y - 1, x), at(y - 1, x - channels)];
      const p = left + up - upLeft;
      const paeth = Math.abs(p - left) <= Math.abs(p - up) && Math.abs(p - left) <= Math.abs(p - upLeft) ? left : Math.abs(p - up) <= Math.abs(p - upLeft) ? up : upLeft;
      const predictor = [0, left, up, (left + up) >> 1, paeth][filter]!;
      row[x + 1] = (at(y, x) - predictor) & 0xff;
    }
    rows.push(row);
  }
  const compressed = deflateSync(Buffer.concat(rows));
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, channels === 4 ? 6 : 2, 0, 0, 0], 8);
  const half = Math.floor(compressed.length / 2);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', compressed.subarray(0, half)),
    chunk('IDAT', compressed.subarray(half)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A deterministic noisy image, so that every filter meets every kind of neighbour. */
function noise(width: number, height: number, channels: number): Image {
  const data = new Uint8Array(width * height * channels);
  let state = 12345;
  for (let i = 0; i < data.length; i += 1) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    data[i] = state >> 16;
  }
  return { width, height, channels, data };
}

describe('decodePng', () => {
  it.each([[3], [4]])('gives back the pixels of a %i-channel image encoded with every row filter', (channels) => {
    const image = noise(23, 17, channels);
    const decoded = decodePng(encodePng(image));
    expect({ ...decoded, data: [...decoded.data] }).toEqual({ ...image, data: [...image.data] });
  });

  it('refuses what it does not decode, by name', () => {
    const png = encodePng(noise(2, 2, 3));
    const sixteenBit = Buffer.from(png);
    sixteenBit[8 + 8 + 8] = 16; // IHDR bit depth
    expect(() => decodePng(sixteenBit)).toThrow('unsupported PNG: bit depth 16, colour type 2, interlace 0');
    expect(() => decodePng(Buffer.from('GIF89a'))).toThrow('not a PNG file');
  });
});

describe('colourRegions', () => {
  it('finds each filled block of a colour as one region, text inside it included, and leaves out small spots', () => {
    const width = 60;
    const height = 30;
    const data = new Uint8Array(width * height * 3).fill(255);
    const paint = (x0: number, y0: number, w: number, hgt: number, rgb: [number, number, number]) => {
      for (let y = y0; y < y0 + hgt; y += 1) for (let x = x0; x < x0 + w; x += 1) data.set(rgb, (y * width + x) * 3);
    };
    paint(2, 2, 20, 10, [196, 22, 42]);
    paint(30, 2, 20, 10, [197, 21, 43]); // within the tolerance
    paint(8, 5, 6, 3, [255, 255, 255]); // "text" inside the first block
    paint(2, 20, 3, 3, [196, 22, 42]); // a legend swatch
    const regions = colourRegions({ width, height, channels: 3, data }, '#c4162a', 50);
    expect(regions).toEqual([
      { x: 2, y: 2, width: 20, height: 10, pixels: 200 - 18 },
      { x: 30, y: 2, width: 20, height: 10, pixels: 200 },
    ]);
    expect(colourRegions({ width, height, channels: 3, data }, '#1b7f3b', 1)).toEqual([]);
  });
});
