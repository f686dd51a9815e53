import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient, type RpcMessage, startReadyDaemon, type TestDaemon } from './fixtures/daemon.ts';

// The start-up sequences of Mainsail, Fluidd, Mobileraker and Home Assistant, re-read from each
// client's source (the file is named on every step), replayed in order against the daemon on the
// virtual printer. Each step checks the reply for exactly the fields and types that client reads.
// Sources: mainsail-crew/mainsail @df0ef3e, fluidd-core/fluidd @192279a, Clon1998/mobileraker
// @b89cbf1, cmroche/moonraker-api @35e9420 with home-assistant/core's moonraker integration
// (homeassistant/components/moonraker), and marcolivierarsenault/moonraker-home-assistant @60671db.

type Params = Record<string, unknown>;
type Result = Record<string, unknown>;
/** The last result of each method so far, for steps whose params or checks depend on earlier replies. */
type Seen = Record<string, Result>;

interface Step {
  /** The client source file the call (and what it reads from the reply) comes from. */
  source: string;
  method: string;
  /** One call, or one call per entry (Mainsail walks every registered directory). */
  params?: Params | Params[] | ((seen: Seen) => Params | Params[]);
  /** Only when the client would make the call, e.g. a component listed in server.info. */
  when?: (seen: Seen) => boolean;
  /** The error the client expects and handles; otherwise the step must succeed. */
  error?: { code: number; message?: string };
  check?: (result: Result, seen: Seen) => void;
}

let brim: TestDaemon;

beforeAll(async () => {
  let client: RpcClient;
  ({ brim, client } = await startReadyDaemon());
  await client.close();
}, 30_000);

afterAll(async () => {
  await brim.stop();
});

/** Replays the steps on a fresh connection (identify is once per connection); returns what was sent. */
async function replay(steps: Step[]): Promise<[string, Params][]> {
  const client = await RpcClient.connect(brim.wsUrl);
  const seen: Seen = {};
  const sent: [string, Params][] = [];
  try {
    for (const step of steps) {
      if (step.when && !step.when(seen)) continue;
      const given = typeof step.params === 'function' ? step.params(seen) : (step.params ?? {});
      for (const params of Array.isArray(given) ? given : [given]) {
        sent.push([step.method, params]);
        const reply: RpcMessage = await client.call(step.method, params);
        const where = `${step.method} ${JSON.stringify(params)} (${step.source})`;
        if (step.error) {
          expect(reply.error, where).toMatchObject(step.error);
          continue;
        }
        expect(reply.error, where).toBeUndefined();
        const result = reply.result as Result;
        seen[step.method] = result;
        step.check?.(result, seen);
      }
    }
  } finally {
    await client.close();
  }
  return sent;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const status = (result: Result) => result.status as Record<string, Record<string, unknown>>;
const objectNames = (seen: Seen) => (seen['printer.objects.list']?.objects ?? []) as string[];
const namespaces = (seen: Seen) => (seen['server.database.list']?.namespaces ?? []) as string[];
const components = (seen: Seen) => (seen['server.info']?.components ?? []) as string[];
const numbers = (value: unknown, length: number) => {
  expect(value).toHaveLength(length);
  for (const n of value as unknown[]) expect(typeof n).toBe('number');
};

/** What Mainsail and Fluidd both read from a get_directory reply to build the file tree. */
function checkDirectory(result: Result) {
  expect(result.dirs).toEqual(expect.any(Array));
  for (const dir of result.dirs as Result[]) {
    expect(dir).toMatchObject({
      dirname: expect.any(String),
      modified: expect.any(Number),
      permissions: expect.any(String),
    });
  }
  for (const file of result.files as Result[]) {
    expect(file).toMatchObject({
      filename: expect.any(String),
      modified: expect.any(Number),
      size: expect.any(Number),
      permissions: expect.any(String),
    });
  }
  expect(result.disk_usage).toMatchObject({
    total: expect.any(Number),
    used: expect.any(Number),
    free: expect.any(Number),
  });
  expect(result.root_info).toMatchObject({ name: expect.any(String), permissions: expect.any(String) });
}

function checkServerInfo(result: Result) {
  expect(result).toMatchObject({
    klippy_connected: true,
    klippy_state: 'ready',
    components: expect.any(Array),
    failed_components: expect.any(Array),
    registered_directories: expect.arrayContaining(['gcodes', 'config']),
    warnings: expect.any(Array),
    missing_klippy_requirements: [],
    moonraker_version: expect.any(String),
    api_version: [1, 5, 0],
    api_version_string: '1.5.0',
  });
}

describe('Mainsail start-up', () => {
  const mainsail: Step[] = [
    {
      source: 'src/store/server/actions.ts init',
      method: 'server.connection.identify',
      params: {
        client_name: 'mainsail',
        version: '2.14.0',
        type: 'web',
        url: 'https://github.com/mainsail-crew/mainsail',
      },
      check: (r) => expect(r.connection_id).toEqual(expect.any(Number)),
    },
    {
      source: 'src/store/server/actions.ts init → initServerInfo',
      method: 'server.info',
      check: (r) => {
        checkServerInfo(r);
        // Mainsail starts only the components it knows; update_manager is left out on purpose.
        expect(r.components).not.toContain('update_manager');
      },
    },
    {
      source: 'src/store/server/actions.ts init → initServerConfig',
      method: 'server.config',
      check: (r) =>
        expect((r.config as Result).data_store).toEqual({
          temperature_store_size: 1200,
          gcode_store_size: 1000,
        }),
    },
    {
      source: 'src/store/server/actions.ts init → initSystemInfo',
      method: 'machine.system_info',
      check: (r) => expect(isRecord(r.system_info)).toBe(true),
    },
    {
      source: 'src/store/server/actions.ts init → initProcStats',
      method: 'machine.proc_stats',
      check: (r) => {
        expect(r.throttled_state === null || isRecord(r.throttled_state)).toBe(true);
        expect(r.system_uptime).toEqual(expect.any(Number));
      },
    },
    {
      source: 'src/store/server/actions.ts init → checkDatabases',
      method: 'server.database.list',
      params: { root: 'config' },
      check: (r) => expect(r.namespaces).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/server/history/actions.ts init',
      method: 'server.history.list',
      params: { start: 0, limit: 50, max: 100 },
      when: (seen) => components(seen).includes('history'),
      check: (r) => expect(r).toMatchObject({ count: expect.any(Number), jobs: expect.any(Array) }),
    },
    {
      source: 'src/store/server/history/actions.ts init',
      method: 'server.history.totals',
      when: (seen) => components(seen).includes('history'),
      check: (r) =>
        expect(r.job_totals).toMatchObject({
          total_jobs: expect.any(Number),
          total_print_time: expect.any(Number),
        }),
    },
    {
      source: 'src/store/server/jobQueue/actions.ts init',
      method: 'server.job_queue.status',
      when: (seen) => components(seen).includes('job_queue'),
      check: (r) =>
        expect(r).toMatchObject({ queued_jobs: expect.any(Array), queue_state: expect.any(String) }),
    },
    {
      source: 'src/store/files/actions.ts initRootDirs',
      method: 'server.files.get_directory',
      params: (seen) =>
        ((seen['server.info']?.registered_directories ?? []) as string[]).map((path) => ({ path })),
      check: checkDirectory,
    },
    {
      source: 'src/store/gui/actions.ts init (namespace mainsail listed)',
      method: 'server.database.get_item',
      params: { namespace: 'mainsail' },
      when: (seen) => namespaces(seen).includes('mainsail'),
      check: (r) => expect(isRecord(r.value)).toBe(true),
    },
    {
      source: 'src/store/gui/maintenance/actions.ts initDb (no maintenance namespace, no defaults file)',
      method: 'server.database.post_item',
      params: {
        namespace: 'maintenance',
        key: '4f1f3a52-6d4e-4d2a-9f43-3f6c2b1f0e11',
        value: { name: 'MAINTENANCE_INIT' },
      },
      when: (seen) => !namespaces(seen).includes('maintenance'),
    },
    {
      source: 'src/store/gui/webcams/actions.ts init',
      method: 'server.webcams.list',
      check: (r) => expect(r.webcams).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/server/actions.ts checkDatabases → checkKlippyConnected',
      method: 'server.info',
      check: (r) => expect(r.klippy_connected).toBe(true),
    },
    {
      source: 'src/store/printer/actions.ts initGcodes',
      method: 'printer.objects.query',
      params: { objects: { gcode: ['commands'] } },
      check: (r) => {
        const commands = status(r).gcode?.commands as Record<string, { help?: string }>;
        expect(isRecord(commands)).toBe(true);
        for (const command of Object.values(commands)) expect(isRecord(command)).toBe(true);
      },
    },
    {
      source: 'src/store/printer/actions.ts init → getInfo',
      method: 'printer.info',
      check: (r) =>
        expect(r).toMatchObject({
          state: 'ready',
          state_message: expect.any(String),
          hostname: expect.any(String),
          software_version: expect.any(String),
          cpu_info: expect.any(String),
        }),
    },
    {
      source: 'src/store/printer/actions.ts init',
      method: 'server.gcode_store',
      check: (r) => expect(r.gcode_store).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/printer/actions.ts initSubscripts',
      method: 'printer.objects.list',
      check: (r) => expect((r.objects as string[]).length).toBeGreaterThan(10),
    },
    {
      source: 'src/store/printer/actions.ts initSubscripts (every object but menu, all fields)',
      method: 'printer.objects.subscribe',
      params: (seen) => ({
        objects: Object.fromEntries(
          objectNames(seen)
            .filter((name) => name.split(' ')[0] !== 'menu')
            .map((name) => [name, null]),
        ),
      }),
      check: (r, seen) => {
        const state = status(r);
        expect(Object.keys(state).sort()).toEqual(
          objectNames(seen)
            .filter((n) => n !== 'menu')
            .sort(),
        );
        // getData copies webhooks into the server state and the gcode viewer reads the kinematics.
        expect(state.webhooks).toMatchObject({ state: 'ready', state_message: expect.any(String) });
        expect((state.configfile?.settings as Record<string, Result> | undefined)?.printer?.kinematics).toBe(
          'cartesian',
        );
        expect(isRecord(state.configfile?.config)).toBe(true);
        numbers(state.toolhead?.axis_minimum, 4);
        numbers(state.toolhead?.axis_maximum, 4);
      },
    },
    {
      source: 'src/store/printer/actions.ts initExtruderCanExtrude (200 ms after the subscribe)',
      method: 'printer.objects.query',
      params: (seen) => ({
        objects: Object.fromEntries(
          objectNames(seen)
            .filter((name) => name.startsWith('extruder'))
            .map((name) => [name, ['can_extrude']]),
        ),
      }),
      check: (r) => expect(status(r).extruder?.can_extrude).toEqual(expect.any(Boolean)),
    },
    {
      source: 'src/store/printer/actions.ts initSubscripts',
      method: 'server.temperature_store',
      params: { include_monitors: true },
      check: (r, seen) => {
        // Mainsail drops the history of a sensor whose key is not in heaters.available_sensors.
        const heaters = status(seen['printer.objects.subscribe'] as Result).heaters;
        for (const [sensor, series] of Object.entries(r)) {
          expect(heaters?.available_sensors as string[]).toContain(sensor);
          expect((series as Result).temperatures).toEqual(expect.any(Array));
        }
      },
    },
  ];

  it('gets every init call it waits on answered, with the fields it reads', async () => {
    const sent = await replay(mainsail);
    expect(sent.map(([method]) => method)).toContain('printer.objects.subscribe');
  });

  it('seeds its namespace over HTTP on a first visit, as src/store/gui/actions.ts initDb does', async () => {
    const theme = await fetch(`${brim.url}/server/files/config/.theme/default.json?time=${Date.now()}`);
    expect(theme.status).toBe(404);
    expect(await theme.json()).toMatchObject({ error: { code: 404 } });
    const seeded = await fetch(`${brim.url}/server/database/item`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ namespace: 'mainsail', key: 'initVersion', value: '2.14.0' }),
    });
    expect(seeded.status).toBe(200);
    // src/store/gui/maintenance/actions.ts initDb reads result.job_totals from plain HTTP.
    const totals = (await (await fetch(`${brim.url}/server/history/totals`)).json()) as { result: Result };
    expect(totals.result.job_totals).toMatchObject({ total_filament_used: expect.any(Number) });
    const client = await RpcClient.connect(brim.wsUrl);
    const item = await client.call('server.database.get_item', { namespace: 'mainsail' });
    await client.close();
    expect((item.result as Result).value).toMatchObject({ initVersion: '2.14.0' });
  });

  it('answers a batch of calls with an array in the same order (src/plugins/webSocketClient.ts emitBatch)', async () => {
    const client = await RpcClient.connect(brim.wsUrl);
    const reply = (await client.sendRaw(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'server.info', id: 1 },
        { jsonrpc: '2.0', method: 'printer.info', id: 2 },
      ]),
    )) as RpcMessage[];
    await client.close();
    expect(reply.map((r) => r.id)).toEqual([1, 2]);
    expect(reply.every((r) => r.result !== undefined)).toBe(true);
  });
});

describe('Fluidd start-up', () => {
  const roots = ['uiSettings', 'macros', 'sensors', 'console', 'charts', 'webcams', 'layout'];
  const fluidd: Step[] = [
    {
      source: 'src/store/socket/actions.ts runIdentify (Globals.APP_NAME, Globals.GITHUB_REPO)',
      method: 'server.connection.identify',
      params: {
        client_name: 'fluidd',
        version: '1.34.0-abc1234',
        type: 'web',
        url: 'https://github.com/fluidd-core/fluidd',
      },
      check: (r) => expect(r.connection_id).toEqual(expect.any(Number)),
    },
    {
      // getMoonrakerDatabase turns an error into {}; Globals.MOONRAKER_DB's webcams namespace has no roots.
      source: 'src/store/socket/actions.ts getMoonrakerDatabase',
      method: 'server.database.get_item',
      params: { namespace: 'fluidd' },
      error: { code: -32601, message: "Namespace 'fluidd' not found" },
    },
    {
      source: 'src/store/socket/actions.ts runIdentify (each missing root but migrate-only cameras)',
      method: 'server.database.post_item',
      params: roots.map((key) => ({ namespace: 'fluidd', key, value: {} })),
      check: (r) => expect(r).toMatchObject({ namespace: 'fluidd', key: expect.any(String), value: {} }),
    },
    {
      source: 'src/store/socket/actions.ts runIdentify → server/onServerInfo',
      method: 'server.info',
      check: (r) => {
        checkServerInfo(r);
        // checkMoonrakerMinVersion: semver valid() after appending -0 when there is no dash.
        expect(r.moonraker_version).toMatch(/^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
      },
    },
    {
      source: 'src/store/socket/actions.ts runIdentify',
      method: 'server.config',
      check: (r) => expect(isRecord(r.config)).toBe(true),
    },
    {
      source: 'src/store/socket/actions.ts runIdentify',
      method: 'machine.proc_stats',
      check: (r) => expect(r.moonraker_stats).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/socket/actions.ts runIdentify',
      method: 'machine.system_info',
      check: (r) => expect((r.system_info as Result).available_services).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/socket/actions.ts runIdentify (serverFilesList in src/api/socketActions.ts)',
      method: 'server.files.list',
      params: { root: 'config' },
      check: (r) => expect(r).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/server/actions.ts onServerInfo (klippy_connected)',
      method: 'printer.info',
      check: (r) => expect(r).toMatchObject({ state: 'ready', hostname: expect.any(String) }),
    },
    {
      source: 'src/store/server/actions.ts onServerInfo (klippy_state changed)',
      method: 'printer.objects.list',
      check: (r) => expect(r.objects).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/auth/actions.ts init (component authorization)',
      method: 'access.get_user',
      when: (seen) => components(seen).includes('authorization'),
      check: (r) => expect(r.username).toEqual(expect.any(String)),
    },
    {
      source: 'src/store/history/actions.ts init (Globals.JOB_HISTORY_LOAD)',
      method: 'server.history.list',
      params: { limit: 50 },
      when: (seen) => components(seen).includes('history'),
      check: (r) => expect(r.jobs).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/history/actions.ts init',
      method: 'server.history.totals',
      when: (seen) => components(seen).includes('history'),
      check: (r) => expect(isRecord(r.job_totals)).toBe(true),
    },
    {
      source: 'src/store/database/actions.ts init',
      method: 'server.database.list',
      when: (seen) => components(seen).includes('database'),
      check: (r) => expect(r.namespaces).toContain('fluidd'),
    },
    {
      source: 'src/store/webcams/actions.ts init',
      method: 'server.webcams.list',
      when: (seen) => components(seen).includes('webcam'),
      check: (r) => expect(r.webcams).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/jobQueue/actions.ts init',
      method: 'server.job_queue.status',
      when: (seen) => components(seen).includes('job_queue'),
      check: (r) => expect(r.queued_jobs).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/printer/actions.ts onPrinterObjectsList (all but menu and "menu *")',
      method: 'printer.objects.subscribe',
      params: (seen) => ({
        objects: Object.fromEntries(
          objectNames(seen)
            .filter((name) => name !== 'menu' && !name.startsWith('menu '))
            .map((name) => [name, null]),
        ),
      }),
      check: (r) => {
        expect(r.eventtime).toEqual(expect.any(Number));
        const toolhead = status(r).toolhead;
        // onPrinterObjectsSubscribe keeps whichever of the two Klipper spellings is present.
        expect(toolhead?.minimum_cruise_ratio ?? toolhead?.max_accel_to_decel).toEqual(expect.any(Number));
      },
    },
    {
      source: 'src/store/printer/actions.ts onPrinterObjectsSubscribe',
      method: 'server.gcode_store',
      check: (r) => expect(r.gcode_store).toEqual(expect.any(Array)),
    },
    {
      source: 'src/store/printer/actions.ts onPrinterObjectsSubscribe',
      method: 'printer.gcode.help',
      check: (r) => {
        for (const help of Object.values(r)) expect(typeof help).toBe('string');
      },
    },
    {
      source: 'src/store/printer/actions.ts onPrinterObjectsSubscribe (params in src/api/socketActions.ts)',
      method: 'server.temperature_store',
      params: { include_monitors: true },
      check: (r) => expect(isRecord(r.extruder)).toBe(true),
    },
    {
      source: 'src/api/socketActions.ts serverFilesGetDirectory (file browser)',
      method: 'server.files.get_directory',
      params: { path: 'gcodes', extended: true },
      check: checkDirectory,
    },
  ];

  it('finds its namespace roots, the file lists and the printer the way it asks for them', async () => {
    await replay(fluidd);
    const client = await RpcClient.connect(brim.wsUrl);
    const stored = await client.call('server.database.get_item', { namespace: 'fluidd' });
    await client.close();
    expect(Object.keys((stored.result as Result).value as Result).sort()).toEqual([...roots].sort());
  });
});

describe('Mobileraker start-up', () => {
  const mobileraker: Step[] = [
    {
      source: 'common/lib/network/json_rpc_client.dart identifyConnection (errors ignored)',
      method: 'server.connection.identify',
      params: {
        client_name: 'Mobileraker-android',
        version: '2.9.0-700',
        type: 'mobile',
        url: 'www.mobileraker.com',
      },
    },
    {
      // KlipperInstance.fromJson (common/lib/data/dto/server/klipper.dart) is generated, typed parsing.
      source: 'common/lib/service/moonraker/klippy_service.dart _fetchServerInfo',
      method: 'server.info',
      check: (r) => {
        expect(typeof r.klippy_connected).toBe('boolean');
        expect(typeof r.klippy_state).toBe('string');
        for (const key of ['components', 'registered_directories', 'warnings']) {
          for (const entry of r[key] as unknown[]) expect(typeof entry, key).toBe('string');
        }
        expect(typeof r.moonraker_version).toBe('string');
      },
    },
    {
      // It maps printer.info's `state` onto klippy_state and polls every 2 s while startup.
      source: 'common/lib/service/moonraker/klippy_service.dart _fetchPrinterInfo',
      method: 'printer.info',
      check: (r) => expect(r).toMatchObject({ state: 'ready', state_message: expect.any(String) }),
    },
    {
      source: 'common/lib/service/moonraker/printer_service.dart _printerObjectsList',
      method: 'printer.objects.list',
      check: (r) => {
        for (const name of r.objects as unknown[]) expect(typeof name).toBe('string');
      },
    },
    {
      // _queryPrinterObjectJson keeps the names it has a parser for, each with null (all fields);
      // every name is a superset of that, and unknown ones are left out of the reply anyway.
      source: 'common/lib/service/moonraker/printer_service.dart _printerObjectsQuery',
      method: 'printer.objects.query',
      params: (seen) => ({ objects: Object.fromEntries(objectNames(seen).map((name) => [name, null])) }),
      check: (r) => {
        // PrinterBuilder.build (common/lib/data/dto/machine/printer_builder.dart) throws without these.
        const state = status(r);
        for (const required of ['toolhead', 'gcode_move', 'print_stats', 'configfile']) {
          expect(state[required], required).toBeDefined();
        }
        const settings = state.configfile?.settings as Record<string, Result>;
        expect(typeof settings.printer?.kinematics).toBe('string');
        expect(typeof settings.printer?.max_velocity).toBe('number');
        expect(typeof settings.printer?.max_accel).toBe('number');
        expect(typeof state.configfile?.save_config_pending).toBe('boolean');
        numbers(state.toolhead?.position, 4);
        expect(typeof state.toolhead?.homed_axes).toBe('string');
        numbers(state.gcode_move?.gcode_position, 4);
        numbers(state.gcode_move?.homing_origin, 4);
        expect(typeof state.gcode_move?.speed_factor).toBe('number');
        expect(state.print_stats).toMatchObject({
          filename: expect.any(String),
          state: expect.any(String),
          print_duration: expect.any(Number),
          total_duration: expect.any(Number),
          filament_used: expect.any(Number),
          message: expect.any(String),
        });
        expect(typeof state.extruder?.temperature).toBe('number');
        expect(typeof state.heater_bed?.target).toBe('number');
      },
    },
    {
      source: 'common/lib/service/moonraker/printer_service.dart _makeSubscribeRequest',
      method: 'printer.objects.subscribe',
      params: (seen) => ({ objects: Object.fromEntries(objectNames(seen).map((name) => [name, null])) }),
      check: (r) => expect(isRecord(r.status)).toBe(true),
    },
    {
      source: 'common/lib/network/moonraker_database_client.dart getDatabaseItem (mobileraker settings)',
      method: 'server.database.get_item',
      params: { namespace: 'mobileraker', key: 'settings' },
      error: { code: -32601, message: "Namespace 'mobileraker' not found" },
    },
  ];

  it('gets typed replies its strict parsers accept and the exact missing-namespace error', async () => {
    await replay(mobileraker);
  });
});

describe('Home Assistant start-up', () => {
  // The fields homeassistant/components/moonraker/connector.py _do_ready_handling asks for.
  const haCoreSubscriptions = {
    extruder: ['temperature', 'target'],
    heater_bed: ['temperature', 'target'],
    virtual_sdcard: ['progress'],
    print_stats: ['filename', 'print_duration', 'state'],
  };
  const haCore: Step[] = [
    {
      // moonraker_api/moonrakerclient.py get_klipper_status reads klippy_state.
      source: 'homeassistant/components/moonraker/connector.py state_changed (connected)',
      method: 'server.info',
      check: (r) => expect(r.klippy_state).toBe('ready'),
    },
    {
      source: 'moonraker_api/moonrakerclient.py get_supported_modules',
      method: 'printer.objects.list',
      check: (r) => expect(r.objects).toEqual(expect.arrayContaining(Object.keys(haCoreSubscriptions))),
    },
    {
      source: 'homeassistant/components/moonraker/connector.py _do_ready_handling',
      method: 'printer.objects.query',
      params: { objects: haCoreSubscriptions },
      check: (r) => {
        for (const [name, fields] of Object.entries(haCoreSubscriptions)) {
          expect(Object.keys(status(r)[name] ?? {}).sort(), name).toEqual([...fields].sort());
        }
      },
    },
    {
      source: 'homeassistant/components/moonraker/connector.py _do_ready_handling',
      method: 'printer.objects.subscribe',
      params: { objects: haCoreSubscriptions },
      check: (r) => expect(typeof status(r).extruder?.temperature).toBe('number'),
    },
    {
      source: 'moonraker_api/moonrakerclient.py get_websocket_id (deprecated, still offered)',
      method: 'server.websocket.id',
      check: (r) => expect(r.websocket_id).toEqual(expect.any(Number)),
    },
  ];

  // The fields sensor.py's SENSORS subscribe to; __init__.py add_query_objects keeps the first two
  // parts of each, so ("print_stats", "info", "total_layer") asks for print_stats.info.
  const hacsQuery = {
    print_stats: [
      'state',
      'message',
      'filename',
      'total_duration',
      'print_duration',
      'filament_used',
      'info',
    ],
    idle_timeout: ['state'],
    display_status: ['message', 'progress'],
    virtual_sdcard: ['progress', 'file_position', 'total_layer', 'current_layer', 'file_path'],
    gcode_move: ['speed'],
    motion_report: ['live_velocity'],
    toolhead: ['position'],
    system_stats: ['sysload', 'memavail'],
  };
  const hacs: Step[] = [
    {
      source: 'custom_components/moonraker/__init__.py async_setup_entry (hostname names the device)',
      method: 'printer.info',
      check: (r) => expect(r.hostname).toEqual(expect.any(String)),
    },
    {
      source: 'custom_components/moonraker/__init__.py _printer_objects_updater',
      method: 'printer.objects.query',
      params: { objects: hacsQuery },
      check: (r) => {
        const state = status(r);
        expect(Object.keys(state).sort()).toEqual(Object.keys(hacsQuery).sort());
        expect(state.print_stats).toMatchObject({ state: expect.any(String), filename: expect.any(String) });
        expect(isRecord(state.print_stats?.info)).toBe(true);
        expect(typeof state.display_status?.progress).toBe('number');
        numbers(state.toolhead?.position, 4);
        expect(typeof state.system_stats?.memavail).toBe('number');
      },
    },
    { source: 'custom_components/moonraker/__init__.py _printer_info_updater', method: 'printer.info' },
    {
      source: 'custom_components/moonraker/sensor.py _machine_system_info_updater',
      method: 'machine.system_info',
      check: (r) => expect(isRecord(r.system_info)).toBe(true),
    },
    {
      source: 'custom_components/moonraker/sensor.py async_setup_optional_sensors',
      method: 'printer.objects.list',
      check: (r) => expect(r.objects).toEqual(expect.any(Array)),
    },
    {
      source: 'custom_components/moonraker/number.py async_setup_temperature_target',
      method: 'printer.objects.query',
      params: { objects: { configfile: ['settings'] } },
      check: (r) => expect(isRecord(status(r).configfile?.settings)).toBe(true),
    },
    {
      source: 'custom_components/moonraker/sensor.py async_setup_history_sensors',
      method: 'server.history.totals',
      check: (r) =>
        expect(r.job_totals).toMatchObject({
          total_jobs: expect.any(Number),
          longest_print: expect.any(Number),
        }),
    },
    {
      source: 'custom_components/moonraker/sensor.py async_setup_queue_sensors',
      method: 'server.job_queue.status',
      check: (r) =>
        expect(r).toMatchObject({ queued_jobs: expect.any(Array), queue_state: expect.any(String) }),
    },
    {
      source: 'custom_components/moonraker/button.py async_setup_macros',
      method: 'printer.gcode.help',
      check: (r) => expect(isRecord(r)).toBe(true),
    },
    {
      source: 'custom_components/moonraker/button.py async_setup_services',
      method: 'machine.system_info',
      check: (r) => expect((r.system_info as Result).available_services).toEqual(expect.any(Array)),
    },
    {
      source: 'custom_components/moonraker/camera.py async_setup_entry',
      method: 'server.webcams.list',
      check: (r) => expect(r.webcams).toEqual(expect.any(Array)),
    },
    {
      // switch.py checks power_devices.get("error"): moonraker-api hands JSON-RPC errors back as results.
      source: 'custom_components/moonraker/switch.py async_setup_power_device',
      method: 'machine.device_power.devices',
      when: (seen) => !components(seen).includes('power'),
      error: { code: -32601 },
    },
  ];

  it("answers home-assistant/core's integration through moonraker-api", async () => {
    await replay(haCore);
  });

  it('answers the moonraker-home-assistant integration and its sensor, button and camera set-up', async () => {
    await replay(hacs);
  });
});
