import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PtyPrinter, startPtyPrinter } from '../server/virtual/pty.ts';
import { RpcClient, startTestDaemon, type TestDaemon } from './fixtures/daemon.ts';

async function waitForState(
  client: RpcClient,
  state: string,
  timeoutMs = 8000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = (await client.call('printer.info')).result as Record<string, unknown>;
    if (info.state === state) return info;
    if (Date.now() > deadline)
      throw new Error(`printer stayed ${info.state} (${info.state_message}), wanted ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the printer behind the built-in virtual Marlin', () => {
  let brim: TestDaemon;
  let client: RpcClient;

  beforeAll(async () => {
    brim = await startTestDaemon({ configToml: '[virtual_printer]\nboot_ms = 0\n' });
    client = await RpcClient.connect(brim.wsUrl);
    await waitForState(client, 'ready');
  });

  afterAll(async () => {
    await client.close();
    await brim.stop();
  });

  it('reports ready with the firmware name, and the printer objects Mainsail subscribes to', async () => {
    const info = (await client.call('printer.info')).result as Record<string, unknown>;
    expect(info).toMatchObject({
      state: 'ready',
      state_message: 'Printer is ready',
      firmware: expect.stringMatching(/^Marlin/),
    });
    const server = (await client.call('server.info')).result as Record<string, unknown>;
    expect(server).toMatchObject({ klippy_connected: true, klippy_state: 'ready' });
    const { status } = (
      await client.call('printer.objects.query', {
        objects: {
          webhooks: null,
          extruder: ['temperature', 'target'],
          heater_bed: null,
          toolhead: ['homed_axes'],
        },
      })
    ).result as { status: Record<string, Record<string, unknown>> };
    expect(status.webhooks).toEqual({ state: 'ready', state_message: 'Printer is ready' });
    expect(status.extruder?.temperature).toBeGreaterThan(15);
    expect(status.heater_bed).toMatchObject({ target: 0, power: 0 });
  });

  it('describes its setup in configfile as Mobileraker and Mainsail read it', async () => {
    const { status } = (
      await client.call('printer.objects.query', { objects: { configfile: null, system_stats: null } })
    ).result as { status: Record<string, Record<string, Record<string, Record<string, unknown>>>> };
    expect(status.configfile?.settings?.printer).toMatchObject({
      kinematics: 'cartesian',
      max_velocity: 300,
      max_accel: 3000,
    });
    expect(status.configfile?.config?.stepper_x).toMatchObject({ position_max: '220' });
    // Fluidd and Moonraker warn without these, in exactly this case.
    for (const section of [
      'virtual_sdcard',
      'pause_resume',
      'display_status',
      'gcode_macro PAUSE',
      'gcode_macro RESUME',
      'gcode_macro CANCEL_PRINT',
    ]) {
      expect(status.configfile?.config?.[section], section).toBeDefined();
    }
    expect(status.configfile?.settings?.['gcode_macro cancel_print']).toMatchObject({
      rename_existing: 'BASE_CANCEL_PRINT',
    });
    expect(status.system_stats).toMatchObject({ sysload: expect.any(Number), memavail: expect.any(Number) });
  });

  it('runs a console script, tracks what it changed, and answers once the last line is done', async () => {
    const started = Date.now();
    const reply = await client.call('printer.gcode.script', {
      script: 'M104 S180\nM220 S150\nG4 P700\nM400',
    });
    expect(reply.result).toBe('ok');
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    const { status } = (
      await client.call('printer.objects.query', {
        objects: { extruder: ['target'], gcode_move: ['speed_factor'] },
      })
    ).result as { status: Record<string, Record<string, unknown>> };
    expect(status).toEqual({ extruder: { target: 180 }, gcode_move: { speed_factor: 1.5 } });
    await client.call('printer.gcode.script', { script: 'M104 S0' });
  });

  it('pushes firmware replies as notify_gcode_response and keeps them in the gcode store', async () => {
    const since = client.notifications.length;
    await client.call('printer.gcode.script', { script: 'M114' });
    const response = client.notifications
      .slice(since)
      .find((n) => n.method === 'notify_gcode_response' && String(n.params?.[0]).startsWith('X:'));
    expect(response).toBeDefined();
    const store = (await client.call('server.gcode_store', { count: 20 })).result as {
      gcode_store: { message: string; type: string; time: number }[];
    };
    expect(store.gcode_store).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ message: 'M114', type: 'command' }),
        expect.objectContaining({ message: expect.stringMatching(/^X:/), type: 'response' }),
      ]),
    );
  });

  it('keeps temperature reports out of the console unless the user asked for one', async () => {
    type Store = { gcode_store: { message: string; type: string }[] };
    const temperature = /^(ok )?T:/;
    // Brim's own M105 at connect (and M155 autoreports since) are housekeeping, as in Moonraker.
    const before = (await client.call('server.gcode_store', { count: 1000 })).result as Store;
    expect(before.gcode_store.filter((l) => temperature.test(l.message))).toEqual([]);
    const since = client.notifications.length;
    await client.call('printer.gcode.script', { script: 'M105' });
    const shown = client.notifications
      .slice(since)
      .filter((n) => n.method === 'notify_gcode_response' && temperature.test(String(n.params?.[0])));
    expect(shown).toHaveLength(1);
    expect(String(shown[0]!.params![0])).toMatch(/^ok T:\d+\.\d+ \/\d+\.\d+ B:/);
  });

  it("answers a command nobody handles with Klipper's unknown-command error, without sending it", async () => {
    const since = client.notifications.length;
    const reply = await client.call('printer.gcode.script', { script: 'G0 X1\nFROB_WIDGET SPEED=3' });
    expect(reply.error).toEqual({ code: 400, message: 'Unknown command: "FROB_WIDGET"' });
    const said = client.notifications.slice(since).map((n) => n.params?.[0]);
    expect(said).toContain('!! Unknown command: "FROB_WIDGET"');
  });

  it('reports endstops from M119 and the board in mcu', async () => {
    const endstops = (await client.call('printer.query_endstops.status')).result as Record<string, string>;
    expect(Object.keys(endstops)).toEqual(expect.arrayContaining(['x', 'y', 'z']));
    for (const state of Object.values(endstops)) expect(['open', 'TRIGGERED']).toContain(state);
    const { status } = (
      await client.call('printer.objects.query', { objects: { mcu: null, query_endstops: null } })
    ).result as { status: Record<string, Record<string, unknown>> };
    expect(status.mcu?.mcu_version).toMatch(/^Marlin/);
    expect(Object.keys(status.query_endstops?.last_query as object)).toEqual(expect.arrayContaining(['x']));
  });

  it('exports temperatures, job state and link counters to Prometheus', async () => {
    const text = await (await fetch(`${brim.url}/metrics`)).text();
    expect(text).toMatch(/brim_heater_temperature_celsius\{heater="extruder"\} \d/);
    expect(text).toMatch(/brim_heater_target_celsius\{heater="heater_bed"\} 0/);
    expect(text).toMatch(/brim_job_state 0/);
    expect(text).toMatch(/brim_serial_lines_sent_total \d+/);
    expect(text).toMatch(/brim_serial_resend_requests 0/);
  });

  it('keeps a one-second temperature history per heater', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const store = (await client.call('server.temperature_store', { include_monitors: true }))
      .result as Record<string, { temperatures: number[]; targets: number[]; powers: number[] }>;
    expect(store.extruder?.temperatures.length).toBeGreaterThan(0);
    expect(store.heater_bed?.targets.length).toBe(store.heater_bed?.temperatures.length);
  });

  it('stops at once on printer.emergency_stop and comes back with printer.firmware_restart', async () => {
    const moves = Array.from({ length: 200 }, (_, i) => `G1 X${i % 50} Y${i % 30} F3000`).join('\n');
    const script = client.call('printer.gcode.script', { script: moves });
    await new Promise((r) => setTimeout(r, 100));
    expect((await client.call('printer.emergency_stop')).result).toBe('ok');
    expect((await script).error).toEqual({ code: 400, message: 'Emergency stop' });
    await waitForState(client, 'shutdown', 2000);
    expect((await client.call('printer.firmware_restart')).result).toBe('ok');
    await waitForState(client, 'ready');
  });
});

describe('connection life', () => {
  it('reports startup with the reason while the port is absent', async () => {
    const brim = await startTestDaemon({ configToml: '[serial]\nport = "/dev/serial/by-id/usb-none"\n' });
    try {
      const client = await RpcClient.connect(brim.wsUrl);
      const info = await waitForState(client, 'startup');
      expect(info.state_message).toBe('Printer not found at /dev/serial/by-id/usb-none; retrying every 2 s');
      const server = (await client.call('server.info')).result as Record<string, unknown>;
      expect(server.klippy_state).toBe('startup');
      const reply = await client.call('printer.gcode.script', { script: 'G28' });
      expect(reply.error?.message).toMatch(/^Printer not ready/);
      await client.close();
    } finally {
      await brim.stop();
    }
  });

  it('notices an unplug on a real pty and reconnects when the printer comes back', {
    timeout: 45_000,
  }, async () => {
    const pty: PtyPrinter = await startPtyPrinter({ printer: {} });
    const brim = await startTestDaemon({
      configToml: `[serial]\nport = "${pty.devicePath}"\nbaudrate = 115200\nreconnect_interval_s = 0.2\nok_timeout_s = 1\ndead_timeout_s = 5\n`,
    });
    try {
      const client = await RpcClient.connect(brim.wsUrl);
      await waitForState(client, 'ready');
      const since = client.notifications.length;
      pty.printer.unplug(600);
      // Notifications, not polling: under load a poll can miss a state that lasts only 600 ms.
      await client.waitForNotification('notify_klippy_disconnected', 15_000, since);
      const gone = client.notifications.findIndex(
        (n, i) => i >= since && n.method === 'notify_klippy_disconnected',
      );
      await client.waitForNotification('notify_klippy_ready', 15_000, gone + 1);
      expect((await client.call('printer.gcode.script', { script: 'G0 X1' })).result).toBe('ok');
      await client.close();
    } finally {
      await brim.stop();
      await pty.close();
    }
  });
});
