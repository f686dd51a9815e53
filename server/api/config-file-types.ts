// What server.config.file and server.config.save answer. Types only, with no Node imports, so the web UI
// reads the same declarations the daemon writes its replies from.
import type { ConfigProblem } from '../core/errors.ts';

export type { ConfigProblem };

export interface ConfigFileState {
  /** The file the daemon reads at start-up: the one it runs with, or the data folder's default. */
  filename: string;
  /** Whether the daemon started with this file (false: it runs on built-in defaults). */
  in_use: boolean;
  exists: boolean;
  /** The file as it is on disk now; empty when it does not exist. */
  text: string;
  /** A valid starting file listing every key, offered when there is no file yet. */
  template: string | null;
  /** The file on disk differs from what the daemon started with, so a restart would change something. */
  restart_pending: boolean;
  /** Whether server.restart can restart this daemon. */
  can_restart: boolean;
}

export type ConfigSaveResult =
  | { saved: false; filename: string; problems: ConfigProblem[] }
  | { saved: true; filename: string; backup: string | null; dry_run: boolean; can_restart: boolean };
