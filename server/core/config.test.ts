import { readFileSync } from 'node:fs';
import { type TObject, Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_COMPONENTS, CORE_TABLES } from '../daemon.ts';
import { configTemplate, parseConfigText, validateConfig } from './config.ts';
import { ConfigError } from './errors.ts';

const schemas = new Map<string, TObject>([
  [
    'server',
    Type.Object({
      host: Type.String({ default: '0.0.0.0' }),
      port: Type.Integer({ default: 7125, minimum: 0, maximum: 65535 }),
    }),
  ],
  [
    'logging',
    Type.Object({ level: Type.Union([Type.Literal('info'), Type.Literal('debug')], { default: 'info' }) }),
  ],
]);

function problemsOf(toml: string): string[] {
  try {
    validateConfig(parseConfigText(toml, '/etc/brim/config.toml'), schemas);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('config validation', () => {
  it('names file, table and key of an unknown key and suggests the right one', () => {
    expect(problemsOf('[server]\nprot = 7125\n')).toEqual([
      'config.toml [server]: unknown key "prot" (did you mean "port"?)',
    ]);
  });

  it('names an unknown table and suggests a known one', () => {
    expect(problemsOf('[srever]\nport = 1\n')).toEqual([
      'config.toml [srever]: unknown table (did you mean "server"?)',
    ]);
  });

  it('lists the known names when nothing is close', () => {
    expect(problemsOf('[server]\nzzzzzzzz = 1\n')).toEqual([
      'config.toml [server]: unknown key "zzzzzzzz" (known: host, port)',
    ]);
  });

  it('says what type a key must have', () => {
    expect(problemsOf('[server]\nport = "7125"\n')).toEqual([
      'config.toml [server]: key "port" must be an integer from 0 to 65535, got "7125"',
    ]);
  });

  it('rejects an out-of-range value with the allowed range', () => {
    expect(problemsOf('[server]\nport = 70000\n')).toEqual([
      'config.toml [server]: key "port" must be an integer from 0 to 65535, got 70000',
    ]);
  });

  it('lists the allowed values of an enumerated key', () => {
    expect(problemsOf('[logging]\nlevel = "loud"\n')).toEqual([
      'config.toml [logging]: key "level" must be one of "info", "debug", got "loud"',
    ]);
  });

  it('reports every problem at once', () => {
    expect(problemsOf('[server]\nprot = 1\nport = -1\n[nope]\n')).toHaveLength(3);
  });

  it('stops on a TOML syntax error with line and column', () => {
    expect(problemsOf('[server]\nport = 7125\nhost = \n')).toEqual([
      expect.stringMatching(/^\/etc\/brim\/config\.toml:3:\d+: TOML syntax error: /),
    ]);
  });

  it('rejects a key outside any table', () => {
    expect(problemsOf('port = 1\n')).toEqual([
      'config.toml: key "port" is outside any table (put it under a [table] heading)',
    ]);
  });

  it('fills defaults for missing tables and keys', () => {
    const tables = validateConfig(parseConfigText('[server]\nport = 8000\n', 'config.toml'), schemas);
    expect(tables.server).toEqual({ host: '0.0.0.0', port: 8000 });
    expect(tables.logging).toEqual({ level: 'info' });
  });
});

function locatedOf(toml: string) {
  try {
    validateConfig(parseConfigText(toml, 'brim.toml'), schemas);
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.located;
    throw error;
  }
}

describe('where a config problem is', () => {
  it('points at the line and column of an unknown key, a wrong value and an unknown table', () => {
    const toml = [
      '# comment',
      '[server]',
      'host = "0.0.0.0"',
      '  prot = 1',
      '',
      '[logging]',
      'level = "loud"',
      '[nope]',
      'x = 1',
    ].join('\n');
    expect(locatedOf(toml)).toEqual([
      { message: 'brim.toml [nope]: unknown table (known: server, logging)', line: 8, column: 1 },
      { message: 'brim.toml [server]: unknown key "prot" (did you mean "port"?)', line: 4, column: 3 },
      {
        message: 'brim.toml [logging]: key "level" must be one of "info", "debug", got "loud"',
        line: 7,
        column: 1,
      },
    ]);
  });

  it('gives the line and column of a TOML syntax error', () => {
    expect(locatedOf('[server]\nport = 7125\nhost = \n')).toEqual([
      {
        message: expect.stringMatching(/^brim\.toml:3:\d+: TOML syntax error: /),
        line: 3,
        column: expect.any(Number),
      },
    ]);
  });

  it('finds dotted, quoted and top-level dotted keys, and skips lines inside multi-line strings', () => {
    const toml = [
      'server.prot = 1',
      '[logging]',
      'note = """',
      'level = "inside a string"',
      '"""',
      "'level' = 3",
    ].join('\n');
    expect(locatedOf(toml).map((p) => [p.message.replace(/ \(.*$/, ''), p.line])).toEqual([
      ['brim.toml [server]: unknown key "prot"', 1],
      ['brim.toml [logging]: unknown key "note"', 3],
      ['brim.toml [logging]: key "level" must be one of "info", "debug", got 3', 6],
    ]);
  });

  it('points at the line of a key outside any table', () => {
    expect(locatedOf('\nport = 1\n')).toEqual([
      {
        message: 'brim.toml: key "port" is outside any table (put it under a [table] heading)',
        line: 2,
        column: 1,
      },
    ]);
  });
});

describe('config.example.toml', () => {
  const allSchemas = new Map(CORE_TABLES);
  for (const definition of BUILT_IN_COMPONENTS)
    if (definition.config) allSchemas.set(definition.name, definition.config);
  // Tables that switch a feature on by being present are shown commented out, as `#[table]` and
  // `#key = value` (a "#" with no space after it); uncommented, they must pass the same checks.
  const text = readFileSync(new URL('../../config.example.toml', import.meta.url), 'utf8').replace(
    /^#(?=\[|[a-z_]+ = )/gm,
    '',
  );

  it('parses and validates against every schema', () => {
    expect(() => validateConfig(parseConfigText(text, 'config.example.toml'), allSchemas)).not.toThrow();
  });

  it('matches the template written for a daemon without a file, which is valid as it is', () => {
    const optIn = new Set(BUILT_IN_COMPONENTS.filter((d) => d.enabledByTable).map((d) => d.name));
    expect(optIn.has('mqtt')).toBe(true);
    const template = configTemplate(allSchemas, optIn);
    const parsed = parseConfigText(template, 'brim.toml');
    // Opt-in tables (MQTT talks to a broker) are only commented in: the template must not switch them on.
    expect(Object.keys(parsed.raw).sort()).toEqual(
      [...allSchemas.keys()].filter((t) => !optIn.has(t)).sort(),
    );
    expect(() => validateConfig(parsed, allSchemas)).not.toThrow();
    // Uncommenting every default line gives the defaults back, so each line is valid TOML; opt-in tables
    // come back whole with their "#" lines uncommented.
    const uncommented = parseConfigText(
      template.replace(/^# ([A-Za-z0-9_]+ = .*)$/gm, '$1').replace(/^#(?=\[|[A-Za-z0-9_]+ = )/gm, ''),
      'brim.toml',
    );
    for (const [table, schema] of allSchemas)
      for (const [key, keySchema] of Object.entries(schema.properties))
        expect(uncommented.raw[table]?.[key], `[${table}] ${key}`).toEqual(
          (keySchema as { default: unknown }).default,
        );
  });

  it('shows the tables that are enabled by their presence only commented out', () => {
    const asWritten = parseConfigText(
      readFileSync(new URL('../../config.example.toml', import.meta.url), 'utf8'),
      'config.example.toml',
    );
    for (const definition of BUILT_IN_COMPONENTS) {
      if (definition.enabledByTable) expect(asWritten.raw[definition.name], definition.name).toBeUndefined();
    }
  });

  it('names every table and key of every schema, with a comment and the default value', () => {
    const parsed = parseConfigText(text, 'config.example.toml');
    for (const [table, schema] of allSchemas) {
      expect(parsed.raw[table], `table [${table}] missing`).toBeDefined();
      for (const [key, keySchema] of Object.entries(schema.properties)) {
        expect(parsed.raw[table]?.[key], `[${table}] ${key} missing`).toEqual(
          (keySchema as { default: unknown }).default,
        );
        expect(keySchema.description, `[${table}] ${key} has no description`).toBeTruthy();
      }
    }
  });
});
