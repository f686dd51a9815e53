import { describe, expect, it } from 'vitest';
import { parsePosition, parseReply, type Reply } from './replies.ts';

function kindOf(line: string): Reply['kind'] {
  return parseReply(line).kind;
}

describe('parseReply: acknowledgements', () => {
  it('parses a bare ok, with or without its line ending', () => {
    expect(parseReply('ok')).toEqual({ kind: 'ok', raw: 'ok' });
    expect(parseReply('ok\r\n')).toEqual({ kind: 'ok', raw: 'ok\r\n' });
  });

  it('reads ADVANCED_OK line number, planner and buffer space', () => {
    expect(parseReply('ok N123 P15 B3')).toEqual({
      kind: 'ok',
      raw: 'ok N123 P15 B3',
      lineNumber: 123,
      plannerFree: 15,
      bufferFree: 3,
    });
  });

  it('reads ADVANCED_OK without N for an un-numbered command', () => {
    expect(parseReply('ok P0 B0')).toEqual({ kind: 'ok', raw: 'ok P0 B0', plannerFree: 0, bufferFree: 0 });
  });

  it('reads the line number Repetier echoes', () => {
    expect(parseReply('ok 42')).toMatchObject({ kind: 'ok', lineNumber: 42 });
    expect(parseReply('ok N:42')).toMatchObject({ kind: 'ok', lineNumber: 42 });
  });

  it('parses the temperatures of an M105 ok', () => {
    const reply = parseReply('ok T:20.0 /0.0 B:21.5 /60.0 @:0 B@:127');
    expect(reply.kind).toBe('ok');
    if (reply.kind !== 'ok') return;
    expect(reply.temperature?.tools).toEqual([{ actual: 20, target: 0, power: 0 }]);
    expect(reply.temperature?.bed).toEqual({ actual: 21.5, target: 60, power: 127 });
    expect(reply.lineNumber).toBeUndefined();
  });

  it('parses RepRapFirmware and Klipper M105 oks', () => {
    const rrf = parseReply('ok T:25.0 /0.0 B:25.0 /0.0');
    expect(rrf).toMatchObject({ kind: 'ok', temperature: { bed: { actual: 25, target: 0 } } });
    const klipper = parseReply('ok B:60.0 /60.0 T0:200.0 /200.0');
    expect(klipper).toMatchObject({ kind: 'ok', temperature: { tools: [{ actual: 200, target: 200 }] } });
  });

  it("parses the position on OctoPrint's virtual printer ok line", () => {
    expect(parseReply('ok X:10.00 Y:20.00 Z:0.30 E:1.50 Count X:800 Y:1600 Z:120')).toMatchObject({
      kind: 'ok',
      position: { x: 10, y: 20, z: 0.3, e: 1.5, count: { X: 800, Y: 1600, Z: 120 } },
    });
  });

  it("parses Klipper's M115 ack", () => {
    expect(parseReply('ok FIRMWARE_NAME:Klipper FIRMWARE_VERSION:v0.12.0')).toMatchObject({
      kind: 'ok',
      firmware: { FIRMWARE_NAME: 'Klipper', FIRMWARE_VERSION: 'v0.12.0' },
    });
  });

  it("keeps Klipper's ok message text", () => {
    expect(parseReply('ok some message')).toMatchObject({ kind: 'ok', message: 'some message' });
  });

  it('does not take words that start with ok for an ok', () => {
    expect(kindOf('okay')).toBe('unknown');
  });
});

describe('parseReply: resend requests', () => {
  it.each([
    ['Resend: 12', 12],
    ['Resend:12', 12],
    ['Resend: N:12', 12],
    ['rs 12', 12],
    ['rs N12', 12],
    ['rs:12', 12],
  ])('parses %s', (line, lineNumber) => {
    expect(parseReply(line)).toEqual({ kind: 'resend', raw: line, lineNumber });
  });

  it('keeps a corrupted resend number as printed, for the sender to validate', () => {
    expect(parseReply('Resend: 034497')).toMatchObject({ kind: 'resend', lineNumber: 34497 });
  });
});

describe('parseReply: errors', () => {
  it('classifies Marlin line errors with the last line number', () => {
    expect(parseReply('Error:checksum mismatch, Last Line: 41')).toMatchObject({
      kind: 'error',
      error: 'checksumMismatch',
      lastLine: 41,
      message: 'checksum mismatch, Last Line: 41',
    });
    expect(parseReply('Error:Line Number is not Last Line Number+1, Last Line: 41')).toMatchObject({
      error: 'lineNumber',
      lastLine: 41,
    });
    expect(parseReply('Error:No Checksum with line number, Last Line: 7')).toMatchObject({
      error: 'noChecksum',
      lastLine: 7,
    });
  });

  it("classifies Prusa's checksum without line number", () => {
    expect(parseReply('Error:No Line Number with checksum, Last Line: 7')).toMatchObject({
      error: 'noLineNumber',
      lastLine: 7,
    });
  });

  it('classifies unknown commands from Marlin, Prusa and Klipper', () => {
    expect(parseReply('echo:Unknown command: "G999"')).toMatchObject({
      kind: 'error',
      error: 'unknownCommand',
      command: 'G999',
    });
    expect(parseReply('// Unknown command:"FOO_BAR"')).toMatchObject({
      kind: 'error',
      error: 'unknownCommand',
      command: 'FOO_BAR',
    });
  });

  it('classifies a kill as halted', () => {
    expect(parseReply('Error:Printer halted. kill() called!')).toMatchObject({
      kind: 'error',
      error: 'halted',
    });
    expect(
      parseReply(
        'Error:Printer stopped due to errors. Fix the error and use M999 to restart. (Temperature is reset. Set it after restarting)',
      ),
    ).toMatchObject({ error: 'halted' });
    expect(parseReply('fatal:Heater decoupled')).toMatchObject({ error: 'halted' });
  });

  it('classifies heater faults as thermal with the heater id', () => {
    expect(parseReply('Error:Thermal Runaway, system stopped! Heater_ID: 0')).toMatchObject({
      error: 'thermal',
      heater: '0',
    });
    expect(parseReply('Error:MINTEMP triggered, system stopped! Heater_ID: bed')).toMatchObject({
      error: 'thermal',
      heater: 'bed',
    });
  });

  it('keeps other errors, including RRF and Klipper forms', () => {
    expect(parseReply('Error:RX BUF overflow, increase RX_BUFFER_SIZE: 12')).toMatchObject({
      error: 'other',
      message: 'RX BUF overflow, increase RX_BUFFER_SIZE: 12',
    });
    expect(parseReply('Error: G1: insufficient axes homed')).toMatchObject({ error: 'other' });
    expect(parseReply('!! Must home axis first: 10.000 0.000 0.500 [0.000]')).toMatchObject({
      kind: 'error',
      error: 'other',
      message: 'Must home axis first: 10.000 0.000 0.500 [0.000]',
    });
  });
});

describe('parseReply: busy, wait and start', () => {
  it('parses Marlin busy lines', () => {
    expect(parseReply('echo:busy: processing')).toEqual({
      kind: 'busy',
      raw: 'echo:busy: processing',
      reason: 'processing',
      text: 'processing',
    });
    expect(parseReply('echo:busy: paused for user')).toMatchObject({ reason: 'pausedForUser' });
    expect(parseReply('echo:busy: paused for input')).toMatchObject({ reason: 'pausedForInput' });
  });

  it('parses Prusa busy lines without the echo prefix', () => {
    expect(parseReply('busy: processing')).toMatchObject({ kind: 'busy', reason: 'processing' });
    expect(parseReply('busy: something new')).toMatchObject({
      kind: 'busy',
      reason: 'other',
      text: 'something new',
    });
  });

  it('parses wait and start', () => {
    expect(parseReply('wait')).toEqual({ kind: 'wait', raw: 'wait' });
    expect(parseReply('start')).toEqual({ kind: 'start', raw: 'start' });
  });

  it('parses the Marlin boot banner', () => {
    expect(parseReply('echo: External Reset')).toMatchObject({ kind: 'banner', item: 'resetCause' });
    expect(parseReply('PowerUp')).toMatchObject({ kind: 'banner', item: 'resetCause' });
    expect(parseReply('Marlin 2.1.2.1')).toMatchObject({
      kind: 'banner',
      item: 'version',
      version: '2.1.2.1',
    });
    expect(parseReply('echo:Marlin bugfix-2.1.x')).toMatchObject({
      item: 'version',
      version: 'bugfix-2.1.x',
    });
    expect(parseReply('echo: Last Updated: 2023-07-20 | Author: (default)')).toMatchObject({
      item: 'lastUpdated',
    });
    expect(parseReply('echo: Compiled: Jul 20 2023')).toMatchObject({ item: 'compiled' });
    expect(parseReply('echo: Free Memory: 4093  PlannerBufferBytes: 1344')).toMatchObject({
      item: 'freeMemory',
    });
    expect(parseReply('echo:V86 stored settings retrieved (677 bytes; crc 30235)')).toMatchObject({
      item: 'settings',
    });
  });
});

describe('parseReply: reports', () => {
  it('parses a temperature autoreport with its leading blank', () => {
    const reply = parseReply(' T:25.00 /60.00 B:24.10 /0.00 @:127 B@:0 W:?');
    expect(reply).toMatchObject({ kind: 'temperature', report: { waitRemainingS: null } });
  });

  it('parses a Marlin M114 position report', () => {
    expect(parseReply('X:0.00 Y:10.00 Z:5.25 E:0.00 Count X:0 Y:800 Z:2100')).toEqual({
      kind: 'position',
      raw: 'X:0.00 Y:10.00 Z:5.25 E:0.00 Count X:0 Y:800 Z:2100',
      position: {
        x: 0,
        y: 10,
        z: 5.25,
        e: 0,
        axes: { X: 0, Y: 10, Z: 5.25, E: 0 },
        count: { X: 0, Y: 800, Z: 2100 },
      },
    });
  });

  it('parses the Prusa M114 report with a blank after Count X:', () => {
    expect(parsePosition('X:0.00 Y:0.00 Z:0.15 E:0.00 Count X: 0.00 Y:0.00 Z:0.15 E:0.00')).toMatchObject({
      z: 0.15,
      count: { X: 0, Y: 0, Z: 0.15, E: 0 },
    });
  });

  it('parses the M115 firmware line and capability lines', () => {
    expect(
      parseReply(
        'FIRMWARE_NAME:Marlin 2.1.2 (Jan 1 2024) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Ender-3 EXTRUDER_COUNT:1 UUID:x',
      ),
    ).toMatchObject({
      kind: 'firmware',
      firmwareName: 'Marlin 2.1.2 (Jan 1 2024)',
      firmwareFamily: 'marlin',
      firmwareVersion: '2.1.2',
      fields: { MACHINE_TYPE: 'Ender-3', EXTRUDER_COUNT: '1' },
    });
    expect(parseReply('Cap:AUTOREPORT_TEMP:1')).toEqual({
      kind: 'capability',
      raw: 'Cap:AUTOREPORT_TEMP:1',
      name: 'AUTOREPORT_TEMP',
      enabled: true,
    });
  });

  it('parses M119 endstop lines from Marlin and Klipper', () => {
    expect(parseReply('Reporting endstop status')).toMatchObject({
      kind: 'endstop',
      header: true,
      endstops: {},
    });
    expect(parseReply('x_min: open')).toEqual({
      kind: 'endstop',
      raw: 'x_min: open',
      header: false,
      endstops: { x_min: false },
    });
    expect(parseReply('z_probe: TRIGGERED')).toMatchObject({ endstops: { z_probe: true } });
    expect(parseReply('x:open y:open z:TRIGGERED')).toMatchObject({
      endstops: { x: false, y: false, z: true },
    });
  });

  it('parses fan tachometer reports and fan change echoes', () => {
    expect(parseReply('E0:4890 RPM PRN1:0 RPM E0@:255 PRN1@:0')).toMatchObject({
      kind: 'fan',
      fans: { E0: { rpm: 4890, power: 255 }, PRN1: { rpm: 0, power: 0 } },
    });
    expect(parseReply('M106 P0 S255')).toMatchObject({ kind: 'fanSpeed', fan: 0, speed: 255 });
  });
});

describe('parseReply: SD card', () => {
  it('parses print progress and idle state', () => {
    expect(parseReply('SD printing byte 123/456')).toEqual({
      kind: 'sd',
      raw: 'SD printing byte 123/456',
      event: 'printing',
      bytePosition: 123,
      byteTotal: 456,
    });
    expect(parseReply('Not SD printing')).toMatchObject({ kind: 'sd', event: 'notPrinting' });
    expect(parseReply('Done printing file')).toMatchObject({ event: 'done' });
  });

  it('parses file selection, listing and upload messages', () => {
    expect(parseReply('File opened: BENCHY.GCO Size: 1234567')).toMatchObject({
      event: 'fileOpened',
      file: 'BENCHY.GCO',
      size: 1234567,
    });
    expect(parseReply('File selected')).toMatchObject({ event: 'fileSelected' });
    expect(parseReply('open failed, File: NOPE.GCO.')).toMatchObject({
      event: 'openFailed',
      file: 'NOPE.GCO',
    });
    expect(parseReply('Begin file list')).toMatchObject({ event: 'listBegin' });
    expect(parseReply('End file list')).toMatchObject({ event: 'listEnd' });
    expect(parseReply('Writing to file: UP.GCO')).toMatchObject({ event: 'writing', file: 'UP.GCO' });
    expect(parseReply('Done saving file.')).toMatchObject({ event: 'saved' });
    expect(parseReply('echo:SD card ok')).toMatchObject({ kind: 'sd', event: 'cardOk' });
    expect(parseReply('echo:SD init fail')).toMatchObject({ kind: 'sd', event: 'initFail' });
  });
});

describe('parseReply: host actions and messages', () => {
  it('parses host action commands with and without a blank after the slashes', () => {
    expect(parseReply('//action:pause')).toEqual({
      kind: 'action',
      raw: '//action:pause',
      name: 'pause',
      args: '',
    });
    expect(parseReply('// action:prompt_begin Filament runout')).toMatchObject({
      kind: 'action',
      name: 'prompt_begin',
      args: 'Filament runout',
    });
    expect(parseReply('//action:prompt_button Continue')).toMatchObject({
      name: 'prompt_button',
      args: 'Continue',
    });
    expect(parseReply('//action:notification Printing layer 3')).toMatchObject({
      name: 'notification',
      args: 'Printing layer 3',
    });
  });

  it('keeps echo lines and Klipper info lines as messages', () => {
    expect(parseReply('echo:Settings Stored (677 bytes; crc 30235)')).toMatchObject({
      kind: 'echo',
      source: 'echo',
      text: 'Settings Stored (677 bytes; crc 30235)',
    });
    expect(parseReply('echo:  M92 X80.00 Y80.00 Z400.00 E93.00')).toMatchObject({
      kind: 'echo',
      text: 'M92 X80.00 Y80.00 Z400.00 E93.00',
    });
    expect(parseReply('// Klipper state: Ready')).toMatchObject({
      kind: 'echo',
      source: 'comment',
      text: 'Klipper state: Ready',
    });
    expect(parseReply('Warning: Heater 1 not configured')).toMatchObject({ source: 'warning' });
  });

  it('returns empty for blank lines and unknown for anything else', () => {
    expect(parseReply('  \r\n')).toEqual({ kind: 'empty', raw: '  \r\n' });
    expect(parseReply('BENCHY.GCO 1234567')).toEqual({
      kind: 'unknown',
      raw: 'BENCHY.GCO 1234567',
      text: 'BENCHY.GCO 1234567',
    });
  });
});
