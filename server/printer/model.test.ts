import { describe, expect, it } from 'vitest';
import { parseReply } from '../../gcode/replies.ts';
import { PrinterModel } from './model.ts';

function model() {
  return new PrinterModel({
    kinematics: 'cartesian',
    maxVelocity: 300,
    maxAccel: 3000,
    squareCornerVelocity: 5,
    axisMinimum: [0, 0, 0],
    axisMaximum: [220, 220, 250],
  });
}

describe('printer model from sent lines', () => {
  it('follows absolute and relative moves, G92 offsets and homing in the wire form', () => {
    const m = model();
    for (const line of [
      'N1 G28*18',
      'N2 G1 X10 Y20 Z0.3 F3000*0',
      'G91',
      'G1 X5 E2',
      'G90',
      'G92 E0',
      'M83',
      'G1 E1.5',
    ]) {
      m.applySent(line);
    }
    expect(m.toolheadStatus()).toMatchObject({ homed_axes: 'xyz', position: [15, 20, 0.3, 3.5] });
    expect(m.gcodeMoveStatus()).toMatchObject({
      absolute_coordinates: true,
      absolute_extrude: false,
      speed: 3000,
      gcode_position: [15, 20, 0.3, 1.5],
    });
  });

  it('tracks speed and flow factors, fan and targets, and forgets homing on M84', () => {
    const m = model();
    for (const line of ['G28 X', 'M220 S120', 'M221 S95', 'M106 S128', 'M104 S210', 'M140 S60', 'M84'])
      m.applySent(line);
    expect(m.gcodeMoveStatus()).toMatchObject({ speed_factor: 1.2, extrude_factor: 0.95 });
    expect(m.fanStatus()).toEqual({ speed: 0.502, rpm: null });
    expect(m.extruderStatus(0)).toMatchObject({ target: 210 });
    expect(m.heaterStatus(m.bed)).toMatchObject({ target: 60 });
    expect(m.toolheadStatus()).toMatchObject({ homed_axes: '' });
  });
});

describe('printer model from replies', () => {
  it('reads a two-tool Marlin report with powers scaled to 0..1', () => {
    const m = model();
    m.applyReply(
      parseReply(
        'ok T:200.00 /200.00 B:60.00 /60.00 T0:200.00 /200.00 T1:25.00 /0.00 @:127 B@:0 @0:127 @1:0',
      ),
    );
    expect(m.extruders).toHaveLength(2);
    expect(m.extruderStatus(0)).toMatchObject({ temperature: 200, target: 200, power: 1, can_extrude: true });
    expect(m.extruderStatus(1)).toMatchObject({ temperature: 25, target: 0, power: 0, can_extrude: false });
    expect(m.heaterStatus(m.bed)).toEqual({ temperature: 60, target: 60, power: 0 });
  });

  it('reads a Prusa Buddy report and a chamber', () => {
    const m = model();
    m.applyReply(parseReply('T:21.3/0.0 B:22.1/55.0 C:30.5/40.0 A:35.2 X:24.0'));
    expect(m.extruderStatus(0)).toMatchObject({ temperature: 21.3, target: 0 });
    expect(m.heaterStatus(m.bed)).toMatchObject({ temperature: 22.1, target: 55 });
    expect(m.chamber).toMatchObject({ temperature: 30.5, target: 40 });
    expect(m.heatersStatus().available_heaters).toContain('heater_generic chamber');
  });

  it('reports every position in its Klipper frame, with G92 offsets and the Z babystep', () => {
    const m = model();
    for (const line of ['G28', 'G1 X10 Y20 Z1', 'G92 X0 Y0']) m.applySent(line);
    m.zOffset = 0.05;
    // Marlin reports logical coordinates: after the G92, without the babystep.
    m.applyReply(parseReply('X:0.00 Y:0.00 Z:1.00 E:0.00 Count X:800 Y:1600 Z:400'), 10);
    expect(m.toolheadStatus().position).toEqual([10, 20, 1.05, 0]);
    expect(m.gcodeMoveStatus()).toMatchObject({ gcode_position: [0, 0, 1, 0], position: [10, 20, 1.05, 0] });
    expect(m.motionReportStatus()).toMatchObject({ live_position: [10, 20, 1.05, 0], live_velocity: 0 });
    m.applyReply(parseReply('X:3.00 Y:4.00 Z:1.00 E:2.00 Count X:1040 Y:1920 Z:400'), 11);
    expect(m.motionReportStatus()).toMatchObject({ live_velocity: 5, live_extruder_velocity: 2 });
  });

  it('takes the live position from M114', () => {
    const m = model();
    m.applyReply(parseReply('X:10.00 Y:20.00 Z:0.30 E:1.00 Count X:800 Y:1600 Z:120'));
    expect(m.motionReportStatus()).toMatchObject({ live_position: [10, 20, 0.3, 1] });
  });
});
