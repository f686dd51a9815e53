import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LineReader, MAX_LINE_BYTES } from './line-reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'brim-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function readAll(path: string, start = 0) {
  const reader = await LineReader.open(path, start);
  const out = [];
  for (let line = await reader.next(); line; line = await reader.next()) out.push(line);
  await reader.close();
  return out;
}

describe('LineReader', () => {
  it('gives each line with the byte offsets of its start and of the next line, across CRLF and UTF-8', async () => {
    const path = join(dir, 'a.gcode');
    writeFileSync(path, 'G28\r\n; caf\u00e9\nG1 X1\nM84');
    expect(await readAll(path)).toEqual([
      { text: 'G28', start: 0, end: 5 },
      { text: '; caf\u00e9', start: 5, end: 13 },
      { text: 'G1 X1', start: 13, end: 19 },
      { text: 'M84', start: 19, end: 22 },
    ]);
  });

  it('starts at a byte offset, which is how a resume continues a file', async () => {
    const path = join(dir, 'b.gcode');
    writeFileSync(path, 'G28\nG1 X1\nG1 X2\n');
    expect((await readAll(path, 4)).map((l) => [l.text, l.start])).toEqual([
      ['G1 X1', 4],
      ['G1 X2', 10],
    ]);
  });

  it('reads a file much larger than its buffer with exact offsets', async () => {
    const path = join(dir, 'c.gcode');
    const lines = Array.from({ length: 20_000 }, (_, i) => `G1 X${i % 200} Y${i % 150} E${i}`);
    writeFileSync(path, `${lines.join('\n')}\n`);
    const read = await readAll(path);
    expect(read).toHaveLength(lines.length);
    let offset = 0;
    read.forEach((line, i) => {
      expect(line.text).toBe(lines[i]);
      expect(line.start).toBe(offset);
      offset = line.end;
    });
  });

  it('refuses a line longer than 1 MiB, naming the byte where it starts', async () => {
    const path = join(dir, 'd.gcode');
    writeFileSync(path, `G28\n${'X'.repeat(MAX_LINE_BYTES + 10)}\n`);
    const reader = await LineReader.open(path);
    await reader.next();
    await expect(reader.next()).rejects.toThrow(/the line at byte 4 is longer than 1048576 bytes/);
    await reader.close();
  });
});
