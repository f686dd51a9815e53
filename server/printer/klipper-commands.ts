// The Klipper commands Mainsail, Fluidd and KlipperScreen send, translated to Marlin (notes §3 table).
import { errors } from '../core/errors.ts';
import type { HostCommand, HostCommandContext } from './commands.ts';
import type { PrinterModel } from './model.ts';

export interface KlipperCommandDeps {
  model: PrinterModel;
  restart(): Promise<void>;
  firmwareRestart(): Promise<void>;
  /** Names of every registered command with help, for HELP. */
  help(): Record<string, string>;
  state(): string;
}

function number(
  context: HostCommandContext,
  key: string,
  { min, max }: { min?: number; max?: number } = {},
): number {
  const raw = context.params[key];
  const value = Number(raw);
  if (raw === undefined || raw === '' || Number.isNaN(value)) {
    throw errors.badRequest(`${context.raw}: ${key} must be a number`);
  }
  if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
    throw errors.badRequest(`${context.raw}: ${key} must be from ${min} to ${max}`);
  }
  return value;
}

function optionalNumber(context: HostCommandContext, key: string): number | undefined {
  return context.params[key] === undefined ? undefined : number(context, key);
}

/** Klipper's heater names → the Marlin command that sets each one's target. */
function heaterCommand(model: PrinterModel, heater: string, target: number): string {
  if (heater === 'heater_bed') return `M140 S${target}`;
  if (heater === 'chamber' || heater === 'heater_generic chamber') return `M141 S${target}`;
  const match = /^extruder(\d*)$/.exec(heater);
  const tool = match ? Number(match[1] || 0) : -1;
  if (tool < 0 || tool >= model.extruders.length) throw errors.badRequest(`Unknown heater: ${heater}`);
  return `M104 T${tool} S${target}`;
}

export function klipperCommands(deps: KlipperCommandDeps): HostCommand[] {
  const { model } = deps;
  const savedStates = new Map<
    string,
    { absoluteCoordinates: boolean; absoluteExtrude: boolean; feedrate: number }
  >();
  const translate = (name: string, help: string, build: (c: HostCommandContext) => string): HostCommand => ({
    name,
    help,
    run: (context) => context.run(build(context)),
  });

  return [
    translate('SET_HEATER_TEMPERATURE', 'Sets a heater target: HEATER=<name> TARGET=<°C>', (c) => {
      const heater = c.params.HEATER;
      if (!heater) throw errors.badRequest(`${c.raw}: HEATER is required`);
      return heaterCommand(model, heater, optionalNumber(c, 'TARGET') ?? 0);
    }),
    translate('TURN_OFF_HEATERS', 'Turns every heater off', () =>
      [
        ...model.extruders.map((_, i) => `M104 T${i} S0`),
        'M140 S0',
        ...(model.chamber ? ['M141 S0'] : []),
      ].join('\n'),
    ),
    translate('SET_FAN_SPEED', 'Sets the part fan: FAN=fan SPEED=<0..1>', (c) => {
      const speed = number(c, 'SPEED', { min: 0, max: 1 });
      return `M106 P0 S${Math.round(speed * 255)}`;
    }),
    translate('SET_VELOCITY_LIMIT', 'Sets VELOCITY, ACCEL and SQUARE_CORNER_VELOCITY limits', (c) => {
      const lines: string[] = [];
      const velocity = optionalNumber(c, 'VELOCITY');
      const accel = optionalNumber(c, 'ACCEL');
      const corner = optionalNumber(c, 'SQUARE_CORNER_VELOCITY');
      if (velocity !== undefined) lines.push(`M203 X${velocity} Y${velocity}`);
      if (accel !== undefined) lines.push(`M204 P${accel} T${accel}`);
      // Junction deviation equivalent of a square corner velocity (Klipper's kinematics docs).
      if (corner !== undefined) {
        const a = accel ?? 3000;
        lines.push(`M205 J${((corner * corner * (Math.SQRT2 - 1)) / a).toFixed(4)}`);
      }
      return lines.join('\n');
    }),
    translate(
      'SET_PRESSURE_ADVANCE',
      'Sets linear advance: ADVANCE=<k>',
      (c) => `M900 K${number(c, 'ADVANCE', { min: 0 })}`,
    ),
    translate('SET_RETRACTION', 'Sets firmware retraction lengths and speeds', (c) => {
      const lines: string[] = [];
      const length = optionalNumber(c, 'RETRACT_LENGTH');
      const speed = optionalNumber(c, 'RETRACT_SPEED');
      const extra = optionalNumber(c, 'UNRETRACT_EXTRA_LENGTH');
      const unspeed = optionalNumber(c, 'UNRETRACT_SPEED');
      if (length !== undefined || speed !== undefined) {
        lines.push(
          `M207${length !== undefined ? ` S${length}` : ''}${speed !== undefined ? ` F${speed * 60}` : ''}`,
        );
      }
      if (extra !== undefined || unspeed !== undefined) {
        lines.push(
          `M208${extra !== undefined ? ` S${extra}` : ''}${unspeed !== undefined ? ` F${unspeed * 60}` : ''}`,
        );
      }
      return lines.join('\n');
    }),
    translate('SET_GCODE_OFFSET', 'Babysteps Z: Z=<mm> or Z_ADJUST=<mm>', (c) => {
      const adjust = optionalNumber(c, 'Z_ADJUST');
      const absolute = optionalNumber(c, 'Z');
      const delta = adjust ?? (absolute !== undefined ? absolute - model.zOffset : 0);
      model.zOffset += delta;
      return delta === 0 ? '' : `M290 Z${Number(delta.toFixed(4))}`;
    }),
    translate('SAVE_CONFIG', 'Stores settings in EEPROM (M500)', () => 'M500'),
    translate('BED_MESH_CALIBRATE', 'Probes the bed (G29)', () => 'G29'),
    translate('BED_MESH_PROFILE', 'LOAD=<name> turns the stored mesh on (M420 S1)', (c) => {
      if (c.params.LOAD === undefined) throw errors.badRequest(`${c.raw}: only LOAD is supported on Marlin`);
      return 'M420 S1';
    }),
    translate('BED_MESH_CLEAR', 'Turns bed levelling off (M420 S0)', () => 'M420 S0'),
    translate('Z_TILT_ADJUST', 'Aligns Z steppers (G34)', () => 'G34'),
    translate('QUAD_GANTRY_LEVEL', 'Aligns Z steppers (G34)', () => 'G34'),
    translate('SET_PIN', 'Sets an output pin: PIN=<n> VALUE=<0..1>', (c) => {
      const pin = number(c, 'PIN', { min: 0 });
      return `M42 P${pin} S${Math.round(number(c, 'VALUE', { min: 0, max: 1 }) * 255)}`;
    }),
    translate('SET_LED', 'Sets LED colour: RED GREEN BLUE WHITE from 0 to 1', (c) => {
      const channel = (key: string) => Math.round((optionalNumber(c, key) ?? 0) * 255);
      return `M150 R${channel('RED')} U${channel('GREEN')} B${channel('BLUE')} W${channel('WHITE')}`;
    }),
    translate('SET_STEPPER_ENABLE', 'STEPPER=stepper_x ENABLE=0|1', (c) => {
      const axis = /^stepper_([xyz])$/.exec(c.params.STEPPER ?? '')?.[1];
      if (!axis) throw errors.badRequest(`${c.raw}: STEPPER must be stepper_x, stepper_y or stepper_z`);
      return `${number(c, 'ENABLE', { min: 0, max: 1 }) ? 'M17' : 'M18'} ${axis.toUpperCase()}`;
    }),
    translate('GET_POSITION', 'Reports the position (M114)', () => 'M114'),
    translate('QUERY_ENDSTOPS', 'Reports the endstops (M119)', () => 'M119'),
    {
      name: 'SAVE_GCODE_STATE',
      help: 'Remembers coordinate modes and feed rate under NAME',
      run: (c) => {
        savedStates.set(c.params.NAME ?? 'default', {
          absoluteCoordinates: model.absoluteCoordinates,
          absoluteExtrude: model.absoluteExtrude,
          feedrate: model.feedrate,
        });
      },
    },
    {
      name: 'RESTORE_GCODE_STATE',
      help: 'Restores what SAVE_GCODE_STATE remembered under NAME',
      run: async (c) => {
        const saved = savedStates.get(c.params.NAME ?? 'default');
        if (!saved) throw errors.badRequest(`${c.raw}: no state saved under that name`);
        await c.run(
          [
            saved.absoluteCoordinates ? 'G90' : 'G91',
            saved.absoluteExtrude ? 'M82' : 'M83',
            `G0 F${saved.feedrate}`,
          ].join('\n'),
        );
      },
    },
    { name: 'RESTART', help: 'Reconnects to the printer', run: () => deps.restart() },
    {
      name: 'FIRMWARE_RESTART',
      help: 'Resets the board, then reconnects',
      run: () => deps.firmwareRestart(),
    },
    {
      name: 'RESPOND',
      help: 'Echoes MSG to the console; TYPE=command or TYPE=error as Klipper does (prompt dialogs use command)',
      run: (c) => {
        const prefix = { echo: 'echo: ', command: '// ', error: '!! ' }[
          (c.params.TYPE ?? 'echo').toLowerCase()
        ];
        if (prefix === undefined) throw errors.badRequest(`${c.raw}: TYPE must be echo, command or error`);
        c.respond(`${prefix}${c.params.MSG ?? ''}`);
      },
    },
    {
      name: 'STATUS',
      help: 'Reports the printer state',
      run: (c) => c.respond(`// Printer is ${deps.state()}`),
    },
    {
      name: 'HELP',
      help: 'Lists the commands Brim handles itself',
      run: (c) => {
        for (const [name, text] of Object.entries(deps.help())) c.respond(`// ${name}: ${text}`);
      },
    },
  ];
}
