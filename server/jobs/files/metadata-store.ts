// G-code metadata rows in SQLite (migration 2), keyed by gcodes-relative path and valid for one size+mtime.
import type BetterSqlite3 from 'better-sqlite3';
import type {
  AnalysisSummary,
  GcodeMetadata,
  GcodeObject,
  LayerRange,
  StoredMetadata,
} from './file-manager.ts';

/**
 * Bumped whenever extraction or analysis changes what it stores, so every file is analysed again
 * (Moonraker's METADATA_VERSION habit).
 */
export const PARSER_VERSION = 2;

interface Row {
  path: string;
  size: number;
  mtime_ms: number;
  parser_version: number;
  metadata: string;
  layers: string;
  objects: string;
  analysis: string | null;
  error: string | null;
  job_id: string | null;
  print_start_time: number | null;
}

export interface MetadataRecord {
  path: string;
  size: number;
  mtimeMs: number;
  metadata: Omit<GcodeMetadata, 'job_id' | 'print_start_time' | 'filename'>;
  layers: LayerRange[];
  objects: GcodeObject[];
  analysis: AnalysisSummary | null;
  error: string | null;
}

export class MetadataStore {
  private readonly selectOne: BetterSqlite3.Statement<[string], Row>;
  private readonly selectPaths: BetterSqlite3.Statement<[], { path: string }>;
  private readonly upsert: BetterSqlite3.Statement<[Omit<Row, 'job_id' | 'print_start_time'>]>;
  private readonly deleteOne: BetterSqlite3.Statement<[string]>;
  private readonly deleteUnder: BetterSqlite3.Statement<[string, number, string]>;
  private readonly setJob: BetterSqlite3.Statement<[string, number, string]>;
  private readonly renameOne: BetterSqlite3.Statement<[string, string]>;
  private readonly writeMetadata: BetterSqlite3.Statement<[string, string]>;

  constructor(private readonly db: BetterSqlite3.Database) {
    this.selectOne = db.prepare('SELECT * FROM gcode_metadata WHERE path = ?');
    this.selectPaths = db.prepare('SELECT path FROM gcode_metadata');
    // Job facts belong to history and survive a rescan of the file.
    this.upsert = db.prepare(
      `INSERT INTO gcode_metadata (path, size, mtime_ms, parser_version, metadata, layers, objects, analysis, error)
       VALUES (@path, @size, @mtime_ms, @parser_version, @metadata, @layers, @objects, @analysis, @error)
       ON CONFLICT (path) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
         parser_version = excluded.parser_version, metadata = excluded.metadata,
         layers = excluded.layers, objects = excluded.objects, analysis = excluded.analysis,
         error = excluded.error`,
    );
    this.deleteOne = db.prepare('DELETE FROM gcode_metadata WHERE path = ?');
    this.deleteUnder = db.prepare('DELETE FROM gcode_metadata WHERE path = ? OR substr(path, 1, ?) = ?');
    this.setJob = db.prepare('UPDATE gcode_metadata SET job_id = ?, print_start_time = ? WHERE path = ?');
    this.renameOne = db.prepare('UPDATE gcode_metadata SET path = ? WHERE path = ?');
    this.writeMetadata = db.prepare('UPDATE gcode_metadata SET metadata = ? WHERE path = ?');
  }

  /** The stored row when it was made for exactly this size and mtime by this parser, else null. */
  fresh(path: string, size: number, mtimeMs: number): StoredMetadata | null {
    const row = this.selectOne.get(path);
    if (!row || row.size !== size || row.mtime_ms !== mtimeMs || row.parser_version !== PARSER_VERSION) {
      return null;
    }
    return toStored(row);
  }

  /** Whatever is stored, stale or not (thumbnail clean-up needs the old list). */
  get(path: string): StoredMetadata | null {
    const row = this.selectOne.get(path);
    return row ? toStored(row) : null;
  }

  paths(): string[] {
    return this.selectPaths.all().map((r) => r.path);
  }

  put(record: MetadataRecord): StoredMetadata {
    this.upsert.run({
      path: record.path,
      size: record.size,
      mtime_ms: record.mtimeMs,
      parser_version: PARSER_VERSION,
      metadata: JSON.stringify(record.metadata),
      layers: JSON.stringify(record.layers),
      objects: JSON.stringify(record.objects),
      analysis: record.analysis ? JSON.stringify(record.analysis) : null,
      error: record.error,
    });
    return this.get(record.path)!;
  }

  delete(path: string): void {
    this.deleteOne.run(path);
  }

  /** Removes a folder's rows (everything under `dir/`) or one file's. */
  deleteTree(path: string): void {
    const prefix = `${path}/`;
    this.deleteUnder.run(path, prefix.length, prefix);
  }

  /** Re-keys a moved file, or every file under a moved folder; an existing row at the target goes. */
  move(from: string, to: string): void {
    this.db.transaction(() => {
      const moves: [string, string][] = [];
      for (const path of this.paths()) {
        if (path === from) moves.push([path, to]);
        else if (path.startsWith(`${from}/`)) moves.push([path, to + path.slice(from.length)]);
      }
      for (const [, target] of moves) this.deleteOne.run(target);
      for (const [source, target] of moves) this.renameOne.run(target, source);
    })();
  }

  recordJob(path: string, jobId: string, startTime: number): void {
    this.setJob.run(jobId, startTime, path);
  }

  /** Rewrites the thumbnail list after thumbnails were renamed with their file. */
  updateMetadata(path: string, update: (metadata: MetadataRecord['metadata']) => void): void {
    const row = this.selectOne.get(path);
    if (!row) return;
    const metadata = JSON.parse(row.metadata) as MetadataRecord['metadata'];
    update(metadata);
    this.writeMetadata.run(JSON.stringify(metadata), path);
  }
}

function toStored(row: Row): StoredMetadata {
  const metadata = JSON.parse(row.metadata) as GcodeMetadata;
  metadata.job_id = row.job_id;
  metadata.print_start_time = row.print_start_time;
  metadata.filename = row.path;
  return {
    path: row.path,
    size: row.size,
    modified: row.mtime_ms / 1000,
    metadata,
    layers: JSON.parse(row.layers) as LayerRange[],
    objects: JSON.parse(row.objects) as GcodeObject[],
    analysis: row.analysis ? (JSON.parse(row.analysis) as AnalysisSummary) : null,
    error: row.error,
  };
}
