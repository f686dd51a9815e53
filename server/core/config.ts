// Loads the one TOML file and validates each table against its component's TypeBox schema, strictly.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parse, TomlError } from 'smol-toml';
import { ConfigError, type ConfigProblem } from './errors.ts';
import { type TomlValue, tomlKey, tomlValue } from './toml-line.ts';

export type RawTable = Record<string, unknown>;

export interface LoadedConfig {
  /** The file's path, or null when running on defaults alone. */
  file: string | null;
  /** Tables as written in the file. */
  raw: Record<string, RawTable>;
  /** The file's text, so a problem can name its line. */
  text?: string;
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
      throw new ConfigError([
        {
          message: `${file}:${error.line}:${error.column}: TOML syntax error: ${reason}`,
          line: error.line,
          column: error.column,
        },
      ]);
    }
    throw error;
  }
  const raw: Record<string, RawTable> = {};
  const problems: ConfigProblem[] = [];
  flattenTables(parsed, '', raw, problems, basename(file), locateKeys(text));
  if (problems.length > 0) throw new ConfigError(problems);
  return { file, raw, text };
}

/** `[plugins.bed_light]` becomes the table "plugins.bed_light"; a bare value at top level is an error. */
function flattenTables(
  node: Record<string, unknown>,
  prefix: string,
  out: Record<string, RawTable>,
  problems: ConfigProblem[],
  fileName: string,
  where: KeyLocations,
): void {
  for (const [key, value] of Object.entries(node)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (!isPlainObject(value)) {
      problems.push({
        message: `${fileName}: key "${name}" is outside any table (put it under a [table] heading)`,
        ...where.of(name),
      });
      continue;
    }
    if (name === 'plugins') flattenTables(value, name, out, problems, fileName, where);
    else out[name] = value;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** Line and column (from 1) of the first mention of a table, or of a key within it. */
interface KeyLocations {
  of(table: string, key?: string): { line?: number; column?: number };
}

const KEY_PART = String.raw`(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')`;
const DOTTED_KEY = String.raw`${KEY_PART}(?:\s*\.\s*${KEY_PART})*`;
const HEADER_LINE = new RegExp(String.raw`^(\s*)\[\[?\s*(${DOTTED_KEY})\s*\]\]?\s*(?:#.*)?$`);
const ASSIGNMENT_LINE = new RegExp(String.raw`^(\s*)(${DOTTED_KEY})\s*=`);
const MULTILINE_QUOTES = ['"""', "'''"];

function splitDottedKey(text: string): string[] {
  const parts = text.match(new RegExp(KEY_PART, 'g')) ?? [];
  return parts.map((part) => {
    if (part.startsWith('"')) return JSON.parse(part) as string;
    if (part.startsWith("'")) return part.slice(1, -1);
    return part;
  });
}

/** Which table and key a full dotted path falls in, grouped the way flattenTables groups them. */
function tableAndKey(path: string[]): { table: string; key?: string } {
  const depth = path[0] === 'plugins' && path.length > 1 ? 2 : 1;
  return { table: path.slice(0, depth).join('.'), key: path[depth] };
}

/**
 * smol-toml gives no positions for values, so the lines are found by reading the text: table
 * headings and `key =` lines outside multi-line strings. That is enough to point at a line; a
 * problem that cannot be placed simply has none.
 */
function locateKeys(text: string): KeyLocations {
  const found = new Map<string, { line: number; column: number }>();
  const remember = (path: string[], line: number, column: number) => {
    const { table, key } = tableAndKey(path);
    if (!found.has(table)) found.set(table, { line, column });
    const id = `${table}\u0000${key}`;
    if (key !== undefined && !found.has(id)) found.set(id, { line, column });
  };
  let header: string[] = [];
  let openQuote: string | undefined;
  text.split(/\r?\n/).forEach((content, index) => {
    const line = index + 1;
    if (openQuote) {
      if (content.split(openQuote).length % 2 === 0) openQuote = undefined;
      return;
    }
    const heading = HEADER_LINE.exec(content);
    if (heading) {
      header = splitDottedKey(heading[2] ?? '');
      remember(header, line, (heading[1]?.length ?? 0) + 1);
      return;
    }
    const assignment = ASSIGNMENT_LINE.exec(content);
    if (!assignment) return;
    remember([...header, ...splitDottedKey(assignment[2] ?? '')], line, (assignment[1]?.length ?? 0) + 1);
    openQuote = MULTILINE_QUOTES.find((quote) => content.split(quote).length % 2 === 0);
  });
  return {
    of: (table, key) =>
      (key !== undefined ? found.get(`${table}\u0000${key}`) : undefined) ?? found.get(table) ?? {},
  };
}

/** Every table's schema, by table name: the components' own plus the ones the kernel checks. */
export type ConfigSchemas = ReadonlyMap<string, TObject>;

/**
 * Validates every table: unknown tables and keys, wrong types and out-of-range values are all
 * collected, so one start-up shows every problem at once. Returns each table with defaults filled in.
 */
export function validateConfig(
  config: LoadedConfig,
  schemas: ConfigSchemas,
): Record<string, Record<string, unknown>> {
  const fileName = config.file ? basename(config.file) : 'config';
  const where = locateKeys(config.text ?? '');
  const problems: ConfigProblem[] = [];
  const known = [...schemas.keys()];
  for (const table of Object.keys(config.raw)) {
    if (!schemas.has(table)) {
      problems.push({
        message: `${fileName} [${table}]: unknown table${suggest(table, known)}`,
        ...where.of(table),
      });
    }
  }
  const result: Record<string, Record<string, unknown>> = {};
  for (const [table, schema] of schemas) {
    const raw = config.raw[table] ?? {};
    for (const { key, message } of checkTable(fileName, table, schema, raw)) {
      problems.push({ message, ...where.of(table, key) });
    }
    result[table] = Value.Default(schema, structuredClone(raw)) as Record<string, unknown>;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return result;
}

function checkTable(
  fileName: string,
  table: string,
  schema: TObject,
  raw: RawTable,
): { key: string; message: string }[] {
  const problems: { key: string; message: string }[] = [];
  const keys = Object.keys(schema.properties);
  if (schema.additionalProperties === true) return problems;
  for (const key of Object.keys(raw)) {
    if (!(key in schema.properties)) {
      problems.push({ key, message: `${fileName} [${table}]: unknown key "${key}"${suggest(key, keys)}` });
    }
  }
  for (const key of keys) {
    if (!(key in raw)) continue;
    const keySchema = schema.properties[key] as TSchema;
    const value = raw[key];
    if (!Value.Check(keySchema, value)) {
      problems.push({
        key,
        message: `${fileName} [${table}]: key "${key}" ${expectation(keySchema)}, got ${JSON.stringify(value)}`,
      });
    }
  }
  return problems;
}

/**
 * A first file for a daemon that has none: every table, each key commented out above its default,
 * so the file is valid as it is and changes nothing until a line is uncommented.
 */
export function configTemplate(schemas: ConfigSchemas, optIn: ReadonlySet<string> = new Set()): string {
  const lines = [
    '# Brim configuration: one table per component. Every key is optional; uncomment one to change it.',
    '# The value shown is the default. An unknown table or key stops start-up.',
    '# A table written "#[name]" switches its feature on once uncommented, so it stays commented here.',
  ];
  for (const [table, schema] of schemas) {
    // As in config.example.toml: "#" with no space marks what to uncomment to turn an opt-in table on.
    const off = optIn.has(table);
    lines.push('', `${off ? '#' : ''}[${tableHeading(table)}]`);
    for (const [key, keySchema] of Object.entries(schema.properties)) {
      const { description, default: fallback } = keySchema as TSchema;
      if (typeof description === 'string') lines.push(`# ${description.replace(/\n/g, '\n# ')}`);
      if (fallback !== undefined)
        lines.push(`${off ? '#' : '# '}${key} = ${tomlValue(fallback as TomlValue)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** `gcode_macro PAUSE` needs quotes in a heading; `plugins.bed_light` is two keys. */
function tableHeading(table: string): string {
  if (table.startsWith('plugins.')) return `plugins.${tomlKey(table.slice('plugins.'.length))}`;
  return tomlKey(table);
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
