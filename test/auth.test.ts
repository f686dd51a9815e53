import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../server/api/registry.ts';
import { RpcClient, startTestDaemon, type TestDaemon, tempDataDir } from './fixtures/daemon.ts';
import { buildServer, MAIN } from './fixtures/process.ts';

// No trusted network: every request from the test has to authenticate, as one from the LAN would.
const UNTRUSTED = '[authorization]\ntrusted_clients = []\ncors_domains = ["http://*.local"]\n';
const PASSWORD = 'correct horse battery';

let brim: TestDaemon;
const tokens: Partial<Record<Role, string>> = {};

async function http(path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  const response = await fetch(`${brim.url}${path}`, { ...init, headers });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : null,
    headers: response.headers,
  };
}

/** The `result` of a successful reply; a missing one fails the test with the reply. */
function resultOf<T>(reply: { status: number; body: Record<string, unknown> | null }): T {
  if (!reply.body || !('result' in reply.body))
    throw new Error(`no result: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.result as T;
}

function post(path: string, body: unknown, token?: string) {
  return http(path, {
    method: 'POST',
    token,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

beforeAll(async () => {
  brim = await startTestDaemon({ configToml: `${UNTRUSTED}[virtual_printer]\nboot_ms = 0\n` });
  const auth = brim.daemon.kernel.instance('authorization');
  for (const role of ['viewer', 'operator', 'admin'] as const) {
    await auth.createUser(`${role}1`, PASSWORD, role);
    const login = await post('/access/login', { username: `${role}1`, password: PASSWORD });
    tokens[role] = resultOf<{ token: string }>(login).token;
  }
});

afterAll(async () => {
  await brim.stop();
});

describe('an untrusted client', () => {
  it('gets 401 and nothing else without credentials, over HTTP and the websocket', async () => {
    const reply = await http('/server/info');
    expect(reply.status).toBe(401);
    expect(reply.body).toEqual({ error: { code: 401, message: 'Unauthorized', traceback: '' } });
    const client = await RpcClient.connect(brim.wsUrl);
    expect((await client.call('server.info')).error).toEqual({ code: -32602, message: 'Unauthorized' });
    // Mainsail must still be able to identify itself, and learn that it has to log in.
    expect(
      (
        await client.call('server.connection.identify', {
          client_name: 'mainsail',
          version: '2',
          type: 'web',
          url: 'x',
        })
      ).result,
    ).toMatchObject({
      connection_id: expect.any(Number),
    });
    expect((await client.call('access.info')).result).toEqual({
      default_source: 'moonraker',
      available_sources: ['moonraker'],
      login_required: true,
      trusted: false,
    });
    await client.close();
  });

  it('is not told whether bad arguments were bad', async () => {
    expect((await http('/server/database/item')).status).toBe(401);
  });
});

describe('users and tokens', () => {
  it('logs in and uses the token over HTTP', async () => {
    const login = await post('/access/login', { username: 'operator1', password: PASSWORD });
    expect(login.body?.result).toMatchObject({
      username: 'operator1',
      token: expect.any(String),
      refresh_token: expect.any(String),
      action: 'user_logged_in',
      source: 'moonraker',
    });
    const me = await http('/access/user', { token: tokens.operator });
    expect(me.body?.result).toMatchObject({ username: 'operator1', role: 'operator' });
  });

  it('logs in over the websocket and the connection stays logged in', async () => {
    const client = await RpcClient.connect(brim.wsUrl);
    expect(
      (await client.call('access.login', { username: 'viewer1', password: PASSWORD })).result,
    ).toMatchObject({
      username: 'viewer1',
    });
    expect((await client.call('server.info')).result).toMatchObject({ klippy_connected: true });
    await client.close();
  });

  it('refuses a viewer that tries to start a print or run G-code', async () => {
    const reply = await post('/printer/gcode/script', { script: 'G28' }, tokens.viewer);
    expect(reply.status).toBe(403);
    expect(reply.body).toMatchObject({
      error: { message: 'Forbidden: printer.gcode.script needs the operator role' },
    });
  });

  it('revokes every token of a user on logout', async () => {
    const login = await post('/access/login', { username: 'admin1', password: PASSWORD });
    const { token, refresh_token } = resultOf<{ token: string; refresh_token: string }>(login);
    expect((await post('/access/logout', {}, token)).body?.result).toEqual({
      username: 'admin1',
      action: 'user_logged_out',
    });
    expect((await http('/server/info', { token })).status).toBe(401);
    expect((await post('/access/refresh_jwt', { refresh_token })).status).toBe(401);
    tokens.admin = resultOf<{ token: string }>(
      await post('/access/login', { username: 'admin1', password: PASSWORD }),
    ).token;
  });

  it('refreshes an access token', async () => {
    const login = await post('/access/login', { username: 'viewer1', password: PASSWORD });
    const refreshed = await post('/access/refresh_jwt', {
      refresh_token: resultOf<{ refresh_token: string }>(login).refresh_token,
    });
    const token = resultOf<{ token: string }>(refreshed).token;
    expect((await http('/server/info', { token })).status).toBe(200);
  });

  it('lets an admin create and delete users, and only an admin', async () => {
    const created = await post(
      '/access/user',
      { username: 'newbie', password: 'longenough', role: 'viewer' },
      tokens.admin,
    );
    expect(created.body?.result).toMatchObject({ username: 'newbie', action: 'user_created' });
    expect(
      (await post('/access/user', { username: 'x', password: 'longenough' }, tokens.operator)).status,
    ).toBe(403);
    const list = await http('/access/users/list', { token: tokens.admin });
    const { users } = resultOf<{ users: { username: string }[] }>(list);
    expect(users.map((u) => u.username)).toContain('newbie');
    const removed = await http('/access/user?username=newbie', { method: 'DELETE', token: tokens.admin });
    expect(removed.body?.result).toEqual({ username: 'newbie', action: 'user_deleted' });
  });

  it('changes a password and revokes the old tokens', async () => {
    const auth = brim.daemon.kernel.instance('authorization');
    await auth.createUser('changer', PASSWORD, 'viewer');
    const token = resultOf<{ token: string }>(
      await post('/access/login', { username: 'changer', password: PASSWORD }),
    ).token;
    const changed = await post(
      '/access/user/password',
      { password: PASSWORD, new_password: 'another long one' },
      token,
    );
    expect(changed.body?.result).toEqual({ username: 'changer', action: 'user_password_reset' });
    expect((await http('/server/info', { token })).status).toBe(401);
    expect((await post('/access/login', { username: 'changer', password: 'another long one' })).status).toBe(
      200,
    );
  });

  it('lets an admin set another user’s password, which revokes that user’s tokens', async () => {
    const auth = brim.daemon.kernel.instance('authorization');
    await auth.createUser('forgetful', PASSWORD, 'operator');
    const token = resultOf<{ token: string }>(
      await post('/access/login', { username: 'forgetful', password: PASSWORD }),
    ).token;
    const reset = await post(
      '/access/users/password',
      { username: 'forgetful', new_password: 'a fresh start' },
      tokens.admin,
    );
    expect(reset.body?.result).toEqual({ username: 'forgetful', action: 'user_password_reset' });
    expect((await http('/server/info', { token })).status).toBe(401);
    expect((await post('/access/login', { username: 'forgetful', password: PASSWORD })).status).toBe(401);
    expect((await post('/access/login', { username: 'forgetful', password: 'a fresh start' })).status).toBe(
      200,
    );
    const missing = await post(
      '/access/users/password',
      { username: 'nobody', new_password: 'a fresh start' },
      tokens.admin,
    );
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { message: "User 'nobody' not found" } });
    const short = await post(
      '/access/users/password',
      { username: 'forgetful', new_password: 'short' },
      tokens.admin,
    );
    expect(short.status).toBe(400);
  });

  it('refuses to let an admin delete the user they are logged in as', async () => {
    const removed = await http('/access/user?username=admin1', { method: 'DELETE', token: tokens.admin });
    expect(removed.status).toBe(400);
    expect(removed.body).toMatchObject({ error: { message: 'Cannot delete logged in user admin1' } });
    const list = resultOf<{ users: { username: string }[] }>(
      await http('/access/users/list', { token: tokens.admin }),
    );
    expect(list.users.map((u) => u.username)).toContain('admin1');
  });

  it('limits failed logins per address', async () => {
    const auth = brim.daemon.kernel.instance('authorization');
    await auth.createUser('target', PASSWORD, 'viewer');
    for (let i = 0; i < 5; i++)
      expect((await post('/access/login', { username: 'target', password: 'nope' })).status).toBe(401);
    const blocked = await post('/access/login', { username: 'target', password: PASSWORD });
    expect(blocked.status).toBe(429);
    expect(blocked.body).toMatchObject({
      error: { message: expect.stringMatching(/^Too many failed logins; try again in \d+ s$/) },
    });
  });
});

describe('API key and one-shot tokens', () => {
  it('gives admins the API key slicers use in X-Api-Key', async () => {
    const key = resultOf<string>(await http('/access/api_key', { token: tokens.admin }));
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    const info = await http('/server/info', { headers: { 'X-Api-Key': key } });
    expect(info.status).toBe(200);
    expect((await http('/server/info', { headers: { 'X-Api-Key': 'wrong' } })).status).toBe(401);
    expect((await http('/access/api_key', { token: tokens.viewer })).status).toBe(403);
  });

  it('opens a websocket with a one-shot token, once', async () => {
    const token = resultOf<string>(await http('/access/oneshot_token', { token: tokens.viewer }));
    const client = await RpcClient.connect(`${brim.wsUrl}?token=${token}`);
    expect((await client.call('server.info')).result).toBeDefined();
    await client.close();
    const again = await RpcClient.connect(`${brim.wsUrl}?token=${token}`);
    expect((await again.call('server.info')).error?.message).toBe('Unauthorized');
    await again.close();
  });
});

describe('every endpoint declares the least role it needs', () => {
  const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

  it('refuses each HTTP endpoint to every role below its own, before running it', async () => {
    const endpoints = brim.daemon.kernel.api.all().filter((e) => e.transports.includes('http'));
    expect(endpoints.length).toBeGreaterThan(40);
    for (const endpoint of endpoints) {
      for (const role of ['viewer', 'operator'] as const) {
        if (rank[role] >= rank[endpoint.role]) continue;
        const path = endpoint.path.replace(/\*|:[a-z]+/g, 'x');
        const reply = await http(path, { method: endpoint.verb, token: tokens[role] });
        expect(reply.status, `${endpoint.verb} ${endpoint.path} as ${role}`).toBe(403);
      }
    }
  });

  it('keeps power, users, keys and machine control for admins and printing for operators', () => {
    const roleOf = (method: string) => brim.daemon.kernel.api.method(method)?.role;
    for (const method of [
      'machine.reboot',
      'machine.shutdown',
      'machine.services.restart',
      'access.users.list',
      'access.users.password',
      'access.get_api_key',
      'access.post_api_key',
      'server.config.file',
      'server.config.save',
      'server.restart',
    ]) {
      expect(roleOf(method), method).toBe('admin');
    }
    for (const method of ['printer.gcode.script', 'printer.emergency_stop', 'server.files.delete_file']) {
      expect(roleOf(method), method).toBe('operator');
    }
    for (const method of [
      'server.info',
      'printer.objects.query',
      'server.files.list',
      'server.temperature_store',
    ]) {
      expect(roleOf(method), method).toBe('viewer');
    }
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin and ignores others', async () => {
    const allowed = await http('/server/database/item', {
      method: 'OPTIONS',
      headers: { Origin: 'http://mainsail.local', 'Access-Control-Request-Method': 'POST' },
    });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://mainsail.local');
    const other = await http('/server/info', {
      headers: { Origin: 'http://evil.example' },
      token: tokens.viewer,
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('brim user add', () => {
  it('creates the first admin from the command line', async () => {
    buildServer();
    const dataDir = tempDataDir();
    try {
      const run = spawnSync(
        process.execPath,
        [MAIN, '--data', dataDir, 'user', 'add', 'owner', '--role', 'admin'],
        {
          input: `${PASSWORD}\n`,
          encoding: 'utf8',
        },
      );
      expect(run.stdout).toBe('brim: user "owner" added with role admin\n');
      expect(run.status).toBe(0);
      const short = spawnSync(process.execPath, [MAIN, '--data', dataDir, 'user', 'add', 'x'], {
        input: 'short\n',
        encoding: 'utf8',
      });
      expect(short.status).toBe(1);
      expect(short.stderr).toBe(
        "brim: cannot add user: Invalid argument 'password': must be at least 8 characters\n",
      );
      const other = await startTestDaemon({ dataDir, configToml: UNTRUSTED });
      const login = await fetch(`${other.url}/access/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'owner', password: PASSWORD }),
      });
      expect(login.status).toBe(200);
      await other.stop({ keepData: true });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('secrets in server.config', () => {
  let withBroker: TestDaemon;
  const tokenOf: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    // Nothing listens on the broker port: the MQTT component keeps retrying, which is all this needs.
    withBroker = await startTestDaemon({
      configToml: `${UNTRUSTED}[virtual_printer]\nboot_ms = 0\n[mqtt]\naddress = "127.0.0.1"\nport = 9\nusername = "brim"\npassword = "broker secret"\n`,
    });
    const auth = withBroker.daemon.kernel.instance('authorization');
    for (const role of ['viewer', 'admin'] as const) {
      await auth.createUser(`${role}2`, PASSWORD, role);
      const login = await fetch(`${withBroker.url}/access/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `${role}2`, password: PASSWORD }),
      });
      tokenOf[role] = ((await login.json()) as { result: { token: string } }).result.token;
    }
  });

  afterAll(async () => {
    await withBroker?.stop();
  });

  async function mqttTables(role: Role) {
    const reply = await fetch(`${withBroker.url}/server/config`, {
      headers: { Authorization: `Bearer ${tokenOf[role]}` },
    });
    const { result } = (await reply.json()) as {
      result: { config: { mqtt: Record<string, unknown> }; orig: { mqtt: Record<string, unknown> } };
    };
    return { config: result.config.mqtt, orig: result.orig.mqtt };
  }

  it('hides the broker password from a viewer and shows it to an admin', async () => {
    const viewer = await mqttTables('viewer');
    expect(viewer.config).toMatchObject({ username: 'brim', password: '********' });
    expect(viewer.orig).toMatchObject({ username: 'brim', password: '********' });
    const admin = await mqttTables('admin');
    expect(admin.config.password).toBe('broker secret');
    expect(admin.orig.password).toBe('broker secret');
  });
});
