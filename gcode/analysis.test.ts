import { describe, expect, it } from 'vitest';
import { type Analysis, analyseGcode, createAnalyser, type MachineLimits } from './analysis.ts';
import bambu from './fixtures/bambu-studio.gcode?raw';
import cura from './fixtures/cura-2cubes.gcode?raw';
import ideamaker from './fixtures/ideamaker.gcode?raw';
import orca from './fixtures/orca-klipper.gcode?raw';
import prusa from './fixtures/prusa-2cubes.gcode?raw';
import prusaQoi from './fixtures/prusa-qoi.gcode?raw';
import simplify3d from './fixtures/simplify3d.gcode?raw';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The limits in ../shared/slicing-bench/prusa-bench.ini, which the real fixtures were sliced with. */
const bench: MachineLimits = {
  maxVelocity: 500,
  maxAccel: 500,
  maxZVelocity: 5,
  maxZAccel: 100,
  maxExtrudeOnlyVelocity: 25,
  maxExtrudeOnlyAccel: 1000,
  squareCornerVelocity: 8,
};

const simple: MachineLimits = { maxVelocity: 1000, maxAccel: 1000, squareCornerVelocity: 5 };

/** The line of the file starting at a byte offset. */
function lineAt(text: string, offset: number): string {
  const rest = decoder.decode(encoder.encode(text).subarray(offset));
  const nl = rest.indexOf('\n');
  return nl < 0 ? rest : rest.slice(0, nl);
}

function bytesOf(text: string, range: { start: number; end: number }): string {
  return decoder.decode(encoder.encode(text).subarray(range.start, range.end));
}

/** The file with byte ranges cut out, as a job runner skipping an excluded object sees it. */
function without(text: string, ranges: { start: number; end: number }[]): string {
  const bytes = encoder.encode(text);
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const r of ranges) {
    parts.push(bytes.subarray(at, r.start));
    at = r.end;
  }
  parts.push(bytes.subarray(at));
  return parts.map((p) => decoder.decode(p)).join('');
}

function inChunks(text: string, sizes: number[], limits = bench): Analysis {
  const a = createAnalyser(limits);
  let i = 0;
  let k = 0;
  while (i < text.length) {
    const n = sizes[k++ % sizes.length] as number;
    a.push(text.slice(i, i + n));
    i += n;
  }
  return a.finish();
}

function writtenMm(text: string): number {
  return Number(/^; filament used \[mm\] = ([\d.]+)/m.exec(text)?.[1]);
}

describe('analysis of PrusaSlicer output', () => {
  const a = analyseGcode(prusa, bench);

  it('finds one layer per ;LAYER_CHANGE, each starting at its marker, with the Z PrusaSlicer wrote', () => {
    const hints = [...prusa.matchAll(/^;LAYER_CHANGE\n;Z:([\d.]+)\n;HEIGHT:([\d.]+)/gm)];
    expect(a.layerSource).toBe('hints');
    expect(a.layerCount).toBe(hints.length);
    expect(a.layers).toHaveLength(25);
    a.layers.forEach((layer, i) => {
      expect(lineAt(prusa, layer.startByte)).toBe(';LAYER_CHANGE');
      expect(layer.z).toBe(Number(hints[i]?.[1]));
      expect(layer.height).toBe(Number(hints[i]?.[2]));
      if (i > 0) expect(layer.startByte).toBe(a.layers[i - 1]?.endByte);
    });
    expect(a.layers[24]?.endByte).toBe(encoder.encode(prusa).length);
    expect(a.firstLayerHeightMm).toBe(0.2);
    expect(a.objectHeightMm).toBe(5);
  });

  it("matches PrusaSlicer's filament figure and lands within 10% of its time estimate", () => {
    expect(a.filamentTotalMm).toBeCloseTo(writtenMm(prusa), 2);
    expect(a.estimatedTimeS).toBeGreaterThan(210 * 0.9);
    expect(a.estimatedTimeS).toBeLessThan(210 * 1.1);
    const q = analyseGcode(prusaQoi, bench);
    expect(q.filamentTotalMm).toBeCloseTo(writtenMm(prusaQoi), 2);
    expect(q.estimatedTimeS).toBeGreaterThan(95 * 0.9);
    expect(q.estimatedTimeS).toBeLessThan(95 * 1.1);
    expect(q.firstLayerHeightMm).toBe(0.3);
  });

  it('bounds the extrusions of the two 5 mm cubes', () => {
    expect(a.bbox).toEqual({ minX: 107.7, minY: 102.2, minZ: 0.2, maxX: 112.3, maxY: 117.8, maxZ: 5 });
    expect(a.firstLayerExtruderTemp).toBe(200);
    expect(a.firstLayerBedTemp).toBe(60);
  });

  it('lists both labelled objects with one range per layer, from marker to end marker', () => {
    expect(a.objectLabels).toBe('label');
    expect(a.objects.map((o) => [o.name, o.id])).toEqual([
      ['cube20.stl id:0 copy 0', 'cube20_stl_id_0_copy_0'],
      ['cube20.stl id:0 copy 1', 'cube20_stl_id_0_copy_1'],
    ]);
    for (const o of a.objects) {
      expect(o.ranges).toHaveLength(25);
      for (const r of o.ranges) {
        const text = bytesOf(prusa, r);
        expect(text.startsWith(`; printing object ${o.name}\n`)).toBe(true);
        expect(text.endsWith(`; stop printing object ${o.name}\n`)).toBe(true);
      }
      expect((o.bbox?.maxX ?? 0) - (o.bbox?.minX ?? 0)).toBeCloseTo(4.6, 6);
    }
    expect(a.objects[0]?.center).toEqual([110, 104.5]);
    expect(a.objects[1]?.center).toEqual([110, 115.5]);
  });

  it('gives the same result however the file is split into chunks', () => {
    expect(inChunks(prusa, [1, 7, 64, 1000, 3, 4096])).toEqual(a);
    expect(inChunks(prusa, [1 << 20])).toEqual(a);
  });

  it('gives the right byte offsets for CR LF files split between CR and LF', () => {
    const crlf = prusa.replace(/\n/g, '\r\n');
    const c = inChunks(crlf, [13, 1, 2, 500]);
    expect(c.layerCount).toBe(25);
    expect(c.filamentTotalMm).toBe(a.filamentTotalMm);
    for (const layer of c.layers) expect(lineAt(crlf, layer.startByte)).toBe(';LAYER_CHANGE\r');
  });
});

describe('analysis of CuraEngine output', () => {
  const a = analyseGcode(cura, bench);

  it('finds the layers from ;LAYER: and both meshes from ;MESH:', () => {
    expect(a.layerCount).toBe(Number(/;LAYER_COUNT:(\d+)/.exec(cura)?.[1]));
    for (const layer of a.layers) expect(lineAt(cura, layer.startByte)).toMatch(/^;LAYER:\d+$/);
    expect(a.objectLabels).toBe('mesh');
    expect(a.objects.map((o) => o.name)).toEqual(['left_cube.stl', 'right_cube.stl']);
    for (const o of a.objects) {
      expect(o.ranges).toHaveLength(25);
      for (const r of o.ranges) {
        const text = bytesOf(cura, r);
        expect(text.startsWith(`;MESH:${o.name}\n`)).toBe(true);
        expect(text.indexOf(';MESH:', 1)).toBe(-1);
      }
    }
    expect(a.objects[0]?.bbox).toMatchObject({ minX: 99.7, maxX: 104.3, minY: 107.7, maxY: 112.3 });
    expect(a.objects[1]?.bbox).toMatchObject({ minX: 115.7, maxX: 120.3 });
  });
});

describe('analysis of the hand-written slicer files', () => {
  it('reads Orca objects from EXCLUDE_OBJECT_DEFINE, ignoring the duplicate comment labels', () => {
    const a = analyseGcode(orca, simple);
    expect(a.objectLabels).toBe('exclude_object');
    expect(a.objects.map((o) => [o.id, o.center])).toEqual([
      ['cube_id_0_copy_0', [100, 110]],
      ['cube_id_1_copy_0', [120, 110]],
    ]);
    expect(a.objects[0]?.polygon).toEqual([
      [97.5, 107.5],
      [102.5, 107.5],
      [102.5, 112.5],
      [97.5, 112.5],
    ]);
    for (const o of a.objects) {
      expect(o.ranges).toHaveLength(3);
      for (const r of o.ranges) {
        const text = bytesOf(orca, r);
        expect(text.startsWith(`EXCLUDE_OBJECT_START NAME=${o.id}\n`)).toBe(true);
        expect(text.endsWith(`EXCLUDE_OBJECT_END NAME=${o.id}\n`)).toBe(true);
      }
    }
    expect(a.layerCount).toBe(3);
    expect(a.filamentTotalMm).toBeCloseTo(writtenMm(orca), 2);
    expect(a.firstLayerExtruderTemp).toBe(240);
    expect(a.firstLayerBedTemp).toBe(80);
  });

  it("leaves only the other object's extrusions when an object's ranges are skipped", () => {
    const a = analyseGcode(orca, simple);
    const [kept, dropped] = a.objects as [Analysis['objects'][0], Analysis['objects'][0]];
    const rest = analyseGcode(without(orca, dropped.ranges), simple);
    expect(rest.bbox).toEqual(kept.bbox);
    expect(rest.filamentTotalMm).toBeCloseTo(a.filamentTotalMm / 2, 6);
    expect(rest.layerCount).toBe(3);
  });

  it('reads Bambu Studio layers from ; CHANGE_LAYER and its object from the label id', () => {
    const a = analyseGcode(bambu, simple);
    expect(a.layers.map((l) => [l.z, l.height])).toEqual([
      [0.2, 0.2],
      [0.4, 0.2],
      [0.6, 0.2],
      [0.8, 0.2],
    ]);
    expect(a.objectLabels).toBe('label_id');
    expect(a.objects.map((o) => [o.name, o.ranges.length])).toEqual([['82', 4]]);
    expect(a.bbox).toMatchObject({ minX: 125, maxX: 131, minY: 125, maxY: 131 });
    expect(a.filamentTotalMm).toBeCloseTo(
      Number(/total filament length \[mm\] : ([\d.]+)/.exec(bambu)?.[1]),
      2,
    );
  });

  it('reads ideaMaker objects from ;PRINTING: and Simplify3D layers from ; layer N, Z =', () => {
    const im = analyseGcode(ideamaker, simple);
    expect(im.objectLabels).toBe('printing');
    expect(im.objects.map((o) => [o.name, o.id, o.ranges.length])).toEqual([['block.stl', 'block_stl', 3]]);
    expect(im.layers.map((l) => l.z)).toEqual([0.3, 0.5, 0.7]);
    const s3d = analyseGcode(simplify3d, simple);
    expect(s3d.layerSource).toBe('hints');
    expect(s3d.layers.map((l) => l.z)).toEqual([0.2, 0.4, 0.6]);
    for (const layer of s3d.layers) expect(lineAt(simplify3d, layer.startByte)).toMatch(/^; layer \d+, Z = /);
    expect(s3d.objects).toEqual([]);
  });
});

/** A file from no known slicer: a prime line at 0.3 mm, then square layers 0.2 mm apart. */
function plainFile(layers: number, opts: { relative?: boolean; hop?: boolean } = {}): string {
  const lines = [
    'G28',
    'M83'.replace('3', opts.relative ? '3' : '2'),
    'G92 E0',
    'G1 Z0.3 F600',
    'G1 X5 Y5 F6000',
  ];
  let e = 0;
  const ext = (x: number, y: number, de: number) => {
    e += de;
    lines.push(`G1 X${x} Y${y} E${(opts.relative ? de : e).toFixed(4)}`);
  };
  ext(100, 5, 4);
  for (let l = 0; l < layers; l++) {
    const z = (0.2 * (l + 1)).toFixed(1);
    if (opts.hop) lines.push(`G1 Z${(Number(z) + 0.4).toFixed(1)}`);
    lines.push(`G1 X50 Y50 Z${z} F6000`);
    ext(60, 50, 0.5);
    ext(60, 60, 0.5);
    ext(50, 60, 0.5);
    ext(50, 50, 0.5);
  }
  lines.push('G1 Z20 F600', 'M84');
  return `${lines.join('\n')}\n`;
}

describe('analysis without slicer hints', () => {
  it('finds layers from Z changes with extrusion and folds the prime line into the first layer', () => {
    const text = plainFile(5, { hop: true });
    const a = analyseGcode(text, simple);
    expect(a.layerSource).toBe('z');
    expect(a.layers.map((l) => [l.z, l.height])).toEqual([
      [0.2, 0.2],
      [0.4, 0.2],
      [0.6, 0.2],
      [0.8, 0.2],
      [1, 0.2],
    ]);
    expect(lineAt(text, a.layers[0]?.startByte ?? -1)).toBe('G1 Z0.3 F600');
    expect(lineAt(text, a.layers[1]?.startByte ?? -1)).toBe('G1 X50 Y50 Z0.4 F6000');
    expect(a.objectHeightMm).toBe(1);
    expect(a.filamentTotalMm).toBeCloseTo(4 + 5 * 2, 6);
  });

  it("gives each layer the position, E and modes in force at its first byte, a lone reader's start", () => {
    const a = analyseGcode(plainFile(3, { hop: true }), simple);
    const absolute = { relativeXyz: false, relativeE: false };
    // Layer 0 starts at `G1 Z0.3`, just after G28 and G92 E0.
    expect(a.layers[0]?.entry).toEqual({ x: 0, y: 0, z: 0, e: 0, ...absolute });
    // Layer 1 (Z 0.4) starts at the move down from its hop (Z 0.8), back at the square's corner.
    expect(a.layers[1]?.entry).toEqual({ x: 50, y: 50, z: 0.8, e: 6, ...absolute });
    expect(a.layers[2]?.entry).toEqual({ x: 50, y: 50, z: 1, e: 8, ...absolute });
    const relative = analyseGcode(plainFile(2, { relative: true }), simple);
    expect(relative.layers[1]?.entry).toEqual({
      x: 50,
      y: 50,
      z: 0.2,
      e: 6,
      relativeXyz: false,
      relativeE: true,
    });
    const hinted = analyseGcode(prusa, bench);
    // This PrusaSlicer file extrudes in absolute E (M82) from G92 E0 resets, so E matters at each start.
    for (const layer of hinted.layers) expect(layer.entry.relativeE).toBe(false);
    expect(hinted.layers.some((layer) => layer.entry.e > 0)).toBe(true);
  });

  it('counts filament the same in absolute and relative E, across G92 resets, ignoring the final retract', () => {
    const absolute = analyseGcode(plainFile(3), simple);
    const relative = analyseGcode(plainFile(3, { relative: true }), simple);
    expect(absolute.filamentTotalMm).toBeCloseTo(10, 6);
    expect(relative.filamentTotalMm).toBeCloseTo(10, 6);
    const resets = analyseGcode(
      'M82\nG92 E0\nG1 X10 E2\nG92 E0\nG1 X20 E3\nG1 E2\nG92 E100\nG1 X30 E101\nG1 E95\n',
      simple,
    );
    expect(resets.filamentTotalMm).toBeCloseTo(5 - 1 + 1, 6);
  });

  it('bounds arcs by their extreme points, for I/J and R forms', () => {
    const a = analyseGcode('G90\nM83\nG1 X60 Y50 F6000\nG3 X60 Y50 I-10 J0 E5\n', simple);
    expect(a.bbox).toMatchObject({ minX: 40, maxX: 60, minY: 40, maxY: 60 });
    const r = analyseGcode('G90\nM83\nG1 X0 Y0 F6000\nG2 X20 Y0 R10 E2\n', simple);
    // Clockwise from (0,0) to (20,0) about (10,0) passes over the top.
    expect(r.bbox).toMatchObject({ minX: 0, maxX: 20, minY: 0, maxY: 10 });
  });

  it('reads Marlin M486 object labels with their names', () => {
    const text = [
      'M486 T2',
      'M83',
      'M486 S0 A"left part"',
      'G1 X10 Y10 Z0.2 F3000',
      'G1 X20 Y10 E1',
      'M486 S-1',
      'M486 S1',
      'M486 Aright',
      'G1 X40 Y10 F3000',
      'G1 X50 Y10 E1',
      'M486 S-1',
      '',
    ].join('\n');
    const a = analyseGcode(text, simple);
    expect(a.objectLabels).toBe('m486');
    expect(a.objects.map((o) => [o.name, o.id, o.bbox?.minX, o.bbox?.maxX])).toEqual([
      ['left part', 'left_part', 10, 20],
      ['right', 'right', 40, 50],
    ]);
    expect(bytesOf(text, a.objects[1]?.ranges[0] ?? { start: 0, end: 0 })).toBe(
      'M486 S1\nM486 Aright\nG1 X40 Y10 F3000\nG1 X50 Y10 E1\n',
    );
  });

  it('counts UTF-8 bytes in layer and object offsets, whatever the chunking', () => {
    const text = `; Ünïcödé ✓ 🎉\n${prusa.replace('; printing object cube20.stl id:0 copy 0', '; printing object würfel №1')}`;
    const a = inChunks(text, [5, 1, 17, 333]);
    expect(lineAt(text, a.layers[3]?.startByte ?? -1)).toBe(';LAYER_CHANGE');
    expect(a.objects[0]?.name).toBe('würfel №1');
    expect(a.objects[0]?.id).toBe('würfel_1'.replace('ü', 'ü').replace(/\W+/g, '_'));
    expect(
      bytesOf(text, a.objects[0]?.ranges[0] ?? { start: 0, end: 0 }).startsWith(
        '; printing object würfel №1\n',
      ),
    ).toBe(true);
  });
});

describe('time estimate', () => {
  const limits: MachineLimits = { maxVelocity: 1000, maxAccel: 1000, squareCornerVelocity: 5 };

  it('uses a trapezoid: accelerate, cruise, decelerate', () => {
    // 100 mm at 100 mm/s and 1000 mm/s²: 0.1 s up, 0.1 s down, 90 mm at full speed.
    expect(analyseGcode('G1 X100 F6000\n', limits).estimatedTimeS).toBeCloseTo(1.1, 6);
    // Split into two straight halves, the junction costs nothing.
    expect(analyseGcode('G1 X50 F6000\nG1 X100\n', limits).estimatedTimeS).toBeCloseTo(1.1, 6);
  });

  it('slows to the square corner velocity at a right angle', () => {
    // Each leg: 0 → 100 mm/s, cruise, 100 → 5 mm/s (or back), at 1000 mm/s².
    const leg = 0.1 + (100 - 5 - (100 ** 2 - 25) / 2000) / 100 + 0.095;
    expect(analyseGcode('G1 X100 F6000\nG1 Y100\n', limits).estimatedTimeS).toBeCloseTo(2 * leg, 2);
  });

  it('follows M220, M204, M203, SET_VELOCITY_LIMIT and dwells', () => {
    expect(analyseGcode('M220 S50\nG1 X100 F6000\n', limits).estimatedTimeS).toBeCloseTo(
      0.05 * 2 + 97.5 / 50,
      6,
    );
    // M204 S500: 0.2 s up, 0.2 s down over 10 mm each, 80 mm at 100 mm/s.
    expect(analyseGcode('M204 S500\nG1 X100 F6000\n', limits).estimatedTimeS).toBeCloseTo(1.2, 6);
    expect(analyseGcode('SET_VELOCITY_LIMIT ACCEL=500\nG1 X100 F6000\n', limits).estimatedTimeS).toBeCloseTo(
      1.2,
      6,
    );
    // M203 X50 caps the X axis at 50 mm/s.
    expect(analyseGcode('M203 X50\nG1 X100 F6000\n', limits).estimatedTimeS).toBeCloseTo(
      0.05 * 2 + 97.5 / 50,
      6,
    );
    expect(analyseGcode('G1 X100 F6000\nG4 P500\nG4 S2\n', limits).estimatedTimeS).toBeCloseTo(3.6, 6);
  });

  it('plans long files in batches without losing time at the batch seams', () => {
    const lines: string[] = ['G1 F6000'];
    for (let i = 1; i <= 2000; i++) lines.push(`G1 X${i * 0.5}`);
    // 1000 mm in 0.5 mm collinear steps: one trapezoid.
    expect(analyseGcode(`${lines.join('\n')}\n`, limits).estimatedTimeS).toBeCloseTo(10.1, 3);
  });

  it('uses the junction deviation from M205 J for corners', () => {
    const jd = 0.02;
    // v² = a · jd · sin(θ/2) / (1 − sin(θ/2)) at 90°: 1000 · 0.02 · 2.414 ≈ 48.3.
    const v2 = 1000 * jd * (Math.SQRT1_2 / (1 - Math.SQRT1_2));
    const leg = 0.1 + (100 - 5 - (100 ** 2 - v2) / 2000) / 100 + (100 - Math.sqrt(v2)) / 1000;
    expect(analyseGcode(`M205 J${jd}\nG1 X100 F6000\nG1 Y100\n`, limits).estimatedTimeS).toBeCloseTo(
      2 * leg,
      2,
    );
  });
});

describe('robustness', () => {
  it('analyses odd lines, long lines and unknown commands without throwing', () => {
    const junk = [
      `M117 ${'x'.repeat(5000)}`,
      `; ${'comment '.repeat(500)}`,
      'G1 X--5 Y.. E',
      'G1 XNaN Y1e5 E+',
      '(((',
      'G1 (unclosed paren X5',
      'N10 G1 X5 E1*45',
      '\u0000\u0001\u00ff binary \ufffd',
      '@@@ ;;;; ::::',
      'G29.1 Z5',
      'T',
      'T12',
      'EXCLUDE_OBJECT_DEFINE NAME=bad POLYGON=[[1,2],[oops',
      'EXCLUDE_OBJECT_START NAME="unterminated',
      'SET_VELOCITY_LIMIT ACCEL=fast',
      'M486 S',
      ';LAYER:',
      ';Z:abc',
      '; printing object ',
      `G1 X1 Y1 E1 ; ${'tail '.repeat(400)}`,
      'g1 x2 y2 e2',
      '',
    ].join('\n');
    const a = analyseGcode(junk, simple);
    expect(a.lines).toBe(21);
    expect(a.tools).toEqual([12]);
    expect(a.estimatedTimeS).toBeGreaterThan(0);
    expect(Number.isFinite(a.estimatedTimeS)).toBe(true);
    expect(() => inChunks(junk, [3, 1])).not.toThrow();
  });

  it('counts a kept byte-order mark in the offsets and still reads the first command', () => {
    const bytes = Uint8Array.from([0xef, 0xbb, 0xbf, ...encoder.encode('G28\n;LAYER:0\nG1 X5 Z0.2 E1\n')]);
    const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
    const a = analyseGcode(text, simple);
    expect(a.gcodeStartByte).toBe(0);
    expect(a.layers[0]?.startByte).toBe(7);
    expect(a.bytes).toBe(bytes.length);
  });

  it('handles an empty file, a file without a final newline, and a single huge line', () => {
    expect(analyseGcode('', simple)).toMatchObject({ bytes: 0, lines: 0, layerCount: 0, filamentTotalMm: 0 });
    expect(analyseGcode('G1 X10 Z0.2 E1', simple)).toMatchObject({ lines: 1, layerCount: 1, moves: 1 });
    const huge = `;${'a'.repeat(3_000_000)}`;
    expect(inChunks(huge, [65536])).toMatchObject({ bytes: huge.length, lines: 1 });
  });
});

describe('throughput', () => {
  // Speed is bench/gcode.bench.ts's business; this checks that a 20 MB stream in 1 MiB chunks counts
  // exactly what the same body repeated holds.
  it('analyses a 20 MB file in 1 MiB chunks and counts every repeated move', () => {
    const start = prusa.indexOf(';LAYER_CHANGE');
    const body = prusa.slice(start, prusa.indexOf('; filament used'));
    const repeats = Math.ceil(20e6 / body.length);
    const text = prusa.slice(0, start) + body.repeat(repeats);
    const a = createAnalyser(bench);
    for (let i = 0; i < text.length; i += 1 << 20) a.push(text.slice(i, i + (1 << 20)));
    const whole = a.finish();
    const headerMoves = analyseGcode(prusa.slice(0, start), bench).moves;
    const bodyMoves = analyseGcode(body, bench).moves;
    expect(whole.moves).toBe(headerMoves + repeats * bodyMoves);
    expect(whole.bytes).toBe(text.length);
  });
});
