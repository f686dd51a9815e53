import { describe, expect, it } from 'vitest';
import * as gcode from './index.ts';

describe('gcode entry point', () => {
  it('exposes the lexer, reply classifier, temperature and firmware parsers and checksums', () => {
    const line = gcode.parseLine(gcode.numberedLine(1, 'M105'));
    expect(line).toMatchObject({ ok: true, line: { command: 'M105', checksumValid: true } });
    expect(gcode.stripForWire('M105 ; poll')).toBe('M105');
    expect(gcode.parseReply('ok T:20.0 /0.0').kind).toBe('ok');
    expect(gcode.parseTemperatures('T:20.0 /0.0')?.tools).toHaveLength(1);
    expect(gcode.parseM115('FIRMWARE_NAME:Marlin 2.1.2').firmwareFamily).toBe('marlin');
  });
});
