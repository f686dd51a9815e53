// The component definition and the Host handle every component and plugin receives.
import type { Static, TObject } from '@sinclair/typebox';
import type BetterSqlite3 from 'better-sqlite3';
import type { Registry } from 'prom-client';
import type { ApiRegistry } from '../api/registry.ts';
import type { Clock } from './clock.ts';
import type { ConfigSchemas } from './config.ts';
import type { ConfigProblem } from './errors.ts';
import type { Bus } from './events.ts';
import type { Logger } from './logger.ts';
import type { Paths } from './paths.ts';
import type { StatusFields, StatusStore } from './status-store.ts';

/**
 * Component name → instance type. Each component adds itself by declaration merging
 * (`declare module '../core/component.ts' { interface ComponentMap { store: Store } }`), so
 * `host.lookup('store')` is typed and never `any`.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in each component
export interface ComponentMap {}

export interface ComponentInstance {
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
  /** Implementing this makes the component a printer object under its own name. */
  status?(eventtime: number): StatusFields;
}

export interface FailedComponent {
  name: string;
  reason: string;
}

/** What the running daemon knows about its own components, for server.info and /readyz. */
export interface RuntimeView {
  phase(): 'created' | 'starting' | 'running' | 'stopping' | 'stopped';
  started(): string[];
  failed(): FailedComponent[];
  warnings(): string[];
  /** Names to list in server.info `components` (Moonraker's names for what Brim really runs). */
  advertised(): string[];
  /** Every validated config table, for server.config. */
  config(): Record<string, Record<string, unknown>>;
  configFile(): string | null;
  rawConfig(): Record<string, Record<string, unknown>>;
  /** The config file's text as read at start-up, or null without a file. */
  configText(): string | null;
  /** The schema of every config table this daemon knows. */
  configSchemas(): ConfigSchemas;
  /** Tables whose mere presence switches a component on (enabledByTable), e.g. `mqtt`. */
  optInTables(): ReadonlySet<string>;
  /** Every problem start-up would find in this text as the config file `file`; empty when it is valid. */
  checkConfigText(text: string, file: string): Promise<ConfigProblem[]>;
  /** Whether requestRestart does anything (main.ts can restart; an in-process test daemon cannot). */
  canRestart(): boolean;
  /** Asks the process to stop every component and start again (server.restart). */
  requestRestart(): void;
  /** Starts a fresh log file now; returns the names of the logs rolled over. */
  rolloverLogs(): string[];
}

export interface Host<C = Record<string, unknown>> {
  /** The component this handle was made for; the log and bus owner are named after it. */
  readonly name: string;
  readonly config: C;
  readonly bus: Bus;
  readonly status: StatusStore;
  readonly api: ApiRegistry;
  readonly clock: Clock;
  readonly paths: Paths;
  readonly log: Logger;
  readonly metrics: Registry;
  readonly runtime: RuntimeView;
  /** The one SQLite handle, owned by the store component (declare `needs: ['store']`). */
  readonly db: BetterSqlite3.Database;
  lookup<K extends keyof ComponentMap>(name: K): ComponentMap[K];
  /** Adds a line to server.info `warnings`, e.g. a firmware capability Brim has to work around. */
  warn(message: string): void;
}

export interface ComponentDefinition<
  S extends TObject = TObject,
  I extends ComponentInstance = ComponentInstance,
> {
  name: string;
  needs?: readonly string[];
  /** Schema of the component's `[name]` config table; every key needs a description and a default. */
  config?: S;
  /** Config table name when it is not `name`, e.g. `plugins.bed_light` for a plugin. */
  configTable?: string;
  /** An optional component that fails is reported in server.info and the rest runs on. */
  optional?: boolean;
  /**
   * Runs only when its config table is written in the file (Moonraker's rule for `[mqtt]`), so a
   * feature that talks to the outside world stays off until the user asks for it.
   */
  enabledByTable?: boolean;
  /** Listed in server.info `components` under this name; omit for internal parts. */
  advertiseAs?: string;
  /**
   * Checks a schema cannot express (a URL's scheme, a file that must exist), by throwing ConfigError;
   * run on a config the editor is about to save, so it refuses what start-up would refuse.
   */
  checkConfig?(config: Static<S>, files: { configDir: string; configFile: string | null }): void;
  create(host: Host<Static<S>>): I | Promise<I>;
}

/** Keeps the schema's static type tied to `create`'s host when writing a definition. */
export function defineComponent<S extends TObject, I extends ComponentInstance>(
  definition: ComponentDefinition<S, I>,
): ComponentDefinition<S, I> {
  return definition;
}
