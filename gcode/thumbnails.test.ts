import { describe, expect, it } from 'vitest';
import cura from './fixtures/cura-2cubes.gcode?raw';
import orca from './fixtures/orca-klipper.gcode?raw';
import prusa from './fixtures/prusa-2cubes.gcode?raw';
import prusaJpg from './fixtures/prusa-jpg.gcode?raw';
import prusaQoi from './fixtures/prusa-qoi.gcode?raw';
import { decodeBase64, decodeQoi, encodePng, findThumbnails } from './thumbnails.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function pngSize(data: Uint8Array): [number, number] {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return [view.getUint32(16), view.getUint32(20)];
}

/** Width and height from a baseline JPEG's SOF0 segment. */
function jpegSize(data: Uint8Array): [number, number] | undefined {
  let i = 2;
  while (i + 9 < data.length) {
    if (data[i] !== 0xff) return undefined;
    const marker = data[i + 1] as number;
    const len = ((data[i + 2] as number) << 8) | (data[i + 3] as number);
    if (marker === 0xc0) {
      return [
        ((data[i + 7] as number) << 8) | (data[i + 8] as number),
        ((data[i + 5] as number) << 8) | (data[i + 6] as number),
      ];
    }
    i += 2 + len;
  }
  return undefined;
}

/** The pixels of a PNG whose IDAT is stored (uncompressed) deflate, as encodePng writes by default. */
function storedPngPixels(png: Uint8Array): Uint8Array {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const [width, height] = pngSize(png);
  let at = 8;
  let idat: Uint8Array | undefined;
  while (at < png.length) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    if (type === 'IDAT') idat = png.subarray(at + 8, at + 8 + len);
    at += 12 + len;
  }
  if (!idat) throw new Error('no IDAT');
  const raw: number[] = [];
  let p = 2;
  for (;;) {
    const final = (idat[p] as number) & 1;
    const len = (idat[p + 1] as number) | ((idat[p + 2] as number) << 8);
    raw.push(...idat.subarray(p + 5, p + 5 + len));
    p += 5 + len;
    if (final) break;
  }
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 4 + 1)]).toBe(0);
    out.set(raw.slice(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
  }
  return out;
}

describe('findThumbnails', () => {
  it('finds PrusaSlicer PNG thumbnails with their sizes', () => {
    const thumbs = findThumbnails(prusa);
    expect(thumbs.map((t) => [t.format, t.width, t.height])).toEqual([
      ['png', 32, 32],
      ['png', 96, 96],
    ]);
    for (const t of thumbs) {
      expect([...t.data.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
      expect(pngSize(t.data)).toEqual([t.width, t.height]);
    }
  });

  it('finds thumbnail_QOI blocks and decodes them to the stated size', () => {
    const thumbs = findThumbnails(prusaQoi);
    expect(thumbs.map((t) => [t.format, t.width, t.height])).toEqual([
      ['qoi', 16, 16],
      ['qoi', 64, 48],
    ]);
    const image = decodeQoi(thumbs[1]?.data ?? new Uint8Array());
    expect([image.width, image.height, image.channels, image.rgba.length]).toEqual([64, 48, 4, 64 * 48 * 4]);
    // The corner is background; the middle is the printed cube.
    expect([...image.rgba.subarray(0, 4)]).toEqual([24, 28, 36, 255]);
    const mid = (24 * 64 + 32) * 4;
    expect([...image.rgba.subarray(mid, mid + 4)]).not.toEqual([24, 28, 36, 255]);
  });

  it('finds thumbnail_JPG blocks holding a JPEG of the stated size', () => {
    const [t] = findThumbnails(prusaJpg);
    expect(t?.format).toBe('jpg');
    expect([...(t?.data.subarray(0, 2) ?? [])]).toEqual([0xff, 0xd8]);
    expect([...(t?.data.subarray(-2) ?? [])]).toEqual([0xff, 0xd9]);
    expect(jpegSize(t?.data ?? new Uint8Array())).toEqual([48, 48]);
  });

  it("finds the Cura CreateThumbnail script's block and Orca's inside THUMBNAIL_BLOCK_START", () => {
    expect(findThumbnails(cura).map((t) => [t.format, t.width, t.height])).toEqual([['png', 48, 48]]);
    expect(findThumbnails(orca).map((t) => [t.format, t.width, t.height])).toEqual([['png', 16, 16]]);
  });

  it('skips blocks with a wrong length, no end line or an unknown format', () => {
    const good = '; thumbnail begin 1x1 8\n; AAECAw==\n; thumbnail end\n';
    expect(findThumbnails(good).map((t) => [...t.data])).toEqual([[0, 1, 2, 3]]);
    expect(findThumbnails(good.replace('1x1 8', '1x1 9'))).toEqual([]);
    expect(findThumbnails('; thumbnail begin 1x1 8\n; AAECAw==\nG28\n')).toEqual([]);
    expect(findThumbnails(good.replaceAll('thumbnail', 'thumbnail_BMP'))).toEqual([]);
    expect(findThumbnails('; thumbnail begin 1x1 4\n; !!!!\n; thumbnail end\n')).toEqual([]);
    // One bad block does not hide the next.
    expect(findThumbnails(`; thumbnail begin 2x2 9\n; AAECAw==\n; thumbnail end\n${good}`)).toHaveLength(1);
  });

  it('reads blocks with CR LF line ends and blanks around the data', () => {
    const crlf = ';\r\n; thumbnail begin 2x1 8\r\n;   AAEC\r\n;Aw== \r\n; thumbnail end\r\n;\r\n';
    expect(findThumbnails(crlf).map((t) => [t.width, t.height, [...t.data]])).toEqual([[2, 1, [0, 1, 2, 3]]]);
  });
});

describe('decodeBase64', () => {
  it('agrees with atob on every byte value and length', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff);
      const text = btoa(String.fromCharCode(...bytes));
      expect(decodeBase64(text)).toEqual(bytes);
      expect(decodeBase64(text.replace(/=+$/, ''))).toEqual(bytes);
    }
  });

  it('accepts the URL-safe alphabet and line breaks, and refuses other characters', () => {
    expect([...(decodeBase64('-_8=') ?? [])]).toEqual([0xfb, 0xff]);
    expect([...(decodeBase64('AAEC\nAw==') ?? [])]).toEqual([0, 1, 2, 3]);
    expect(decodeBase64('AA*A')).toBeUndefined();
    expect(decodeBase64('A')).toBeUndefined();
  });
});

describe('decodeQoi', () => {
  const header = (w: number, h: number, channels: number) => [
    0x71,
    0x6f,
    0x69,
    0x66,
    0,
    0,
    0,
    w,
    0,
    0,
    0,
    h,
    channels,
    0,
  ];
  const END = [0, 0, 0, 0, 0, 0, 0, 1];

  it('decodes every chunk type of the specification', () => {
    const bytes = Uint8Array.from([
      ...header(4, 2, 4),
      0xfe,
      10,
      20,
      30, // RGB
      0x76, // DIFF r+1 g-1 b+0
      0xaa,
      0x6b, // LUMA dg+10, dr-dg -2, db-dg +3
      0xff,
      1,
      2,
      3,
      128, // RGBA
      0x09, // INDEX of (10,20,30,255)
      0xc2, // RUN of 3
      ...END,
    ]);
    const image = decodeQoi(bytes);
    expect([image.width, image.height, image.channels]).toEqual([4, 2, 4]);
    expect([...image.rgba]).toEqual([
      10, 20, 30, 255, 11, 19, 30, 255, 19, 29, 43, 255, 1, 2, 3, 128, 10, 20, 30, 255, 10, 20, 30, 255, 10,
      20, 30, 255, 10, 20, 30, 255,
    ]);
  });

  it('refuses data that is not QOI or ends early', () => {
    expect(() => decodeQoi(new Uint8Array(30))).toThrow(/magic/);
    expect(() => decodeQoi(Uint8Array.from([...header(4, 4, 4), 0xfe, 1, 2, 3, ...END]))).toThrow(
      /ends after 1 of 16/,
    );
    expect(() => decodeQoi(Uint8Array.from([...header(1, 1, 5), 0xfe, 1, 2, 3, ...END]))).toThrow(/channel/);
    expect(() => decodeQoi(Uint8Array.from([1, 2]))).toThrow(/too short/);
  });
});

describe('encodePng', () => {
  it('turns a QOI thumbnail into a PNG with the same pixels', () => {
    const [qoi] = findThumbnails(prusaQoi);
    const image = decodeQoi(qoi?.data ?? new Uint8Array());
    const png = encodePng(image.width, image.height, image.rgba);
    expect([...png.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(pngSize(png)).toEqual([16, 16]);
    expect(storedPngPixels(png)).toEqual(image.rgba);
  });

  it('hands the filtered rows to a given compressor', () => {
    let seen = 0;
    const png = encodePng(2, 1, new Uint8Array(8).fill(7), (data) => {
      seen = data.length;
      return Uint8Array.from([0x78, 0x01, 0x03, 0x00]);
    });
    expect(seen).toBe(9);
    expect(pngSize(png)).toEqual([2, 1]);
    expect(() => encodePng(2, 2, new Uint8Array(3))).toThrow(/16 RGBA bytes/);
  });
});
