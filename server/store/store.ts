// The `store` component owns the one better-sqlite3 handle (WAL) and runs the migrations at start.
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import Database from 'better-sqlite3';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { migrate } from './migrations.ts';

export interface Store extends ComponentInstance {
  readonly db: Database.Database;
  readonly file: string;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    store: Store;
  }
}

export const storeConfig = Type.Object({
  filename: Type.String({
    default: 'brim.sqlite',
    minLength: 1,
    description: "Database file name inside the data folder's database/ directory.",
  }),
});

export const storeComponent = defineComponent({
  name: 'store',
  config: storeConfig,
  create(host): Store {
    const file = join(host.paths.database, host.config.filename);
    const db = new Database(file);
    // WAL lets readers run beside the writer; NORMAL sync is still crash-safe in WAL mode.
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // Migrate at create, so every component created after this one finds its tables.
    const applied = migrate(db);
    if (applied.length > 0) host.log.info({ applied }, 'database migrated');
    return {
      db,
      file,
      stop() {
        db.close();
      },
    };
  },
});
