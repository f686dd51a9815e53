// The printer object model filled from firmware replies and from tracking what was sent, in Klipper's
// object names and field spellings (notes/moonraker-api.md §3) so Mainsail and Fluidd read it unchanged.
import { parseLine } from '../../gcode/line.ts';
import type { PositionReport, Reply } from '../../gcode/replies.ts';
import type { TemperatureReading, TemperatureReport } from '../../gcode/temperature.ts';
import type { StatusFields } from '../core/status-store.ts';

export interface PrinterLimits {
  kinematics: string;
  maxVelocity: number;
  maxAccel: number;
  squareCornerVelocity: number;
  axisMinimum: [number, number, number];
  axisMaximum: [number, number, number];
}

export interface Heater {
  temperature: number;
  target: number;
  power: number;
}

/** Marlin prints soft-PWM heater power 0..127 (`@:`, `B@:`); Klipper reports 0..1. */
const MARLIN_POWER_FULL_SCALE = 127;

type Axes4 = [number, number, number, number];

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

export class PrinterModel {
  readonly extruders: Heater[] = [{ temperature: 0, target: 0, power: 0 }];
  readonly bed: Heater = { temperature: 0, target: 0, power: 0 };
  chamber: Heater | null = null;
  fanSpeed = 0;
  activeExtruder = 0;
  /** Commanded position in machine coordinates (after G92 offsets, before the Z babystep), X Y Z E. */
  position: Axes4 = [0, 0, 0, 0];
  /** G92 offsets: gcode position = position - offset. */
  private readonly offset: Axes4 = [0, 0, 0, 0];
  /** Where the firmware last said it is, in toolhead coordinates (what motion_report reports). */
  livePosition: Axes4 = [0, 0, 0, 0];
  /** mm/s between the last two position reports: toolhead (XYZ) and extruder. */
  private liveVelocity = 0;
  private liveExtruderVelocity = 0;
  private lastSample: { at: number; position: Axes4 } | null = null;
  homedAxes = '';
  absoluteCoordinates = true;
  absoluteExtrude = true;
  /** mm/min, as G-code states it; Klipper's gcode_move.speed is in mm/min too. */
  feedrate = 1500;
  speedFactor = 1;
  extrudeFactor = 1;
  /** Z babystep offset applied with M290 (SET_GCODE_OFFSET); Klipper shows it in homing_origin. */
  zOffset = 0;
  firmwareName = '';
  capabilities: Record<string, boolean> = {};

  constructor(private readonly limits: PrinterLimits) {}

  /** Tracks the state a sent line changes; the wire form (`N12 G1 X1*34`) is accepted as it is. */
  applySent(wire: string): void {
    const parsed = parseLine(wire.trim());
    if (!parsed.ok || !parsed.line.command) return;
    const { command, params } = parsed.line;
    const num = (key: string): number | undefined => {
      const value = params[key];
      return typeof value === 'number' ? value : undefined;
    };
    switch (command) {
      case 'G0':
      case 'G1':
      case 'G2':
      case 'G3': {
        const f = num('F');
        if (f !== undefined && f > 0) this.feedrate = f;
        ['X', 'Y', 'Z'].forEach((axis, i) => {
          const v = num(axis);
          if (v === undefined) return;
          this.position[i] = this.absoluteCoordinates ? v + this.offset[i]! : this.position[i]! + v;
        });
        const e = num('E');
        if (e !== undefined)
          this.position[3] = this.absoluteExtrude ? e + this.offset[3] : this.position[3] + e;
        break;
      }
      case 'G90':
        this.absoluteCoordinates = true;
        this.absoluteExtrude = true;
        break;
      case 'G91':
        this.absoluteCoordinates = false;
        this.absoluteExtrude = false;
        break;
      case 'M82':
        this.absoluteExtrude = true;
        break;
      case 'M83':
        this.absoluteExtrude = false;
        break;
      case 'G92':
        ['X', 'Y', 'Z', 'E'].forEach((axis, i) => {
          const v = num(axis);
          if (v !== undefined) this.offset[i] = this.position[i]! - v;
        });
        break;
      case 'G28': {
        const named = ['X', 'Y', 'Z'].filter((axis) => axis in params);
        const axes = named.length > 0 ? named : ['X', 'Y', 'Z'];
        for (const axis of axes) {
          const i = 'XYZ'.indexOf(axis);
          this.position[i] = this.limits.axisMinimum[i]!;
          this.offset[i] = 0;
        }
        this.homedAxes = [...new Set([...this.homedAxes, ...axes.map((a) => a.toLowerCase())])]
          .sort()
          .join('');
        break;
      }
      case 'M18':
      case 'M84':
        if (!('S' in params)) this.homedAxes = '';
        break;
      case 'M220': {
        const s = num('S');
        if (s !== undefined) this.speedFactor = s / 100;
        break;
      }
      case 'M221': {
        const s = num('S');
        if (s !== undefined) this.extrudeFactor = s / 100;
        break;
      }
      case 'M104':
      case 'M109': {
        const s = num('S') ?? num('R');
        const tool = num('T') ?? this.activeExtruder;
        const heater = this.extruders[tool];
        if (s !== undefined && heater) heater.target = s;
        break;
      }
      case 'M140':
      case 'M190': {
        const s = num('S') ?? num('R');
        if (s !== undefined) this.bed.target = s;
        break;
      }
      case 'M141':
      case 'M191': {
        const s = num('S') ?? num('R');
        if (s !== undefined && this.chamber) this.chamber.target = s;
        break;
      }
      case 'M106': {
        const s = num('S') ?? 255;
        if ((num('P') ?? 0) === 0) this.fanSpeed = Math.max(0, Math.min(1, s / 255));
        break;
      }
      case 'M107':
        if ((num('P') ?? 0) === 0) this.fanSpeed = 0;
        break;
      default:
        if (/^T\d+$/.test(command)) {
          const tool = Number(command.slice(1));
          if (tool < this.extruders.length) this.activeExtruder = tool;
        }
    }
  }

  /** `now` (monotonic seconds) dates position reports, for the live velocities. */
  applyReply(reply: Reply, now = 0): void {
    if (reply.kind === 'temperature') this.applyTemperatures(reply.report);
    else if (reply.kind === 'ok' && reply.temperature) this.applyTemperatures(reply.temperature);
    else if (reply.kind === 'position') this.applyPosition(reply.position, now);
    else if (reply.kind === 'ok' && reply.position) this.applyPosition(reply.position, now);
    else if (reply.kind === 'fanSpeed' && reply.fan === 0) this.fanSpeed = reply.speed / 255;
  }

  setExtruderCount(count: number): void {
    while (this.extruders.length < count) this.extruders.push({ temperature: 0, target: 0, power: 0 });
  }

  private applyTemperatures(report: TemperatureReport): void {
    const tools = report.tools.length > 0 ? report.tools : report.active ? [report.active] : [];
    tools.forEach((reading, index) => {
      if (index >= this.extruders.length) this.setExtruderCount(index + 1);
      applyReading(this.extruders[index]!, reading);
    });
    if (report.bed) applyReading(this.bed, report.bed);
    if (report.chamber) {
      this.chamber ??= { temperature: 0, target: 0, power: 0 };
      applyReading(this.chamber, report.chamber);
    }
  }

  /**
   * Marlin reports logical coordinates (G92 applied, babystep not); Klipper's live_position is in toolhead
   * coordinates, like toolhead.position, so the host's offsets are added back.
   */
  private applyPosition(position: PositionReport, now: number): void {
    const values = [position.x, position.y, position.z, position.e];
    values.forEach((v, i) => {
      if (v !== undefined) this.livePosition[i] = v + this.offset[i]! + (i === 2 ? this.zOffset : 0);
    });
    const previous = this.lastSample;
    const current: Axes4 = [...this.livePosition];
    const dt = previous ? now - previous.at : 0;
    if (previous && dt > 0) {
      const d = current.map((v, i) => v - previous.position[i]!);
      this.liveVelocity = Math.hypot(d[0]!, d[1]!, d[2]!) / dt;
      this.liveExtruderVelocity = d[3]! / dt;
    }
    // Same-instant reports (an M114 answered next to an autoreport) keep the older sample as the base.
    if (!previous || dt > 0) this.lastSample = { at: now, position: current };
  }

  /** Commanded X Y Z E in toolhead coordinates: with G92 offsets and the Z babystep, as Klipper counts them. */
  toolheadPosition(): Axes4 {
    return this.position.map((v, i) => round(v + (i === 2 ? this.zOffset : 0))) as Axes4;
  }

  // --- status objects (fresh objects every call: the store diffs them) -------------------------

  extruderStatus(index: number): StatusFields {
    const heater = this.extruders[index] ?? { temperature: 0, target: 0, power: 0 };
    return {
      temperature: round(heater.temperature, 2),
      target: heater.target,
      power: round(heater.power, 3),
      can_extrude: heater.temperature >= 170,
      pressure_advance: 0,
      smooth_time: 0.04,
      motion_queue: null,
    };
  }

  heaterStatus(heater: Heater): StatusFields {
    return {
      temperature: round(heater.temperature, 2),
      target: heater.target,
      power: round(heater.power, 3),
    };
  }

  extruderName(index: number): string {
    return index === 0 ? 'extruder' : `extruder${index}`;
  }

  heatersStatus(): StatusFields {
    const heaters = [...this.extruders.map((_, i) => this.extruderName(i)), 'heater_bed'];
    if (this.chamber) heaters.push('heater_generic chamber');
    return { available_heaters: heaters, available_sensors: [...heaters], available_monitors: [] };
  }

  fanStatus(): StatusFields {
    return { speed: round(this.fanSpeed, 3), rpm: null };
  }

  gcodePosition(): Axes4 {
    return this.position.map((v, i) => round(v - this.offset[i]!)) as Axes4;
  }

  toolheadStatus(): StatusFields {
    return {
      homed_axes: this.homedAxes,
      axis_minimum: [...this.limits.axisMinimum, 0],
      axis_maximum: [...this.limits.axisMaximum, 0],
      print_time: 0,
      stalls: 0,
      estimated_print_time: 0,
      extruder: this.extruderName(this.activeExtruder),
      position: this.toolheadPosition(),
      max_velocity: this.limits.maxVelocity,
      max_accel: this.limits.maxAccel,
      minimum_cruise_ratio: 0.5,
      square_corner_velocity: this.limits.squareCornerVelocity,
    };
  }

  gcodeMoveStatus(): StatusFields {
    return {
      speed_factor: this.speedFactor,
      speed: this.feedrate,
      extrude_factor: this.extrudeFactor,
      absolute_coordinates: this.absoluteCoordinates,
      absolute_extrude: this.absoluteExtrude,
      homing_origin: [0, 0, round(this.zOffset), 0],
      position: this.toolheadPosition(),
      gcode_position: this.gcodePosition(),
    };
  }

  motionReportStatus(): StatusFields {
    return {
      live_position: this.livePosition.map((v) => round(v)),
      live_velocity: round(this.liveVelocity, 2),
      live_extruder_velocity: round(this.liveExtruderVelocity, 3),
      steppers: ['stepper_x', 'stepper_y', 'stepper_z', 'extruder'],
      trapq: ['toolhead', 'extruder'],
    };
  }
}

function applyReading(heater: Heater, reading: TemperatureReading): void {
  heater.temperature = reading.actual;
  if (reading.target !== undefined) heater.target = reading.target;
  if (reading.power !== undefined)
    heater.power = Math.min(1, Math.max(0, reading.power / MARLIN_POWER_FULL_SCALE));
}
