// The preview's G-code → layers parser (the worker runs the same code in the browser).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GcodeLayerParser, type LayerData, layerAt, segmentsBefore } from '../../ui/preview/parse.ts';

function parse(text: string, chunk = text.length) {
  const layers: LayerData[] = [];
  const parser = new GcodeLayerParser((layer) => layers.push(layer));
  for (let i = 0; i < text.length; i += chunk) parser.push(text.slice(i, i + chunk));
  return { layers, summary: parser.finish() };
}

describe('GcodeLayerParser', () => {
  it('splits a sliced file into layers of extrusions, rising in Z, whatever the chunking', () => {
    const text = readFileSync(join(import.meta.dirname, '../../gcode/fixtures/prusa-2cubes.gcode'), 'utf8');
    const whole = parse(text);
    const chunked = parse(text, 1000);
    expect(whole.layers.length).toBeGreaterThan(5);
    expect(chunked.summary).toEqual(whole.summary);
    expect(whole.summary.bytes).toBe(Buffer.byteLength(text));
    for (let i = 1; i < whole.layers.length; i++) {
      expect(whole.layers[i]!.z).toBeGreaterThan(whole.layers[i - 1]!.z);
      expect(whole.layers[i]!.startByte).toBeGreaterThan(whole.layers[i - 1]!.startByte);
    }
    const [x0, y0, , x1, y1] = whole.summary.bbox;
    expect(x0).toBeGreaterThanOrEqual(0);
    expect(y0).toBeGreaterThanOrEqual(0);
    expect(x1).toBeLessThanOrEqual(250);
    expect(y1).toBeLessThanOrEqual(250);
  });

  it('records the byte offset of the line behind each segment, so a file position maps to a layer', () => {
    const text = 'G90\nM83\nG1 Z0.2\nG1 X10 E1\nG1 Y10 E1\nG1 Z0.4\nG1 X0 E1\n';
    const { layers } = parse(text);
    expect(layers.map((l) => l.z)).toEqual([0.2, 0.4]);
    const second = text.indexOf('G1 Y10');
    expect(Array.from(layers[0]!.offsets)).toEqual([text.indexOf('G1 X10'), second]);
    expect(layerAt(layers, 0)).toBe(-1);
    expect(layerAt(layers, second)).toBe(0);
    expect(layerAt(layers, text.indexOf('G1 X0'))).toBe(1);
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
    const { layers, summary } = parse(text);
    expect(summary.segments).toBe(2);
    expect(Array.from(layers[0]!.positions)).toEqual(
      [0, 0, 0.3, 10, 0, 0.3, 30, 0, 0.3, 35, 0, 0.3].map(Math.fround),
    );
  });

  it('draws arcs as chords ending exactly at the target', () => {
    const { layers } = parse('G90\nM83\nG1 Z0.2\nG1 X10 Y0\nG3 X0 Y10 I-10 J0 E2\n');
    const p = layers[0]!.positions;
    const segments = p.length / 6;
    expect(segments).toBeGreaterThan(10);
    expect(p[p.length - 3]).toBeCloseTo(0, 4);
    expect(p[p.length - 2]).toBeCloseTo(10, 4);
    for (let i = 0; i < segments; i++) expect(Math.hypot(p[i * 6 + 3]!, p[i * 6 + 4]!)).toBeCloseTo(10, 3);
  });

  it('counts bytes in UTF-8 so offsets match the file even with non-ASCII comments', () => {
    const text = '; Ünïcødé ✓\nM83\nG1 Z0.2\nG1 X1 E1\n';
    const { layers, summary } = parse(text);
    expect(summary.bytes).toBe(Buffer.byteLength(text));
    expect(layers[0]!.startByte).toBe(Buffer.byteLength(text.slice(0, text.indexOf('G1 X1'))));
  });
});
