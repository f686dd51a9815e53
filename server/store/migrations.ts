// Numbered schema migrations, applied in order at start; `PRAGMA user_version` records the last one run.
import type BetterSqlite3 from 'better-sqlite3';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Append only: a migration that has shipped is never edited, a new number fixes it. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'moonraker database namespaces',
    sql: `CREATE TABLE namespace_items (
            namespace TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (namespace, key)
          ) WITHOUT ROWID;`,
  },
  {
    version: 2,
    name: 'gcode metadata, layer index and objects (file_manager)',
    sql: `CREATE TABLE gcode_metadata (
            path TEXT PRIMARY KEY NOT NULL,
            size INTEGER NOT NULL,
            mtime_ms REAL NOT NULL,
            parser_version INTEGER NOT NULL,
            metadata TEXT NOT NULL,
            layers TEXT NOT NULL,
            objects TEXT NOT NULL,
            analysis TEXT,
            error TEXT,
            job_id TEXT,
            print_start_time REAL
          );`,
  },
  {
    version: 10,
    name: 'job history, totals, job ids, job queue and power-loss checkpoints (jobs)',
    sql: `CREATE TABLE job_ids (seq INTEGER PRIMARY KEY AUTOINCREMENT);
          CREATE TABLE job_history (
            job_id TEXT PRIMARY KEY NOT NULL,
            user TEXT,
            filename TEXT NOT NULL,
            status TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            start_time REAL NOT NULL,
            end_time REAL,
            print_duration REAL NOT NULL DEFAULT 0,
            total_duration REAL NOT NULL DEFAULT 0,
            filament_used REAL NOT NULL DEFAULT 0,
            metadata TEXT NOT NULL DEFAULT '{}',
            auxiliary_data TEXT NOT NULL DEFAULT '[]',
            file_size INTEGER,
            file_mtime_ms REAL,
            in_totals INTEGER NOT NULL DEFAULT 0
          );
          CREATE INDEX job_history_start_time ON job_history (start_time);
          CREATE TABLE job_totals (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            total_jobs INTEGER NOT NULL DEFAULT 0,
            total_time REAL NOT NULL DEFAULT 0,
            total_print_time REAL NOT NULL DEFAULT 0,
            total_filament_used REAL NOT NULL DEFAULT 0,
            longest_job REAL NOT NULL DEFAULT 0,
            longest_print REAL NOT NULL DEFAULT 0
          );
          INSERT INTO job_totals (id) VALUES (1);
          CREATE TABLE job_queue (
            queue_id TEXT PRIMARY KEY NOT NULL,
            position INTEGER NOT NULL,
            filename TEXT NOT NULL,
            time_added REAL NOT NULL
          );
          CREATE TABLE job_checkpoints (
            job_id TEXT PRIMARY KEY NOT NULL,
            filename TEXT NOT NULL,
            file_position INTEGER NOT NULL,
            checkpoint TEXT NOT NULL,
            updated_at REAL NOT NULL
          );`,
  },
  {
    version: 20,
    name: 'users, roles and the API key',
    sql: `CREATE TABLE users (
            username TEXT PRIMARY KEY,
            password_hash TEXT NOT NULL,
            role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
            secret TEXT NOT NULL,
            created_on INTEGER NOT NULL
          );
          CREATE TABLE auth_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  },
];

export function migrate(db: BetterSqlite3.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = migrations.reduce((max, m) => Math.max(max, m.version), 0);
  if (current > newest) {
    throw new Error(
      `database schema version ${current} is newer than this Brim knows (${newest}); refusing to touch it`,
    );
  }
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
    applied.push(migration.version);
  }
  return applied;
}
