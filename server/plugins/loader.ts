// Finds the plugins named by `[plugins.<name>]` tables, bundled or in the data folder, and imports them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Type } from '@sinclair/typebox';
import type { ComponentDefinition } from '../core/component.ts';
import { describeError } from '../core/errors.ts';
import { type PluginSdk, pluginSdk } from './api.ts';

/** Tried in order in each plugin folder: built JavaScript first, TypeScript source when run under vitest. */
const ENTRY_FILES = ['index.js', 'index.mjs', 'index.ts'];

export const PLUGIN_TABLE_PREFIX = 'plugins.';

export function pluginNames(rawTables: Record<string, unknown>): string[] {
  return Object.keys(rawTables)
    .filter((t) => t.startsWith(PLUGIN_TABLE_PREFIX))
    .map((t) => t.slice(PLUGIN_TABLE_PREFIX.length));
}

function findEntry(name: string, searchDirs: readonly string[]): string | null {
  for (const dir of searchDirs) {
    for (const file of ENTRY_FILES) {
      const path = join(dir, name, file);
      if (existsSync(path)) return path;
    }
  }
  return null;
}

/** A failed plugin's table is left unchecked: its schema is unknown, and it must not stop start-up. */
const UNCHECKED_TABLE = Type.Object({}, { additionalProperties: true });

function isDefinition(value: unknown): value is ComponentDefinition {
  const candidate = value as Partial<ComponentDefinition> | null;
  return typeof candidate?.name === 'string' && typeof candidate.create === 'function';
}

/**
 * Every plugin is optional: one that is missing, fails to import or exports no definition becomes a
 * component that fails at create, so it lands in server.info `failed_components` and the rest runs.
 */
export async function loadPlugins(
  rawTables: Record<string, unknown>,
  searchDirs: readonly string[],
): Promise<ComponentDefinition[]> {
  const definitions: ComponentDefinition[] = [];
  for (const name of pluginNames(rawTables)) {
    const failed = (reason: string): ComponentDefinition => ({
      name,
      optional: true,
      configTable: `${PLUGIN_TABLE_PREFIX}${name}`,
      config: UNCHECKED_TABLE,
      create: () => {
        throw new Error(reason);
      },
    });
    const entry = findEntry(name, searchDirs);
    if (!entry) {
      definitions.push(failed(`plugin "${name}" not found in ${searchDirs.join(' or ')}`));
      continue;
    }
    try {
      const module = (await import(pathToFileURL(entry).href)) as { default?: unknown };
      // A plugin outside the repository cannot import our packages, so it may export a factory that gets them.
      const exported =
        typeof module.default === 'function'
          ? (module.default as (sdk: PluginSdk) => unknown)(pluginSdk)
          : module.default;
      if (!isDefinition(exported)) {
        definitions.push(failed(`${entry} has no default export with a name and create()`));
        continue;
      }
      definitions.push({
        ...exported,
        config: exported.config ?? Type.Object({}),
        optional: true,
        configTable: `${PLUGIN_TABLE_PREFIX}${name}`,
      });
    } catch (error) {
      definitions.push(failed(`cannot load ${entry}: ${describeError(error)}`));
    }
  }
  return definitions;
}
