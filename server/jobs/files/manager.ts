// The file manager: roots, listings, file operations, uploads, metadata and change notifications.
import { randomUUID } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { cp, lstat, mkdir, readdir, rename, rm, rmdir, stat, statfs } from 'node:fs/promises';
import { basename, dirname, extname, join, posix } from 'node:path';
import { parseRange } from '../../api/http-range.ts';
import type { FormPart } from '../../api/registry.ts';
import { HttpReply } from '../../api/registry.ts';
import type { Host } from '../../core/component.ts';
import { ApiError, errors } from '../../core/errors.ts';
import type { MotionLimits } from './analyse-file.ts';
import type { AnalysisPool } from './analysis-pool.ts';
import { copyFileAtomic, isDiskFull, syncDir, TempFile } from './atomic-write.ts';
import type {
  FileAction,
  FileItem,
  FileListChange,
  FileManager,
  GcodeMetadata,
  PrintRequestHandler,
  StoredMetadata,
  ThumbnailInfo,
  UploadOptions,
  UploadResult,
} from './file-manager.ts';
import type { MetadataStore } from './metadata-store.ts';
import {
  isFileSync,
  isGcodeName,
  isMissing,
  isTempName,
  printable,
  type ResolvedPath,
  type Root,
  type RootName,
  Roots,
  THUMBS_DIR,
} from './roots.ts';
import { extractEntry, UFP_GCODE, UFP_THUMBNAIL, UfpError } from './ufp.ts';
import { readUploadForm } from './upload-form.ts';
import { RootWatcher, type WatchChange } from './watcher.ts';
import { writeZip, type ZipEntry } from './zip.ts';

export interface ManagerOptions {
  host: Host;
  roots: readonly Root[];
  store: MetadataStore;
  pool: AnalysisPool;
  limits: () => MotionLimits;
  /** Quiet time before a change by another program is reported. */
  watchQuietMs: number;
}

/** Moonraker's Directory Info / File Info objects in get_directory. */
interface DirectoryListing {
  dirs: { dirname: string; modified: number; size: number; permissions: string }[];
  files: ({ filename: string; modified: number; size: number; permissions: string } & Record<
    string,
    unknown
  >)[];
  disk_usage: { total: number; used: number; free: number };
  root_info: { name: string; permissions: string };
}

const GONE = { modified: 0, size: 0, permissions: '' } as const;

/** Content types for downloads; Mainsail parses .json, browsers show images. */
const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.svg': 'image/svg+xml',
  '.css': 'text/css',
  '.txt': 'text/plain; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.cfg': 'text/plain; charset=utf-8',
  '.conf': 'text/plain; charset=utf-8',
  '.toml': 'text/plain; charset=utf-8',
  '.gcode': 'text/plain; charset=utf-8',
};

export class FileManagerService implements FileManager {
  readonly roots: Roots;
  private readonly gcodes: Root;
  private readonly watchers = new Map<RootName, RootWatcher>();
  private readonly inflight = new Map<string, Promise<StoredMetadata | null>>();
  private active: string | null = null;
  private printHandler: PrintRequestHandler | null = null;
  private external: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly options: ManagerOptions) {
    this.roots = new Roots(options.roots);
    this.gcodes = this.roots.get('gcodes')!;
    for (const root of options.roots) {
      if (!root.writable) continue;
      this.watchers.set(
        root.name,
        new RootWatcher(root, this.roots, {
          quietMs: options.watchQuietMs,
          maxWaitMs: options.watchQuietMs * 20,
          clock: options.host.clock,
          log: options.host.log,
          onChanges: (changes) => {
            this.external = this.external
              .then(() => this.onExternalChanges(root, changes))
              .catch((error: unknown) => this.log.error({ err: error }, 'handling a file change failed'));
          },
        }),
      );
    }
  }

  private get log() {
    return this.options.host.log;
  }

  async start(): Promise<void> {
    for (const root of this.roots.list) if (root.writable) await this.removeStaleTemps(root.path);
    for (const watcher of this.watchers.values()) await watcher.start();
    // Analysing every file can take minutes on a Pi; the daemon is ready long before that.
    void this.sweep().catch((error: unknown) => {
      if (!this.stopped) this.log.warn({ err: error }, 'metadata sweep stopped');
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const watcher of this.watchers.values()) watcher.stop();
    await this.options.pool.stop();
    await this.external;
  }

  /** A crash mid-write leaves its temporary file (the target is untouched); nothing else uses them. */
  private async removeStaleTemps(dir: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (isTempName(entry.name)) {
        this.log.info({ path }, 'removing a temporary file left by an interrupted write');
        await rm(path, { force: true }).catch(() => undefined);
      } else if (entry.isDirectory()) await this.removeStaleTemps(path);
    }
  }

  // ---- the job runner's interface -------------------------------------------------------------

  resolveGcode(path: string): string {
    const target = this.roots.within(this.gcodes, path, path);
    if (target.rel === '' || !isGcodeName(target.rel)) {
      throw errors.badRequest(`Invalid file '${printable(path)}': not a G-code file name`);
    }
    this.roots.ensureInsideSync(target);
    if (!isFileSync(target.abs)) throw errors.notFound(`File does not exist: gcodes/${target.rel}`);
    return target.abs;
  }

  async getMetadata(path: string): Promise<StoredMetadata | null> {
    const target = this.roots.within(this.gcodes, path, path);
    if (target.rel === '' || !isGcodeName(target.rel)) return null;
    await this.roots.ensureInside(target);
    const info = await statFile(target.abs);
    if (!info) return null;
    return this.options.store.fresh(target.rel, info.size, info.mtimeMs) ?? this.analyse(target.rel);
  }

  setActiveFile(path: string | null): void {
    this.active = path === null ? null : this.roots.within(this.gcodes, path, path).rel;
  }

  activeFile(): string | null {
    return this.active;
  }

  onPrintRequested(handler: PrintRequestHandler): void {
    this.printHandler = handler;
  }

  recordJob(path: string, jobId: string, startTime: number): void {
    this.options.store.recordJob(this.roots.within(this.gcodes, path, path).rel, jobId, startTime);
  }

  // ---- listings ------------------------------------------------------------------------------

  listRoots(): { name: string; path: string; permissions: string }[] {
    return this.roots.list.map((r) => ({
      name: r.name,
      path: r.path,
      permissions: this.roots.permissions(r),
    }));
  }

  async list(
    rootName: string,
  ): Promise<{ path: string; modified: number; size: number; permissions: string }[]> {
    const root = this.roots.get(rootName);
    if (!root) throw errors.badRequest(`Invalid root '${printable(rootName)}' (roots: ${this.rootNames()})`);
    const out: { path: string; modified: number; size: number; permissions: string }[] = [];
    const permissions = this.roots.permissions(root);
    const visited = new Set<string>();
    const walk = async (rel: string, abs: string): Promise<void> => {
      const here = await stat(abs).catch(() => null);
      if (!here) return;
      // A link back up the tree must not loop forever.
      const key = `${here.dev}:${here.ino}`;
      if (visited.has(key)) return;
      visited.add(key);
      for (const name of await readdir(abs).catch(() => [] as string[])) {
        if (isTempName(name) || name === '.git') continue;
        const childRel = rel === '' ? name : `${rel}/${name}`;
        const childAbs = join(abs, name);
        const info = await this.statListed(root, childAbs);
        if (!info) continue;
        if (info.isDirectory()) await walk(childRel, childAbs);
        else if (root !== this.gcodes || isGcodeName(name)) {
          out.push({ path: childRel, modified: info.mtimeMs / 1000, size: info.size, permissions });
        }
      }
    };
    await walk('', root.path);
    return out.sort((a, b) => (a.path.toLowerCase() < b.path.toLowerCase() ? -1 : 1));
  }

  async getDirectory(path: string, extended: boolean): Promise<DirectoryListing> {
    const target = this.roots.parse(path);
    await this.roots.ensureInside(target);
    const here = await stat(target.abs).catch(() => null);
    if (!here?.isDirectory()) throw errors.notFound(`Directory does not exist: ${shown(target)}`);
    const permissions = this.roots.permissions(target.root);
    const listing: DirectoryListing = {
      dirs: [],
      files: [],
      disk_usage: await diskUsage(target.abs),
      root_info: { name: target.root.name, permissions },
    };
    for (const name of await readdir(target.abs)) {
      if (isTempName(name)) continue;
      const info = await this.statListed(target.root, join(target.abs, name));
      if (!info) continue;
      const facts = { modified: info.mtimeMs / 1000, size: info.size, permissions };
      if (info.isDirectory()) {
        listing.dirs.push({ dirname: name, ...facts });
        continue;
      }
      const entry: DirectoryListing['files'][number] = { filename: name, ...facts };
      if (extended && target.root === this.gcodes && isGcodeName(name)) {
        const rel = target.rel === '' ? name : `${target.rel}/${name}`;
        const stored = this.options.store.fresh(rel, info.size, info.mtimeMs);
        // Moonraker: the metadata's `filename` (a path) must not replace the entry's bare name.
        if (stored) Object.assign(entry, stored.metadata, { filename: name });
        else this.analyseLater(rel);
      }
      listing.files.push(entry);
    }
    return listing;
  }

  // ---- metadata ------------------------------------------------------------------------------

  async metadata(filename: string): Promise<GcodeMetadata> {
    const stored = await this.getMetadata(filename);
    if (!stored) throw errors.notFound(`Metadata not available for <${printable(filename)}>`);
    return stored.metadata;
  }

  async metascan(filename: string): Promise<GcodeMetadata> {
    const target = this.roots.within(this.gcodes, filename, filename);
    await this.roots.ensureInside(target);
    if (!(await statFile(target.abs))) throw errors.notFound(`File '${printable(filename)}' does not exist`);
    if (!isGcodeName(target.rel))
      throw errors.badRequest(`File '${printable(filename)}' is not a G-code file`);
    const stored = await this.analyse(target.rel, true);
    if (!stored) throw errors.notFound(`File '${printable(filename)}' does not exist`);
    return stored.metadata;
  }

  async thumbnails(
    filename: string,
  ): Promise<(Omit<ThumbnailInfo, 'relative_path'> & { thumbnail_path: string })[]> {
    const stored = await this.getMetadata(filename);
    const dir = posix.dirname(stored?.path ?? '');
    return (stored?.metadata.thumbnails ?? []).map(({ relative_path, ...size }) => ({
      ...size,
      thumbnail_path: dir === '.' ? relative_path : `${dir}/${relative_path}`,
    }));
  }

  // ---- downloads -----------------------------------------------------------------------------

  /** A file, or one byte range of it when `range` (the Range header) asks for one. */
  async download(rootName: string, path: string, range?: string): Promise<HttpReply> {
    const root = this.roots.get(rootName);
    if (!root) throw errors.notFound(`File does not exist: ${printable(rootName)}/${printable(path)}`);
    const target = this.roots.within(root, path);
    await this.roots.ensureInside(target);
    const info = await statFile(target.abs);
    if (!info) throw errors.notFound(`File does not exist: ${shown(target)}`);
    const type = CONTENT_TYPES[extname(target.rel).toLowerCase()] ?? 'application/octet-stream';
    const common = { 'accept-ranges': 'bytes', 'cache-control': 'no-cache' };
    const wanted = parseRange(range, info.size);
    if (wanted.kind === 'unsatisfiable') {
      const message = `${shown(target)}: ${wanted.reason}`;
      return new HttpReply(
        416,
        { error: { code: 416, message, traceback: '' } },
        { ...common, 'content-type': 'application/json', 'content-range': `bytes */${info.size}` },
      );
    }
    if (wanted.kind === 'partial') {
      const { start, end } = wanted.range;
      return new HttpReply(206, createReadStream(target.abs, { start, end }), {
        ...common,
        'content-type': type,
        'content-length': String(end - start + 1),
        'content-range': `bytes ${start}-${end}/${info.size}`,
      });
    }
    return new HttpReply(200, createReadStream(target.abs), {
      ...common,
      'content-type': type,
      'content-length': String(info.size),
    });
  }

  // ---- changes through the API ---------------------------------------------------------------

  async deleteFile(path: string): Promise<{ item: FileItem; action: 'delete_file' }> {
    const target = this.writableTarget(this.roots.parse(path), 'delete');
    await this.roots.ensureInside(target);
    const info = await lstat(target.abs).catch(() => null);
    if (!info) throw errors.notFound(`File does not exist: ${shown(target)}`);
    if (info.isDirectory()) throw errors.badRequest(`${shown(target)} is a folder; use delete_directory`);
    this.refuseActive(target, 'File currently in use');
    await this.change(target.root, [target.rel], async () => {
      await rm(target.abs);
      await syncDir(dirname(target.abs));
      if (target.root === this.gcodes) await this.dropMetadata(target.rel);
    });
    const change = { action: 'delete_file' as const, item: { ...this.itemName(target), ...GONE } };
    this.notify(change);
    return change;
  }

  async createDirectory(path: string): Promise<{ item: FileItem; action: 'create_dir' }> {
    const target = this.writableTarget(this.roots.parse(path), 'create a folder in');
    if (target.rel === '') throw errors.badRequest(`${shown(target)} is a root and exists already`);
    await this.roots.ensureInside(target);
    if (!(await stat(dirname(target.abs)).catch(() => null))?.isDirectory()) {
      throw errors.notFound(`Cannot create ${shown(target)}: its parent folder does not exist`);
    }
    await this.change(target.root, [target.rel], async () => {
      try {
        await mkdir(target.abs);
      } catch (error) {
        throw fsError(error, `Cannot create folder ${shown(target)}`);
      }
    });
    const change = { action: 'create_dir' as const, item: await this.item(target) };
    this.notify(change);
    return change;
  }

  async deleteDirectory(path: string, force: boolean): Promise<{ item: FileItem; action: 'delete_dir' }> {
    const target = this.writableTarget(this.roots.parse(path), 'delete');
    if (target.rel === '') throw errors.badRequest(`Cannot delete root directory ${target.root.name}`);
    await this.roots.ensureInside(target);
    const info = await lstat(target.abs).catch(() => null);
    if (!info?.isDirectory()) throw errors.notFound(`Directory does not exist: ${shown(target)}`);
    this.refuseActive(target, 'File currently in use');
    await this.change(target.root, [target.rel], async () => {
      try {
        if (force) await rm(target.abs, { recursive: true });
        else await rmdir(target.abs);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY') {
          throw errors.badRequest(
            `Directory ${shown(target)} is not empty; delete with force to remove its contents`,
          );
        }
        throw fsError(error, `Cannot delete ${shown(target)}`);
      }
      if (target.root === this.gcodes) this.options.store.deleteTree(target.rel);
    });
    const change = { action: 'delete_dir' as const, item: { ...this.itemName(target), ...GONE } };
    this.notify(change);
    return change;
  }

  async move(sourcePath: string, destPath: string): Promise<FileListChange> {
    const source = this.writableTarget(this.roots.parse(sourcePath), 'move from');
    const requested = this.writableTarget(this.roots.parse(destPath), 'move to');
    await this.roots.ensureInside(source);
    await this.roots.ensureInside(requested);
    if (source.rel === '') throw errors.badRequest(`Cannot move root directory ${source.root.name}`);
    const info = await lstat(source.abs).catch(() => null);
    if (!info) throw errors.notFound(`File ${shown(source)} does not exist`);
    const dest = await this.landing(source, requested);
    if (dest.root === source.root && dest.rel === source.rel) return this.movedChange(info, source, dest);
    if (info.isDirectory() && isUnder(dest.rel, source.rel) && dest.root === source.root) {
      throw errors.badRequest(`Cannot move ${shown(source)} into itself (${shown(dest)})`);
    }
    this.refuseActive(source, 'File currently in use');
    this.refuseActive(dest, 'File currently in use');
    const before = await lstat(dest.abs).catch(() => null);
    if (before?.isDirectory() && !info.isDirectory()) throw errors.badRequest(`${shown(dest)} is a folder`);
    await this.changeBoth(source, dest, async () => {
      await this.requireParent(dest);
      try {
        await rename(source.abs, dest.abs);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV')
          throw fsError(error, `Cannot move ${shown(source)}`);
        // Another file system (a USB stick mounted in the root): copy, then remove the original.
        if (info.isDirectory()) await cp(source.abs, dest.abs, { recursive: true, errorOnExist: true });
        else await copyFileAtomic(source.abs, dest.abs);
        await rm(source.abs, { recursive: true });
      }
      await syncDir(dirname(dest.abs));
      if (dirname(dest.abs) !== dirname(source.abs)) await syncDir(dirname(source.abs));
      await this.carryMetadata(source, dest, info.isDirectory());
    });
    const change = await this.movedChange(info, source, dest);
    this.notify(change);
    return change;
  }

  async copy(sourcePath: string, destPath: string): Promise<{ item: FileItem; action: FileAction }> {
    const source = this.roots.parse(sourcePath);
    const requested = this.writableTarget(this.roots.parse(destPath), 'copy to');
    await this.roots.ensureInside(source);
    await this.roots.ensureInside(requested);
    const info = await stat(source.abs).catch(() => null);
    if (!info) throw errors.notFound(`File ${shown(source)} does not exist`);
    const dest = await this.landing(source, requested);
    if (info.isDirectory() && dest.root === source.root && isUnder(dest.rel, source.rel)) {
      throw errors.badRequest(`Cannot copy ${shown(source)} into itself (${shown(dest)})`);
    }
    const before = await lstat(dest.abs).catch(() => null);
    if (info.isDirectory() && before) throw errors.badRequest(`Cannot copy to ${shown(dest)}: it exists`);
    if (!info.isDirectory() && before?.isDirectory()) throw errors.badRequest(`${shown(dest)} is a folder`);
    this.refuseActive(dest, 'File currently in use');
    const action: FileAction = info.isDirectory() ? 'create_dir' : before ? 'modify_file' : 'create_file';
    await this.change(dest.root, [dest.rel], async () => {
      await this.requireParent(dest);
      try {
        if (info.isDirectory()) await cp(source.abs, dest.abs, { recursive: true, errorOnExist: true });
        else await copyFileAtomic(source.abs, dest.abs);
      } catch (error) {
        throw fsError(error, `Cannot copy ${shown(source)} to ${shown(dest)}`);
      }
      if (dest.root === this.gcodes) {
        if (info.isDirectory()) this.sweepLater(dest.rel);
        else if (isGcodeName(dest.rel)) await this.analyse(dest.rel);
      }
    });
    const change = { action, item: await this.item(dest) };
    this.notify(change);
    return change;
  }

  /** server.files.zip: files and folders (root-prefixed) into one archive, named `root/path` inside. */
  async zip(
    items: readonly string[],
    destPath: string | undefined,
    storeOnly: boolean,
  ): Promise<{ destination: FileItem; action: 'zip_files' }> {
    if (items.length === 0) throw errors.badRequest('No items to zip: give at least one path in items');
    const dest = this.writableTarget(
      this.roots.parse(destPath ?? `config/collection-${stamp(new Date())}.zip`),
      'zip to',
    );
    await this.roots.ensureInside(dest);
    if (dest.rel === '') throw errors.badRequest(`Cannot zip to root directory ${dest.root.name}`);
    const existing = await lstat(dest.abs).catch(() => null);
    if (existing?.isDirectory()) throw errors.badRequest(`${shown(dest)} is a folder`);
    this.refuseActive(dest, 'File currently in use');

    const entries: ZipEntry[] = [];
    const seen = new Set<string>();
    const add = async (root: Root, rel: string, abs: string): Promise<void> => {
      const info = await this.statListed(root, abs);
      if (!info) return;
      const name = `${root.name}/${rel}`;
      if (info.isFile()) {
        if (!seen.has(name) && abs !== dest.abs) entries.push({ name, abs, mtime: info.mtime });
        seen.add(name);
        return;
      }
      for (const child of (await readdir(abs)).sort()) {
        if (isTempName(child)) continue;
        await add(root, rel === '' ? child : `${rel}/${child}`, join(abs, child));
      }
    };
    for (const item of items) {
      const target = this.roots.parse(item);
      await this.roots.ensureInside(target);
      if (!(await this.statListed(target.root, target.abs)))
        throw errors.notFound(`File ${shown(target)} does not exist`);
      await add(target.root, target.rel, target.abs);
    }
    if (entries.length === 0)
      throw errors.badRequest(`Nothing to zip: ${items.map(printable).join(', ')} hold no files`);

    await this.change(dest.root, [dest.rel], async () => {
      await this.requireParent(dest);
      const out = await TempFile.create(dest.abs).catch((error: unknown) => {
        throw fsError(error, `Cannot create ${shown(dest)}`);
      });
      try {
        await writeZip(out, entries, storeOnly);
        await out.commit(dest.abs);
      } catch (error) {
        await out.discard();
        if (error instanceof Error && /ZIP64|at most/.test(error.message))
          throw errors.badRequest(error.message);
        throw fsError(error, `Cannot write ${shown(dest)}`);
      }
    });
    const destination = await this.item(dest);
    this.notify({ action: existing ? 'modify_file' : 'create_file', item: destination });
    return { destination, action: 'zip_files' };
  }

  // ---- uploads -------------------------------------------------------------------------------

  async upload(form: AsyncIterable<FormPart>, options: UploadOptions): Promise<UploadResult> {
    const received = await readUploadForm(form, (fields) => {
      // Stage in the root the upload names (same file system, so the final rename is atomic).
      const root = this.roots.get((fields.root ?? 'gcodes').toLowerCase());
      return join(root?.writable ? root.path : this.gcodes.path, 'upload');
    });
    const { fields, file } = received;
    try {
      if (!file) throw errors.badRequest("No file in the upload form (expected a part named 'file')");
      const filename = file.filename.trim().replace(/^\/+/, '');
      if (filename === '') throw errors.badRequest('Multipart filename omitted');
      const rootName = (fields.root ?? 'gcodes').trim().toLowerCase();
      const root = this.roots.get(rootName);
      if (!root)
        throw errors.badRequest(`Root ${printable(rootName)} not available (roots: ${this.rootNames()})`);
      if (!root.writable)
        throw errors.forbidden(`Root '${root.name}' is read-only; upload to gcodes or config`);
      const folder = (fields.path ?? '').trim().replace(/^\/+|\/+$/g, '');
      const requested = this.roots.within(root, folder === '' ? filename : `${folder}/${filename}`);
      if (requested.rel === '') throw errors.badRequest('Multipart filename omitted');
      // Moonraker keeps the G-code inside a .ufp package, as a .gcode file of the same name.
      const ufp = root === this.gcodes && extname(requested.rel).toLowerCase() === '.ufp';
      const target = ufp ? this.roots.within(root, `${requested.rel.slice(0, -4)}.gcode`) : requested;
      await this.roots.ensureInside(target);
      const expected = fields.checksum?.trim().toLowerCase();
      if (expected && expected !== file.sha256) {
        throw errors.unprocessable(
          `File checksum mismatch: expected ${expected}, calculated ${file.sha256}; ${shown(target)} was not stored`,
        );
      }
      const isGcode = root === this.gcodes && isGcodeName(target.rel);
      if (isGcode && !ufp && file.binary) {
        throw errors.badRequest(
          `Upload refused: ${shown(target)} is not G-code (${file.binary}); nothing was stored`,
        );
      }
      if (root === this.gcodes && this.active !== null && this.active === target.rel) {
        throw errors.forbidden(`File is loaded, upload not permitted: ${shown(target)}`);
      }
      const existing = await lstat(target.abs).catch(() => null);
      if (existing?.isDirectory())
        throw errors.badRequest(`Cannot upload to ${shown(target)}: it is a folder`);
      const created = await this.missingFolders(target);
      await this.change(root, [...created, target.rel], async () => {
        for (const rel of created) {
          await mkdir(join(root.path, rel)).catch((error: unknown) => {
            if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
          });
        }
        if (ufp) await this.unpackUfp(file.temp, target);
        else {
          try {
            await file.temp.commit(target.abs);
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
            await copyFileAtomic(file.temp.path, target.abs);
            await file.temp.discard();
          }
        }
        if (isGcode) await this.analyse(target.rel);
      });
      for (const rel of created)
        this.notify({
          action: 'create_dir',
          item: await this.item({ root, rel, abs: join(root.path, rel) }),
        });
      const item = await this.item(target);
      this.notify({ action: 'create_file', item });
      const print = isGcode && fields.print === 'true' ? await this.requestPrint(target.rel) : null;
      const prefix = options.locationPrefix ?? '/server/files';
      return {
        item,
        print_started: print?.started ?? false,
        print_queued: print?.queued ?? false,
        action: 'create_file',
        location: `${options.origin}${prefix}/${root.name}/${target.rel.split('/').map(encodeURIComponent).join('/')}`,
      };
    } catch (error) {
      await file?.temp.discard();
      if (isDiskFull(error)) {
        throw errors.insufficientStorage(
          `Upload of '${file?.filename}' refused: no space left on the device; nothing was stored and existing files are unchanged`,
        );
      }
      throw error;
    }
  }

  /** Writes a package's G-code to `target` and its thumbnail to `.thumbs/<base>.png`, both atomically. */
  private async unpackUfp(pkg: TempFile, target: ResolvedPath): Promise<void> {
    await pkg.close();
    const shown = `${target.root.name}/${target.rel.slice(0, -6)}.ufp`;
    const gcode = await TempFile.create(target.abs);
    const thumbsDir = join(dirname(target.abs), THUMBS_DIR);
    const thumbPath = join(thumbsDir, `${basename(target.rel, '.gcode')}.png`);
    try {
      if (!(await extractEntry(pkg.path, UFP_GCODE, gcode))) {
        throw errors.badRequest(`Upload refused: ${shown} holds no ${UFP_GCODE}; nothing was stored`);
      }
      await mkdir(thumbsDir, { recursive: true });
      const thumb = await TempFile.create(thumbPath);
      if (await extractEntry(pkg.path, UFP_THUMBNAIL, thumb).catch(() => false))
        await thumb.commit(thumbPath);
      else await thumb.discard();
      await gcode.commit(target.abs);
    } catch (error) {
      await gcode.discard();
      if (error instanceof UfpError) {
        throw errors.badRequest(`Upload refused: ${shown} is not a readable UFP package (${error.message})`);
      }
      throw error;
    } finally {
      await pkg.discard();
    }
  }

  private async requestPrint(path: string): Promise<{ started: boolean; queued: boolean }> {
    if (!this.printHandler) return { started: false, queued: false };
    try {
      return await this.printHandler(path);
    } catch (error) {
      // Moonraker keeps the upload and reports print_started false when the start fails.
      this.log.warn({ err: error, path }, 'print after upload did not start');
      return { started: false, queued: false };
    }
  }

  // ---- metadata internals --------------------------------------------------------------------

  /** Analyses a gcodes-relative file now (or joins the analysis already running for it). */
  private analyse(rel: string, force = false): Promise<StoredMetadata | null> {
    const running = this.inflight.get(rel);
    if (running && !force) return running;
    const job = (running ?? Promise.resolve(null))
      .catch(() => null)
      .then(() => this.runAnalysis(rel))
      .finally(() => {
        if (this.inflight.get(rel) === job) this.inflight.delete(rel);
      });
    this.inflight.set(rel, job);
    return job;
  }

  private async runAnalysis(rel: string): Promise<StoredMetadata | null> {
    const abs = join(this.gcodes.path, rel);
    // A file still being written changes under the analysis; look again until it holds still.
    for (let attempt = 0; attempt < 3; attempt++) {
      const info = await statFile(abs);
      if (!info || this.stopped) return null;
      const previous = this.options.store.get(rel);
      let output: Awaited<ReturnType<AnalysisPool['analyse']>> | null = null;
      let failure: string | null = null;
      try {
        output = await this.options.pool.analyse({
          file: abs,
          size: info.size,
          thumbsDir: join(dirname(abs), THUMBS_DIR),
          thumbBase: basename(rel, extname(rel)),
          limits: this.options.limits(),
        });
      } catch (error) {
        if (this.stopped) return null;
        failure = error instanceof Error ? error.message : String(error);
        this.log.warn({ path: rel, reason: failure }, 'G-code analysis failed; storing file facts only');
      }
      const after = await statFile(abs);
      if (!after) return null;
      if (after.size !== info.size || after.mtimeMs !== info.mtimeMs) continue;
      const thumbnails = output?.thumbnails ?? [];
      await this.removeThumbnails(rel, previous?.metadata.thumbnails ?? [], thumbnails);
      if (this.stopped) return null;
      const metadata: StoredMetadata['metadata'] = {
        size: info.size,
        modified: info.mtimeMs / 1000,
        uuid: randomUUID(),
        file_processors: [],
        ...output?.metadata,
        ...(thumbnails.length > 0 ? { thumbnails } : {}),
        job_id: null,
        print_start_time: null,
        filename: rel,
      };
      const stored = this.options.store.put({
        path: rel,
        size: info.size,
        mtimeMs: info.mtimeMs,
        metadata,
        layers: output?.layers ?? [],
        objects: output?.objects ?? [],
        analysis: output?.summary ?? null,
        error: failure,
      });
      this.options.host.bus.emit('file_manager:metadata_updated', { path: rel });
      return stored;
    }
    return null;
  }

  private analyseLater(rel: string): void {
    if (this.inflight.has(rel) || this.stopped) return;
    void this.analyse(rel).catch((error: unknown) =>
      this.log.debug({ err: error, path: rel }, 'analysis failed'),
    );
  }

  /** Analyses every G-code file under a folder that has nothing fresh stored, one after another. */
  private async sweep(under = ''): Promise<void> {
    const watcher = this.watchers.get('gcodes');
    if (!watcher) return;
    const files = watcher.files().filter((rel) => isGcodeName(rel) && isUnder(rel, under));
    if (under === '') {
      const present = new Set(files);
      for (const stored of this.options.store.paths())
        if (!present.has(stored)) this.options.store.delete(stored);
    }
    for (const rel of files) {
      if (this.stopped) return;
      const entry = watcher.entry(rel);
      if (!entry || this.options.store.fresh(rel, entry.size, entry.mtimeMs)) continue;
      await this.analyse(rel).catch(() => null);
    }
  }

  private sweepLater(under: string): void {
    void this.sweep(under).catch((error: unknown) => this.log.debug({ err: error }, 'folder sweep failed'));
  }

  private async dropMetadata(rel: string): Promise<void> {
    const previous = this.options.store.get(rel);
    this.options.store.delete(rel);
    await this.removeThumbnails(rel, previous?.metadata.thumbnails ?? [], []);
  }

  /** Removes thumbnails an older analysis wrote that the new one did not write again. */
  private async removeThumbnails(rel: string, old: ThumbnailInfo[], kept: ThumbnailInfo[]): Promise<void> {
    const keep = new Set(kept.map((t) => t.relative_path));
    const dir = dirname(join(this.gcodes.path, rel));
    for (const thumb of old) {
      if (keep.has(thumb.relative_path) || !isThumbPath(thumb.relative_path)) continue;
      await rm(join(dir, thumb.relative_path), { force: true }).catch(() => undefined);
    }
  }

  /** After a move: metadata follows the file (thumbnails renamed with it), or goes when it leaves gcodes. */
  private async carryMetadata(source: ResolvedPath, dest: ResolvedPath, isDir: boolean): Promise<void> {
    const store = this.options.store;
    const fromGcodes = source.root === this.gcodes;
    const toGcodes = dest.root === this.gcodes;
    if (isDir) {
      if (fromGcodes && toGcodes) store.move(source.rel, dest.rel);
      else if (fromGcodes) store.deleteTree(source.rel);
      if (toGcodes && !fromGcodes) this.sweepLater(dest.rel);
      return;
    }
    if (fromGcodes && toGcodes && isGcodeName(dest.rel) && store.get(source.rel)) {
      await this.moveThumbnails(source, dest);
      store.move(source.rel, dest.rel);
    } else if (fromGcodes) {
      await this.dropMetadata(source.rel);
      if (toGcodes && isGcodeName(dest.rel)) await this.analyse(dest.rel);
    } else if (toGcodes && isGcodeName(dest.rel)) {
      await this.analyse(dest.rel);
    }
  }

  private async moveThumbnails(source: ResolvedPath, dest: ResolvedPath): Promise<void> {
    const stored = this.options.store.get(source.rel);
    const thumbs = stored?.metadata.thumbnails ?? [];
    if (thumbs.length === 0) return;
    const oldBase = basename(source.rel, extname(source.rel));
    const newBase = basename(dest.rel, extname(dest.rel));
    const fromDir = dirname(source.abs);
    const toDir = dirname(dest.abs);
    const moved: ThumbnailInfo[] = [];
    for (const thumb of thumbs) {
      const name = posix.basename(thumb.relative_path);
      const renamed = name.startsWith(oldBase) ? newBase + name.slice(oldBase.length) : name;
      const relative_path = `${THUMBS_DIR}/${renamed}`;
      try {
        await mkdir(join(toDir, THUMBS_DIR), { recursive: true });
        await rename(join(fromDir, thumb.relative_path), join(toDir, relative_path));
        moved.push({ ...thumb, relative_path });
      } catch (error) {
        this.log.debug({ err: error, thumb: thumb.relative_path }, 'thumbnail not moved');
      }
    }
    this.options.store.updateMetadata(source.rel, (metadata) => {
      if (moved.length > 0) metadata.thumbnails = moved;
      else delete metadata.thumbnails;
    });
  }

  // ---- changes by other programs -------------------------------------------------------------

  private async onExternalChanges(root: Root, changes: WatchChange[]): Promise<void> {
    for (const change of changes) {
      if (this.stopped) return;
      const target: ResolvedPath = { root, rel: change.rel, abs: join(root.path, change.rel) };
      const inGcodes = root === this.gcodes;
      switch (change.action) {
        case 'create_file':
        case 'modify_file':
          if (inGcodes && isGcodeName(change.rel)) await this.analyse(change.rel).catch(() => null);
          this.notify({ action: change.action, item: await this.item(target) });
          break;
        case 'create_dir':
          if (inGcodes) this.sweepLater(change.rel);
          this.notify({ action: 'create_dir', item: await this.item(target) });
          break;
        case 'delete_file':
          if (inGcodes) await this.dropMetadata(change.rel);
          this.notify({ action: 'delete_file', item: { ...this.itemName(target), ...GONE } });
          break;
        case 'delete_dir':
          if (inGcodes) this.options.store.deleteTree(change.rel);
          this.notify({ action: 'delete_dir', item: { ...this.itemName(target), ...GONE } });
          break;
        case 'move_file':
        case 'move_dir': {
          const source: ResolvedPath = { root, rel: change.from, abs: join(root.path, change.from) };
          if (inGcodes) await this.carryMetadata(source, target, change.action === 'move_dir');
          this.notify({
            action: change.action,
            item: await this.item(target),
            source_item: { root: root.name, path: change.from },
          });
          break;
        }
      }
    }
  }

  // ---- helpers -------------------------------------------------------------------------------

  private notify(change: FileListChange): void {
    if (this.stopped) return;
    this.options.host.api.notify('notify_filelist_changed', [change]);
    this.options.host.bus.emit('file_manager:filelist_changed', change);
  }

  /**
   * Runs an API change with its paths claimed from the watcher, then records the result, so the
   * watcher's own event for it is not reported a second time.
   */
  private async change(root: Root, rels: string[], fn: () => Promise<void>): Promise<void> {
    const watcher = this.watchers.get(root.name);
    const release = watcher?.claim(rels) ?? (() => undefined);
    try {
      await fn();
    } finally {
      for (const rel of rels) await watcher?.record(rel);
      release();
    }
  }

  private async changeBoth(source: ResolvedPath, dest: ResolvedPath, fn: () => Promise<void>): Promise<void> {
    if (source.root === dest.root) return this.change(source.root, [source.rel, dest.rel], fn);
    return this.change(source.root, [source.rel], () => this.change(dest.root, [dest.rel], fn));
  }

  private async item(target: ResolvedPath): Promise<FileItem> {
    const info = await stat(target.abs).catch(() => null);
    if (!info) return { ...this.itemName(target), ...GONE };
    return {
      ...this.itemName(target),
      modified: info.mtimeMs / 1000,
      size: info.size,
      permissions: this.roots.permissions(target.root),
    };
  }

  private itemName(target: ResolvedPath): Pick<FileItem, 'root' | 'path'> {
    return { root: target.root.name, path: target.rel };
  }

  private async movedChange(info: Stats, source: ResolvedPath, dest: ResolvedPath): Promise<FileListChange> {
    return {
      action: info.isDirectory() ? 'move_dir' : 'move_file',
      item: await this.item(dest),
      source_item: { root: source.root.name, path: source.rel },
    };
  }

  /** Moonraker (shutil) semantics: a destination that is an existing folder receives the source. */
  private async landing(source: ResolvedPath, dest: ResolvedPath): Promise<ResolvedPath> {
    const info = await stat(dest.abs).catch(() => null);
    if (!info?.isDirectory() || (dest.root === source.root && dest.rel === source.rel)) return dest;
    const inside = this.roots.within(
      dest.root,
      dest.rel === '' ? basename(source.abs) : `${dest.rel}/${basename(source.abs)}`,
    );
    await this.roots.ensureInside(inside);
    return inside;
  }

  private async requireParent(target: ResolvedPath): Promise<void> {
    if (!(await stat(dirname(target.abs)).catch(() => null))?.isDirectory()) {
      throw errors.notFound(`Parent folder of ${shown(target)} does not exist`);
    }
  }

  private async missingFolders(target: ResolvedPath): Promise<string[]> {
    const parts = target.rel.split('/').slice(0, -1);
    const missing: string[] = [];
    for (let i = 1; i <= parts.length; i++) {
      const rel = parts.slice(0, i).join('/');
      const info = await stat(join(target.root.path, rel)).catch(() => null);
      if (info && !info.isDirectory())
        throw errors.badRequest(`Cannot upload into ${target.root.name}/${rel}: it is a file`);
      if (!info) missing.push(rel);
    }
    return missing;
  }

  private writableTarget(target: ResolvedPath, verb: string): ResolvedPath {
    if (!target.root.writable) {
      throw errors.forbidden(`Cannot ${verb} ${shown(target)}: the ${target.root.name} root is read-only`);
    }
    return target;
  }

  /** The file being printed, or a folder holding it, is neither deleted, moved nor overwritten. */
  private refuseActive(target: ResolvedPath, message: string): void {
    if (target.root !== this.gcodes || this.active === null) return;
    if (isUnder(this.active, target.rel)) {
      throw errors.forbidden(`${message}: gcodes/${this.active} is being printed`);
    }
  }

  /** stat for listings: links that lead out of the root are left out, like anything unreadable. */
  private async statListed(root: Root, abs: string): Promise<Stats | null> {
    const info = await lstat(abs).catch(() => null);
    if (!info) return null;
    if (!info.isSymbolicLink()) return info.isFile() || info.isDirectory() ? info : null;
    if (!(await this.roots.linkStaysInside(root, abs))) return null;
    return stat(abs).catch(() => null);
  }

  private rootNames(): string {
    return this.roots.list.map((r) => r.name).join(', ');
  }
}

/** `20261201-101500`, the local time in Moonraker's default archive name. */
function stamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${two(date.getMonth() + 1)}${two(date.getDate())}-${two(date.getHours())}${two(date.getMinutes())}${two(date.getSeconds())}`;
}

function shown(target: ResolvedPath): string {
  return printable(target.rel === '' ? target.root.name : `${target.root.name}/${target.rel}`);
}

function isUnder(rel: string, ancestor: string): boolean {
  return ancestor === '' || rel === ancestor || rel.startsWith(`${ancestor}/`);
}

function isThumbPath(relative: string): boolean {
  return relative.startsWith(`${THUMBS_DIR}/`) && !relative.slice(THUMBS_DIR.length + 1).includes('/');
}

async function statFile(abs: string): Promise<Stats | null> {
  const info = await stat(abs).catch(() => null);
  return info?.isFile() ? info : null;
}

async function diskUsage(abs: string): Promise<{ total: number; used: number; free: number }> {
  const fs = await statfs(abs);
  return {
    total: fs.blocks * fs.bsize,
    used: (fs.blocks - fs.bfree) * fs.bsize,
    free: fs.bavail * fs.bsize,
  };
}

function fsError(error: unknown, what: string): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  if (isDiskFull(error)) return errors.insufficientStorage(`${what}: no space left on the device`);
  if (code === 'EEXIST') return errors.badRequest(`${what}: it exists already`);
  if (isMissing(error)) return errors.notFound(`${what}: not found`);
  if (code === 'EACCES' || code === 'EPERM') return errors.forbidden(`${what}: permission denied`);
  return new ApiError(500, `${what}: ${error instanceof Error ? error.message : String(error)}`);
}
