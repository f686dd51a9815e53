// Watches a writable root for changes made by other programs (scp, Samba, a USB copy) and turns the
// raw inotify events into Moonraker's file actions by comparing with what it last saw.
//
// One non-recursive fs.watch per folder: Node 20's recursive mode on Linux adds an inotify watch per
// *file* and stats synchronously on the main loop, which a gcodes folder with thousands of files
// and a print streaming beside it can do without.
import { type FSWatcher, watch } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../../core/clock.ts';
import type { Logger } from '../../core/logger.ts';
import { isTempName, type Root, type Roots, THUMBS_DIR } from './roots.ts';

export interface Entry {
  dir: boolean;
  size: number;
  mtimeMs: number;
  ino: number;
  /** A symlink (to something inside the root); its folder is not descended into. */
  link: boolean;
}

export type WatchChange =
  | { action: 'create_file' | 'create_dir' | 'modify_file'; rel: string; entry: Entry }
  | { action: 'delete_file' | 'delete_dir'; rel: string }
  | { action: 'move_file' | 'move_dir'; rel: string; from: string; entry: Entry };

export interface WatcherOptions {
  /** A path is looked at once no event has arrived for this long... */
  quietMs: number;
  /** ...or once its first event is this old, so a folder that never goes quiet is still reported. */
  maxWaitMs: number;
  clock: Clock;
  log: Logger;
  onChanges(changes: WatchChange[]): void;
}

/** Thumbnails are Brim's own output and temporary files are half-written: neither is news. */
export function isIgnored(rel: string): boolean {
  return rel.split('/').some((part) => part === THUMBS_DIR || isTempName(part));
}

function depth(rel: string): number {
  return rel === '' ? 0 : rel.split('/').length;
}

function isUnder(rel: string, ancestor: string): boolean {
  return ancestor === '' || rel === ancestor || rel.startsWith(`${ancestor}/`);
}

export class RootWatcher {
  private readonly entries = new Map<string, Entry>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly pending = new Set<string>();
  private readonly claims = new Map<string, number>();
  /** Events for claimed paths, looked at again once the claim is released. */
  private readonly parked = new Set<string>();
  private timer: TimerHandle | null = null;
  private firstEventAt = 0;
  private flushing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    readonly root: Root,
    private readonly roots: Roots,
    private readonly options: WatcherOptions,
  ) {}

  async start(): Promise<void> {
    await this.scan('');
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
    for (const watcher of this.watchers.values()) watcher.close();
    this.watchers.clear();
  }

  entry(rel: string): Entry | undefined {
    return this.entries.get(rel);
  }

  /** Every known regular file, for the start-up metadata sweep. */
  files(): string[] {
    return [...this.entries].filter(([, e]) => !e.dir).map(([rel]) => rel);
  }

  /**
   * Marks paths an API call is about to change: their events wait until `release`, by which time
   * `record` has brought the index up to date, so nothing is reported twice.
   */
  claim(rels: readonly string[]): () => void {
    for (const rel of rels) this.claims.set(rel, (this.claims.get(rel) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const rel of rels) {
        const count = (this.claims.get(rel) ?? 1) - 1;
        if (count <= 0) this.claims.delete(rel);
        else this.claims.set(rel, count);
      }
      for (const rel of [...this.parked]) {
        if (this.isClaimed(rel)) continue;
        this.parked.delete(rel);
        this.enqueue(rel);
      }
    };
  }

  /** Reads a path again after an API call changed it (a folder with its contents). */
  async record(rel: string): Promise<void> {
    if (rel === '' || isIgnored(rel)) return;
    const now = await this.stat(rel);
    this.forget(rel);
    if (!now) return;
    this.entries.set(rel, now);
    if (now.dir && !now.link) await this.scan(rel);
  }

  /** Looks at whatever is pending now instead of after the quiet time. */
  async flushNow(): Promise<void> {
    await this.flushing;
    this.timer?.cancel();
    this.timer = null;
    await this.flush();
    await this.flushing;
  }

  private isClaimed(rel: string): boolean {
    for (const claimed of this.claims.keys()) {
      if (isUnder(rel, claimed)) return true;
    }
    return false;
  }

  private forget(rel: string): void {
    for (const key of [...this.entries.keys()]) {
      if (key === rel || key.startsWith(`${rel}/`)) this.entries.delete(key);
    }
    for (const [key, watcher] of [...this.watchers]) {
      if (rel !== '' && (key === rel || key.startsWith(`${rel}/`))) {
        watcher.close();
        this.watchers.delete(key);
      }
    }
  }

  /** Watches a folder, then records its contents (watch first, so nothing slips in between). */
  private async scan(rel: string): Promise<void> {
    if (this.stopped) return;
    this.watchFolder(rel);
    let names: string[];
    try {
      names = await readdir(rel === '' ? this.root.path : join(this.root.path, rel));
    } catch (error) {
      this.options.log.debug({ err: error, path: rel }, 'folder vanished while scanning');
      return;
    }
    for (const name of names) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (isIgnored(child)) continue;
      const entry = await this.stat(child);
      if (!entry) continue;
      this.entries.set(child, entry);
      if (entry.dir && !entry.link) await this.scan(child);
    }
  }

  private watchFolder(rel: string): void {
    if (this.watchers.has(rel)) return;
    const abs = rel === '' ? this.root.path : join(this.root.path, rel);
    try {
      const watcher = watch(abs, { persistent: false }, (_event, filename) => {
        const name = typeof filename === 'string' ? filename : null;
        const child = name === null ? rel : rel === '' ? name : `${rel}/${name}`;
        if (!isIgnored(child)) this.enqueue(child);
      });
      watcher.on('error', () => {
        watcher.close();
        if (this.watchers.get(rel) === watcher) this.watchers.delete(rel);
        this.enqueue(rel);
      });
      this.watchers.set(rel, watcher);
    } catch (error) {
      this.options.log.warn(
        { err: error, path: abs },
        'cannot watch folder; changes in it are seen by metascan only',
      );
    }
  }

  /** lstat, following a link only when it stays inside the root; null when absent or out of bounds. */
  private async stat(rel: string): Promise<Entry | null> {
    const abs = join(this.root.path, rel);
    try {
      let info = await lstat(abs);
      const link = info.isSymbolicLink();
      if (link) {
        if (!(await this.roots.linkStaysInside(this.root, abs))) return null;
        info = await stat(abs);
      }
      if (!info.isFile() && !info.isDirectory()) return null;
      return { dir: info.isDirectory(), size: info.size, mtimeMs: info.mtimeMs, ino: info.ino, link };
    } catch {
      return null;
    }
  }

  private enqueue(rel: string): void {
    if (this.stopped) return;
    if (this.pending.size === 0 && this.timer === null) this.firstEventAt = this.options.clock.now();
    this.pending.add(rel);
    this.schedule();
  }

  private schedule(): void {
    this.timer?.cancel();
    const waitedMs = (this.options.clock.now() - this.firstEventAt) * 1000;
    const delay = Math.max(0, Math.min(this.options.quietMs, this.options.maxWaitMs - waitedMs));
    this.timer = this.options.clock.setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, delay);
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    this.flushing = this.process(batch)
      .then((changes) => {
        if (changes.length > 0 && !this.stopped) this.options.onChanges(changes);
      })
      .catch((error: unknown) => this.options.log.error({ err: error }, 'file watcher failed'))
      .finally(() => {
        this.flushing = null;
        if (this.pending.size > 0 && !this.stopped) {
          this.firstEventAt = this.options.clock.now();
          this.schedule();
        }
      });
  }

  private async process(batch: string[]): Promise<WatchChange[]> {
    batch.sort((a, b) => depth(a) - depth(b) || a.localeCompare(b));
    const created: { rel: string; entry: Entry }[] = [];
    const deleted: { rel: string; entry: Entry }[] = [];
    const modified: { rel: string; entry: Entry }[] = [];
    for (const rel of batch) {
      if (rel === '' || this.stopped) continue;
      if (this.isClaimed(rel)) {
        this.parked.add(rel);
        continue;
      }
      const now = await this.stat(rel);
      // An API call may have claimed the path while we were looking; it reports the change itself.
      if (this.isClaimed(rel)) {
        this.parked.add(rel);
        continue;
      }
      const before = this.entries.get(rel);
      if (!before && !now) continue;
      if (before && !now) {
        this.forget(rel);
        deleted.push({ rel, entry: before });
        continue;
      }
      if (!now) continue;
      const replaced = before && (before.dir !== now.dir || (now.dir && before.ino !== now.ino));
      if (before && replaced) {
        this.forget(rel);
        deleted.push({ rel, entry: before });
      }
      if (!before || replaced) {
        this.entries.set(rel, now);
        if (now.dir && !now.link) await this.scan(rel);
        created.push({ rel, entry: now });
        continue;
      }
      this.entries.set(rel, now);
      if (
        !now.dir &&
        (before.size !== now.size || before.mtimeMs !== now.mtimeMs || before.ino !== now.ino)
      ) {
        modified.push({ rel, entry: now });
      }
    }
    return pairMoves(created, deleted, modified);
  }
}

/** A rename shows up as one path gone and another new with the same inode: report it as a move. */
function pairMoves(
  created: { rel: string; entry: Entry }[],
  deleted: { rel: string; entry: Entry }[],
  modified: { rel: string; entry: Entry }[],
): WatchChange[] {
  const changes: WatchChange[] = [];
  const gone = new Map(deleted.map((d) => [d.entry.ino, d]));
  const arrived = (list: { rel: string; entry: Entry }[]) =>
    list.filter((c) => {
      const source = gone.get(c.entry.ino);
      if (!source || source.entry.dir !== c.entry.dir) return true;
      gone.delete(c.entry.ino);
      changes.push({
        action: c.entry.dir ? 'move_dir' : 'move_file',
        rel: c.rel,
        from: source.rel,
        entry: c.entry,
      });
      return false;
    });
  const newOnes = arrived(created);
  const changedOnes = arrived(modified);
  for (const d of gone.values())
    changes.push({ action: d.entry.dir ? 'delete_dir' : 'delete_file', rel: d.rel });
  for (const c of newOnes)
    changes.push({ action: c.entry.dir ? 'create_dir' : 'create_file', rel: c.rel, entry: c.entry });
  for (const c of changedOnes) changes.push({ action: 'modify_file', rel: c.rel, entry: c.entry });
  return changes;
}
