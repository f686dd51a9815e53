import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodePng, findThumbnails } from '../../../gcode/thumbnails.ts';
import { decodePng, fitWithin } from './png.ts';

const FIXTURE = readFileSync(join(import.meta.dirname, '../../../gcode/fixtures/prusa-2cubes.gcode'), 'utf8');

describe('PNG decoding', () => {
  it('reads back what the PNG encoder wrote', () => {
    const data = new Uint8Array(3 * 2 * 4).map((_, i) => (i * 37) & 0xff);
    const decoded = decodePng(encodePng(3, 2, data, (raw) => deflateSync(raw)));
    expect(decoded).toEqual({ width: 3, height: 2, data });
  });

  it('reads the filtered PNGs PrusaSlicer embeds', () => {
    const thumb = findThumbnails(FIXTURE).find((t) => t.width === 96)!;
    const decoded = decodePng(thumb.data)!;
    expect([decoded.width, decoded.height]).toEqual([96, 96]);
    const again = decodePng(encodePng(96, 96, decoded.data, (raw) => deflateSync(raw)));
    expect(again?.data).toEqual(decoded.data);
  });

  it('gives null for anything that is not a PNG it can read', () => {
    expect(decodePng(new Uint8Array([1, 2, 3]))).toBeNull();
    expect(decodePng(Buffer.from('89504e470d0a1a0a', 'hex'))).toBeNull();
  });
});

describe('shrinking', () => {
  it('fits inside the box, keeping the aspect ratio, averaging without darkening transparent edges', () => {
    const width = 8;
    const height = 4;
    const data = new Uint8Array(width * height * 4);
    for (let i = 0; i < width * height; i++) {
      const opaque = i % 2 === 0;
      data.set(opaque ? [200, 100, 50, 255] : [0, 0, 0, 0], i * 4);
    }
    const small = fitWithin({ width, height, data }, 2);
    expect([small.width, small.height]).toEqual([2, 1]);
    expect(Array.from(small.data.subarray(0, 4))).toEqual([200, 100, 50, 128]);
  });

  it('leaves a small image at its size', () => {
    const image = { width: 2, height: 2, data: new Uint8Array(16).fill(255) };
    expect(fitWithin(image, 32)).toEqual(image);
  });
});
