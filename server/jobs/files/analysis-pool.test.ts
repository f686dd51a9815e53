import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AnalysisPool } from './analysis-pool.ts';

const FIXTURE = join(import.meta.dirname, '../../../gcode/fixtures/cura-2cubes.gcode');
const LIMITS = { maxVelocity: 300, maxAccel: 3000, squareCornerVelocity: 5 };

let dir: string;
let pool: AnalysisPool;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brim-pool-'));
});

afterEach(async () => {
  await pool?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function request(file: string) {
  return { file, size: statSync(file).size, thumbsDir: join(dir, '.thumbs'), thumbBase: 'x', limits: LIMITS };
}

describe('the analysis worker', () => {
  it('analyses files in a worker thread, one after another', async () => {
    pool = new AnalysisPool({ log: pino({ level: 'silent' }), timeoutMs: 60_000, maxHeapMb: 256 });
    const file = join(dir, 'a.gcode');
    writeFileSync(file, readFileSync(FIXTURE));
    const [first, second] = await Promise.all([pool.analyse(request(file)), pool.analyse(request(file))]);
    expect(first.metadata.slicer).toBe('Cura');
    expect(second.layers).toEqual(first.layers);
    expect(pool.backlog()).toBe(0);
  });

  it('reports a file it cannot read as an error and carries on', async () => {
    pool = new AnalysisPool({ log: pino({ level: 'silent' }), timeoutMs: 60_000, maxHeapMb: 256 });
    const missing = { ...request(FIXTURE), file: join(dir, 'gone.gcode') };
    await expect(pool.analyse(missing)).rejects.toThrow(/ENOENT/);
    expect((await pool.analyse(request(FIXTURE))).metadata.slicer).toBe('Cura');
  });

  it('abandons an analysis that takes too long and starts a fresh worker for the next', async () => {
    pool = new AnalysisPool({ log: pino({ level: 'silent' }), timeoutMs: 200, maxHeapMb: 256 });
    const big = join(dir, 'big.gcode');
    writeFileSync(big, 'M83\nG1 Z0.2\n'.concat('G1 X10 Y10 E0.1\nG1 X20 Y20 E0.1\n'.repeat(3_000_000)));
    await expect(pool.analyse(request(big))).rejects.toThrow('analysis took longer than 0.2 s');
    const small = join(dir, 'small.gcode');
    writeFileSync(small, 'G1 Z0.2\n');
    expect((await pool.analyse(request(small))).metadata.first_layer_height).toBe(0.2);
  });

  it('refuses work once stopped', async () => {
    pool = new AnalysisPool({ log: pino({ level: 'silent' }), timeoutMs: 60_000, maxHeapMb: 256 });
    await pool.stop();
    await expect(pool.analyse(request(FIXTURE))).rejects.toThrow('analysis is stopped');
  });
});
