// The preview's parser of layer byte ranges (the worker runs the same code in the browser), fed from the
// server's layer index: a layer read alone must give what the whole file read from the top gives.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyseGcode } from '../../gcode/analysis.ts';
import {
  GcodeLayerParser,
  type LayerData,
  type LayerSpan,
  layerAt,
  type MachineEntry,
  segmentsBefore,
} from '../../ui/preview/parse.ts';

const FIXTURES = join(import.meta.dirname, '../../gcode/fixtures');
const LIMITS = { maxVelocity: 300, maxAccel: 3000 };
const ORIGIN: MachineEntry = { x: 0, y: 0, z: 0, e: 0, relativeXyz: false, relativeE: false };

interface Indexed extends LayerSpan {
  entry: MachineEntry;
}

/** The layer index as server.files.layers builds it. */
function indexOf(text: string): Indexed[] {
  return analyseGcode(text, LIMITS).layers.map((l, index) => ({
    index,
    z: l.z,
    startByte: l.startByte,
    endByte: l.endByte,
    entry: l.entry,
  }));
}

/** Parses `layers` (consecutive) out of the file's bytes, fed in pieces of `chunk` characters. */
function parseRange(bytes: Buffer, layers: Indexed[], chunk = Infinity): LayerData[] {
  const first = layers[0]!;
  const text = bytes.subarray(first.startByte, layers[layers.length - 1]!.endByte).toString('utf8');
  const parser = new GcodeLayerParser(layers, first.entry);
  const step = Math.min(chunk, text.length || 1);
  for (let i = 0; i < text.length; i += step) parser.push(text.slice(i, i + step));
  return parser.finish();
}

/** A whole hand-written file as one layer starting at byte 0. */
function parseText(text: string): LayerData {
  const span = { index: 0, z: 0, startByte: 0, endByte: Buffer.byteLength(text) };
  const parser = new GcodeLayerParser([span], ORIGIN);
  parser.push(text);
  return parser.finish()[0]!;
}

describe('GcodeLayerParser', () => {
  for (const fixture of [
    'prusa-2cubes.gcode',
    'cura-2cubes.gcode',
    'orca-klipper.gcode',
    'simplify3d.gcode',
  ]) {
    it(`reads each layer of ${fixture} alone, from its entry state, as the whole file gives it`, () => {
      const bytes = readFileSync(join(FIXTURES, fixture));
      const index = indexOf(bytes.toString('utf8'));
      expect(index.length).toBeGreaterThan(2);
      const whole = parseRange(bytes, index);
      const chunked = parseRange(bytes, index, 777);
      expect(whole.reduce((n, l) => n + l.offsets.length, 0)).toBeGreaterThan(index.length);
      for (const [i, layer] of index.entries()) {
        const alone = parseRange(bytes, [layer])[0]!;
        expect(Array.from(alone.positions), `layer ${i}`).toEqual(Array.from(whole[i]!.positions));
        expect(Array.from(alone.offsets), `layer ${i}`).toEqual(Array.from(whole[i]!.offsets));
        expect(Array.from(chunked[i]!.positions)).toEqual(Array.from(whole[i]!.positions));
        for (const offset of alone.offsets) {
          expect(offset).toBeGreaterThanOrEqual(layer.startByte);
          expect(offset).toBeLessThan(layer.endByte);
        }
      }
    });
  }

  it('records the byte offset of the line behind each segment, so a file position maps to a layer', () => {
    const text = 'G90\nM83\nG1 Z0.2\nG1 X10 E1\nG1 Y10 E1\nG1 Z0.4\nG1 X0 E1\n';
    const bytes = Buffer.from(text);
    const index = indexOf(text);
    expect(index.map((l) => l.z)).toEqual([0.2, 0.4]);
    const layers = parseRange(bytes, index);
    const second = text.indexOf('G1 Y10');
    expect(Array.from(layers[0]!.offsets)).toEqual([text.indexOf('G1 X10'), second]);
    expect(Array.from(layers[1]!.offsets)).toEqual([text.indexOf('G1 X0')]);
    expect(layerAt(index, 0)).toBe(-1);
    expect(layerAt(index, second)).toBe(0);
    expect(layerAt(index, text.indexOf('G1 X0'))).toBe(1);
    expect(segmentsBefore(layers[0]!.offsets, second)).toBe(1);
    expect(segmentsBefore(layers[0]!.offsets, second + 1)).toBe(2);
  });

  it('follows absolute and relative extrusion, G92 and relative moves; travel is not drawn', () => {
    const text = [
      'G90',
      'M82',
      'G92 E0',
      'G1 Z0.3 F600',
      'G1 X10 Y0 E2',
      'G1 X20 Y0 E2',
      'G1 X30 E1.5',
      'G92 E0',
      'G91',
      'G1 X5 E0.5',
      'G0 X5',
    ].join('\n');
    const layer = parseText(text);
    expect(layer.offsets.length).toBe(2);
    expect(Array.from(layer.positions)).toEqual(
      [0, 0, 0.3, 10, 0, 0.3, 30, 0, 0.3, 35, 0, 0.3].map(Math.fround),
    );
  });

  it('starts from the entry state it is given: position, E and modes', () => {
    const span = { index: 4, z: 1, startByte: 1000, endByte: 1030 };
    const parser = new GcodeLayerParser([span], {
      x: 5,
      y: 6,
      z: 1,
      e: 10,
      relativeXyz: true,
      relativeE: false,
    });
    // Relative XYZ from (5, 6); absolute E from 10, so E9 is a retract and E11 extrudes.
    parser.push('G1 X1 E9\nG1 Y1 E11\n');
    const [layer] = parser.finish();
    expect(layer!.index).toBe(4);
    expect(Array.from(layer!.positions)).toEqual([6, 6, 1, 6, 7, 1]);
    expect(Array.from(layer!.offsets)).toEqual([1000 + 'G1 X1 E9\n'.length]);
  });

  it('refuses layers that are not next to each other in the file', () => {
    const a = { index: 0, z: 0.2, startByte: 0, endByte: 10 };
    const c = { index: 2, z: 0.6, startByte: 20, endByte: 30 };
    expect(() => new GcodeLayerParser([a, c], ORIGIN)).toThrow('Layers 0 and 2 are not next to each other');
  });

  it('draws arcs as chords ending exactly at the target', () => {
    const layer = parseText('G90\nM83\nG1 Z0.2\nG1 X10 Y0\nG3 X0 Y10 I-10 J0 E2\n');
    const p = layer.positions;
    const segments = p.length / 6;
    expect(segments).toBeGreaterThan(10);
    expect(p[p.length - 3]).toBeCloseTo(0, 4);
    expect(p[p.length - 2]).toBeCloseTo(10, 4);
    for (let i = 0; i < segments; i++) expect(Math.hypot(p[i * 6 + 3]!, p[i * 6 + 4]!)).toBeCloseTo(10, 3);
  });

  it('counts bytes in UTF-8 so offsets match the file even with non-ASCII comments', () => {
    const text = '; Ünïcødé ✓\nM83\nG1 Z0.2\nG1 X1 E1\n';
    const layer = parseText(text);
    expect(layer.offsets[0]).toBe(Buffer.byteLength(text.slice(0, text.indexOf('G1 X1'))));
  });
});
