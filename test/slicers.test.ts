import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyseGcode } from '../gcode/analysis.ts';
import { extractMetadata, METADATA_READ_SIZE } from '../gcode/metadata.ts';
import { findThumbnails } from '../gcode/thumbnails.ts';

// Slices ../shared/models/cube20.stl with Debian's prusa-slicer and cura-engine now, so the metadata
// code is checked against what today's slicers write, not only against the committed fixtures.
const FIXTURES = fileURLToPath(new URL('../gcode/fixtures/', import.meta.url));
const SHARED = fileURLToPath(new URL('../../shared/', import.meta.url));
const LIMITS = { maxVelocity: 300, maxAccel: 3000 };

let work = '';

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'brim-slicers-'));
  for (const file of ['generate.sh', 'tools.py']) copyFileSync(join(FIXTURES, file), join(work, file));
  const run = spawnSync('bash', [join(work, 'generate.sh'), SHARED], { encoding: 'utf8', timeout: 240_000 });
  if (run.status !== 0) throw new Error(`generate.sh failed (${run.status}): ${run.stderr}`);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

function read(name: string) {
  const text = readFileSync(join(work, name), 'utf8');
  const size = Buffer.byteLength(text);
  return {
    text,
    metadata: extractMetadata(text.slice(0, METADATA_READ_SIZE), text.slice(-METADATA_READ_SIZE), size),
  };
}

/** `3m 30s` / `1h 2m 3s` as PrusaSlicer writes it, in seconds. */
function prusaDuration(text: string): number {
  const match = /; estimated printing time \(normal mode\) = (.+)/.exec(text);
  if (!match) throw new Error('no estimated time in the file');
  const units: Record<string, number> = { d: 86_400, h: 3600, m: 60, s: 1 };
  return [...match[1]!.matchAll(/(\d+)([dhms])/g)].reduce(
    (sum, [, n, unit]) => sum + Number(n) * units[unit!]!,
    0,
  );
}

describe('freshly sliced PrusaSlicer output', () => {
  it('yields the slicer, time, filament and layer height the file states', () => {
    const { text, metadata } = read('prusa-2cubes.gcode');
    expect(metadata.slicer).toBe('PrusaSlicer');
    expect(metadata.slicer_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(metadata.estimated_time).toBe(prusaDuration(text));
    expect(metadata.filament_total).toBeCloseTo(
      Number(/; filament used \[mm\] = ([\d.]+)/.exec(text)?.[1]),
      2,
    );
    expect(metadata.layer_height).toBe(Number(/; layer_height = ([\d.]+)/.exec(text)?.[1]));
  });

  it('finds both labelled cubes and the thumbnails', () => {
    const { text } = read('prusa-2cubes.gcode');
    expect(analyseGcode(text, LIMITS).objects).toHaveLength(2);
    expect(findThumbnails(text).map((t) => `${t.width}x${t.height}`)).toEqual(['32x32', '96x96']);
    expect(findThumbnails(read('prusa-qoi.gcode').text)[0]?.format).toBe('qoi');
  });
});

describe('freshly sliced CuraEngine output', () => {
  it('yields the slicer and layer height, and Brim fills in what the CLI leaves as placeholders', () => {
    const { text, metadata } = read('cura-2cubes.gcode');
    expect(metadata.slicer).toBe('Cura');
    expect(metadata.layer_height).toBe(Number(/;Layer height: ([\d.]+)/.exec(text)?.[1]));
    const analysis = analyseGcode(text, LIMITS);
    expect(analysis.objects.map((o) => o.name).sort()).toHaveLength(2);
    expect(analysis.filamentTotalMm).toBeGreaterThan(0);
    expect(analysis.estimatedTimeS).toBeGreaterThan(0);
  });
});
