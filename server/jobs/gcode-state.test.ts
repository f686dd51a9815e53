import { describe, expect, it } from 'vitest';
import { parseLine } from '../../gcode/line.ts';
import { GcodeState, gnum, modeLines } from './gcode-state.ts';

function run(state: GcodeState, ...lines: string[]): number[] {
  return lines.map((text) => {
    const parsed = parseLine(text);
    if (!parsed.ok) throw new Error(parsed.error.message);
    return state.apply(parsed.line).eDelta;
  });
}

describe('GcodeState', () => {
  it('follows absolute and relative moves, and the extrusion deltas of M82 and M83', () => {
    const s = new GcodeState();
    expect(
      run(s, 'G90', 'M82', 'G1 X10 Y5 E2 F1200', 'G1 X12 E1.5', 'M83', 'G1 E0.5', 'G91', 'G1 X1 Y1 E0.25'),
    ).toEqual([0, 0, 2, -0.5, 0, 0.5, 0, 0.25]);
    expect(s.position).toEqual([13, 6, 0, 2.25]);
    expect(s.feedrate).toBe(1200);
  });

  it('lets G90/G91 override an earlier M83, as Marlin does (slicers send G90 before M83)', () => {
    const s = new GcodeState();
    run(s, 'M83', 'G90');
    expect(s.eRelative()).toBe(false);
    run(s, 'M83');
    expect(s.eRelative()).toBe(true);
    expect(modeLines(s.snapshot())).toEqual(['G90', 'M83']);
  });

  it('keeps G92 offsets apart from logical positions, and G28 clears them for the homed axes', () => {
    const s = new GcodeState();
    run(s, 'G1 X10 Z2', 'G92 X0 Z0.5 E0');
    expect(s.position).toEqual([0, 0, 0.5, 0]);
    expect(s.machine(0)).toBe(10);
    expect(s.machine(2)).toBe(2);
    run(s, 'G92');
    expect(s.position).toEqual([0, 0, 0.5, 0]);
    run(s, 'G28 X');
    expect(s.machine(0)).toBe(0);
    expect(s.machine(2)).toBe(2);
  });

  it('records heater targets per tool, the bed, the fan and the speed and flow factors', () => {
    const s = new GcodeState();
    run(s, 'M104 S200', 'M109 T1 S210', 'M190 S60', 'M106 S128', 'T1', 'M220 S90', 'M221 S95');
    expect(s.snapshot()).toMatchObject({
      hotendTargets: [200, 210],
      bedTarget: 60,
      fan: 128,
      tool: 1,
      speedPercent: 90,
      flowPercent: 95,
    });
    run(s, 'M107');
    expect(s.snapshot().fan).toBe(0);
  });

  it('hands out snapshots that later lines do not change', () => {
    const s = new GcodeState();
    const before = s.snapshot();
    run(s, 'G1 X5');
    expect(before.position[0]).toBe(0);
    expect(new GcodeState(before).position[0]).toBe(0);
  });

  it('writes numbers without exponents or float noise', () => {
    expect(gnum(0.1 + 0.2)).toBe('0.3');
    expect(gnum(-0)).toBe('0');
    expect(gnum(1e-7)).toBe('0');
    expect(gnum(123.456789)).toBe('123.45679');
  });
});
