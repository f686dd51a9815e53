// The data folder, shaped like Moonraker's so Mainsail's root names (gcodes, config, logs) just work.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface Paths {
  data: string;
  config: string;
  gcodes: string;
  logs: string;
  database: string;
  comms: string;
  plugins: string;
}

export function dataPaths(dataDir: string): Paths {
  const data = resolve(dataDir);
  return {
    data,
    config: join(data, 'config'),
    gcodes: join(data, 'gcodes'),
    logs: join(data, 'logs'),
    database: join(data, 'database'),
    comms: join(data, 'comms'),
    plugins: join(data, 'plugins'),
  };
}

/** Where the config file is read from when no --config is given, and where the UI creates one. */
export function defaultConfigFile(paths: Paths): string {
  return join(paths.config, 'brim.toml');
}

/** Creates any missing folder; existing files are never touched. */
export function ensureDataFolders(paths: Paths): void {
  for (const dir of Object.values(paths)) mkdirSync(dir, { recursive: true });
}
