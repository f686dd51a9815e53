import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, RotatingFile } from './logger.ts';

let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('log file', () => {
  it('writes pino lines to the file', () => {
    dir = mkdtempSync(join(tmpdir(), 'brim-log-'));
    const file = join(dir, 'brim.log');
    const root = createLogger({ level: 'info', console: false, file, maxBytes: 1 << 20, keepFiles: 2 });
    root.log.child({ component: 'serial' }).warn('port vanished');
    root.close();
    const line = JSON.parse(readFileSync(file, 'utf8').trim());
    expect(line).toMatchObject({ level: 40, component: 'serial', msg: 'port vanished' });
  });

  it('rotates at the size limit and keeps only the configured number of old files', () => {
    dir = mkdtempSync(join(tmpdir(), 'brim-log-'));
    const file = join(dir, 'brim.log');
    const rotating = new RotatingFile(file, 100, 2);
    for (let i = 0; i < 10; i++) rotating.write(`${String(i).repeat(60)}\n`);
    rotating.close();
    expect(readFileSync(file, 'utf8')).toBe(`${'9'.repeat(60)}\n`);
    expect(readFileSync(`${file}.1`, 'utf8')).toBe(`${'8'.repeat(60)}\n`);
    expect(readFileSync(`${file}.2`, 'utf8')).toBe(`${'7'.repeat(60)}\n`);
    expect(existsSync(`${file}.3`)).toBe(false);
  });
});
