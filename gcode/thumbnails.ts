// Embedded thumbnails (PNG, JPG, QOI in base64 comments), a QOI decoder and a small PNG encoder.

export type ThumbnailFormat = 'png' | 'jpg' | 'qoi';

export interface Thumbnail {
  width: number;
  height: number;
  format: ThumbnailFormat;
  /** The decoded image file (PNG, JPEG or QOI bytes). */
  data: Uint8Array;
}

export interface DecodedImage {
  width: number;
  height: number;
  /** The source's channel count (QOI header): 3 (RGB) or 4 (RGBA). `rgba` always has 4 per pixel. */
  channels: 3 | 4;
  /** Row-major RGBA, 4 bytes per pixel. */
  rgba: Uint8Array;
}

// `; thumbnail begin 300x300 12345` (PrusaSlicer, SuperSlicer, Orca, Bambu Studio, Cura's
// CreateThumbnail script), `; thumbnail_JPG begin ...`, `; thumbnail_QOI begin ...` (PrusaSlicer 2.5+).
const BEGIN =
  /^[ \t]*;[ \t]*(thumbnail(?:_([A-Za-z]+))?)[ \t]+begin[ \t]+(\d+)[ \t]*[xX*][ \t]*(\d+)[ \t]+(\d+)[ \t]*\r?$/gm;

const FORMATS: Record<string, ThumbnailFormat> = {
  '': 'png',
  PNG: 'png',
  JPG: 'jpg',
  JPEG: 'jpg',
  QOI: 'qoi',
};

/**
 * Every well-formed thumbnail block in the text, in file order. A block whose base64 length differs
 * from the length in its `begin` line, whose format is unknown, or that has no `end` line is skipped,
 * as Moonraker skips it. Never throws.
 */
export function findThumbnails(text: string): Thumbnail[] {
  const out: Thumbnail[] = [];
  BEGIN.lastIndex = 0;
  for (;;) {
    const m = BEGIN.exec(text);
    if (!m) break;
    const tag = m[1] as string;
    const format = FORMATS[(m[2] ?? '').toUpperCase()];
    const width = Number(m[3]);
    const height = Number(m[4]);
    const length = Number(m[5]);
    const bodyStart = m.index + m[0].length + 1;
    const endLine = new RegExp(`^[ \\t]*;[ \\t]*${tag}[ \\t]+end\\b`, 'gm');
    endLine.lastIndex = bodyStart;
    const end = endLine.exec(text);
    if (!end) continue;
    BEGIN.lastIndex = end.index;
    if (format === undefined) continue;
    const base64 = base64Body(text, bodyStart, end.index);
    if (base64.length !== length) continue;
    const data = decodeBase64(base64);
    if (data === undefined || data.length === 0) continue;
    out.push({ width, height, format, data });
  }
  return out;
}

/** The base64 characters of a block's comment lines, without the `;`, blanks and line ends. */
function base64Body(text: string, start: number, end: number): string {
  let out = '';
  let i = start;
  while (i < end) {
    let nl = text.indexOf('\n', i);
    if (nl < 0 || nl > end) nl = end;
    let a = i;
    while (a < nl && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
    if (a < nl && text.charCodeAt(a) === 59) a++;
    let b = nl;
    while (b > a && /\s/.test(text.charAt(b - 1))) b--;
    while (a < b && (text.charCodeAt(a) === 32 || text.charCodeAt(a) === 9)) a++;
    out += text.slice(a, b);
    i = nl + 1;
  }
  return out;
}

const B64 = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
}
B64[45] = 62; // '-' and '_': the URL-safe alphabet
B64[95] = 63;

/**
 * Decode base64 (standard or URL-safe alphabet; padding optional; blanks and line breaks ignored).
 * Undefined when the text holds any other character or has an impossible length.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  let n = text.length;
  while (n > 0 && text.charCodeAt(n - 1) === 61) n--;
  const out = new Uint8Array(Math.floor((n * 3) / 4));
  let acc = 0;
  let bits = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13 || c === 32 || c === 9) continue;
    const v = c < 128 ? (B64[c] as number) : -1;
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[k++] = (acc >> bits) & 0xff;
    }
  }
  if (bits >= 6) return undefined;
  return k === out.length ? out : out.slice(0, k);
}

const QOI_OP_INDEX = 0x00;
const QOI_OP_DIFF = 0x40;
const QOI_OP_LUMA = 0x80;
const QOI_OP_RUN = 0xc0;
const QOI_OP_RGB = 0xfe;
const QOI_OP_RGBA = 0xff;
const QOI_MASK = 0xc0;
/** Guards against absurd headers: 400 megapixels. */
const QOI_MAX_PIXELS = 400_000_000;

/**
 * Decode a QOI image (qoiformat.org specification 1.0). Throws an Error naming the problem when the
 * bytes are not a QOI image or end early.
 */
export function decodeQoi(bytes: Uint8Array): DecodedImage {
  if (bytes.length < 22) throw new Error(`QOI data too short: ${bytes.length} bytes`);
  if (bytes[0] !== 0x71 || bytes[1] !== 0x6f || bytes[2] !== 0x69 || bytes[3] !== 0x66) {
    throw new Error("not a QOI image: missing 'qoif' magic");
  }
  const u32 = (at: number) =>
    ((bytes[at] as number) * 0x1000000 +
      (((bytes[at + 1] as number) << 16) | ((bytes[at + 2] as number) << 8) | (bytes[at + 3] as number))) >>>
    0;
  const width = u32(4);
  const height = u32(8);
  const channels = bytes[12];
  if (width === 0 || height === 0 || width * height > QOI_MAX_PIXELS) {
    throw new Error(`QOI size ${width}x${height} is out of range`);
  }
  if (channels !== 3 && channels !== 4) throw new Error(`QOI channel count ${channels} is not 3 or 4`);
  const pixels = width * height;
  const rgba = new Uint8Array(pixels * 4);
  const index = new Uint8Array(64 * 4);
  let r = 0;
  let g = 0;
  let b = 0;
  let a = 255;
  let p = 14;
  const dataEnd = bytes.length - 8;
  let run = 0;
  for (let px = 0; px < pixels; px++) {
    if (run > 0) {
      run--;
    } else {
      if (p >= dataEnd) throw new Error(`QOI data ends after ${px} of ${pixels} pixels`);
      const b1 = bytes[p++] as number;
      if (b1 === QOI_OP_RGB) {
        r = bytes[p++] as number;
        g = bytes[p++] as number;
        b = bytes[p++] as number;
      } else if (b1 === QOI_OP_RGBA) {
        r = bytes[p++] as number;
        g = bytes[p++] as number;
        b = bytes[p++] as number;
        a = bytes[p++] as number;
      } else {
        const op = b1 & QOI_MASK;
        if (op === QOI_OP_INDEX) {
          const at = (b1 & 0x3f) * 4;
          r = index[at] as number;
          g = index[at + 1] as number;
          b = index[at + 2] as number;
          a = index[at + 3] as number;
        } else if (op === QOI_OP_DIFF) {
          r = (r + ((b1 >> 4) & 3) - 2) & 0xff;
          g = (g + ((b1 >> 2) & 3) - 2) & 0xff;
          b = (b + (b1 & 3) - 2) & 0xff;
        } else if (op === QOI_OP_LUMA) {
          const b2 = bytes[p++] as number;
          const dg = (b1 & 0x3f) - 32;
          r = (r + dg - 8 + ((b2 >> 4) & 0x0f)) & 0xff;
          g = (g + dg) & 0xff;
          b = (b + dg - 8 + (b2 & 0x0f)) & 0xff;
        } else if (op === QOI_OP_RUN) {
          run = b1 & 0x3f;
        }
      }
      const at = ((r * 3 + g * 5 + b * 7 + a * 11) % 64) * 4;
      index[at] = r;
      index[at + 1] = g;
      index[at + 2] = b;
      index[at + 3] = a;
    }
    const o = px * 4;
    rgba[o] = r;
    rgba[o + 1] = g;
    rgba[o + 2] = b;
    rgba[o + 3] = a;
  }
  return { width, height, channels, rgba };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = (CRC_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** zlib stream of stored (uncompressed) deflate blocks: valid everywhere, no compressor needed. */
function zlibStored(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const out = new Uint8Array(2 + data.length + blocks * 5 + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  let o = 2;
  for (let i = 0; i < blocks; i++) {
    const start = i * 65535;
    const len = Math.min(65535, data.length - start);
    out[o++] = i === blocks - 1 ? 1 : 0;
    out[o++] = len & 0xff;
    out[o++] = len >> 8;
    out[o++] = ~len & 0xff;
    out[o++] = (~len >> 8) & 0xff;
    out.set(data.subarray(start, start + len), o);
    o += len;
  }
  let s1 = 1;
  let s2 = 0;
  for (let i = 0; i < data.length; i++) {
    s1 = (s1 + (data[i] as number)) % 65521;
    s2 = (s2 + s1) % 65521;
  }
  const adler = ((s2 << 16) | s1) >>> 0;
  out[o++] = adler >>> 24;
  out[o++] = (adler >>> 16) & 0xff;
  out[o++] = (adler >>> 8) & 0xff;
  out[o++] = adler & 0xff;
  return out;
}

/**
 * Encode RGBA pixels as a PNG (8-bit RGBA, no filtering). `deflate` should return a zlib stream
 * (the server passes `zlib.deflateSync`); without it the image data is stored uncompressed, which any
 * PNG reader accepts.
 */
export function encodePng(
  width: number,
  height: number,
  rgba: Uint8Array,
  deflate?: (data: Uint8Array) => Uint8Array,
): Uint8Array {
  if (rgba.length !== width * height * 4) {
    throw new Error(`expected ${width * height * 4} RGBA bytes for ${width}x${height}, got ${rgba.length}`);
  }
  const raw = new Uint8Array((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (width * 4 + 1) + 1);
  }
  const idat = deflate ? deflate(raw) : zlibStored(raw);
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = 6;
  const chunks: [string, Uint8Array][] = [
    ['IHDR', ihdr],
    ['IDAT', idat],
    ['IEND', new Uint8Array(0)],
  ];
  const size = 8 + chunks.reduce((n, [, body]) => n + 12 + body.length, 0);
  const out = new Uint8Array(size);
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const dv = new DataView(out.buffer);
  let o = 8;
  for (const [type, body] of chunks) {
    dv.setUint32(o, body.length);
    for (let i = 0; i < 4; i++) out[o + 4 + i] = type.charCodeAt(i);
    out.set(body, o + 8);
    dv.setUint32(o + 8 + body.length, crc32(out, o + 4, o + 8 + body.length));
    o += 12 + body.length;
  }
  return out;
}
