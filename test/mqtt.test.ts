// The mqtt component against a real mosquitto: HA discovery and availability, the MQTT API, status topics, outages, auth.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../server/core/errors.ts';
import {
  RpcClient,
  startReadyDaemon,
  startTestDaemon,
  type TestDaemon,
  tempDataDir,
} from './fixtures/daemon.ts';
import { type Broker, createBroker, Observer, type Received } from './fixtures/mosquitto.ts';
import { buildServer, freePort, spawnDaemon, waitForOk } from './fixtures/process.ts';

const LONG = 90_000;

function mqttTable(broker: Broker, instance: string, extra = ''): string {
  return `[mqtt]\naddress = "127.0.0.1"\nport = ${broker.port}\ninstance_name = "${instance}"\n${extra}\n`;
}

const json = (m: Received) => JSON.parse(m.text) as Record<string, unknown>;

/** Polls until `test` holds, so a loaded machine gets the time it needs and a fast one none. */
async function waitUntil<T>(
  read: () => Promise<T>,
  test: (value: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (test(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`${what} within ${timeoutMs} ms; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface MqttStatus {
  state: string;
  connected: boolean;
  broker: string;
  last_error: string | null;
  reconnect_attempts: number;
}

async function mqttStatus(client: RpcClient): Promise<MqttStatus> {
  return (await client.call('server.mqtt.status')).result as MqttStatus;
}

let broker: Broker;
const daemons: { brim: TestDaemon; client: RpcClient }[] = [];
const observers: Observer[] = [];

async function daemonWith(toml: string): Promise<{ brim: TestDaemon; client: RpcClient }> {
  const started = await startReadyDaemon(toml);
  daemons.push(started);
  return started;
}

async function observe(url: string, ...topics: string[]): Promise<Observer> {
  const observer = await Observer.connect(url);
  observers.push(observer);
  if (topics.length > 0) await observer.subscribe(...topics);
  return observer;
}

beforeAll(async () => {
  broker = await createBroker();
});

afterEach(async () => {
  for (const { brim, client } of daemons.splice(0)) {
    await client.close();
    await brim.stop();
  }
  for (const observer of observers.splice(0)) await observer.close();
});

afterAll(async () => {
  await broker.dispose();
});

describe('Home Assistant discovery', () => {
  it(
    'publishes retained configs with unique_id, device and availability, again on HA birth, and offline on stop',
    async () => {
      const watcher = await observe(broker.url, 'homeassistant/#', 'ha1/moonraker/status');
      const { brim } = await daemonWith(mqttTable(broker, 'ha1'));
      const online = await watcher.waitFor(
        (m) => m.topic === 'ha1/moonraker/status' && m.text.includes('online'),
      );
      expect(json(online)).toEqual({ server: 'online' });
      const nozzle = await watcher.waitFor(
        (m) => m.topic === 'homeassistant/sensor/ha1/extruder_temperature/config',
      );
      await watcher.waitFor((m) => m.topic === 'homeassistant/button/ha1/emergency_stop/config');

      // A client that subscribes later gets the configs as retained messages.
      const late = await observe(broker.url, 'homeassistant/#', 'ha1/brim/state/#');
      const retained = await late.waitFor((m) => m.topic.endsWith('/extruder_temperature/config'));
      expect(retained.retain).toBe(true);
      const configs = new Map<string, Record<string, unknown>>();
      await waitUntil(
        async () => {
          for (const m of late.messages)
            if (m.topic.startsWith('homeassistant/')) configs.set(m.topic, json(m));
          return configs.size;
        },
        (n) => n >= 15,
        'all fifteen retained configs',
      );
      const uniqueIds = new Set<unknown>();
      for (const [topic, config] of configs) {
        expect(config.unique_id, topic).toMatch(/^brim_ha1_[a-z_]+$/);
        uniqueIds.add(config.unique_id);
        expect(config.device).toMatchObject({ identifiers: ['brim_ha1'], manufacturer: 'Brim', name: 'ha1' });
        expect(config.availability).toEqual([
          expect.objectContaining({
            topic: 'ha1/moonraker/status',
            value_template: '{{ value_json.server }}',
          }),
        ]);
      }
      expect(uniqueIds.size).toBe(configs.size);
      expect(json(nozzle)).toMatchObject({
        device_class: 'temperature',
        unit_of_measurement: '°C',
        state_class: 'measurement',
        state_topic: 'ha1/brim/state/temperatures',
      });
      expect(configs.get('homeassistant/sensor/ha1/print_state/config')).toMatchObject({
        device_class: 'enum',
        options: ['standby', 'printing', 'paused', 'complete', 'cancelled', 'error'],
      });
      expect(configs.get('homeassistant/sensor/ha1/eta/config')).toMatchObject({ device_class: 'timestamp' });
      expect(configs.get('homeassistant/binary_sensor/ha1/printer_connected/config')).toMatchObject({
        device_class: 'connectivity',
        state_topic: 'ha1/brim/state/job',
      });
      expect(configs.get('homeassistant/button/ha1/pause/config')).toMatchObject({
        command_topic: 'ha1/brim/cmd/pause',
        payload_press: 'PRESS',
        qos: 1,
      });
      for (const key of [
        'heater_bed_temperature',
        'heater_bed_target',
        'extruder_target',
        'progress',
        'filename',
      ]) {
        expect(configs.has(`homeassistant/sensor/ha1/${key}/config`), key).toBe(true);
      }
      // The states the sensors read are there too, retained, so HA shows values at once.
      const temperatures = await late.waitFor((m) => m.topic === 'ha1/brim/state/temperatures', {
        what: 'temperature state',
      });
      expect(json(temperatures)).toHaveProperty('extruder.temperature');
      const job = await late.waitFor((m) => m.topic === 'ha1/brim/state/job', { what: 'job state' });
      expect(json(job)).toMatchObject({ state: 'standby', progress: 0, time_remaining: null, eta: null });
      await late.waitFor((m) => m.topic === 'ha1/brim/state/job' && json(m).printer === 'ready', {
        what: 'the printer shown as connected',
      });

      // Home Assistant restarted: its birth message brings discovery back.
      const since = watcher.messages.length;
      await watcher.publish('homeassistant/status', 'online');
      const again = await watcher.waitFor(
        (m) => m.topic === 'homeassistant/sensor/ha1/extruder_temperature/config',
        {
          since,
          what: 'discovery after HA birth',
        },
      );
      expect(json(again).unique_id).toBe('brim_ha1_extruder_temperature');

      const beforeStop = watcher.messages.length;
      await brim.stop();
      daemons.length = 0;
      const offline = await watcher.waitFor((m) => m.topic === 'ha1/moonraker/status', { since: beforeStop });
      expect(json(offline)).toEqual({ server: 'offline' });
      const afterwards = await observe(broker.url, 'ha1/moonraker/status');
      const kept = await afterwards.waitFor((m) => m.topic === 'ha1/moonraker/status');
      expect({ retain: kept.retain, ...json(kept) }).toEqual({ retain: true, server: 'offline' });
    },
    LONG,
  );

  it(
    'leaves offline on the availability topic through the last will when the daemon is killed',
    async () => {
      buildServer();
      const dataDir = tempDataDir();
      const port = await freePort();
      const configFile = join(dataDir, 'kill.toml');
      writeFileSync(configFile, mqttTable(broker, 'killed'));
      const watcher = await observe(broker.url, 'killed/moonraker/status');
      const daemon = spawnDaemon(['--data', dataDir, '--config', configFile, '--port', String(port)]);
      try {
        await waitForOk(`http://127.0.0.1:${port}/readyz`, 30_000);
        await watcher.waitFor((m) => m.topic === 'killed/moonraker/status' && json(m).server === 'online', {
          what: 'online from the daemon process',
        });
        const since = watcher.messages.length;
        daemon.child.kill('SIGKILL');
        await daemon.exited;
        const will = await watcher.waitFor((m) => m.topic === 'killed/moonraker/status', {
          since,
          what: 'the will',
        });
        expect(json(will)).toEqual({ server: 'offline' });
      } finally {
        daemon.child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    LONG,
  );

  it(
    'runs a live button press through the API and ignores a retained one',
    async () => {
      const setter = await observe(broker.url);
      // A stale retained "emergency stop" left on the broker must not fire when the daemon connects.
      await setter.publish('btn/brim/cmd/emergency_stop', 'PRESS', { retain: true });
      try {
        const { client } = await daemonWith(mqttTable(broker, 'btn'));
        await waitUntil(
          () => mqttStatus(client),
          (s) => s.connected,
          'connected',
        );
        // The broker hands over the retained press when the daemon subscribes, before any later message;
        // so once an API request sent after that is answered, the press has been seen (and ignored).
        const watcher = await observe(broker.url, 'btn/moonraker/api/response');
        for (let id = 1; watcher.messages.length === 0; id++) {
          await watcher.publish(
            'btn/moonraker/api/request',
            JSON.stringify({ jsonrpc: '2.0', method: 'printer.info', id }),
          );
          await watcher.waitFor(() => true, { timeoutMs: 2000 }).catch(() => undefined);
          expect(id, 'the MQTT API never answered').toBeLessThan(30);
        }
        expect(((await client.call('printer.info')).result as { state: string }).state).toBe('ready');

        await setter.publish('btn/brim/cmd/emergency_stop', 'PRESS');
        await waitUntil(
          async () => ((await client.call('printer.info')).result as { state: string }).state,
          (state) => state === 'shutdown',
          'printer shut down by the emergency stop button',
        );
      } finally {
        await setter.publish('btn/brim/cmd/emergency_stop', '', { retain: true });
      }
    },
    LONG,
  );
});

describe('the Moonraker MQTT API', () => {
  it(
    'answers server.info the same over HTTP, websocket and the MQTT API topic',
    async () => {
      const { brim, client } = await daemonWith(mqttTable(broker, 'api1'));
      await waitUntil(
        () => mqttStatus(client),
        (s) => s.connected,
        'connected',
      );
      const watcher = await observe(broker.url, 'api1/moonraker/api/response');

      const viaHttp = (
        await brim.daemon.kernel.instance('server').app.inject({ method: 'GET', url: '/server/info' })
      ).json() as {
        result: Record<string, unknown>;
      };
      const viaWebsocket = (await client.call('server.info')).result;
      await watcher.publish(
        'api1/moonraker/api/request',
        JSON.stringify({ jsonrpc: '2.0', method: 'server.info', id: 7 }),
      );
      const viaMqtt = json(await watcher.waitFor((m) => json(m).id === 7, { what: 'the MQTT reply' }));

      expect(viaHttp.result.components).toContain('mqtt');
      expect(viaWebsocket).toEqual(viaHttp.result);
      expect(viaMqtt).toEqual({ jsonrpc: '2.0', result: viaHttp.result, id: 7 });

      // The same bad argument gets the same JSON-RPC error on both RPC transports.
      const bad = { jsonrpc: '2.0', method: 'printer.gcode.script', params: { script: 42 }, id: 8 };
      const wsError = await client.call('printer.gcode.script', { script: 42 });
      await watcher.publish('api1/moonraker/api/request', JSON.stringify(bad));
      const mqttError = json(await watcher.waitFor((m) => json(m).id === 8));
      expect(wsError.error?.code).toBe(400);
      expect(mqttError.error).toEqual(wsError.error);
    },
    LONG,
  );

  it(
    'replies with JSON-RPC errors to bad JSON and bad requests, refuses websocket-only methods, and keeps serving',
    async () => {
      const { client } = await daemonWith(mqttTable(broker, 'api2'));
      await waitUntil(
        () => mqttStatus(client),
        (s) => s.connected,
        'connected',
      );
      const watcher = await observe(broker.url, 'api2/moonraker/api/response');
      const request = 'api2/moonraker/api/request';

      await watcher.publish(request, '{"jsonrpc": "2.0", "method": ');
      const parseError = json(await watcher.waitFor(() => true, { what: 'parse error reply' }));
      expect(parseError).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });

      let since = watcher.messages.length;
      await watcher.publish(request, JSON.stringify({ jsonrpc: '2.0', id: 1 }));
      expect(json(await watcher.waitFor(() => true, { since }))).toMatchObject({
        id: 1,
        error: { code: -32600 },
      });

      since = watcher.messages.length;
      await watcher.publish(
        request,
        JSON.stringify({ jsonrpc: '2.0', method: 'server.connection.identify', id: 2 }),
      );
      expect(json(await watcher.waitFor(() => true, { since }))).toMatchObject({
        id: 2,
        error: { code: -32601 },
      });

      // Moonraker keeps server.mqtt.* off the MQTT API; HTTP and websocket have it.
      since = watcher.messages.length;
      await watcher.publish(request, JSON.stringify({ jsonrpc: '2.0', method: 'server.mqtt.status', id: 3 }));
      expect(json(await watcher.waitFor(() => true, { since }))).toMatchObject({
        id: 3,
        error: { code: -32601 },
      });

      // A repeated mqtt_timestamp is a duplicate, answered with Moonraker's -10000 and not run again.
      since = watcher.messages.length;
      const timed = { jsonrpc: '2.0', method: 'printer.info', params: { mqtt_timestamp: 1234.5 }, id: 4 };
      await watcher.publish(request, JSON.stringify(timed));
      await watcher.publish(request, JSON.stringify(timed));
      await watcher.waitFor((m) => json(m).id === 4 && 'error' in json(m), {
        since,
        what: 'duplicate reply',
      });
      const replies = watcher.messages.slice(since).map(json);
      expect(replies.filter((r) => r.id === 4 && 'result' in r)).toHaveLength(1);
      expect(replies.find((r) => 'error' in r)).toMatchObject({ error: { code: -10000 } });

      since = watcher.messages.length;
      await watcher.publish(request, JSON.stringify({ jsonrpc: '2.0', method: 'printer.info', id: 5 }));
      expect(json(await watcher.waitFor(() => true, { since }))).toMatchObject({
        id: 5,
        result: { state: 'ready' },
      });
    },
    LONG,
  );

  it(
    'runs an operator request from MQTT and publishes the notification it causes on api/notification',
    async () => {
      const { client } = await daemonWith(mqttTable(broker, 'api3'));
      await waitUntil(
        () => mqttStatus(client),
        (s) => s.connected,
        'connected',
      );
      const watcher = await observe(
        broker.url,
        'api3/moonraker/api/response',
        'api3/moonraker/api/notification',
      );
      const request = {
        jsonrpc: '2.0',
        method: 'server.files.post_directory',
        params: { path: 'gcodes/from-mqtt' },
        id: 9,
      };
      await watcher.publish('api3/moonraker/api/request', JSON.stringify(request));
      const reply = json(await watcher.waitFor((m) => m.topic.endsWith('/response'), { what: 'the reply' }));
      expect(reply).toMatchObject({ id: 9, result: { action: 'create_dir', item: { path: 'from-mqtt' } } });
      const notification = await watcher.waitFor((m) => m.topic.endsWith('/notification'), {
        what: 'notify_filelist_changed',
      });
      expect(json(notification)).toMatchObject({
        jsonrpc: '2.0',
        method: 'notify_filelist_changed',
        params: [{ action: 'create_dir', item: { path: 'from-mqtt', root: 'gcodes' } }],
      });
      // The folder is really there, seen over the websocket.
      const listing = (await client.call('server.files.get_directory', { path: 'gcodes' })).result as {
        dirs: { dirname: string }[];
      };
      expect(listing.dirs.map((d) => d.dirname)).toContain('from-mqtt');
    },
    LONG,
  );
});

describe('status publishing', () => {
  it(
    'publishes status_objects on klipper/status and split retained fields, following a bed temperature change',
    async () => {
      const toml = mqttTable(
        broker,
        'stat1',
        'status_objects = { heater_bed = ["target", "temperature"], print_stats = [] }\npublish_split_status = true',
      );
      const watcher = await observe(
        broker.url,
        'stat1/klipper/status',
        'stat1/klipper/state/#',
        'stat1/brim/state/temperatures',
      );
      const { client } = await daemonWith(toml);
      const first = await watcher.waitFor((m) => m.topic === 'stat1/klipper/status', {
        what: 'the first status',
      });
      const snapshot = json(first) as { eventtime: number; status: Record<string, Record<string, unknown>> };
      expect(typeof snapshot.eventtime).toBe('number');
      expect(Object.keys(snapshot.status.heater_bed ?? {}).sort()).toEqual(['target', 'temperature']);
      expect(snapshot.status.print_stats).toHaveProperty('state', 'standby');

      const since = watcher.messages.length;
      expect((await client.call('printer.gcode.script', { script: 'M140 S60' })).result).toBe('ok');
      const changed = await watcher.waitFor(
        (m) =>
          m.topic === 'stat1/klipper/status' &&
          (json(m).status as Record<string, { target?: number }>).heater_bed?.target === 60,
        { since, what: 'heater_bed.target 60 on klipper/status' },
      );
      expect(Object.keys((json(changed).status as Record<string, object>).heater_bed ?? {})).not.toContain(
        'power',
      );
      const split = await watcher.waitFor(
        (m) => m.topic === 'stat1/klipper/state/heater_bed/target' && json(m).value === 60,
        { since, what: 'the split target field' },
      );
      expect(json(split)).toHaveProperty('eventtime');
      // The bed warms in the virtual printer; the rising temperature follows on klipper/status.
      await watcher.waitFor(
        (m) =>
          m.topic === 'stat1/klipper/status' &&
          ((json(m).status as Record<string, { temperature?: number }>).heater_bed?.temperature ?? 0) > 30,
        { since, what: 'a rising bed temperature', timeoutMs: 30_000 },
      );
      // Home Assistant's temperature state follows too.
      await watcher.waitFor(
        (m) =>
          m.topic === 'stat1/brim/state/temperatures' &&
          (json(m).heater_bed as { target: number }).target === 60,
        { since, what: 'the HA temperature state' },
      );
      const late = await observe(broker.url, 'stat1/klipper/state/heater_bed/target');
      const kept = await late.waitFor(() => true);
      expect(kept.retain).toBe(true);
      expect(json(kept).value).toBe(60);
    },
    LONG,
  );
});

describe('broker outages and credentials', () => {
  it(
    'starts without its broker, reports it, connects once the broker is up, and reconnects after it goes away',
    async () => {
      const late = await createBroker({ running: false });
      try {
        const { client } = await daemonWith(mqttTable(late, 'down1'));
        const down = await waitUntil(
          () => mqttStatus(client),
          (s) => s.last_error !== null,
          'an error reported',
        );
        expect(down).toMatchObject({ connected: false, broker: `mqtt://127.0.0.1:${late.port}` });
        expect(down.last_error).toMatch(/ECONNREFUSED/);
        const info = (await client.call('server.info')).result as {
          components: string[];
          klippy_state: string;
        };
        expect(info.components).toContain('mqtt');
        expect(info.klippy_state).toBe('ready');

        await late.start();
        const up = await waitUntil(
          () => mqttStatus(client),
          (s) => s.connected,
          'connected after the broker started',
          60_000,
        );
        expect(up).toMatchObject({ state: 'connected', reconnect_attempts: 0 });

        await late.stop();
        await waitUntil(
          () => mqttStatus(client),
          (s) => !s.connected && s.state === 'reconnecting',
          'noticed the outage',
        );
        expect(((await client.call('printer.info')).result as { state: string }).state).toBe('ready');
        await late.start();
        await waitUntil(
          () => mqttStatus(client),
          (s) => s.connected,
          'reconnected',
          60_000,
        );
        // Availability is announced again after the reconnection.
        const watcher = await observe(late.url, 'down1/moonraker/status');
        const status = await watcher.waitFor((m) => m.topic === 'down1/moonraker/status');
        expect(json(status)).toEqual({ server: 'online' });
      } finally {
        for (const observer of observers.splice(0)) await observer.close();
        await late.dispose();
      }
    },
    LONG * 2,
  );

  it(
    'logs in with a password file, and reports a refused login without stopping',
    async () => {
      const secured = await createBroker({ users: { brim: 'pa55-word' } });
      try {
        const dataDir = tempDataDir();
        mkdirSync(join(dataDir, 'config'), { recursive: true });
        writeFileSync(join(dataDir, 'config', 'mqtt-password'), 'pa55-word\n');
        const brim = await startTestDaemon({
          dataDir,
          configToml: `[virtual_printer]\nboot_ms = 0\n${mqttTable(secured, 'auth1', 'username = "brim"\npassword_file = "mqtt-password"')}`,
        });
        const client = await RpcClient.connect(brim.wsUrl);
        daemons.push({ brim, client });
        await waitUntil(
          () => mqttStatus(client),
          (s) => s.connected,
          'connected with the password file',
        );

        const wrong = await daemonWith(mqttTable(secured, 'auth2', 'username = "brim"\npassword = "wrong"'));
        const refused = await waitUntil(
          () => mqttStatus(wrong.client),
          (s) => s.last_error !== null,
          'a refused login',
        );
        expect(refused.connected).toBe(false);
        expect(refused.last_error).toMatch(/Not authorized/i);
        const info = (await wrong.client.call('server.info')).result as { warnings: string[] };
        expect(info.warnings.some((w) => /refused the login/.test(w))).toBe(true);
      } finally {
        await secured.dispose();
      }
    },
    LONG,
  );
});

describe('configuration', () => {
  it('is off without an [mqtt] table: not in server.info, no server.mqtt.status', async () => {
    const { client } = await daemonWith('');
    const info = (await client.call('server.info')).result as { components: string[] };
    expect(info.components).not.toContain('mqtt');
    expect((await client.call('server.mqtt.status')).error?.code).toBe(-32601);
  });

  it('stops start-up on a bad broker URL or an unknown key, naming table and key', async () => {
    const startWith = async (toml: string) => {
      try {
        const brim = await startTestDaemon({ configToml: toml });
        await brim.stop();
        return null;
      } catch (error) {
        return error;
      }
    };
    const badUrl = await startWith('[mqtt]\naddress = "http://broker:1883"\n');
    expect(badUrl).toBeInstanceOf(ConfigError);
    expect((badUrl as Error).message).toBe(
      'test.toml [mqtt]: key "address" has scheme "http"; use mqtt, mqtts, ws or wss',
    );
    const noFile = await startWith('[mqtt]\npassword_file = "missing-password"\n');
    expect((noFile as Error).message).toMatch(
      /^test\.toml \[mqtt\]: key "password_file": cannot read \/.*\/config\/missing-password \(ENOENT\)$/,
    );
    const typo = await startWith('[mqtt]\nadress = "broker"\n');
    expect((typo as Error).message).toBe('test.toml [mqtt]: unknown key "adress" (did you mean "address"?)');
  });
});
