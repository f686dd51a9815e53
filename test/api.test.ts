import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, startTestDaemon, type TestDaemon } from './fixtures/daemon.ts';

let brim: TestDaemon;
let client: RpcClient;

beforeAll(async () => {
  brim = await startTestDaemon();
  client = await RpcClient.connect(brim.wsUrl);
});

afterAll(async () => {
  await client.close();
  await brim.stop();
});

async function http(
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: unknown; type: string }> {
  const response = await fetch(`${brim.url}${path}`, init);
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    body: type.includes('json') ? await response.json() : await response.text(),
    type,
  };
}

function postJson(path: string, body: unknown) {
  return http(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('one endpoint, two transports', () => {
  it('gives the same server.info over HTTP and the websocket', async () => {
    const overHttp = await http('/server/info');
    const overWs = await client.call('server.info');
    expect(overHttp.status).toBe(200);
    const httpResult = (overHttp.body as { result: Record<string, unknown> }).result;
    const wsResult = overWs.result as Record<string, unknown>;
    // The websocket count is the only field that legitimately differs by who asks.
    expect({ ...httpResult, websocket_count: 0 }).toEqual({ ...wsResult, websocket_count: 0 });
    expect(wsResult).toMatchObject({
      klippy_connected: true,
      components: expect.arrayContaining(['database', 'machine']),
      failed_components: [],
      api_version: [1, 5, 0],
      api_version_string: '1.5.0',
      missing_klippy_requirements: [],
    });
    expect(wsResult.websocket_count).toBe(1);
  });

  it('answers the same JSON-RPC body over POST /server/jsonrpc', async () => {
    const reply = await postJson('/server/jsonrpc', {
      jsonrpc: '2.0',
      method: 'server.database.list',
      id: 7,
    });
    const overWs = await client.call('server.database.list');
    expect(reply.body).toEqual({ jsonrpc: '2.0', result: overWs.result, id: 7 });
  });

  it('reports the validated config in server.config', async () => {
    const reply = await client.call('server.config');
    expect(reply.result).toMatchObject({
      config: { server: { port: 0, host: '0.0.0.0' }, logging: { level: 'info' } },
    });
  });
});

describe('connection endpoints', () => {
  it('identifies a client once and returns its connection id', async () => {
    const other = await RpcClient.connect(brim.wsUrl);
    const params = { client_name: 'mainsail', version: '2.18.2', type: 'web', url: 'http://x' };
    const first = await other.call('server.connection.identify', params);
    const id = (first.result as { connection_id: number }).connection_id;
    expect(Number.isInteger(id)).toBe(true);
    expect((await other.call('server.websocket.id')).result).toEqual({ websocket_id: id });
    const again = await other.call('server.connection.identify', params);
    expect(again.error).toEqual({ code: 400, message: `Connection ${id} already identified` });
    await other.close();
  });

  it('is not reachable over HTTP', async () => {
    expect((await postJson('/server/connection/identify', {})).status).toBe(404);
  });
});

describe('database namespaces', () => {
  it('stores Mainsail settings one dot-path key at a time and returns the whole namespace', async () => {
    await client.call('server.database.post_item', {
      namespace: 'mainsail',
      key: 'dashboard.nonExpandPanels',
      value: ['x'],
    });
    await client.call('server.database.post_item', {
      namespace: 'mainsail',
      key: 'initVersion',
      value: '2.18.2',
    });
    const whole = await client.call('server.database.get_item', { namespace: 'mainsail' });
    expect(whole.result).toEqual({
      namespace: 'mainsail',
      key: null,
      value: { dashboard: { nonExpandPanels: ['x'] }, initVersion: '2.18.2' },
    });
    const list = await http('/server/database/list');
    expect((list.body as { result: { namespaces: string[] } }).result.namespaces).toContain('mainsail');
  });

  it('accepts Fluidd root keys and array keys for names with dots', async () => {
    await client.call('server.database.post_item', { namespace: 'fluidd', key: 'uiSettings', value: {} });
    await client.call('server.database.post_item', { namespace: 'fluidd', key: ['macros', 'a.b'], value: 1 });
    const reply = await client.call('server.database.get_item', {
      namespace: 'fluidd',
      key: ['macros', 'a.b'],
    });
    expect(reply.result).toEqual({ namespace: 'fluidd', key: ['macros', 'a.b'], value: 1 });
  });

  it('answers a missing key and namespace with the messages Mobileraker matches', async () => {
    const key = await client.call('server.database.get_item', { namespace: 'mainsail', key: 'nope.deeper' });
    expect(key.error).toEqual({
      code: -32601,
      message: "Key 'nope.deeper' in namespace 'mainsail' not found",
    });
    const ns = await http('/server/database/item?namespace=mobileraker&key=settings');
    expect(ns.status).toBe(404);
    expect(ns.body).toEqual({
      error: { code: 404, message: "Namespace 'mobileraker' not found", traceback: '' },
    });
  });

  it('deletes over HTTP and returns the removed value', async () => {
    await postJson('/server/database/item', { namespace: 'maintenance', key: 'a', value: { b: 2 } });
    const removed = await http('/server/database/item?namespace=maintenance&key=a.b', { method: 'DELETE' });
    expect(removed.body).toEqual({ result: { namespace: 'maintenance', key: 'a.b', value: 2 } });
  });

  it('refuses writes to the reserved moonraker namespace', async () => {
    const reply = await client.call('server.database.post_item', {
      namespace: 'moonraker',
      key: 'x',
      value: 1,
    });
    expect(reply.error).toEqual({ code: 403, message: "Namespace 'moonraker' is read-only" });
  });

  it('honours query type hints over HTTP', async () => {
    await http('/server/database/item?namespace=hints&key=n&value:int=42', { method: 'POST' });
    const reply = await http('/server/database/item?namespace=hints&key=n');
    expect(reply.body).toEqual({ result: { namespace: 'hints', key: 'n', value: 42 } });
  });
});

describe('machine.proc_stats', () => {
  it('returns host and process figures, and pushes notify_proc_stat_update every second', async () => {
    const reply = await client.call('machine.proc_stats');
    const stats = reply.result as Record<string, unknown>;
    expect(stats.moonraker_stats).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          cpu_usage: expect.any(Number),
          memory: expect.any(Number),
          mem_units: 'kB',
        }),
      ]),
    );
    expect(stats).toMatchObject({
      throttled_state: null,
      system_uptime: expect.any(Number),
      websocket_connections: 1,
    });
    expect((stats.system_memory as { total: number }).total).toBeGreaterThan(0);
    const since = client.notifications.length;
    const first = await client.waitForNotification('notify_proc_stat_update', 3000, since);
    expect(first.params?.[0]).toMatchObject({
      moonraker_stats: { mem_units: 'kB' },
      websocket_connections: 1,
    });
  });
});

describe('bad input', () => {
  it('answers malformed JSON with -32700 and keeps the connection', async () => {
    expect(await client.sendRaw('{"jsonrpc": "2.0", "method": ')).toEqual({
      jsonrpc: '2.0',
      error: { code: -32700, message: 'Parse error' },
      id: null,
    });
    expect((await client.call('server.info')).result).toBeDefined();
  });

  it('answers an invalid request with -32600', async () => {
    expect(
      await client.sendRaw(JSON.stringify({ jsonrpc: '1.0', method: 'server.info', id: 3 })),
    ).toMatchObject({
      error: { code: -32600, message: 'Invalid Request' },
      id: 3,
    });
    expect(await client.sendRaw('42')).toMatchObject({ error: { code: -32600 } });
  });

  it('answers an unknown method with -32601 Method not found', async () => {
    expect((await client.call('server.nope')).error).toEqual({
      code: -32601,
      message: 'Method not found: server.nope',
    });
  });

  it("answers bad params with Moonraker's 400 naming the param, and non-object params with -32602", async () => {
    const missing = await client.call('server.database.get_item', {});
    expect(missing.error).toEqual({ code: 400, message: 'No data for argument: namespace' });
    const wrong = await client.call('server.database.get_item', { namespace: 5 });
    expect(wrong.error?.code).toBe(400);
    expect(wrong.error?.message).toMatch(/^Invalid argument 'namespace': expected string/);
    const array = (await client.sendRaw(
      JSON.stringify({ jsonrpc: '2.0', method: 'server.info', params: [1], id: 9 }),
    )) as {
      error: { code: number };
    };
    expect(array.error.code).toBe(-32602);
  });

  it('answers a batch with an array, in order', async () => {
    const reply = await client.sendRaw(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'printer.objects.list', id: 'a' },
        { jsonrpc: '2.0', method: 'server.nope', id: 'b' },
      ]),
    );
    expect(reply).toEqual([
      { jsonrpc: '2.0', result: { objects: expect.arrayContaining(['webhooks']) }, id: 'a' },
      { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found: server.nope' }, id: 'b' },
    ]);
  });

  it('refuses an oversized message without closing the connection', async () => {
    const huge = JSON.stringify({
      jsonrpc: '2.0',
      method: 'server.info',
      params: { pad: 'x'.repeat(2 << 20) },
      id: 1,
    });
    const reply = (await client.sendRaw(huge)) as { error: { code: number; message: string } };
    expect(reply.error.code).toBe(-32600);
    expect(reply.error.message).toMatch(/^Request too large: \d+ bytes, the limit is 1048576$/);
    expect((await client.call('server.info')).result).toBeDefined();
  });

  it('gives unknown HTTP paths a JSON 404 that Mainsail can parse', async () => {
    const reply = await http('/server/files/config/.theme/default.json');
    expect(reply.status).toBe(404);
    expect(reply.type).toContain('application/json');
    expect(reply.body).toMatchObject({ error: { code: 404 } });
  });

  it('gives a malformed HTTP JSON body a JSON 400', async () => {
    const reply = await http('/server/database/item', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"namespace":',
    });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ error: { code: 400 } });
  });

  it('names a bad query type hint', async () => {
    const reply = await http('/server/database/item?namespace=x&key=y&value:int=abc', { method: 'POST' });
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({
      error: { message: `Invalid argument 'value': "abc" is not an integer` },
    });
  });
});

describe('operations', () => {
  it('answers /healthz and /readyz once started', async () => {
    expect((await http('/healthz')).status).toBe(200);
    const ready = await http('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, failed_components: [] });
  });

  it('exports Prometheus metrics with HTTP requests by route and status, and websocket clients', async () => {
    await http('/server/info');
    const metrics = await http('/metrics');
    expect(metrics.type).toContain('text/plain');
    const text = metrics.body as string;
    expect(text).toMatch(/brim_http_requests_total\{route="\/server\/info",method="GET",status="200"\} \d+/);
    expect(text).toMatch(/brim_websocket_clients 1/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(text).toContain('process_resident_memory_bytes');
  });
});
