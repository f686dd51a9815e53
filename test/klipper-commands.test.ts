import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VirtualMarlin } from '../server/virtual/marlin.ts';
import { type RpcClient, startReadyDaemon, type TestDaemon } from './fixtures/daemon.ts';

let brim: TestDaemon;
let client: RpcClient;
let firmware: VirtualMarlin;

beforeAll(async () => {
  ({ brim, client } = await startReadyDaemon());
  const printer = brim.daemon.kernel.instance('virtual_printer').printer();
  if (!printer) throw new Error('virtual printer not running');
  firmware = printer;
});

afterAll(async () => {
  await client.close();
  await brim.stop();
});

/** Runs a script and returns what the firmware executed because of it. */
async function executedBy(script: string): Promise<string[]> {
  const before = firmware.executed.length;
  const reply = await client.call('printer.gcode.script', { script });
  if (reply.error) throw new Error(reply.error.message);
  return firmware.executed.slice(before).map((c) => c.command);
}

async function query(objects: Record<string, string[] | null>) {
  return (
    (await client.call('printer.objects.query', { objects })).result as {
      status: Record<string, Record<string, unknown>>;
    }
  ).status;
}

describe('Klipper commands on a Marlin printer', () => {
  it('sets heaters by Klipper name and turns them all off', async () => {
    expect(
      await executedBy(
        'SET_HEATER_TEMPERATURE HEATER=extruder TARGET=190\nSET_HEATER_TEMPERATURE HEATER=heater_bed TARGET=55',
      ),
    ).toEqual(['M104 T0 S190', 'M140 S55']);
    expect(await query({ extruder: ['target'], heater_bed: ['target'] })).toEqual({
      extruder: { target: 190 },
      heater_bed: { target: 55 },
    });
    expect(await executedBy('TURN_OFF_HEATERS')).toEqual(['M104 T0 S0', 'M140 S0']);
  });

  it('translates fan, velocity, pressure advance and babystep commands', async () => {
    expect(await executedBy('SET_FAN_SPEED FAN=fan SPEED=0.5')).toEqual(['M106 P0 S128']);
    expect(await executedBy('SET_VELOCITY_LIMIT VELOCITY=200 ACCEL=2500')).toEqual([
      'M203 X200 Y200',
      'M204 P2500 T2500',
    ]);
    expect(await executedBy('SET_PRESSURE_ADVANCE ADVANCE=0.05')).toEqual(['M900 K0.05']);
    expect(await executedBy('SET_GCODE_OFFSET Z_ADJUST=0.05')).toEqual(['M290 Z0.05']);
    expect(await executedBy('SET_GCODE_OFFSET Z=0.1')).toEqual(['M290 Z0.05']);
    expect((await query({ gcode_move: ['homing_origin'] })).gcode_move).toEqual({
      homing_origin: [0, 0, 0.1, 0],
    });
  });

  it('restores coordinate modes after the UI jog wraps G91 in SAVE/RESTORE_GCODE_STATE', async () => {
    const ran = await executedBy(
      'SAVE_GCODE_STATE NAME=_ui_movement\nG91\nG1 X1 F600\nRESTORE_GCODE_STATE NAME=_ui_movement',
    );
    expect(ran.slice(0, 2)).toEqual(['G91', 'G1 X1 F600']);
    expect(ran.slice(2, 4)).toEqual(['G90', 'M82']);
    expect((await query({ gcode_move: ['absolute_coordinates'] })).gcode_move).toEqual({
      absolute_coordinates: true,
    });
  });

  it('answers host-only commands without any serial traffic', async () => {
    const since = client.notifications.length;
    expect(await executedBy('RESPOND MSG="hello there"\nSTATUS')).toEqual([]);
    const said = client.notifications.slice(since).map((n) => n.params?.[0]);
    expect(said).toEqual(expect.arrayContaining(['echo: hello there', '// Printer is ready']));
  });

  it('refuses a bad argument with the command and the reason', async () => {
    const reply = await client.call('printer.gcode.script', { script: 'SET_FAN_SPEED FAN=fan SPEED=3' });
    expect(reply.error).toEqual({
      code: 400,
      message: 'SET_FAN_SPEED FAN=fan SPEED=3: SPEED must be from 0 to 1',
    });
  });

  it('lists what it handles in printer.gcode.help and the gcode object', async () => {
    const help = (await client.call('printer.gcode.help')).result as Record<string, string>;
    expect(help.SET_HEATER_TEMPERATURE).toMatch(/heater/i);
    const { gcode } = await query({ gcode: null });
    const commands = gcode?.commands as Record<string, { help: string }> | undefined;
    expect(commands?.TURN_OFF_HEATERS?.help).toBe('Turns every heater off');
  });

  it('shows firmware echo lines the Klipper way in the console', async () => {
    const since = client.notifications.length;
    const reply = await client.call('printer.gcode.script', { script: 'M999999' });
    // The caller gets the firmware's refusal as an error, as the serial issue asks.
    expect(reply.error?.code).toBe(400);
    expect(reply.error?.message).toMatch(/Unknown command/);
    const said = client.notifications.slice(since).map((n) => String(n.params?.[0]));
    expect(said.some((line) => line.startsWith('!! Unknown command'))).toBe(true);
  });
});
