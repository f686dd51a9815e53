import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FormPart } from '../../api/registry.ts';
import { ApiError } from '../../core/errors.ts';
import { realFs, type WriteFs } from './atomic-write.ts';
import { readUploadForm } from './upload-form.ts';

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'brim-form-'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function* parts(list: FormPart[]): AsyncGenerator<FormPart> {
  for (const part of list) yield part;
}

function file(filename: string, chunks: (string | Buffer)[], name = 'file'): FormPart {
  return { kind: 'file', name, filename, stream: Readable.from(chunks.map((c) => Buffer.from(c))) };
}

const field = (name: string, value: string): FormPart => ({ kind: 'field', name, value });

describe('reading an upload form', () => {
  it("keeps Moonraker's fields in any order and hashes the file while it streams", async () => {
    const seen: Record<string, string | undefined>[] = [];
    const form = await readUploadForm(
      parts([
        field('root', 'config'),
        file('a.cfg', ['[a]\n', 'x = 1\n']),
        field('checksum', 'abc'),
        field('select', 'true'),
      ]),
      (fields) => {
        seen.push({ ...fields });
        return join(dir, 'a.cfg');
      },
    );
    expect(form.fields).toEqual({ root: 'config', checksum: 'abc' });
    expect(seen).toEqual([{ root: 'config' }]);
    expect(form.file).toMatchObject({
      filename: 'a.cfg',
      size: 10,
      sha256: createHash('sha256').update('[a]\nx = 1\n').digest('hex'),
      binary: null,
    });
    await form.file!.temp.commit(join(dir, 'a.cfg'));
    expect(readFileSync(join(dir, 'a.cfg'), 'utf8')).toBe('[a]\nx = 1\n');
  });

  it('notes binary content without refusing it (the root decides)', async () => {
    const control = await readUploadForm(parts([file('b.bin', ['ab', Buffer.from([0x01])])]), () =>
      join(dir, 'b'),
    );
    expect(control.file?.binary).toBe('control byte 0x01 at offset 2');
    await control.file?.temp.discard();
    const nul = await readUploadForm(parts([file('c.bin', ['G1\n'.repeat(30_000), Buffer.from([0])])]), () =>
      join(dir, 'c'),
    );
    expect(nul.file?.binary).toBe('a NUL byte at offset 90000');
    await nul.file?.temp.discard();
  });

  it('reads past extra file parts so the client still gets its reply', async () => {
    const form = await readUploadForm(
      parts([file('a.gcode', ['G1\n']), file('b.gcode', ['G2\n']), file('c.gcode', ['G3\n'], 'other')]),
      () => join(dir, 'x'),
    );
    expect(form.file?.filename).toBe('a.gcode');
    await form.file?.temp.discard();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a full disk once the whole form is read, leaving nothing behind', async () => {
    const full: WriteFs = {
      ...realFs,
      async open(path, flags) {
        const handle = await realFs.open(path, flags);
        return new Proxy(handle, {
          get: (target, key, receiver) =>
            key === 'write'
              ? () => Promise.reject(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }))
              : Reflect.get(target, key, receiver),
        }) as FileHandle;
      },
    };
    const error = await readUploadForm(
      parts([file('big.gcode', ['G1\n', 'G1\n']), field('root', 'gcodes')]),
      () => join(dir, 'x'),
      full,
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(507);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('turns a broken stream into a 400 naming the file, leaving nothing behind', async () => {
    const stream = new Readable({
      read() {
        this.push(Buffer.from('G1 X1\n'));
        this.destroy(new Error('Unexpected end of form'));
      },
    });
    const error = await readUploadForm(
      parts([{ kind: 'file', name: 'file', filename: 'cut.gcode', stream }]),
      () => join(dir, 'x'),
    ).catch((e: unknown) => e);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).message).toMatch(
      /^Upload of 'cut.gcode' was cut short after \d+ bytes \(Unexpected end of form\); nothing was stored$/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});
