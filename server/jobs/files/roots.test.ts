import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../core/errors.ts';
import { isGcodeName, Roots } from './roots.ts';

let base: string;
let roots: Roots;

beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'brim-roots-'));
  for (const dir of ['gcodes', 'config', 'logs', 'elsewhere']) mkdirSync(join(base, dir));
  writeFileSync(join(base, 'elsewhere', 'secret.gcode'), 'G1\n');
  symlinkSync(join(base, 'elsewhere'), join(base, 'gcodes', 'out'));
  mkdirSync(join(base, 'gcodes', 'real'));
  symlinkSync(join(base, 'gcodes', 'real'), join(base, 'gcodes', 'in'));
  roots = new Roots([
    { name: 'gcodes', path: join(base, 'gcodes'), writable: true },
    { name: 'config', path: join(base, 'config'), writable: true },
    { name: 'logs', path: join(base, 'logs'), writable: false },
  ]);
});

afterAll(() => rmSync(base, { recursive: true, force: true }));

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    return (error as ApiError).message;
  }
  throw new Error('expected an ApiError');
}

describe('request paths', () => {
  it('splits a root-prefixed path, allowing a leading slash and dropping empty and dot parts', () => {
    const resolved = roots.parse('/gcodes//sub/./a.gcode');
    expect(resolved.root.name).toBe('gcodes');
    expect(resolved.rel).toBe('sub/a.gcode');
    expect(resolved.abs).toBe(join(base, 'gcodes', 'sub', 'a.gcode'));
    expect(roots.parse('config').rel).toBe('');
  });

  it('refuses unknown roots, naming the known ones', () => {
    expect(message(() => roots.parse('etc/passwd'))).toBe(
      "Invalid path 'etc/passwd': 'etc' is not a root (roots: gcodes, config, logs)",
    );
  });

  it("refuses '..' anywhere instead of normalising it away", () => {
    expect(message(() => roots.parse('gcodes/a/../b'))).toBe(
      "Invalid path 'gcodes/a/../b': '..' is not allowed",
    );
    expect(message(() => roots.within(roots.get('gcodes')!, '..', '..'))).toBe(
      "Invalid path '..': '..' is not allowed",
    );
  });

  it('refuses absolute paths relative to a root', () => {
    expect(message(() => roots.within(roots.get('gcodes')!, '/etc/passwd', '/etc/passwd'))).toBe(
      "Invalid path '/etc/passwd': absolute paths are not allowed",
    );
  });

  it('refuses NUL, other control characters and backslashes, showing them escaped', () => {
    expect(message(() => roots.parse('gcodes/a\u0000b'))).toBe(
      "Invalid path 'gcodes/a\\x00b': it contains NUL",
    );
    expect(message(() => roots.parse('gcodes/a\nb'))).toBe(
      "Invalid path 'gcodes/a\\x0ab': it contains control character 0x0a",
    );
    expect(message(() => roots.parse('gcodes/a\\b'))).toBe(
      "Invalid path 'gcodes/a\\b': it contains a backslash",
    );
  });

  it('refuses names that are too long or look like Brim temporary files', () => {
    expect(message(() => roots.parse(`gcodes/${'x'.repeat(256)}`))).toMatch(
      /a name is longer than 255 bytes$/,
    );
    expect(message(() => roots.parse('gcodes/.brim-tmp-1-a.gcode'))).toMatch(
      /names starting with \.brim-tmp- are reserved$/,
    );
  });
});

describe('symlinks', () => {
  it('refuses a path a symlink leads out of the root, even for a file not yet there', async () => {
    await expect(roots.ensureInside(roots.parse('gcodes/out/secret.gcode'))).rejects.toThrow(
      "Invalid path 'gcodes/out/secret.gcode': a symlink leads outside the gcodes root",
    );
    await expect(roots.ensureInside(roots.parse('gcodes/out/new/file.gcode'))).rejects.toThrow(/outside/);
    expect(() => roots.ensureInsideSync(roots.parse('gcodes/out/secret.gcode'))).toThrow(/outside/);
  });

  it('accepts links that stay inside and paths that do not exist yet', async () => {
    await roots.ensureInside(roots.parse('gcodes/in/x.gcode'));
    await roots.ensureInside(roots.parse('gcodes/missing/deeper/x.gcode'));
    roots.ensureInsideSync(roots.parse('gcodes/in'));
  });
});

describe('G-code names', () => {
  it("knows Moonraker's G-code extensions, in any case", () => {
    for (const name of ['a.gcode', 'b.G', 'c.gco', 'd.ufp', 'e.NC']) expect(isGcodeName(name)).toBe(true);
    for (const name of ['a.txt', 'gcode', 'a.gcode.bak']) expect(isGcodeName(name)).toBe(false);
  });
});
