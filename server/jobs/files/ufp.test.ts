import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { zip } from '../../../test/fixtures/zip.ts';
import { TempFile } from './atomic-write.ts';
import { extractEntry, UfpError } from './ufp.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brim-ufp-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('UFP packages', () => {
  it('extracts a deflated and a stored entry', async () => {
    const gcode = Buffer.from(';FLAVOR:Marlin\nG1 X1\n'.repeat(1000));
    const png = Buffer.from('89504e470d0a1a0a', 'hex');
    writeFileSync(
      join(dir, 'a.ufp'),
      zip([
        { name: '/3D/model.gcode', data: gcode, deflate: true },
        { name: 'Metadata/thumbnail.png', data: png },
      ]),
    );
    const out = await TempFile.create(join(dir, 'a.gcode'));
    expect(await extractEntry(join(dir, 'a.ufp'), '3D/model.gcode', out)).toBe(true);
    await out.commit(join(dir, 'a.gcode'));
    expect(readFileSync(join(dir, 'a.gcode')).equals(gcode)).toBe(true);
    const thumb = await TempFile.create(join(dir, 't.png'));
    expect(await extractEntry(join(dir, 'a.ufp'), 'Metadata/thumbnail.png', thumb)).toBe(true);
    await thumb.commit(join(dir, 't.png'));
    expect(readFileSync(join(dir, 't.png')).equals(png)).toBe(true);
  });

  it('says when an entry is missing, and refuses what is not a zip', async () => {
    writeFileSync(join(dir, 'b.ufp'), zip([{ name: 'other.txt', data: Buffer.from('x') }]));
    const out = await TempFile.create(join(dir, 'b.gcode'));
    expect(await extractEntry(join(dir, 'b.ufp'), '3D/model.gcode', out)).toBe(false);
    writeFileSync(join(dir, 'c.ufp'), 'G1 X1\n');
    await expect(extractEntry(join(dir, 'c.ufp'), '3D/model.gcode', out)).rejects.toBeInstanceOf(UfpError);
    await out.discard();
  });
});
