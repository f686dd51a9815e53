// History job ids: Moonraker's hex strings ("00001A"), from a SQLite sequence that never reuses a number.
import type BetterSqlite3 from 'better-sqlite3';

export function formatJobId(seq: number): string {
  return seq.toString(16).toUpperCase().padStart(6, '0');
}

export function allocateJobId(db: BetterSqlite3.Database): string {
  const { lastInsertRowid } = db.prepare('INSERT INTO job_ids DEFAULT VALUES').run();
  return formatJobId(Number(lastInsertRowid));
}
