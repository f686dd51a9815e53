// The file manager's contract with the job runner, history, OctoPrint compatibility and plugins.
// Kept stable: other components import these types; the implementation lives in manager.ts.

import type { GcodeMetadata as SlicerMetadata } from '../../../gcode/metadata.ts';
import type { FormPart } from '../../api/registry.ts';

import type { ComponentInstance } from '../../core/component.ts';
import type { Permissions, RootName } from './roots.ts';

export type { Permissions, RootName } from './roots.ts';

/** Moonraker's `notify_filelist_changed` actions. */
export type FileAction =
  | 'create_file'
  | 'create_dir'
  | 'delete_file'
  | 'delete_dir'
  | 'move_file'
  | 'move_dir'
  | 'modify_file';

/** A file or folder as Moonraker reports it; a deleted one has modified 0, size 0, permissions ''. */
export interface FileItem {
  root: RootName;
  /** Relative to the root, with `/` separators. */
  path: string;
  /** Modification time, Unix seconds (float). */
  modified: number;
  size: number;
  permissions: Permissions;
}

/** One `notify_filelist_changed` payload; `source_item` only for moves. */
export interface FileListChange {
  action: FileAction;
  item: FileItem;
  source_item?: { root: RootName; path: string };
}

/** `thumbnails[]` in metadata; `relative_path` is relative to the G-code file's folder. */
export interface ThumbnailInfo {
  width: number;
  height: number;
  size: number;
  relative_path: string;
}

/**
 * Moonraker's metadata object (`server.files.metadata`). Fields a file does not reveal are absent,
 * never null or NaN; numeric fields are JSON numbers.
 */
export interface GcodeMetadata extends SlicerMetadata {
  size: number;
  modified: number;
  uuid: string;
  file_processors: string[];
  thumbnails?: ThumbnailInfo[];
  /** Last history job that printed the file (history's hex id), or null. */
  job_id: string | null;
  /** When that job started, Unix seconds, or null. */
  print_start_time: number | null;
  /** Relative to the gcodes root. */
  filename: string;
  /** Other Moonraker fields the slicer revealed (filament_colors, referenced_tools...). */
  [field: string]: unknown;
}

/** Where one layer sits in the file: the job runner seeks by it and the preview loads by it. */
export interface LayerRange {
  /** 0 is the first layer. */
  index: number;
  /** Height of the layer's extrusions, mm. */
  z: number;
  /** Thickness, mm. */
  height: number;
  /** Byte offset of the layer's first line; bytes before layer 0 are the start G-code. */
  start_byte: number;
  /** Byte offset just past the layer's last line (the next layer's start_byte). */
  end_byte: number;
  /**
   * Toolhead and extruder positions and the G90/G91, M82/M83 modes in force at start_byte, so the
   * layer's bytes can be read on their own (the preview fetches one layer at a time).
   */
  entry: { x: number; y: number; z: number; e: number; relative_xyz: boolean; relative_e: boolean };
}

/** A byte range `[start, end)` of the file. */
export interface ByteRange {
  start: number;
  end: number;
}

/** A printed object as `EXCLUDE_OBJECT_DEFINE` (or a slicer label) names it. */
export interface GcodeObject {
  /** As the file writes it. */
  name: string;
  /** The name `EXCLUDE_OBJECT NAME=` takes (Klipper's exclude_object spelling). */
  id: string;
  /** XY centre, mm, when known. */
  center?: [number, number];
  /** XY outline, mm, when known. */
  polygon?: [number, number][];
  /** The object's sections in file order; excluding the object skips these. */
  ranges: ByteRange[];
}

/** Brim's own figures for the whole file, whatever the slicer claimed. */
export interface AnalysisSummary {
  /** Trapezoid-model print time with the printer's limits, seconds (heating waits not included). */
  estimated_time: number;
  /** Filament pushed through the nozzle, mm. */
  filament_total: number;
  /** Whether layers came from slicer comments or from Z changes. */
  layer_source: 'hints' | 'z';
  /** How the file marks its objects, when it does. */
  object_labels?: string;
  /** Extents of the extruding moves, mm. */
  bbox?: { min: [number, number, number]; max: [number, number, number] };
  /** Tools the file selects. */
  tools: number[];
}

/** Everything Brim keeps about one G-code file, keyed by path and valid for that size and mtime. */
export interface StoredMetadata {
  /** Relative to the gcodes root. */
  path: string;
  size: number;
  /** Modification time the analysis saw, Unix seconds. */
  modified: number;
  metadata: GcodeMetadata;
  /** In file order; empty when the file has no layer changes Brim could find. */
  layers: LayerRange[];
  objects: GcodeObject[];
  /** Null when analysis failed. */
  analysis: AnalysisSummary | null;
  /** Why analysis failed, or null; on failure `metadata` holds only the file's own facts. */
  error: string | null;
}

export interface PrintRequestResult {
  started: boolean;
  queued: boolean;
}

/** Starts (or queues) a print of a gcodes-relative path; installed by the job runner. */
export type PrintRequestHandler = (path: string) => Promise<PrintRequestResult>;

export interface UploadOptions {
  /** `proto://host[:port]` the client used, for the reply's Location header. */
  origin: string;
  /** URL prefix of the Location header: `/server/files` (Moonraker) or `/api/files/moonraker` (OctoPrint). */
  locationPrefix?: string;
}

export interface UploadResult {
  item: FileItem;
  print_started: boolean;
  print_queued: boolean;
  action: 'create_file';
  /** Absolute URL of the stored file, for the Location header. */
  location: string;
}

export interface FileManager extends ComponentInstance {
  /**
   * The absolute path of a G-code file given relative to the gcodes root, as a print start names
   * it. Throws ApiError 400 naming the path when it escapes the root or is not a G-code file name,
   * and 404 when the file does not exist.
   */
  resolveGcode(path: string): string;

  /**
   * Metadata, layer index and objects of a gcodes-relative file. Analyses it first (in a worker)
   * when nothing is stored or the file changed since; null when the file does not exist or is not
   * G-code. Failed analysis still resolves, with `error` set.
   */
  getMetadata(path: string): Promise<StoredMetadata | null>;

  /**
   * The file being printed (gcodes-relative), or null when none. While set, deleting, moving or
   * overwriting it (or a folder holding it) is refused with 403.
   */
  setActiveFile(path: string | null): void;
  activeFile(): string | null;

  /**
   * Installs what an upload with `print=true` calls after the file is stored. One handler; a later
   * call replaces it. Without one, such uploads report print_started and print_queued false.
   */
  onPrintRequested(handler: PrintRequestHandler): void;

  /**
   * History records the last job of a file; metadata then reports its job_id and print_start_time.
   * Call after getMetadata (a print start does), so the file has a row to record it on.
   */
  recordJob(path: string, jobId: string, startTime: number): void;

  /**
   * Stores a multipart upload (fields root, path, checksum, print and the `file` part) as
   * POST /server/files/upload does; OctoPrint's /api/files/local reuses it.
   */
  upload(form: AsyncIterable<FormPart>, options: UploadOptions): Promise<UploadResult>;
}

declare module '../../core/component.ts' {
  interface ComponentMap {
    file_manager: FileManager;
  }
}

declare module '../../core/events.ts' {
  interface EventMap {
    /** Every change in a root, made through the API or by another program. */
    'file_manager:filelist_changed': FileListChange;
    /** A G-code file's metadata was (re)built. */
    'file_manager:metadata_updated': { path: string };
  }
}
