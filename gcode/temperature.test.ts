import { describe, expect, it } from 'vitest';
import { looksLikeTemperature, parseTemperatures, type TemperatureReport } from './temperature.ts';

function parse(text: string): TemperatureReport {
  const report = parseTemperatures(text);
  if (!report) throw new Error(`no temperatures in ${JSON.stringify(text)}`);
  return report;
}

describe('parseTemperatures', () => {
  it('parses a Marlin single-hotend M105 reply with powers', () => {
    const report = parse('ok T:21.30 /0.00 B:21.05 /0.00 @:0 B@:0');
    expect(report.tools).toEqual([{ actual: 21.3, target: 0, power: 0 }]);
    expect(report.active).toBe(report.tools[0]);
    expect(report.bed).toEqual({ actual: 21.05, target: 0, power: 0 });
    expect(report.chamber).toBeUndefined();
  });

  it('parses a Marlin two-hotend report with per-tool powers', () => {
    const report = parse(
      'ok T:200.00 /200.00 B:60.00 /60.00 T0:200.00 /200.00 T1:25.00 /0.00 @:127 B@:0 @0:127 @1:0',
    );
    expect(report.tools).toEqual([
      { actual: 200, target: 200, power: 127 },
      { actual: 25, target: 0, power: 0 },
    ]);
    expect(report.active).toEqual({ actual: 200, target: 200, power: 127 });
    expect(report.bed).toEqual({ actual: 60, target: 60, power: 0 });
  });

  it('parses chamber, probe, cooler and redundant sensors', () => {
    const report = parse(
      'T:25.00 /0.00 B:24.00 /0.00 C:30.50 /40.00 P:23.10 L:18.00 /15.00 R:25.20 @:0 B@:0 C@:64',
    );
    expect(report.chamber).toEqual({ actual: 30.5, target: 40, power: 64 });
    expect(report.probe).toEqual({ actual: 23.1 });
    expect(report.cooler).toEqual({ actual: 18, target: 15 });
    expect(report.redundant).toEqual({ actual: 25.2 });
  });

  it('parses a Prusa temperature report with the PINDA probe and ambient sensor', () => {
    const report = parse('ok T:21.8 /0.0 B:22.1 /0.0 T0:21.8 /0.0 @:0 B@:0 P:0.0 A:25.3');
    expect(report.tools).toEqual([{ actual: 21.8, target: 0, power: 0 }]);
    expect(report.active).toEqual({ actual: 21.8, target: 0, power: 0 });
    expect(report.bed).toEqual({ actual: 22.1, target: 0, power: 0 });
    expect(report.probe).toEqual({ actual: 0 });
    expect(report.board).toEqual({ actual: 25.3 });
  });

  it('parses a Prusa temperature report with two tools', () => {
    const report = parse('ok T:215.0 /215.0 B:60.1 /60.0 T0:215.0 /215.0 T1:24.9 /0.0 @:90 B@:40 @0:90 @1:0');
    expect(report.tools.map((t) => t.actual)).toEqual([215, 24.9]);
    expect(report.tools[1]).toEqual({ actual: 24.9, target: 0, power: 0 });
  });

  it('parses Prusa wattage powers', () => {
    const report = parse('ok T:210.0 /210.0 B:60.0 /60.0 T0:210.0 /210.0 @:23W B@:40W P:35.1 A:30.2');
    expect(report.active?.power).toBe(23);
    expect(report.bed?.power).toBe(40);
  });

  it('parses the Prusa Buddy format without a blank before the slash, with board and heatbreak', () => {
    const report = parse('T:21.3/0.0 B:21.9/0.0 X:22.4/0.0 A:31.3/0.0 @:0 B@:0');
    expect(report.tools).toEqual([{ actual: 21.3, target: 0, power: 0 }]);
    expect(report.bed).toEqual({ actual: 21.9, target: 0, power: 0 });
    expect(report.heatbreak).toEqual({ actual: 22.4, target: 0 });
    expect(report.board).toEqual({ actual: 31.3, target: 0 });
  });

  it("tolerates OctoPrint's virtual printer spacing", () => {
    expect(parse('T:21.30/ 0.00 B:21.05/ 0.00').bed).toEqual({ actual: 21.05, target: 0 });
  });

  it('parses a RepRapFirmware report with several beds and chambers', () => {
    const report = parse('ok T:25.0 /0.0 T0:25.0 /0.0 T1:26.0 /0.0 B:24.5 /60.0 B1:24.0 /0.0 C:23.0 /0.0');
    expect(report.tools).toEqual([
      { actual: 25, target: 0 },
      { actual: 26, target: 0 },
    ]);
    expect(report.bed).toEqual({ actual: 24.5, target: 60 });
    expect(report.chamber).toEqual({ actual: 23, target: 0 });
    expect(report.extra).toEqual({ B1: { actual: 24, target: 0 } });
  });

  it('parses a Klipper report without a T: reading', () => {
    const report = parse('ok B:60.0 /60.0 T0:200.5 /200.0');
    expect(report.active).toBeUndefined();
    expect(report.tools).toEqual([{ actual: 200.5, target: 200 }]);
    expect(report.tools[0]?.power).toBeUndefined();
    expect(report.bed).toEqual({ actual: 60, target: 60 });
  });

  it('parses the M109 wait line with its residency countdown', () => {
    const report = parse(' T:25.00 /60.00 B:24.10 /0.00 @:127 B@:0 W:?');
    expect(report.active).toEqual({ actual: 25, target: 60, power: 127 });
    expect(report.waitRemainingS).toBeNull();
    expect(parse('T:200.1 E:0 W:8')).toMatchObject({ activeExtruder: 0, waitRemainingS: 8 });
  });

  it('reads the raw ADC values printed by SHOW_TEMP_ADC_VALUES', () => {
    expect(parse('T:25.00 /0.00 (4012.50) B:24.00 /0.00 (3900.00)').bed).toEqual({
      actual: 24,
      target: 0,
      raw: 3900,
    });
  });

  it('applies Repetier targets printed apart from the readings', () => {
    const report = parse('T:190.2 B:59.8 TargetExtr0:200 TargetBed:60');
    expect(report.tools[0]).toEqual({ actual: 190.2, target: 200 });
    expect(report.bed).toEqual({ actual: 59.8, target: 60 });
  });

  it('keeps unknown named sensors', () => {
    expect(parse('ok T0:20.0 /0.0 B:20.0 /0.0 MCU:40.2 /0.0').extra).toEqual({
      MCU: { actual: 40.2, target: 0 },
    });
  });

  it('returns undefined when there is no hotend, bed or chamber reading', () => {
    expect(parseTemperatures('ok')).toBeUndefined();
    expect(parseTemperatures('E0:0 RPM PRN1:0 RPM E0@:0 PRN1@:0')).toBeUndefined();
  });
});

describe('looksLikeTemperature', () => {
  it('accepts reports and rejects other lines', () => {
    expect(looksLikeTemperature('T:21.3 /0.0 B:20.0 /0.0')).toBe(true);
    expect(looksLikeTemperature('B:60.0 /60.0 T0:200.0 /200.0')).toBe(true);
    expect(looksLikeTemperature('T0:20.0 /0.0')).toBe(true);
    expect(looksLikeTemperature('X:0.00 Y:0.00 Z:0.00 E:0.00')).toBe(false);
    expect(looksLikeTemperature('Cap:AUTOREPORT_TEMP:1')).toBe(false);
  });
});
