// Loads the one TOML file and validates each table against its component's TypeBox schema, strictly.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse, TomlError } from 'smol-toml';
import { ConfigError } from './errors.ts';

export type RawTable = Record<string, unknown>;

export interface LoadedConfig {
  /** The file's path, or null when running on defaults alone. */
  file: string | null;
  /** Tables as written in the file. */
  raw: Record<string, RawTable>;
}

/** Reads and parses a TOML file; a syntax error names the file, line and column. */
export function readConfigFile(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`${path}: cannot read config file (${(error as NodeJS.ErrnoException).code})`]);
  }
  return parseConfigText(text, path);
}

export function parseConfigText(text: string, file: string): LoadedConfig {
  let parsed: Record<string, unknown>;
  try {
    parsed = parse(text) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split('\n')[0]?.replace(/^Invalid TOML document: /, '');
      throw new ConfigError([`${file}:${error.line}:${error.column}: TOML syntax error: ${reason}`]);
    }
    throw error;
  }
  const raw: Record<string, RawTable> = {};
  const problems: string[] = [];
  flattenTables(parsed, '', raw, problems, basename(file));
  if (problems.length > 0) throw new ConfigError(problems);
  return { file, raw };
}

/** `[plugins.bed_light]` becomes the table "plugins.bed_light"; a bare value at top level is an error. */
function flattenTables(
  node: Record<string, unknown>,
  prefix: string,
  out: Record<string, RawTable>,
  problems: string[],
  fileName: string,
): void {
  for (const [key, value] of Object.entries(node)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (!isPlainObject(value)) {
      problems.push(`${fileName}: key "${name}" is outside any table (put it under a [table] heading)`);
      continue;
    }
    if (name === 'plugins') flattenTables(value, name, out, problems, fileName);
    else out[name] = value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/**
 * Validates every table: unknown tables and keys, wrong types and out-of-range values are all
 * collected, so one start-up shows every problem at once. Returns each table with defaults filled in.
 */
export function validateConfig(
  config: LoadedConfig,
  schemas: ReadonlyMap<string, TObject>,
): Record<string, Record<string, unknown>> {
  const fileName = config.file ? basename(config.file) : 'config';
  const problems: string[] = [];
  const known = [...schemas.keys()];
  for (const table of Object.keys(config.raw)) {
    if (!schemas.has(table)) {
      problems.push(`${fileName} [${table}]: unknown table${suggest(table, known)}`);
    }
  }
  const result: Record<string, Record<string, unknown>> = {};
  for (const [table, schema] of schemas) {
    const raw = config.raw[table] ?? {};
    problems.push(...checkTable(fileName, table, schema, raw));
    result[table] = Value.Default(schema, structuredClone(raw)) as Record<string, unknown>;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result;
}

function checkTable(fileName: string, table: string, schema: TObject, raw: RawTable): string[] {
  const problems: string[] = [];
  const keys = Object.keys(schema.properties);
  if (schema.additionalProperties === true) return problems;
  for (const key of Object.keys(raw)) {
    if (!(key in schema.properties)) {
      problems.push(`${fileName} [${table}]: unknown key "${key}"${suggest(key, keys)}`);
    }
  }
  for (const key of keys) {
    if (!(key in raw)) continue;
    const keySchema = schema.properties[key] as TSchema;
    const value = raw[key];
    if (!Value.Check(keySchema, value)) {
      problems.push(
        `${fileName} [${table}]: key "${key}" ${expectation(keySchema)}, got ${JSON.stringify(value)}`,
      );
    }
  }
  return problems;
}

/** Says in words what a schema accepts, e.g. "must be an integer from 1 to 65535". */
export function expectation(schema: TSchema): string {
  const kind = schema[Kind] as string;
  if (kind === 'Union' && Array.isArray(schema.anyOf)) {
    const options = (schema.anyOf as TSchema[]).map((s) => JSON.stringify(s.const));
    return `must be one of ${options.join(', ')}`;
  }
  if (kind === 'Literal') return `must be ${JSON.stringify(schema.const)}`;
  const noun: Record<string, string> = {
    Integer: 'an integer',
    Number: 'a number',
    String: 'a string',
    Boolean: 'true or false',
    Array: 'a list',
    Object: 'a table',
  };
  let text = `must be ${noun[kind] ?? kind.toLowerCase()}`;
  const min = schema.minimum ?? schema.minLength;
  const max = schema.maximum ?? schema.maxLength;
  const unit = kind === 'String' ? ' characters long' : '';
  if (min !== undefined && max !== undefined) text += ` from ${min} to ${max}${unit}`;
  else if (min !== undefined) text += ` of at least ${min}${unit}`;
  else if (max !== undefined) text += ` of at most ${max}${unit}`;
  if (kind === 'Array' && schema.items)
    text += ` of ${expectation(schema.items as TSchema).replace(/^must be /, '')}`;
  return text;
}

function suggest(word: string, candidates: string[]): string {
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== null && bestDistance <= Math.max(2, Math.floor(best.length / 3)))
    return ` (did you mean "${best}"?)`;
  return candidates.length > 0 ? ` (known: ${candidates.join(', ')})` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost));
    }
    previous = current;
  }
  return previous[b.length]!;
}
