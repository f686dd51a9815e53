import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Kind, type TObject, type TSchema } from '@sinclair/typebox';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Endpoint } from '../server/api/registry.ts';
import { type RpcClient, type RpcMessage, startReadyDaemon, type TestDaemon } from './fixtures/daemon.ts';

// Table-driven bad input over the whole registry, so an endpoint added later is covered without
// touching this file. Every method with declared params gets wrong types, missing required params,
// unknown extra params and 1 MB strings, over JSON-RPC (websocket) and HTTP, against a daemon on the
// virtual printer. The reply must be Moonraker's: code 400 with "No data for argument: <name>" for a
// missing param (moonraker/common.py WebRequest._get_converted_arg) and a message naming the param
// for a wrong one; the daemon must keep answering; and the SQLite rows and the files on disk must be
// exactly as they were.

let brim: TestDaemon;
let client: RpcClient;

const HUGE = 'x'.repeat(1_000_000);
const UNKNOWN_ARG = 'brim_unknown_arg';

beforeAll(async () => {
  ({ brim, client } = await startReadyDaemon());
  await client.call('server.database.post_item', { namespace: 'mainsail', key: 'keep.me', value: [1, 2, 3] });
  const form = new FormData();
  form.append('file', new Blob(['G28\nG1 X10 Y10 F3000\n']), 'keep.gcode');
  const upload = await fetch(`${brim.url}/server/files/upload`, { method: 'POST', body: form });
  expect(upload.status).toBe(201);
}, 30_000);

afterAll(async () => {
  await client.close();
  await brim.stop();
});

/** Every row of every table in the daemon's SQLite file, read through a second, read-only handle. */
function databaseRows(): Record<string, string[]> {
  const db = new Database(join(brim.dataDir, 'database', 'brim.sqlite'), { readonly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[];
    return Object.fromEntries(
      // Sorted in JS: some tables are WITHOUT ROWID, and only the set of rows matters.
      tables.map(({ name }) => [
        name,
        db
          .prepare(`SELECT * FROM "${name}"`)
          .all()
          .map((row) => JSON.stringify(row))
          .sort(),
      ]),
    );
  } finally {
    db.close();
  }
}

/** Path → SHA-256 of every file in the data folder, except logs and the SQLite files (read as rows). */
function fileTree(): Record<string, string> {
  const tree: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = relative(brim.dataDir, path);
      if (name === 'logs' || name === 'database') continue;
      if (entry.isDirectory()) {
        tree[`${name}/`] = 'dir';
        walk(path);
      } else if (statSync(path).isFile()) {
        tree[name] = createHash('sha256').update(readFileSync(path)).digest('hex');
      }
    }
  };
  walk(brim.dataDir);
  return tree;
}

function stored() {
  return { rows: databaseRows(), files: fileTree() };
}

/**
 * A value of the wrong JSON type for the schema, or undefined when any JSON value would do. HTTP
 * converts values the way Moonraker does (a number is a fine string there), so it gets objects.
 */
function wrongValue(schema: TSchema, transport: 'websocket' | 'http'): unknown {
  switch (schema[Kind]) {
    case 'String':
    case 'Literal':
      return transport === 'http' ? { not: 'text' } : 12345;
    case 'Number':
    case 'Integer':
      return 'not a number';
    case 'Boolean':
      return 'maybe';
    case 'Array':
    case 'Tuple':
      // HTTP makes a lone value a one-item list, as `?commands=G28` needs.
      return transport === 'http' ? { not: 'a list' } : 'not a list';
    case 'Object':
    case 'Record':
      return 7;
    case 'Union': {
      const kinds = new Set(((schema.anyOf ?? []) as TSchema[]).map((o) => o[Kind]));
      if (kinds.has('Unknown') || kinds.has('Any')) return undefined;
      if (!kinds.has('Object') && !kinds.has('Record')) return { not: 'this' };
      return kinds.has('Boolean') ? undefined : true;
    }
    default:
      return undefined;
  }
}

/** A value the schema accepts, so a case can get past every param but the one under test. */
function validValue(schema: TSchema): unknown {
  if (schema.default !== undefined) return schema.default;
  switch (schema[Kind]) {
    case 'String':
      return schema.enum?.[0] ?? 'brim-bad-input';
    case 'Literal':
      return schema.const;
    case 'Number':
    case 'Integer':
      return schema.minimum ?? 1;
    case 'Boolean':
      return false;
    case 'Array':
      return [];
    case 'Object':
    case 'Record':
      return {};
    case 'Union':
      return validValue((schema.anyOf as TSchema[])[0] as TSchema);
    default:
      return null;
  }
}

function isStringish(schema: TSchema): boolean {
  if (schema[Kind] === 'String') return true;
  return schema[Kind] === 'Union' && (schema.anyOf as TSchema[]).some((o) => o[Kind] === 'String');
}

interface Case {
  endpoint: Endpoint;
  label: string;
  args: Record<string, unknown>;
  /** The message the reply must carry, or null when the call may succeed (an ignored argument). */
  message: RegExp | null;
}

/** Read-only by Moonraker's convention: a GET changes nothing, so it may run with any arguments. */
const readOnly = (endpoint: Endpoint) => endpoint.verb === 'GET';

function casesFor(endpoint: Endpoint, transport: 'websocket' | 'http'): Case[] {
  const schema = endpoint.params as TObject;
  const properties = Object.entries(schema.properties) as [string, TSchema][];
  // A param with a default is filled in when missing, so only the others are really required.
  const required = new Set(
    (schema.required ?? []).filter((name) => schema.properties[name]?.default === undefined),
  );
  const others = (except: string) =>
    Object.fromEntries(
      properties
        .filter(([name]) => name !== except && required.has(name))
        .map(([n, s]) => [n, validValue(s)]),
    );
  const escaped = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const cases: Case[] = [];
  for (const [name, property] of properties) {
    const wrong = wrongValue(property, transport);
    if (wrong !== undefined) {
      cases.push({
        endpoint,
        label: `${name}=${JSON.stringify(wrong)}`,
        args: { ...others(name), [name]: wrong },
        message: new RegExp(`^Invalid argument '${escaped(name)}[\\w.]*': `),
      });
    }
    if (required.has(name)) {
      cases.push({
        endpoint,
        label: `without ${name}`,
        args: { ...others(name), [UNKNOWN_ARG]: HUGE.slice(0, 100) },
        message: new RegExp(`^No data for argument: ${escaped(name)}$`),
      });
    }
    if (isStringish(property)) {
      // A state-changing method given otherwise valid args would act on the huge string, which is
      // its purpose; there the string rides along with a missing required param instead.
      const missing = [...required].find((r) => r !== name);
      if (readOnly(endpoint)) {
        cases.push({
          endpoint,
          label: `${name}=<1 MB>`,
          args: { ...others(name), [name]: HUGE },
          message: null,
        });
      } else if (missing) {
        const { [missing]: _, ...rest } = others(name);
        cases.push({
          endpoint,
          label: `${name}=<1 MB> without ${missing}`,
          args: { ...rest, [name]: HUGE },
          // A length limit on the param itself may refuse it first; either way nothing runs.
          message: new RegExp(
            `^(No data for argument: ${escaped(missing)}$|Invalid argument '${escaped(name)}': .*length)`,
          ),
        });
      }
    }
  }
  if (readOnly(endpoint)) {
    cases.push({
      endpoint,
      label: `unknown ${UNKNOWN_ARG}`,
      args: { ...others(''), [UNKNOWN_ARG]: { nested: [HUGE.slice(0, 1000)] } },
      message: null,
    });
  }
  return cases;
}

function allCases(transport: 'websocket' | 'http'): Case[] {
  return (
    brim.daemon.kernel.api
      .all()
      .filter((e) => e.params && e.transports.includes(transport))
      // Routes with path parts (/server/files/:root/*) and multipart uploads: files and octoprint tests.
      .filter((e) =>
        transport === 'websocket' ? e.rpcMethod !== null : !/[:*]/.test(e.path) && !e.multipart,
      )
      .flatMap((e) => casesFor(e, transport))
  );
}

function checkReply(c: Case, error: { code: number; message: string } | undefined, status?: number) {
  const where = `${c.endpoint.verb} ${c.endpoint.rpcMethod ?? c.endpoint.path} ${c.label}`;
  if (c.message === null) {
    // Ignored like Moonraker ignores it: the method may fail for its own reasons, never for this.
    if (error) {
      expect(error.message, where).not.toContain(UNKNOWN_ARG);
      expect(error.code, where).not.toBe(500);
      expect(error.message.length, where).toBeLessThan(2000);
    }
    return;
  }
  expect(error, where).toBeDefined();
  expect(error?.code, where).toBe(400);
  if (status !== undefined) expect(status, where).toBe(400);
  expect(error?.message, where).toMatch(c.message);
  expect(error?.message.length, `${where}: the message repeats the huge value`).toBeLessThan(2000);
}

async function callHttp(c: Case): Promise<{ status: number; error?: { code: number; message: string } }> {
  const { endpoint, args } = c;
  let response: Response;
  if (endpoint.verb === 'POST') {
    response = await fetch(`${brim.url}${endpoint.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(args),
    });
  } else {
    // Query strings carry text; Moonraker's `name:json` hint carries every other JSON type.
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries(args)) {
      if (typeof value === 'string') query.set(name, value);
      else query.set(`${name}:json`, JSON.stringify(value));
    }
    response = await fetch(`${brim.url}${endpoint.path}?${query}`, { method: endpoint.verb });
  }
  const text = await response.text();
  // An error always has a JSON body (Mainsail parses every one); a success may stream a file.
  if (response.status < 400) return { status: response.status };
  let body: { error?: { code: number; message: string } };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${endpoint.verb} ${endpoint.path} ${c.label}: ${response.status} with a non-JSON body`);
  }
  return { status: response.status, error: body.error };
}

async function stillAnswers() {
  expect((await client.call('printer.info')).result).toMatchObject({ state: 'ready' });
  expect((await fetch(`${brim.url}/server/info`)).status).toBe(200);
}

describe('bad input on every method of the registry', () => {
  it('over JSON-RPC: Moonraker errors, the daemon keeps running, nothing stored changes', async () => {
    const before = stored();
    const cases = allCases('websocket');
    expect(cases.length).toBeGreaterThan(150);
    for (const c of cases) {
      const reply: RpcMessage = await client.call(c.endpoint.rpcMethod as string, c.args);
      checkReply(c, reply.error);
    }
    await stillAnswers();
    expect(stored()).toEqual(before);
  }, 120_000);

  it('over HTTP: the same errors with the status as the code, in a JSON body', async () => {
    const before = stored();
    const cases = allCases('http').filter((c) => c.endpoint.verb === 'POST' || !c.label.includes('1 MB'));
    expect(cases.length).toBeGreaterThan(150);
    for (const c of cases) {
      const { status, error } = await callHttp(c);
      checkReply(c, error, c.message ? status : undefined);
    }
    await stillAnswers();
    expect(stored()).toEqual(before);
  }, 120_000);

  it('answers a GET whose query string is too long for the HTTP parser, and keeps running', async () => {
    const response = await fetch(`${brim.url}/server/files/metadata?filename=${HUGE}`);
    expect(response.status).toBe(431);
    await stillAnswers();
  });
});

describe('printer objects', () => {
  it('leaves unknown objects and fields out of query and subscribe, as Klipper does', async () => {
    const objects = {
      extruder: ['temperature', 'no_such_field'],
      no_such_object: null,
      'fan nope': ['speed'],
    };
    for (const method of ['printer.objects.query', 'printer.objects.subscribe']) {
      const { status } = (await client.call(method, { objects })).result as {
        status: Record<string, Record<string, unknown>>;
      };
      expect(Object.keys(status), method).toEqual(['extruder']);
      expect(Object.keys(status.extruder ?? {}), method).toEqual(['temperature']);
    }
    await client.call('printer.objects.subscribe', { objects: {} });
  });

  it('refuses a field list that is not a list, naming the object', async () => {
    const reply = await client.call('printer.objects.query', { objects: { extruder: 'temperature' } });
    expect(reply.error).toMatchObject({
      code: 400,
      message: expect.stringMatching(/^Invalid argument 'objects.extruder'/),
    });
  });
});

describe('path traversal', () => {
  it('is refused by every file and database endpoint, and nothing outside the roots is touched', async () => {
    const before = stored();
    const outside = ['../../etc/passwd', '../database/brim.sqlite', '..', 'gcodes/../../database'];
    for (const [method, params] of [
      ...outside.map((p) => ['server.files.metadata', { filename: p }] as const),
      ...outside.map((p) => ['server.files.thumbnails', { filename: p }] as const),
      ...outside.map((p) => ['server.files.get_directory', { path: `gcodes/${p}` }] as const),
      ...outside.map((p) => ['server.files.delete_file', { path: `gcodes/${p}` }] as const),
      ...outside.map((p) => ['server.files.delete_directory', { path: `config/${p}`, force: true }] as const),
      ...outside.map((p) => ['server.files.post_directory', { path: `gcodes/${p}/x` }] as const),
      ...outside.map(
        (p) => ['server.files.move', { source: 'gcodes/keep.gcode', dest: `gcodes/${p}` }] as const,
      ),
      ...outside.map((p) => ['server.files.copy', { source: `gcodes/${p}`, dest: 'gcodes/stolen' }] as const),
      ...outside.map(
        (p) => ['server.files.zip', { items: [`gcodes/${p}`], dest: 'gcodes/out.zip' }] as const,
      ),
      ...outside.map((p) => ['printer.print.start', { filename: p }] as const),
      ...outside.map((p) => ['server.job_queue.post_job', { filenames: [p] }] as const),
    ] as const) {
      const reply = await client.call(method, params);
      expect(reply.error, `${method} ${JSON.stringify(params)}`).toBeDefined();
      expect([400, 403, -32601], `${method} ${JSON.stringify(params)}`).toContain(reply.error?.code);
    }
    for (const path of [
      '/server/files/gcodes/../database/brim.sqlite',
      '/server/files/gcodes/%2e%2e/database/brim.sqlite',
    ]) {
      const response = await fetch(`${brim.url}${path}`);
      expect([400, 403, 404], path).toContain(response.status);
      expect(await response.text(), path).not.toContain('SQLite format');
    }
    // The reserved namespace is read-only to clients (Moonraker's rule).
    const reserved = await client.call('server.database.post_item', {
      namespace: 'moonraker',
      key: 'a',
      value: 1,
    });
    expect(reserved.error?.code).toBe(403);
    await stillAnswers();
    expect(stored()).toEqual(before);
  });
});
