import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RpcClient, type RpcMessage, startReadyDaemon, type TestDaemon } from './fixtures/daemon.ts';

// The start-up sequences Mainsail, Fluidd, Mobileraker and Home Assistant's moonraker-api send, in order
// (../shared/notes/moonraker-api.md §2b-2e), replayed against the daemon with the virtual printer.

let brim: TestDaemon;
let client: RpcClient;

beforeAll(async () => {
  ({ brim, client } = await startReadyDaemon());
});

afterAll(async () => {
  await client.close();
  await brim.stop();
});

async function ok(method: string, params?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const reply: RpcMessage = await client.call(method, params);
  if (reply.error) throw new Error(`${method} failed: ${reply.error.code} ${reply.error.message}`);
  return reply.result as Record<string, unknown>;
}

describe('Mainsail start-up', () => {
  it('gets a success for every init call it waits on, with the fields it reads', async () => {
    await client.call('server.connection.identify', {
      client_name: 'mainsail',
      version: '2.18.2',
      type: 'web',
      url: 'http://brim.local/',
    });
    const [info, config, system, proc, databases] = await Promise.all([
      ok('server.info'),
      ok('server.config'),
      ok('machine.system_info'),
      ok('machine.proc_stats'),
      ok('server.database.list', { root: 'config' }),
    ]);
    expect(info).toMatchObject({
      klippy_connected: true,
      klippy_state: 'ready',
      missing_klippy_requirements: [],
      api_version_string: '1.5.0',
      registered_directories: expect.arrayContaining(['gcodes', 'config']),
    });
    const components = info.components as string[];
    expect(components).toEqual(expect.arrayContaining(['history', 'job_queue', 'webcam', 'file_manager']));
    expect(components).not.toContain('update_manager');
    expect((config.config as Record<string, unknown>).data_store).toEqual({
      temperature_store_size: 1200,
      gcode_store_size: 1000,
    });
    expect(system.system_info).toHaveProperty('cpu_info');
    expect(proc).toHaveProperty('system_uptime');
    expect(databases.namespaces).toEqual(expect.any(Array));

    await ok('server.history.list', { start: 0, limit: 50, max: 100 });
    await ok('server.history.totals');
    await ok('server.job_queue.status');
    for (const root of info.registered_directories as string[])
      await ok('server.files.get_directory', { path: root });

    const theme = await fetch(`${brim.url}/server/files/config/.theme/default.json`);
    expect(theme.status).toBe(404);
    expect(await theme.json()).toMatchObject({ error: { code: 404 } });
    await ok('server.database.post_item', { namespace: 'mainsail', key: 'initVersion', value: '2.18.2' });
    expect((await ok('server.database.get_item', { namespace: 'mainsail' })).value).toMatchObject({
      initVersion: '2.18.2',
    });
    expect(await ok('server.webcams.list')).toEqual({ webcams: [] });

    await ok('printer.objects.query', { objects: { gcode: ['commands'] } });
    await ok('printer.info');
    await ok('server.gcode_store');
    const { objects } = (await ok('printer.objects.list')) as { objects: string[] };
    const subscription = Object.fromEntries(objects.filter((o) => o !== 'menu').map((o) => [o, null]));
    const { status } = (await ok('printer.objects.subscribe', { objects: subscription })) as {
      status: Record<string, Record<string, unknown>>;
    };
    for (const required of [
      'webhooks',
      'print_stats',
      'virtual_sdcard',
      'toolhead',
      'gcode_move',
      'extruder',
      'heater_bed',
    ]) {
      expect(status[required], required).toBeDefined();
    }
    expect(status.print_stats).toMatchObject({ state: 'standby', filename: '' });
    expect(Object.keys(status).some((name) => name.startsWith('gcode_macro '))).toBe(true);
    await ok('printer.objects.query', { objects: { extruder: ['can_extrude'] } });
    const temperatures = await ok('server.temperature_store', { include_monitors: true });
    // Mainsail drops the history of a sensor whose key is not in heaters.available_sensors.
    for (const sensor of Object.keys(temperatures)) {
      expect(status.heaters?.available_sensors as string[]).toContain(sensor);
    }
  });

  it('answers a batch of calls with an array in the same order', async () => {
    const reply = (await client.sendRaw(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'server.info', id: 1 },
        { jsonrpc: '2.0', method: 'printer.info', id: 2 },
      ]),
    )) as RpcMessage[];
    expect(reply.map((r) => r.id)).toEqual([1, 2]);
    expect(reply.every((r) => r.result !== undefined)).toBe(true);
  });
});

describe('Fluidd start-up', () => {
  it('finds its namespace roots, the file list and the printer the way it asks for them', async () => {
    for (const root of ['uiSettings', 'macros', 'sensors', 'console', 'charts', 'webcams', 'layout']) {
      await ok('server.database.post_item', { namespace: 'fluidd', key: root, value: {} });
    }
    expect(
      Object.keys((await ok('server.database.get_item', { namespace: 'fluidd' })).value as object),
    ).toHaveLength(7);
    const files = await client.call('server.files.list', { root: 'config' });
    expect(files.error).toBeUndefined();
    await ok('printer.gcode.help');
    const directory = await ok('server.files.get_directory', { path: 'gcodes', extended: true });
    expect(directory).toMatchObject({
      dirs: expect.any(Array),
      files: expect.any(Array),
      disk_usage: expect.any(Object),
    });
    await ok('access.get_user');
    await ok('access.users.list');
    expect(typeof (await client.call('access.get_api_key')).result).toBe('string');
  });
});

describe('Mobileraker', () => {
  it('reads kinematics from configfile and gets the exact missing-namespace error', async () => {
    const { status } = (await ok('printer.objects.query', {
      objects: { configfile: ['settings'], toolhead: null },
    })) as {
      status: Record<string, Record<string, Record<string, Record<string, unknown>>>>;
    };
    expect(status.configfile?.settings?.printer?.kinematics).toBe('cartesian');
    const missing = await client.call('server.database.get_item', {
      namespace: 'mobileraker',
      key: 'settings',
    });
    expect(missing.error).toEqual({ code: -32601, message: "Namespace 'mobileraker' not found" });
  });
});

describe("Home Assistant's moonraker-api", () => {
  it('gets its setup calls and the fields it polls', async () => {
    const info = await ok('printer.info');
    expect(info).toMatchObject({ hostname: expect.any(String), state: 'ready' });
    expect(await ok('server.websocket.id')).toHaveProperty('websocket_id');
    const { status } = (await ok('printer.objects.query', {
      objects: {
        print_stats: null,
        display_status: ['progress', 'message'],
        virtual_sdcard: ['progress', 'file_position', 'file_path'],
        toolhead: ['position'],
        gcode_move: ['speed', 'speed_factor'],
        motion_report: ['live_velocity'],
        idle_timeout: ['state'],
        fan: ['speed', 'rpm'],
        system_stats: ['sysload', 'memavail'],
      },
    })) as { status: Record<string, Record<string, unknown>> };
    expect(Object.keys(status).sort()).toEqual([
      'display_status',
      'fan',
      'gcode_move',
      'idle_timeout',
      'motion_report',
      'print_stats',
      'system_stats',
      'toolhead',
      'virtual_sdcard',
    ]);
    expect(status.print_stats).toMatchObject({
      state: expect.any(String),
      print_duration: expect.any(Number),
    });
    const totals = await ok('server.history.totals');
    expect(totals.job_totals).toMatchObject({ total_jobs: expect.any(Number) });
    expect(await ok('server.job_queue.status')).toMatchObject({
      queued_jobs: expect.any(Array),
      queue_state: expect.any(String),
    });
  });
});
