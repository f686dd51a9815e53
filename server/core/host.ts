// Builds one Host handle per component, then creates, starts and stops them in dependency order.
import type { TObject } from '@sinclair/typebox';
import type BetterSqlite3 from 'better-sqlite3';
import { Registry } from 'prom-client';
import { ApiRegistry } from '../api/registry.ts';
import type { Clock } from './clock.ts';
import type {
  ComponentDefinition,
  ComponentInstance,
  ComponentMap,
  FailedComponent,
  Host,
  RuntimeView,
} from './component.ts';
import { type ConfigSchemas, type LoadedConfig, parseConfigText, validateConfig } from './config.ts';
import { ConfigError, type ConfigProblem, describeError, StartupError } from './errors.ts';
import { Bus } from './events.ts';
import type { Logger } from './logger.ts';
import type { Paths } from './paths.ts';
import { StatusStore } from './status-store.ts';

export interface KernelOptions {
  definitions: readonly ComponentDefinition[];
  config: LoadedConfig;
  /** Tables the kernel itself validates (e.g. [logging]) beside the components' own. */
  extraTables?: ReadonlyMap<string, TObject>;
  paths: Paths;
  clock: Clock;
  log: Logger;
  /** What the process does on server.restart; without it the request is refused. */
  onRestartRequested?: () => void;
  rolloverLogs?: () => string[];
  /**
   * Checks a would-be config file the way start-up would (the daemon also loads the plugins it
   * names); without it the text is checked against this kernel's own tables.
   */
  checkConfigText?: (text: string, file: string) => Promise<void>;
}

type Phase = ReturnType<RuntimeView['phase']>;

export class Kernel {
  readonly bus: Bus;
  readonly status: StatusStore;
  readonly api = new ApiRegistry();
  readonly metrics = new Registry();
  private readonly order: ComponentDefinition[];
  private readonly tables: Record<string, Record<string, unknown>>;
  private readonly schemas: ConfigSchemas;
  private readonly instances = new Map<string, ComponentInstance>();
  private readonly startedNames: string[] = [];
  private readonly failures: FailedComponent[] = [];
  private readonly warningList: string[] = [];
  private currentPhase: Phase = 'created';

  constructor(private readonly options: KernelOptions) {
    this.bus = new Bus(options.log.child({ component: 'bus' }));
    this.status = new StatusStore(options.clock, (error) =>
      options.log.error({ err: error }, 'status subscriber failed'),
    );
    this.schemas = configSchemas(options.definitions, options.extraTables);
    this.tables = validateConfig(options.config, this.schemas);
    this.order = enabledOnly(dependencyOrder(options.definitions), options.config);
    checkComponentConfigs(this.order, this.tables, options.config, {
      configDir: options.paths.config,
      configFile: options.config.file,
    });
  }

  get runtime(): RuntimeView {
    return {
      phase: () => this.currentPhase,
      started: () => [...this.startedNames],
      failed: () => [...this.failures],
      warnings: () => [...this.warningList],
      advertised: () =>
        this.order
          .filter((d) => d.advertiseAs && this.startedNames.includes(d.name))
          .map((d) => d.advertiseAs as string),
      config: () => this.tables,
      configFile: () => this.options.config.file,
      rawConfig: () => this.options.config.raw,
      configText: () => this.options.config.text ?? null,
      configSchemas: () => this.schemas,
      optInTables: () =>
        new Set(this.options.definitions.filter((d) => d.enabledByTable).map((d) => tableOf(d))),
      checkConfigText: async (text, file) => {
        try {
          if (this.options.checkConfigText) await this.options.checkConfigText(text, file);
          else {
            const candidate = parseConfigText(text, file);
            const tables = validateConfig(candidate, this.schemas);
            checkComponentConfigs(this.options.definitions, tables, candidate, {
              configDir: this.options.paths.config,
              configFile: file,
            });
          }
          return [];
        } catch (error) {
          if (error instanceof ConfigError) return error.located;
          throw error;
        }
      },
      canRestart: () => this.options.onRestartRequested !== undefined,
      requestRestart: () => {
        if (!this.options.onRestartRequested) throw new Error('this daemon cannot restart itself');
        this.options.onRestartRequested();
      },
      rolloverLogs: () => this.options.rolloverLogs?.() ?? [],
    };
  }

  table(name: string): Record<string, unknown> {
    return this.tables[name] ?? {};
  }

  /** Create all, then start all, in dependency order; a core failure undoes what started. */
  async start(): Promise<void> {
    this.currentPhase = 'starting';
    for (const definition of this.order) {
      if (!this.ready(definition)) continue;
      try {
        this.instances.set(definition.name, await definition.create(this.hostFor(definition)));
      } catch (error) {
        // A config problem found only at create (an unreadable password file) stops start-up, even
        // for an optional component: the user has to fix the file either way.
        if (error instanceof ConfigError) {
          await this.stop();
          throw error;
        }
        await this.fail(definition, `create: ${describeError(error)}`, error);
      }
    }
    for (const definition of this.order) {
      const instance = this.instances.get(definition.name);
      if (!instance || !this.ready(definition)) continue;
      try {
        await instance.start?.();
        if (instance.status) this.status.register(definition.name, instance as Required<ComponentInstance>);
        this.startedNames.push(definition.name);
      } catch (error) {
        this.instances.delete(definition.name);
        await this.fail(definition, describeError(error), error);
      }
    }
    this.currentPhase = 'running';
    this.bus.emit('host:ready', { startedComponents: [...this.startedNames] });
  }

  /** Stops in reverse start order; one component's failure to stop does not keep the others running. */
  async stop(): Promise<void> {
    if (this.currentPhase === 'stopping' || this.currentPhase === 'stopped') return;
    this.currentPhase = 'stopping';
    this.bus.emit('host:stopping', {});
    this.status.stopPolling();
    for (const name of [...this.startedNames].reverse()) {
      const instance = this.instances.get(name);
      this.bus.off(name);
      try {
        await instance?.stop?.();
      } catch (error) {
        this.options.log.error({ err: error, component: name }, `component ${name} failed to stop`);
      }
      this.status.unregister(name);
    }
    this.startedNames.length = 0;
    this.currentPhase = 'stopped';
  }

  instance<K extends keyof ComponentMap>(name: K): ComponentMap[K] {
    const instance = this.instances.get(name as string);
    if (!instance) throw new Error(`component "${String(name)}" is not running`);
    return instance as ComponentMap[K];
  }

  private ready(definition: ComponentDefinition): boolean {
    return !this.failures.some((f) => f.name === definition.name);
  }

  private async fail(definition: ComponentDefinition, reason: string, error: unknown): Promise<void> {
    const log = this.options.log;
    if (!definition.optional) {
      log.fatal({ err: error, component: definition.name }, `core component ${definition.name} failed`);
      await this.stop();
      throw new StartupError(definition.name, reason);
    }
    log.error({ err: error, component: definition.name }, `optional component ${definition.name} failed`);
    this.failures.push({ name: definition.name, reason });
    this.warningList.push(`Component "${definition.name}" failed: ${reason}`);
    this.bus.emit('component:failed', { name: definition.name, error: reason });
    // Whatever needs a failed component cannot run either.
    for (const dependent of this.order) {
      if (dependent.needs?.includes(definition.name) && this.ready(dependent)) {
        this.instances.delete(dependent.name);
        await this.fail(dependent, `needs "${definition.name}", which failed`, error);
      }
    }
  }

  private hostFor(definition: ComponentDefinition): Host {
    const kernel = this;
    const log = this.options.log.child({ component: definition.name });
    return {
      name: definition.name,
      config: this.table(tableOf(definition)),
      bus: this.bus,
      status: this.status,
      api: this.api,
      clock: this.options.clock,
      paths: this.options.paths,
      log,
      metrics: this.metrics,
      runtime: this.runtime,
      get db(): BetterSqlite3.Database {
        return kernel.instance('store').db;
      },
      lookup: (name) => {
        if (!definition.needs?.includes(name as string)) {
          throw new Error(`${definition.name} looks up "${String(name)}" without declaring it in needs`);
        }
        return kernel.instance(name);
      },
      warn: (message) => {
        kernel.warningList.push(message);
        log.warn(message);
      },
    };
  }
}

/** Table name → schema for every component with a config table, plus the kernel's own tables. */
export function configSchemas(
  definitions: readonly ComponentDefinition[],
  extraTables: ReadonlyMap<string, TObject> = new Map(),
): ConfigSchemas {
  const schemas = new Map<string, TObject>(extraTables);
  for (const definition of definitions) {
    const table = tableOf(definition);
    if (schemas.has(table)) throw new Error(`two components use the config table [${table}]`);
    if (definition.config) schemas.set(table, definition.config);
  }
  return schemas;
}

/** Runs every enabled component's checkConfig on validated tables; all their problems in one ConfigError. */
export function checkComponentConfigs(
  definitions: readonly ComponentDefinition[],
  tables: Record<string, Record<string, unknown>>,
  config: LoadedConfig,
  files: { configDir: string; configFile: string | null },
): void {
  const problems: ConfigProblem[] = [];
  for (const definition of definitions) {
    const table = tableOf(definition);
    if (!definition.checkConfig || (definition.enabledByTable && !(table in config.raw))) continue;
    try {
      definition.checkConfig(tables[table] ?? {}, files);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.located);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

function tableOf(definition: ComponentDefinition): string {
  return definition.configTable ?? definition.name;
}

/** Drops components whose table is absent; one that needs a dropped component is a config problem. */
function enabledOnly(order: ComponentDefinition[], config: LoadedConfig): ComponentDefinition[] {
  const isOff = (d: ComponentDefinition) => d.enabledByTable === true && !(tableOf(d) in config.raw);
  const off = new Set(order.filter(isOff).map((d) => d.name));
  const problems: string[] = [];
  for (const definition of order) {
    if (off.has(definition.name)) continue;
    for (const need of definition.needs ?? []) {
      if (off.has(need)) {
        const table = tableOf(order.find((d) => d.name === need) as ComponentDefinition);
        problems.push(
          `component "${definition.name}" needs "${need}", which runs only with a [${table}] table`,
        );
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return order.filter((d) => !off.has(d.name));
}

/** Topological order; an unknown need or a cycle is a programming error and stops start-up. */
export function dependencyOrder(definitions: readonly ComponentDefinition[]): ComponentDefinition[] {
  const byName = new Map(definitions.map((d) => [d.name, d]));
  const order: ComponentDefinition[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (definition: ComponentDefinition, path: string[]) => {
    const seen = state.get(definition.name);
    if (seen === 'done') return;
    if (seen === 'visiting')
      throw new Error(`components need each other in a cycle: ${[...path, definition.name].join(' → ')}`);
    state.set(definition.name, 'visiting');
    for (const need of definition.needs ?? []) {
      const dependency = byName.get(need);
      if (!dependency)
        throw new Error(`component "${definition.name}" needs "${need}", which does not exist`);
      visit(dependency, [...path, definition.name]);
    }
    state.set(definition.name, 'done');
    order.push(definition);
  };
  for (const definition of definitions) visit(definition, []);
  return order;
}
