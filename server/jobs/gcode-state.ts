// Tracks the machine state a G-code stream sets up (positions, modes, feed rate, temperatures, fan), so a
// job can be paused, checkpointed and resumed at a line boundary with the state the file expects there.
import type { GcodeLine } from '../../gcode/line.ts';

/** Everything a resume needs to rebuild at a byte offset of the file; plain JSON, stored in checkpoints. */
export interface GcodeStateSnapshot {
  /** Logical (G-code) position X Y Z E, as the file commands it. */
  position: [number, number, number, number];
  /** G92 offsets of X Y Z: machine = logical + offset. */
  offset: [number, number, number];
  /** G91 in effect for X Y Z. */
  relative: boolean;
  /** G90/G91 also set E; M82/M83 override until the next G90/G91 (Marlin's rule). */
  eMode: 'abs' | 'rel' | null;
  /** mm/min, the modal F. */
  feedrate: number;
  /** Targets per hotend, in °C. */
  hotendTargets: number[];
  bedTarget: number;
  /** Part cooling fan 0..255 (M106 S). */
  fan: number;
  tool: number;
  /** M220 and M221 percentages. */
  speedPercent: number;
  flowPercent: number;
}

/** Marlin's power-on feed rate before any F word. */
const DEFAULT_FEEDRATE = 1500;

export function initialSnapshot(): GcodeStateSnapshot {
  return {
    position: [0, 0, 0, 0],
    offset: [0, 0, 0],
    relative: false,
    eMode: null,
    feedrate: DEFAULT_FEEDRATE,
    hotendTargets: [0],
    bedTarget: 0,
    fan: 0,
    tool: 0,
    speedPercent: 100,
    flowPercent: 100,
  };
}

/** What one line did, for filament accounting and for deciding where a line boundary is a move boundary. */
export interface Applied {
  /** E distance this line extruded (negative for a retraction), in file millimetres. */
  eDelta: number;
  /** A G0-G3 move (or G10/G11 retraction). */
  motion: boolean;
}

const NONE: Applied = { eDelta: 0, motion: false };

export class GcodeState {
  private s: GcodeStateSnapshot;

  constructor(from: GcodeStateSnapshot = initialSnapshot()) {
    this.s = structuredClone(from);
  }

  snapshot(): GcodeStateSnapshot {
    return structuredClone(this.s);
  }

  get position(): readonly [number, number, number, number] {
    return this.s.position;
  }

  get feedrate(): number {
    return this.s.feedrate;
  }

  get relative(): boolean {
    return this.s.relative;
  }

  eRelative(): boolean {
    return this.s.eMode ? this.s.eMode === 'rel' : this.s.relative;
  }

  /** Machine (homed) coordinate of X, Y or Z: what the position is once G92 offsets are undone. */
  machine(axis: 0 | 1 | 2): number {
    return this.s.position[axis] + this.s.offset[axis];
  }

  apply(line: GcodeLine): Applied {
    const command = line.command;
    if (!command || line.extended) return NONE;
    const num = (key: string): number | undefined => {
      const value = line.params[key];
      return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
    };
    const s = this.s;
    switch (command) {
      case 'G0':
      case 'G1':
      case 'G2':
      case 'G3': {
        const f = num('F');
        if (f !== undefined && f > 0) s.feedrate = f;
        for (const [i, axis] of ['X', 'Y', 'Z'].entries()) {
          const v = num(axis);
          if (v !== undefined) s.position[i] = s.relative ? s.position[i]! + v : v;
        }
        const e = num('E');
        let eDelta = 0;
        if (e !== undefined) {
          eDelta = this.eRelative() ? e : e - s.position[3];
          s.position[3] = this.eRelative() ? s.position[3] + e : e;
        }
        return { eDelta, motion: true };
      }
      case 'G10':
      case 'G11':
        return { eDelta: 0, motion: true };
      case 'G28': {
        const named = ['X', 'Y', 'Z'].filter((axis) => axis in line.params);
        for (const axis of named.length > 0 ? named : ['X', 'Y', 'Z']) {
          const i = 'XYZ'.indexOf(axis);
          s.position[i] = 0;
          s.offset[i] = 0;
        }
        return NONE;
      }
      case 'G90':
        s.relative = false;
        s.eMode = null;
        return NONE;
      case 'G91':
        s.relative = true;
        s.eMode = null;
        return NONE;
      case 'M82':
        s.eMode = 'abs';
        return NONE;
      case 'M83':
        s.eMode = 'rel';
        return NONE;
      case 'G92': {
        // Marlin's G92 without words changes nothing (Klipper's zeroes every axis).
        for (const [i, axis] of ['X', 'Y', 'Z'].entries()) {
          const v = num(axis);
          if (v === undefined) continue;
          s.offset[i] = s.position[i]! + s.offset[i]! - v;
          s.position[i] = v;
        }
        const e = num('E');
        if (e !== undefined) s.position[3] = e;
        return NONE;
      }
      case 'M104':
      case 'M109': {
        const t = num('S') ?? num('R');
        const tool = num('T') ?? s.tool;
        if (t !== undefined && Number.isInteger(tool) && tool >= 0 && tool < 16) {
          while (s.hotendTargets.length <= tool) s.hotendTargets.push(0);
          s.hotendTargets[tool] = t;
        }
        return NONE;
      }
      case 'M140':
      case 'M190': {
        const t = num('S') ?? num('R');
        if (t !== undefined) s.bedTarget = t;
        return NONE;
      }
      case 'M106':
        if ((num('P') ?? 0) === 0) s.fan = Math.max(0, Math.min(255, num('S') ?? 255));
        return NONE;
      case 'M107':
        if ((num('P') ?? 0) === 0) s.fan = 0;
        return NONE;
      case 'M220': {
        const v = num('S');
        if (v !== undefined) s.speedPercent = v;
        return NONE;
      }
      case 'M221': {
        const v = num('S');
        if (v !== undefined) s.flowPercent = v;
        return NONE;
      }
      default:
        if (/^T\d+$/.test(command)) s.tool = Number(command.slice(1));
        return NONE;
    }
  }
}

/** Numbers as G-code wants them: no exponent, no trailing zeros, at most five decimals. */
export function gnum(value: number): string {
  const rounded = Math.round(value * 1e5) / 1e5;
  return Object.is(rounded, -0) ? '0' : String(rounded);
}

/** The modal commands that put a firmware into the snapshot's coordinate and extrusion modes. */
export function modeLines(s: GcodeStateSnapshot): string[] {
  const lines = [s.relative ? 'G91' : 'G90'];
  if (s.eMode === 'rel') lines.push('M83');
  else if (s.eMode === 'abs') lines.push('M82');
  return lines;
}
