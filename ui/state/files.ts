// The G-code file browser's state: one folder's listing, file metadata (cached per file) and uploads.
import { type Signal, signal } from '@preact/signals';
import { uploadFile } from '../api/http.ts';
import { METHOD_NOT_FOUND, RpcError } from '../api/rpc.ts';
import { onConnected, onNotification, rpc } from '../api/session.ts';
import { errorText, toast } from './toasts.ts';

export interface Thumbnail {
  width: number;
  height: number;
  size: number;
  relative_path: string;
}

export interface FileMetadata {
  size?: number;
  modified?: number;
  slicer?: string;
  slicer_version?: string;
  estimated_time?: number;
  filament_total?: number;
  filament_weight_total?: number;
  filament_type?: string;
  layer_height?: number;
  first_layer_height?: number;
  object_height?: number;
  layer_count?: number;
  first_layer_extr_temp?: number;
  first_layer_bed_temp?: number;
  thumbnails?: Thumbnail[];
  print_start_time?: number | null;
  job_id?: string | null;
  gcode_start_byte?: number;
  gcode_end_byte?: number;
  filename?: string;
}

export interface FileEntry extends FileMetadata {
  filename: string;
  modified: number;
  size: number;
  permissions?: string;
}

export interface DirEntry {
  dirname: string;
  modified: number;
  size: number;
  permissions?: string;
}

export interface Listing {
  dirs: DirEntry[];
  files: FileEntry[];
  disk_usage?: { total: number; used: number; free: number };
}

/** Root-prefixed folder shown, e.g. `gcodes` or `gcodes/parts`. */
export const currentDir = signal('gcodes');
export const listing = signal<Listing | null>(null);
export const listingError = signal('');
export const listingLoading = signal(false);
/** False when this daemon has no file manager (server.files.* answer "method not found"). */
export const filesAvailable = signal(true);

export async function loadDirectory(path = currentDir.value): Promise<void> {
  listingLoading.value = true;
  try {
    const result = await rpc.query<Listing>('server.files.get_directory', { path, extended: true });
    // A late answer for a folder the user already left must not replace the one on screen.
    if (path !== currentDir.peek()) return;
    // Dot folders (.thumbs) are the server's business, as Mainsail and Fluidd treat them.
    const dirs = (result.dirs ?? []).filter((d) => !d.dirname.startsWith('.'));
    listing.value = { dirs, files: result.files ?? [], disk_usage: result.disk_usage };
    listingError.value = '';
    filesAvailable.value = true;
  } catch (error) {
    if (error instanceof RpcError && error.code === METHOD_NOT_FOUND) filesAvailable.value = false;
    listingError.value = errorText(error);
  } finally {
    listingLoading.value = false;
  }
}

export function openDirectory(path: string): void {
  currentDir.value = path;
  listing.value = null;
  void loadDirectory(path);
}

let reloadTimer: ReturnType<typeof setTimeout> | null = null;
function reloadSoon(): void {
  if (reloadTimer) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    if (listing.peek() !== null || listingError.peek()) void loadDirectory();
  }, 150);
}

// --- metadata, one signal per file, for the status card and the file table ----------------------

const metadata = new Map<string, Signal<FileMetadata | null>>();

/** Metadata of a gcodes-relative file; null until it arrives (or when the server has none). */
export function metadataFor(filename: string): Signal<FileMetadata | null> {
  let found = metadata.get(filename);
  if (!found) {
    const created = signal<FileMetadata | null>(null);
    found = created;
    metadata.set(filename, created);
    rpc
      .query<FileMetadata>('server.files.metadata', { filename })
      .then((value) => {
        created.value = value;
      })
      .catch(() => {
        // Leave it null and forget it, so a later view asks again (the file may be analysed by then).
        metadata.delete(filename);
      });
  }
  return found;
}

onNotification('notify_filelist_changed', (params) => {
  const [change] = params as [{ action?: string; item?: { root?: string; path?: string } }];
  const path = change?.item?.path;
  if (path && change.item?.root === 'gcodes') metadata.delete(path);
  reloadSoon();
});
onNotification('notify_metadata_update', () => reloadSoon());
onConnected(() => {
  if (listing.peek() !== null || listingError.peek()) void loadDirectory();
});

/** `gcodes/a/b.gcode` → `a/b.gcode` (print start and metadata take paths relative to the root). */
export function withoutRoot(path: string): string {
  return path.replace(/^gcodes\/?/, '');
}

export function joinPath(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/** The largest thumbnail's URL path relative to the root, or null. */
export function bestThumbnail(
  meta: FileMetadata | null,
  filename: string,
  maxWidth = Infinity,
): string | null {
  const thumbs = (meta?.thumbnails ?? []).filter((t) => t.width <= maxWidth);
  if (thumbs.length === 0) return null;
  const best = thumbs.reduce((a, b) => (b.width * b.height > a.width * a.height ? b : a));
  const folder = filename.includes('/') ? filename.slice(0, filename.lastIndexOf('/')) : '';
  return `gcodes/${joinPath(folder, best.relative_path)}`;
}

// --- uploads --------------------------------------------------------------------------------

export interface Upload {
  id: number;
  name: string;
  loaded: number;
  total: number;
  state: 'uploading' | 'done' | 'error';
  error: string;
  abort: () => void;
}

export const uploads = signal<Upload[]>([]);
let nextUpload = 1;

const GCODE_NAME = /\.(gcode|gco|g|gc|ufp|bgcode)$/i;

function updateUpload(id: number, change: Partial<Upload>): void {
  uploads.value = uploads.value.map((u) => (u.id === id ? { ...u, ...change } : u));
}

export function dismissUpload(id: number): void {
  uploads.value = uploads.value.filter((u) => u.id !== id);
}

/** Uploads into the folder shown; the list changes only when the server has stored the file. */
export function startUploads(files: Iterable<File>, options: { print?: boolean } = {}): void {
  const dir = currentDir.peek();
  for (const file of files) {
    const id = nextUpload++;
    if (!GCODE_NAME.test(file.name)) {
      uploads.value = [
        ...uploads.value,
        {
          id,
          name: file.name,
          loaded: 0,
          total: file.size,
          state: 'error',
          error: 'Not a G-code file (.gcode, .gco, .g)',
          abort: () => {},
        },
      ];
      continue;
    }
    const handle = uploadFile(
      file,
      { root: 'gcodes', path: withoutRoot(dir), print: options.print },
      (loaded, total) => updateUpload(id, { loaded, total }),
    );
    uploads.value = [
      ...uploads.value,
      {
        id,
        name: file.name,
        loaded: 0,
        total: file.size,
        state: 'uploading',
        error: '',
        abort: handle.abort,
      },
    ];
    handle.done.then(
      (reply) => {
        updateUpload(id, { state: 'done', loaded: file.size });
        toast(
          `Uploaded ${reply.item?.path ?? file.name}${reply.print_started ? '; printing' : ''}`,
          'success',
        );
        reloadSoon();
        setTimeout(() => dismissUpload(id), 4000);
      },
      (error: unknown) => {
        updateUpload(id, { state: 'error', error: errorText(error) });
        toast(`${file.name}: ${errorText(error)}`, 'error');
      },
    );
  }
}
