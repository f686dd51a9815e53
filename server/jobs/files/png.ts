// Decodes the PNGs slicers embed and shrinks an image, for the 32×32 miniature Moonraker adds when a
// file has none (gcode/thumbnails.ts encodes PNG and decodes QOI).
import { inflateSync } from 'node:zlib';

/** Straight (not premultiplied) 8-bit RGBA, row by row from the top. */
export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes. */
  data: Uint8Array;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Decodes the PNGs slicers embed: 8-bit grey, grey+alpha, RGB, RGBA or palette, not interlaced.
 * Returns null for anything else rather than guessing.
 */
export function decodePng(bytes: Uint8Array): RgbaImage | null {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) return null;
  let width = 0;
  let height = 0;
  let colourType = -1;
  let palette: Buffer | null = null;
  let transparency: Buffer | null = null;
  const idat: Buffer[] = [];
  let offset = 8;
  while (offset + 12 <= buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = buf.toString('latin1', offset + 4, offset + 8);
    const body = buf.subarray(offset + 8, offset + 8 + length);
    offset += 12 + length;
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      colourType = body[9]!;
      if (body[8] !== 8 || body[12] !== 0) return null;
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') transparency = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
  }
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colourType];
  if (!channels || width === 0 || height === 0 || (colourType === 3 && !palette)) return null;
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch {
    return null;
  }
  const stride = width * channels;
  if (raw.length < (stride + 1) * height) return null;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const input = y * (stride + 1) + 1;
    const row = y * stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[row + x - channels]! : 0;
      const b = y > 0 ? pixels[row - stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[row - stride + x - channels]! : 0;
      let predictor = 0;
      if (filter === 1) predictor = a;
      else if (filter === 2) predictor = b;
      else if (filter === 3) predictor = (a + b) >> 1;
      else if (filter === 4) predictor = paeth(a, b, c);
      pixels[row + x] = (raw[input + x]! + predictor) & 0xff;
    }
  }
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    const p = i * channels;
    const o = i * 4;
    if (colourType === 3) {
      const index = pixels[p]!;
      data[o] = palette![index * 3] ?? 0;
      data[o + 1] = palette![index * 3 + 1] ?? 0;
      data[o + 2] = palette![index * 3 + 2] ?? 0;
      data[o + 3] = transparency?.[index] ?? 255;
    } else if (channels <= 2) {
      data[o] = data[o + 1] = data[o + 2] = pixels[p]!;
      data[o + 3] = channels === 2 ? pixels[p + 1]! : 255;
    } else {
      data[o] = pixels[p]!;
      data[o + 1] = pixels[p + 1]!;
      data[o + 2] = pixels[p + 2]!;
      data[o + 3] = channels === 4 ? pixels[p + 3]! : 255;
    }
  }
  return { width, height, data };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  return pb <= pc ? b : c;
}

/**
 * Shrinks to fit inside `size`×`size`, keeping the aspect ratio, by averaging each source box
 * (alpha-weighted, so transparent pixels do not darken the edges).
 */
export function fitWithin(image: RgbaImage, size: number): RgbaImage {
  const scale = Math.min(1, size / Math.max(image.width, image.height));
  const width = Math.max(1, Math.round(image.width * scale));
  const height = Math.max(1, Math.round(image.height * scale));
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    const y0 = Math.floor((y * image.height) / height);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * image.height) / height));
    for (let x = 0; x < width; x++) {
      const x0 = Math.floor((x * image.width) / width);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * image.width) / width));
      let r = 0;
      let g = 0;
      let b = 0;
      let alpha = 0;
      for (let sy = y0; sy < y1; sy++) {
        for (let sx = x0; sx < x1; sx++) {
          const i = (sy * image.width + sx) * 4;
          const a = image.data[i + 3]!;
          r += image.data[i]! * a;
          g += image.data[i + 1]! * a;
          b += image.data[i + 2]! * a;
          alpha += a;
        }
      }
      const o = (y * width + x) * 4;
      const count = (x1 - x0) * (y1 - y0);
      if (alpha > 0) {
        data[o] = Math.round(r / alpha);
        data[o + 1] = Math.round(g / alpha);
        data[o + 2] = Math.round(b / alpha);
      }
      data[o + 3] = Math.round(alpha / count);
    }
  }
  return { width, height, data };
}
