import { Kind, type TSchema } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RpcClient, startReadyDaemon, type TestDaemon } from './fixtures/daemon.ts';

// Every JSON-RPC method with declared params gets each param with the wrong type: the reply must be
// Moonraker's -32602 naming an argument, the handler must not run, and nothing stored may change.

let brim: TestDaemon;
let client: RpcClient;

beforeAll(async () => {
  ({ brim, client } = await startReadyDaemon());
  await client.call('server.database.post_item', { namespace: 'mainsail', key: 'keep.me', value: [1, 2, 3] });
});

afterAll(async () => {
  await client.close();
  await brim.stop();
});

/** A value of the wrong JSON type for the schema, or undefined when any value would do. */
function wrongValue(schema: TSchema): unknown {
  switch (schema[Kind]) {
    case 'String':
    case 'Literal':
      return 12345;
    case 'Number':
    case 'Integer':
      return 'not a number';
    case 'Boolean':
      return 'maybe';
    case 'Array':
    case 'Tuple':
      return 'not a list';
    case 'Object':
    case 'Record':
      return 7;
    case 'Union': {
      const options = (schema.anyOf ?? []) as TSchema[];
      const kinds = new Set(options.map((o) => o[Kind]));
      if (kinds.has('Unknown') || kinds.has('Any')) return undefined;
      if (!kinds.has('Object') && !kinds.has('Record')) return { not: 'this' };
      return kinds.has('Boolean') ? undefined : true;
    }
    default:
      return undefined;
  }
}

async function storedState() {
  const { namespaces } = (await client.call('server.database.list')).result as { namespaces: string[] };
  const contents: Record<string, unknown> = {};
  for (const namespace of namespaces) {
    contents[namespace] = (await client.call('server.database.get_item', { namespace })).result;
  }
  const files = (await client.call('server.files.list', { root: 'gcodes' })).result;
  const history = (await client.call('server.history.totals')).result;
  return { contents, files, history };
}

describe('wrong argument types on every method', () => {
  it('answers each with -32602 naming an argument, runs nothing, and keeps every stored thing', async () => {
    const before = await storedState();
    const endpoints = brim.daemon.kernel.api
      .all()
      .filter((e) => e.rpcMethod && e.transports.includes('websocket') && e.params);
    let cases = 0;
    for (const endpoint of endpoints) {
      for (const [name, schema] of Object.entries(endpoint.params?.properties ?? {})) {
        const value = wrongValue(schema as TSchema);
        if (value === undefined) continue;
        cases++;
        const reply = await client.call(endpoint.rpcMethod as string, { [name]: value });
        expect(reply.error?.code, `${endpoint.rpcMethod} ${name}=${JSON.stringify(value)}`).toBe(-32602);
        expect(reply.error?.message, `${endpoint.rpcMethod} ${name}`).toMatch(/^Invalid argument '[\w.]+'/);
      }
    }
    expect(cases).toBeGreaterThan(60);
    expect(await storedState()).toEqual(before);
    expect((await client.call('printer.info')).result).toMatchObject({ state: 'ready' });
  });

  it('ignores unknown arguments, as Moonraker does for the extras Mainsail sends', async () => {
    const reply = await client.call('server.history.list', {
      limit: 5,
      max: 100,
      bogus: 'x'.repeat(100_000),
    });
    expect(reply.error).toBeUndefined();
  });

  it('refuses path traversal through file and database endpoints', async () => {
    for (const [method, params] of [
      ['server.files.metadata', { filename: '../../etc/passwd' }],
      ['server.files.delete_file', { path: 'gcodes/../../database/brim.sqlite' }],
      ['server.files.get_directory', { path: 'config/../../' }],
      ['server.files.move', { source: 'gcodes/a.gcode', dest: 'gcodes/../../x.gcode' }],
    ] as const) {
      const reply = await client.call(method, params);
      expect(reply.error, method).toBeDefined();
      expect([400, 403, -32601], method).toContain(reply.error?.code);
    }
    expect(
      (await client.call('server.database.get_item', { namespace: 'mainsail', key: 'keep.me' })).result,
    ).toEqual({
      namespace: 'mainsail',
      key: 'keep.me',
      value: [1, 2, 3],
    });
  });
});
