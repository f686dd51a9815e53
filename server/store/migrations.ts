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
