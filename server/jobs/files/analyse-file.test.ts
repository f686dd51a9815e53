import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { analyseFile, readHeadTail } from './analyse-file.ts';

const FIXTURES = join(import.meta.dirname, '../../../gcode/fixtures');
const LIMITS = { maxVelocity: 300, maxAccel: 3000, squareCornerVelocity: 5 };

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brim-analyse-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function analyse(fixture: string, base = 'part') {
  const file = join(dir, `${base}.gcode`);
  writeFileSync(file, readFileSync(join(FIXTURES, fixture)));
  return analyseFile({
    file,
    size: statSync(file).size,
    thumbsDir: join(dir, '.thumbs'),
    thumbBase: base,
    limits: LIMITS,
  });
}

describe('analysing one file', () => {
  it("gives PrusaSlicer's own figures, Brim's layers and objects, and the thumbnails as files", async () => {
    const out = await analyse('prusa-2cubes.gcode');
    expect(out.metadata).toMatchObject({ slicer: 'PrusaSlicer', layer_height: 0.2 });
    expect(out.layers.length).toBeGreaterThan(10);
    expect(out.layers.map((l) => l.index)).toEqual(out.layers.map((_, i) => i));
    expect(out.objects).toHaveLength(2);
    expect(out.summary.estimated_time).toBeGreaterThan(0);
    expect(out.thumbnails.map((t) => t.relative_path)).toEqual([
      '.thumbs/part-32x32.png',
      '.thumbs/part-96x96.png',
    ]);
    for (const thumb of out.thumbnails) {
      expect(statSync(join(dir, thumb.relative_path)).size).toBe(thumb.size);
      expect(Number.isInteger(thumb.width) && Number.isInteger(thumb.height)).toBe(true);
    }
  });

  it('converts QOI to PNG and adds a 32×32 miniature when the slicer wrote none', async () => {
    const out = await analyse('prusa-qoi.gcode');
    expect(out.thumbnails.map((t) => [t.relative_path, t.width, t.height])).toEqual([
      ['.thumbs/part-16x16.png', 16, 16],
      ['.thumbs/part-64x48.png', 64, 48],
      ['.thumbs/part-32x32.png', 32, 24],
    ]);
    for (const thumb of out.thumbnails) {
      expect(readFileSync(join(dir, thumb.relative_path)).subarray(1, 4).toString()).toBe('PNG');
    }
  });

  it('keeps JPG thumbnails as .jpg', async () => {
    const out = await analyse('prusa-jpg.gcode');
    const jpg = out.thumbnails.find((t) => t.relative_path.endsWith('.jpg'))!;
    expect(jpg.relative_path).toMatch(/^\.thumbs\/part-\d+x\d+\.jpg$/);
    const bytes = readFileSync(join(dir, jpg.relative_path));
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
  });

  it('writes no .thumbs folder for a file without thumbnails', async () => {
    const file = join(dir, 'plain.gcode');
    writeFileSync(file, 'G28\nG1 Z0.2\nG1 X10 E1\n');
    const out = await analyseFile({
      file,
      size: statSync(file).size,
      thumbsDir: join(dir, '.thumbs'),
      thumbBase: 'plain',
      limits: LIMITS,
    });
    expect(out.thumbnails).toEqual([]);
    expect(readdirSync(dir)).toEqual(['plain.gcode']);
    expect(out.metadata.first_layer_height).toBe(0.2);
  });

  it('reads the first and last MiB of a large file, and the whole of a small one', async () => {
    const file = join(dir, 'large.gcode');
    writeFileSync(file, `;START\n${'G1 X1\n'.repeat(500_000)};END\n`);
    const size = statSync(file).size;
    const { head, tail } = await readHeadTail(file, size);
    expect(head.startsWith(';START')).toBe(true);
    expect(head.length).toBe(1024 * 1024);
    expect(tail.endsWith(';END\n')).toBe(true);
    writeFileSync(file, 'G1\n');
    expect(await readHeadTail(file, 3)).toEqual({ head: 'G1\n', tail: '' });
  });
});
