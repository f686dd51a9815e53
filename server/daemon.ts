// Builds and starts the whole daemon from options; main.ts and the end-to-end tests both use it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type TObject, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import Database from 'better-sqlite3';
import { configFileComponent } from './api/config-file.ts';
import type { Role } from './api/registry.ts';
import { serverComponent } from './api/server.ts';
import { authorizationComponent } from './auth/authorization.ts';
import { addUser } from './auth/users.ts';
import { webcamComponent } from './camera/webcams.ts';
import { type Clock, SystemClock } from './core/clock.ts';
import type { ComponentDefinition } from './core/component.ts';
import { type LoadedConfig, parseConfigText, readConfigFile, validateConfig } from './core/config.ts';
import { checkComponentConfigs, configSchemas, Kernel } from './core/host.ts';
import { createLogger, LOG_LEVELS, type RootLogger } from './core/logger.ts';
import { dataPaths, defaultConfigFile, ensureDataFolders, type Paths } from './core/paths.ts';
import { JOB_COMPONENTS } from './jobs/components.ts';
import { fileManagerComponent } from './jobs/files/component.ts';
import { machineComponent } from './machine/machine.ts';
import { mqttComponent } from './mqtt/component.ts';
import { octoprintCompatComponent } from './octoprint/component.ts';
import { loadPlugins } from './plugins/loader.ts';
import { dataStoreComponent } from './printer/data-store.ts';
import { printerComponent } from './printer/printer.ts';
import { serialComponent } from './serial/serial.ts';
import { databaseComponent } from './store/database.ts';
import { migrate } from './store/migrations.ts';
import { storeComponent, storeConfig } from './store/store.ts';
import { virtualPrinterComponent } from './virtual/component.ts';

export const loggingConfig = Type.Object({
  level: Type.Union(
    LOG_LEVELS.map((l) => Type.Literal(l)),
    { default: 'info', description: 'Least severe level written to the console and the log file.' },
  ),
  console: Type.Boolean({ default: true, description: 'Also write log lines to standard output.' }),
  max_file_bytes: Type.Integer({
    default: 10_485_760,
    minimum: 4096,
    description: 'Size at which logs/brim.log is rotated to brim.log.1.',
  }),
  keep_files: Type.Integer({ default: 5, minimum: 0, maximum: 100, description: 'Rotated log files kept.' }),
});

/** Tables the kernel validates itself, beside each component's own. */
export const CORE_TABLES: ReadonlyMap<string, TObject> = new Map([['logging', loggingConfig]]);

/** Every built-in component, in no particular order: `needs` decides the start order. */
export const BUILT_IN_COMPONENTS: readonly ComponentDefinition[] = [
  storeComponent,
  serverComponent,
  configFileComponent,
  databaseComponent,
  machineComponent,
  serialComponent,
  virtualPrinterComponent,
  dataStoreComponent,
  printerComponent,
  webcamComponent,
  fileManagerComponent,
  ...JOB_COMPONENTS,
  authorizationComponent,
  octoprintCompatComponent,
  mqttComponent,
] as ComponentDefinition[];

/** First-party plugins: the repository's plugins/ seen from server/, or dist/plugins seen from dist/server/. */
const BUNDLED_PLUGINS = fileURLToPath(new URL('../plugins', import.meta.url));

export interface DaemonOptions {
  dataDir: string;
  /** A TOML file; when omitted, `<data>/config/brim.toml` is used if it exists, else defaults. */
  configFile?: string;
  /** Overrides [server] port (0 picks a free one, for tests). */
  port?: number;
  clock?: Clock;
  /** Extra components (plugins, test fixtures) started with the built-ins. */
  components?: readonly ComponentDefinition[];
  /** Force console logging off (tests). */
  quiet?: boolean;
  /** What server.restart does; main.ts restarts the daemon in the same process. */
  onRestartRequested?: () => void;
}

export interface Daemon {
  kernel: Kernel;
  paths: Paths;
  logger: RootLogger;
  stop(): Promise<void>;
}

export function loadConfig(paths: Paths, configFile?: string): LoadedConfig {
  const file = configFile ?? defaultConfigFile(paths);
  if (!configFile && !existsSync(file)) return { file: null, raw: {} };
  return readConfigFile(file);
}

/** Throws ConfigError or StartupError with a message fit to print as it is. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const paths = dataPaths(options.dataDir);
  ensureDataFolders(paths);
  const config = loadConfig(paths, options.configFile);
  if (options.port !== undefined) config.raw.server = { ...config.raw.server, port: options.port };
  const logTable = Value.Default(loggingConfig, structuredClone(config.raw.logging ?? {})) as Record<
    string,
    unknown
  >;
  const valid = Value.Check(loggingConfig, logTable);
  const logger = createLogger({
    level: valid ? String(logTable.level) : 'info',
    console: !options.quiet && (valid ? Boolean(logTable.console) : true),
    file: join(paths.logs, 'brim.log'),
    maxBytes: valid ? Number(logTable.max_file_bytes) : 10_485_760,
    keepFiles: valid ? Number(logTable.keep_files) : 5,
  });
  // The same components and plugins a start-up with a given config would have, for checking it.
  const definitionsFor = async (raw: LoadedConfig['raw']): Promise<ComponentDefinition[]> => [
    ...BUILT_IN_COMPONENTS,
    ...(options.components ?? []),
    ...(await loadPlugins(raw, [BUNDLED_PLUGINS, paths.plugins])),
  ];
  try {
    const kernel = new Kernel({
      definitions: await definitionsFor(config.raw),
      config,
      extraTables: CORE_TABLES,
      paths,
      clock: options.clock ?? new SystemClock(),
      log: logger.log,
      onRestartRequested: options.onRestartRequested,
      checkConfigText: async (text, file) => {
        const candidate = parseConfigText(text, file);
        const definitions = await definitionsFor(candidate.raw);
        const tables = validateConfig(candidate, configSchemas(definitions, CORE_TABLES));
        checkComponentConfigs(definitions, tables, candidate, { configDir: paths.config, configFile: file });
      },
      rolloverLogs: () => {
        if (!logger.file) return [];
        logger.file.rotate();
        return ['brim'];
      },
    });
    await kernel.start();
    return {
      kernel,
      paths,
      logger,
      stop: async () => {
        await kernel.stop();
        logger.log.info('stopped');
        logger.close();
      },
    };
  } catch (error) {
    logger.close();
    throw error;
  }
}

/** `brim user add`: opens the database alone (the daemon may be stopped) and adds a user. */
export async function createUserOffline(
  options: { dataDir: string; configFile?: string },
  username: string,
  password: string,
  role: Role,
): Promise<void> {
  const paths = dataPaths(options.dataDir);
  ensureDataFolders(paths);
  const config = loadConfig(paths, options.configFile);
  const filename = String(config.raw.store?.filename ?? storeConfig.properties.filename.default);
  const db = new Database(join(paths.database, filename));
  try {
    db.pragma('journal_mode = WAL');
    migrate(db);
    await addUser(db, username, password, role, Math.floor(Date.now() / 1000));
  } finally {
    db.close();
  }
}
