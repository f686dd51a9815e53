import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { appendFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../../core/clock.ts';
import { type Root, Roots } from './roots.ts';
import { RootWatcher, type WatchChange } from './watcher.ts';

let base: string;
let root: Root;
let watcher: RootWatcher;
let seen: WatchChange[];

beforeEach(async () => {
  base = mkdtempSync(join(tmpdir(), 'brim-watch-'));
  mkdirSync(join(base, 'gcodes', 'old'), { recursive: true });
  await writeFile(join(base, 'gcodes', 'old', 'existing.gcode'), 'G1\n');
  root = { name: 'gcodes', path: join(base, 'gcodes'), writable: true };
  seen = [];
  watcher = new RootWatcher(root, new Roots([root]), {
    quietMs: 50,
    maxWaitMs: 1000,
    clock: new SystemClock(),
    log: pino({ level: 'silent' }),
    onChanges: (changes) => seen.push(...changes),
  });
  await watcher.start();
});

afterEach(() => {
  watcher.stop();
  rmSync(base, { recursive: true, force: true });
});

async function settle(): Promise<string[]> {
  await new Promise((r) => setTimeout(r, 150));
  await watcher.flushNow();
  return seen.map((c) =>
    c.action.startsWith('move')
      ? `${c.action} ${'from' in c ? c.from : ''} -> ${c.rel}`
      : `${c.action} ${c.rel}`,
  );
}

describe('a watched root', () => {
  it('knows the files that were there before it started, without reporting them', async () => {
    expect(watcher.files()).toEqual(['old/existing.gcode']);
    expect(await settle()).toEqual([]);
  });

  it('reports a new file once, however many writes made it', async () => {
    await writeFile(join(root.path, 'new.gcode'), 'G1 X1\n');
    await appendFile(join(root.path, 'new.gcode'), 'G1 X2\n');
    expect(await settle()).toEqual(['create_file new.gcode']);
    expect(watcher.entry('new.gcode')?.size).toBe(12);
  });

  it('reports changes, renames by inode, and deletions', async () => {
    await appendFile(join(root.path, 'old', 'existing.gcode'), 'G1 X3\n');
    expect(await settle()).toEqual(['modify_file old/existing.gcode']);
    seen = [];
    await rename(join(root.path, 'old', 'existing.gcode'), join(root.path, 'moved.gcode'));
    expect(await settle()).toEqual(['move_file old/existing.gcode -> moved.gcode']);
    seen = [];
    await rm(join(root.path, 'moved.gcode'));
    expect(await settle()).toEqual(['delete_file moved.gcode']);
  });

  it('reports a folder, its new contents, its move and its removal as folder actions', async () => {
    await mkdir(join(root.path, 'usb'));
    expect(await settle()).toEqual(['create_dir usb']);
    seen = [];
    await writeFile(join(root.path, 'usb', 'a.gcode'), 'G1\n');
    expect(await settle()).toEqual(['create_file usb/a.gcode']);
    seen = [];
    await rename(join(root.path, 'usb'), join(root.path, 'stick'));
    expect(await settle()).toEqual(['move_dir usb -> stick']);
    expect(watcher.files()).toContain('stick/a.gcode');
    seen = [];
    await rm(join(root.path, 'stick'), { recursive: true });
    expect(await settle()).toEqual(['delete_dir stick']);
    expect(watcher.files()).toEqual(['old/existing.gcode']);
  });

  it('ignores thumbnails and temporary files', async () => {
    await mkdir(join(root.path, '.thumbs'));
    await writeFile(join(root.path, '.thumbs', 'a-32x32.png'), 'x');
    await writeFile(join(root.path, '.brim-tmp-abc-a.gcode'), 'x');
    expect(await settle()).toEqual([]);
  });

  it('leaves out changes an API call claimed and recorded itself', async () => {
    const release = watcher.claim(['api.gcode']);
    await writeFile(join(root.path, 'api.gcode'), 'G1\n');
    await new Promise((r) => setTimeout(r, 150));
    await watcher.record('api.gcode');
    release();
    expect(await settle()).toEqual([]);
  });

  it('still reports what someone else changed on a claimed path meanwhile', async () => {
    const release = watcher.claim(['api.gcode']);
    await writeFile(join(root.path, 'api.gcode'), 'G1\n');
    await watcher.record('api.gcode');
    await appendFile(join(root.path, 'api.gcode'), 'G1 X9\n');
    await new Promise((r) => setTimeout(r, 150));
    expect(seen).toEqual([]);
    release();
    expect(await settle()).toEqual(['modify_file api.gcode']);
  });
});
