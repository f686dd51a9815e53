// The `printer` component: Klipper-style printer objects built from the Marlin link, firmware awareness
// (M115 capabilities, temperature autoreport or polling), the console and the printer.* endpoints.
import { freemem, hostname, loadavg } from 'node:os';
import { type Static, Type } from '@sinclair/typebox';
import { parseLine, stripForWire } from '../../gcode/line.ts';
import type { Reply } from '../../gcode/replies.ts';
import type { TimerHandle } from '../core/clock.ts';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { errors } from '../core/errors.ts';
import { commandWord, isEmergency } from '../serial/commands.ts';
import type { LinkState } from '../serial/link.ts';
import { HostCommands } from './commands.ts';
import { klipperCommands } from './klipper-commands.ts';
import { registerPrinterMetrics } from './metrics.ts';
import { PrinterModel } from './model.ts';
import { PromptTranslator } from './prompts.ts';

const axisTriple = (def: [number, number, number], what: string) =>
  Type.Tuple([Type.Number(), Type.Number(), Type.Number()], { default: def, description: what });

export const printerConfig = Type.Object({
  kinematics: Type.Union([Type.Literal('cartesian'), Type.Literal('corexy'), Type.Literal('delta')], {
    default: 'cartesian',
    description: "The printer's kinematics; Mainsail's G-code viewer and Mobileraker read it.",
  }),
  max_velocity: Type.Number({ default: 300, minimum: 1, description: 'Maximum toolhead speed in mm/s.' }),
  max_accel: Type.Number({ default: 3000, minimum: 1, description: 'Maximum acceleration in mm/s².' }),
  square_corner_velocity: Type.Number({ default: 5, minimum: 0, description: 'Junction speed in mm/s.' }),
  axis_minimum: axisTriple([0, 0, 0], 'Lowest X, Y, Z position in mm (bed origin).'),
  axis_maximum: axisTriple([220, 220, 250], 'Highest X, Y, Z position in mm (bed size and height).'),
});

export type PrinterConfig = Static<typeof printerConfig>;

export type ConfigValue = string | number | boolean | number[] | string[];

/** Klipper's `config` holds the raw strings as written in printer.cfg, `settings` the parsed values. */
function configText(value: ConfigValue): string {
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return String(value);
}

/** Klipper's webhooks states, as Mainsail's red panel and KlipperScreen read them. */
export type WebhooksState = 'startup' | 'ready' | 'error' | 'shutdown';

export interface Printer extends ComponentInstance {
  readonly model: PrinterModel;
  /** Commands Brim handles itself (PAUSE, SET_PRINT_STATS_INFO...); they never reach the firmware. */
  readonly commands: HostCommands;
  webhooksState(): WebhooksState;
  /**
   * Adds a section to the `configfile` object (e.g. `virtual_sdcard`, `gcode_macro PAUSE`): Mainsail,
   * Fluidd and Mobileraker read the printer's setup from there, as from a Klipper printer.cfg.
   */
  addConfigSection(name: string, settings: Record<string, ConfigValue>): void;
  /** Runs G-code lines from the console or the API; resolves after the last line's ok. */
  runScript(script: string, source: 'console' | 'macro' | 'api'): Promise<void>;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    printer: Printer;
  }
}

declare module '../core/events.ts' {
  interface EventMap {
    'printer:action_received': { name: string; args: string };
    'printer:firmware_identified': { name: string; capabilities: Record<string, boolean> };
  }
}

/** Marlin's heated chamber (`C:` in reports, M141), under the name Klipper configs use for one. */
const CHAMBER_OBJECT = 'heater_generic chamber';

/** Mainsail compares this with v0.11.0-257; an `app` other than Klipper's falls back to Klipper features. */
const SOFTWARE_VERSION = 'v0.12.0-0-gbrim';

/**
 * What the consoles show for a firmware line, in Klipper's conventions (`// ` info, `!! ` error, which
 * Mainsail turns into a toast); protocol chatter (bare ok, busy, resend requests) is not shown.
 */
export function consoleText(reply: Reply): string | null {
  switch (reply.kind) {
    case 'ok':
      return reply.temperature || reply.position || reply.message ? reply.raw : null;
    case 'busy':
    case 'empty':
    case 'resend':
      return null;
    case 'echo':
      return reply.source === 'echo' ? `// ${reply.text}` : reply.raw;
    case 'error':
      return `!! ${reply.message}`;
    default:
      return reply.raw;
  }
}

function webhooksFor(state: LinkState): WebhooksState {
  if (state === 'ready') return 'ready';
  if (state === 'shutdown') return 'shutdown';
  if (state === 'error') return 'error';
  return 'startup';
}

export const printerComponent = defineComponent({
  name: 'printer',
  needs: ['serial', 'server', 'data_store'],
  config: printerConfig,
  create(host): Printer {
    const serial = host.lookup('serial');
    const dataStore = host.lookup('data_store');
    const config = host.config;
    const model = new PrinterModel({
      kinematics: config.kinematics,
      maxVelocity: config.max_velocity,
      maxAccel: config.max_accel,
      squareCornerVelocity: config.square_corner_velocity,
      axisMinimum: config.axis_minimum as [number, number, number],
      axisMaximum: config.axis_maximum as [number, number, number],
    });
    let state: WebhooksState = 'startup';
    let stateMessage = 'Connecting to the printer';
    let temperaturePoll: TimerHandle | null = null;
    let sampler: TimerHandle | null = null;
    let firmwareLines: Reply[] | null = null;
    const prompts = new PromptTranslator();
    let machineType = '';
    let lastEndstops: Record<string, number> = {};

    const setState = (next: WebhooksState, message: string) => {
      const previous = state;
      state = next;
      stateMessage = message;
      if (previous === next) return;
      if (next === 'ready') host.api.notify('notify_klippy_ready');
      else if (next === 'shutdown') host.api.notify('notify_klippy_shutdown');
      else if (previous === 'ready') host.api.notify('notify_klippy_disconnected');
    };

    const registerExtruders = () => {
      model.extruders.forEach((_, index) => {
        const name = model.extruderName(index);
        if (!host.status.has(name)) host.status.register(name, { status: () => model.extruderStatus(index) });
      });
    };

    /** Asks the firmware who it is and turns on what it offers (notes §7). */
    const identifyFirmware = async () => {
      firmwareLines = [];
      try {
        await serial.link.send('M115', { source: 'host', priority: 'high' });
      } finally {
        const lines = firmwareLines;
        firmwareLines = null;
        const capabilities: Record<string, boolean> = {};
        for (const reply of lines) {
          if (reply.kind === 'capability') capabilities[reply.name] = reply.enabled;
          if (reply.kind === 'firmware') {
            model.firmwareName = reply.firmwareName;
            machineType = reply.fields.MACHINE_TYPE ?? '';
            const extruders = Number(reply.fields.EXTRUDER_COUNT ?? 1);
            if (Number.isInteger(extruders) && extruders > 1) model.setExtruderCount(extruders);
          }
        }
        model.capabilities = capabilities;
        registerExtruders();
      }
      temperaturePoll?.cancel();
      temperaturePoll = null;
      if (model.capabilities.AUTOREPORT_TEMP) {
        await serial.link.send('M155 S1', { source: 'host', priority: 'high' });
      } else {
        host.warn('The firmware has no AUTOREPORT_TEMP; Brim polls temperatures with M105 once a second');
        temperaturePoll = host.clock.setInterval(() => serial.link.pollTemperature(), 1000);
      }
      // One report now, so temperatures are real the moment the printer shows ready.
      await serial.link.send('M105', { source: 'host', priority: 'high' });
      if (model.capabilities.AUTOREPORT_POS)
        await serial.link.send('M154 S1', { source: 'host', priority: 'high' });
      if (!model.capabilities.EMERGENCY_PARSER) {
        host.warn(
          'The firmware has no EMERGENCY_PARSER; an emergency stop waits for a free slot in its queue',
        );
      }
      host.bus.emit('printer:firmware_identified', {
        name: model.firmwareName,
        capabilities: model.capabilities,
      });
    };

    serial.listen({
      reply: (reply, answering) => {
        model.applyReply(reply, host.clock.now());
        const chamber = model.chamber;
        if (chamber && !host.status.has(CHAMBER_OBJECT)) {
          host.status.register(CHAMBER_OBJECT, { status: () => model.heaterStatus(chamber) });
        }
        firmwareLines?.push(reply);
        if (reply.kind === 'action')
          host.bus.emit('printer:action_received', { name: reply.name, args: reply.args });
        // Autoreports (M155, M154, heat-up waits) arrive every second; Moonraker never shows them, and
        // they would bury the console. A report that answers a console M105 or M114 is shown.
        const autoreport =
          (reply.kind === 'temperature' || reply.kind === 'position') && answering !== 'console';
        // Replies to Brim's own housekeeping (M115 at connect, M155, polls) are not conversation either.
        const housekeeping = answering === 'host' && reply.kind !== 'error' && reply.kind !== 'action';
        const text =
          autoreport || housekeeping
            ? null
            : ((reply.kind === 'action' ? prompts.translate(reply) : null) ?? consoleText(reply));
        if (text !== null) {
          dataStore.recordGcode(text, 'response');
          host.api.notify('notify_gcode_response', [text]);
        }
      },
      sent: (wire) => model.applySent(wire),
      state: (linkState, message) => {
        if (linkState !== 'ready') {
          temperaturePoll?.cancel();
          temperaturePoll = null;
          setState(webhooksFor(linkState), message);
          return;
        }
        stateMessage = 'Identifying the firmware';
        identifyFirmware().then(
          () => setState('ready', 'Printer is ready'),
          (error: Error) => {
            host.log.warn({ err: error }, 'firmware identification failed');
            if (serial.link.state === 'ready') setState('ready', 'Printer is ready');
          },
        );
      },
    });

    const configSections = new Map<string, Record<string, ConfigValue>>([
      [
        'printer',
        {
          kinematics: config.kinematics,
          max_velocity: config.max_velocity,
          max_accel: config.max_accel,
          square_corner_velocity: config.square_corner_velocity,
        },
      ],
      ...(['x', 'y', 'z'] as const).map((axis, i): [string, Record<string, ConfigValue>] => [
        `stepper_${axis}`,
        {
          position_min: config.axis_minimum[i]!,
          position_max: config.axis_maximum[i]!,
          position_endstop: config.axis_minimum[i]!,
        },
      ]),
      ['extruder', { min_extrude_temp: 170, max_temp: 275, min_temp: 0 }],
      ['heater_bed', { max_temp: 130, min_temp: 0 }],
    ]);
    host.status.register('configfile', {
      status: () => {
        const raw: Record<string, Record<string, string>> = {};
        const settings: Record<string, Record<string, ConfigValue>> = {};
        for (const [name, values] of configSections) {
          raw[name] = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, configText(v)]));
          settings[name.toLowerCase()] = { ...values };
        }
        return {
          config: raw,
          settings,
          warnings: [],
          save_config_pending: false,
          save_config_pending_items: {},
        };
      },
    });
    host.status.register('system_stats', {
      status: () => {
        const [load] = loadavg();
        return {
          sysload: Math.round((load ?? 0) * 100) / 100,
          cputime: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
          memavail: Math.round(freemem() / 1024),
        };
      },
    });
    host.status.register('webhooks', { status: () => ({ state, state_message: stateMessage }) });
    registerPrinterMetrics(
      host.metrics,
      model,
      () => serial.link.getStats(),
      () => host.status.get('print_stats'),
      () => {
        const progress = host.status.get('virtual_sdcard')?.progress;
        return typeof progress === 'number' ? progress : undefined;
      },
    );
    registerExtruders();
    host.status.register('heater_bed', { status: () => model.heaterStatus(model.bed) });
    host.status.register('heaters', { status: () => model.heatersStatus() });
    host.status.register('fan', { status: () => model.fanStatus() });
    host.status.register('toolhead', { status: () => model.toolheadStatus() });
    host.status.register('gcode_move', { status: () => model.gcodeMoveStatus() });
    host.status.register('motion_report', { status: () => model.motionReportStatus() });

    const commands = new HostCommands();
    for (const command of klipperCommands({
      model,
      restart: () => serial.restart(),
      firmwareRestart: () => serial.firmwareRestart(),
      help: () => commands.help(),
      state: () => state,
    })) {
      commands.register(command);
    }
    host.status.register('gcode', {
      status: () => ({
        commands: Object.fromEntries(Object.entries(commands.help()).map(([name, help]) => [name, { help }])),
      }),
    });
    const respond = (message: string) => {
      dataStore.recordGcode(message, 'response');
      host.api.notify('notify_gcode_response', [message]);
    };

    /** Firmware lines go out together (the window overlaps them); a host command waits for what came before it. */
    const runScript = async (script: string, source: 'console' | 'macro' | 'api') => {
      const lines = script
        .split(/\r?\n/)
        .map((line) => stripForWire(line))
        .filter((line) => line !== '');
      let sends: Promise<unknown>[] = [];
      const settle = async () => {
        const results = await Promise.allSettled(sends);
        sends = [];
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw errors.badRequest((failed.reason as Error).message);
      };
      for (const line of lines) {
        dataStore.recordGcode(line, 'command');
        const word = commandWord(line);
        const hostCommand = commands.get(word);
        if (hostCommand) {
          await settle();
          const parsed = parseLine(line);
          const params: Record<string, string> = {};
          if (parsed.ok)
            for (const [key, value] of Object.entries(parsed.line.params)) params[key] = String(value);
          await hostCommand.run({
            raw: line,
            params,
            source,
            respond,
            run: (inner) => runScript(inner, source),
          });
        } else if (!/^[GMT]\d/.test(word)) {
          await settle();
          // Klipper's wording, which Mainsail shows as an error toast.
          respond(`!! Unknown command: "${word}"`);
          throw errors.badRequest(`Unknown command: "${word}"`);
        } else if (isEmergency(word)) {
          sends.push(serial.link.emergency(line));
        } else {
          sends.push(serial.link.send(line, { source, priority: 'high' }));
        }
      }
      await settle();
    };

    host.api.register({
      path: '/printer/info',
      verbs: ['GET'],
      role: 'viewer',
      description: 'Printer state and host facts, as Klipper reports them through Moonraker',
      handler: () => ({
        state,
        state_message: stateMessage,
        hostname: hostname(),
        software_version: SOFTWARE_VERSION,
        cpu_info: `${process.arch} Node.js ${process.version}`,
        klipper_path: '',
        python_path: '',
        process_id: process.pid,
        user_id: process.getuid?.() ?? 0,
        group_id: process.getgid?.() ?? 0,
        log_file: `${host.paths.logs}/brim.log`,
        config_file: host.runtime.configFile() ?? '',
        app: 'Brim',
        firmware: model.firmwareName,
      }),
    });
    host.api.register({
      path: '/printer/gcode/script',
      verbs: ['POST'],
      role: 'operator',
      params: Type.Object({ script: Type.String() }),
      description: 'Runs G-code; answers "ok" once the last line has finished (waits across M109)',
      handler: async ({ script }) => {
        await runScript(script, 'console');
        return 'ok';
      },
    });
    host.api.register({
      path: '/printer/query_endstops/status',
      verbs: ['GET'],
      role: 'viewer',
      description: 'Endstop states from M119, as "open" or "TRIGGERED"',
      handler: async () => {
        const { responses } = await serial.link.send('M119', { source: 'api', priority: 'high' });
        const states: Record<string, string> = {};
        for (const line of responses) {
          for (const match of line.matchAll(/([a-z][a-z0-9_]*):\s*(open|TRIGGERED)/g)) {
            states[match[1]!.replace(/_(min|max)$/, '')] = match[2]!;
          }
        }
        lastEndstops = Object.fromEntries(
          Object.entries(states).map(([k, v]) => [k, v === 'TRIGGERED' ? 1 : 0]),
        );
        return states;
      },
    });
    host.status.register('query_endstops', { status: () => ({ last_query: { ...lastEndstops } }) });
    host.status.register('mcu', {
      status: () => ({
        mcu_version: model.firmwareName,
        mcu_build_versions: '',
        mcu_constants: { MCU: machineType || 'marlin' },
        last_stats: {},
        app: 'Marlin',
      }),
    });
    host.api.register({
      path: '/printer/gcode/help',
      verbs: ['GET'],
      role: 'viewer',
      description: 'Commands Brim handles itself, with help text',
      handler: () => commands.help(),
    });
    host.api.register({
      path: '/printer/emergency_stop',
      verbs: ['POST'],
      role: 'operator',
      description: 'Sends M112 ahead of everything queued',
      handler: async () => {
        await serial.emergencyStop();
        return 'ok';
      },
    });
    host.api.register({
      path: '/printer/restart',
      verbs: ['POST'],
      role: 'operator',
      description: 'Reconnects to the printer and redoes the handshake',
      handler: async () => {
        await serial.restart();
        return 'ok';
      },
    });
    host.api.register({
      path: '/printer/firmware_restart',
      verbs: ['POST'],
      role: 'operator',
      description: 'Resets the board with a DTR pulse, then reconnects',
      handler: async () => {
        await serial.firmwareRestart();
        return 'ok';
      },
    });

    return {
      model,
      commands,
      addConfigSection: (name, settings) => {
        configSections.set(name, settings);
      },
      webhooksState: () => state,
      runScript,
      start() {
        // The store reads heaters once a second, as Moonraker's temperature_store does.
        const sample = () => {
          model.extruders.forEach((heater, i) => {
            dataStore.temperatures.record(
              model.extruderName(i),
              heater.temperature,
              heater.target,
              heater.power,
            );
          });
          dataStore.temperatures.record(
            'heater_bed',
            model.bed.temperature,
            model.bed.target,
            model.bed.power,
          );
        };
        // Moonraker seeds every sensor with one sample at once (data_store.py _init_sensors), so a
        // client that connects in the first second still learns which sensors have a history.
        sample();
        sampler = host.clock.setInterval(sample, 1000);
      },
      stop() {
        sampler?.cancel();
        temperaturePoll?.cancel();
      },
    };
  },
});
