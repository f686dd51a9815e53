import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  copyFileAtomic,
  isDiskFull,
  realFs,
  TempFile,
  type WriteFs,
  writeFileAtomic,
} from './atomic-write.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brim-atomic-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A file system whose writes fail with ENOSPC once `budget` bytes have been written. */
function fullAfter(budget: number): WriteFs {
  let written = 0;
  return {
    ...realFs,
    async open(path, flags) {
      const handle = await realFs.open(path, flags);
      const write = handle.write.bind(handle) as (...args: unknown[]) => Promise<{ bytesWritten: number }>;
      return new Proxy(handle, {
        get(target, key, receiver) {
          if (key !== 'write') return Reflect.get(target, key, receiver);
          return async (buffer: Uint8Array, offset: number, length: number) => {
            if (written + length > budget) {
              throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
            }
            written += length;
            return write(buffer, offset, length);
          };
        },
      }) as FileHandle;
    },
  };
}

describe('atomic writes', () => {
  it('replaces a file and leaves no temporary file behind', async () => {
    const target = join(dir, 'a.gcode');
    writeFileSync(target, 'old');
    await writeFileAtomic(target, Buffer.from('new'));
    expect(readFileSync(target, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['a.gcode']);
  });

  it('keeps the old file intact when the disk fills up mid-write', async () => {
    const target = join(dir, 'a.gcode');
    writeFileSync(target, 'old contents');
    const error = await writeFileAtomic(target, Buffer.alloc(10_000, 65), fullAfter(4096)).catch((e) => e);
    expect(isDiskFull(error)).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('old contents');
    expect(readdirSync(dir)).toEqual(['a.gcode']);
  });

  it('writes the temporary file beside the target, so the rename stays on one file system', async () => {
    const target = join(dir, 'b.gcode');
    const temp = await TempFile.create(target);
    expect(temp.path.startsWith(join(dir, '.brim-tmp-'))).toBe(true);
    await temp.write(Buffer.from('abc'));
    expect(readFileSync(target, { flag: 'a+' }).length).toBe(0);
    await temp.commit(target);
    expect(readFileSync(target, 'utf8')).toBe('abc');
    expect(temp.size).toBe(3);
  });

  it('discards a temporary file on request', async () => {
    const temp = await TempFile.create(join(dir, 'c.gcode'));
    await temp.write(Buffer.from('abc'));
    await temp.discard();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('copies atomically over an existing file', async () => {
    writeFileSync(join(dir, 'src'), 'source');
    writeFileSync(join(dir, 'dst'), 'old');
    await copyFileAtomic(join(dir, 'src'), join(dir, 'dst'));
    expect(readFileSync(join(dir, 'dst'), 'utf8')).toBe('source');
    expect(readdirSync(dir).sort()).toEqual(['dst', 'src']);
  });
});
