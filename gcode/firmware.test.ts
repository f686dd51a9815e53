import { describe, expect, it } from 'vitest';
import { detectFirmwareFamily, parseCapability, parseFirmwareFields, parseM115 } from './firmware.ts';

const MARLIN_M115 = [
  'FIRMWARE_NAME:Marlin 2.1.2 (Jan  1 2024 12:00:00) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Ender-3 V2 EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff',
  'Cap:SERIAL_XON_XOFF:0',
  'Cap:BINARY_FILE_TRANSFER:0',
  'Cap:EEPROM:1',
  'Cap:AUTOREPORT_TEMP:1',
  'Cap:EMERGENCY_PARSER:1',
  'Cap:HOST_ACTION_COMMANDS:1',
  'Cap:PROMPT_SUPPORT:0',
  'area:{full:{min:{x:0,y:0,z:0},max:{x:220,y:220,z:250}},work:{min:{x:0,y:0,z:0},max:{x:220,y:220,z:250}}}',
  'ok',
];

describe('parseM115', () => {
  it('parses a Marlin M115 block with capabilities', () => {
    const info = parseM115(MARLIN_M115);
    expect(info.firmwareName).toBe('Marlin 2.1.2 (Jan  1 2024 12:00:00)');
    expect(info.firmwareFamily).toBe('marlin');
    expect(info.firmwareVersion).toBe('2.1.2');
    expect(info.fields).toEqual({
      FIRMWARE_NAME: 'Marlin 2.1.2 (Jan  1 2024 12:00:00)',
      SOURCE_CODE_URL: 'github.com/MarlinFirmware/Marlin',
      PROTOCOL_VERSION: '1.0',
      MACHINE_TYPE: 'Ender-3 V2',
      EXTRUDER_COUNT: '1',
      UUID: 'cede2a2f-41a2-4748-9b12-c55c62f367ff',
    });
    expect(info.capabilities).toEqual({
      SERIAL_XON_XOFF: false,
      BINARY_FILE_TRANSFER: false,
      EEPROM: true,
      AUTOREPORT_TEMP: true,
      EMERGENCY_PARSER: true,
      HOST_ACTION_COMMANDS: true,
      PROMPT_SUPPORT: false,
    });
  });

  it('accepts the reply as one string with CRLF line ends', () => {
    expect(parseM115(MARLIN_M115.join('\r\n')).capabilities.EEPROM).toBe(true);
  });

  it('recognises a Prusa MK3 even though its name says "based on Marlin"', () => {
    const info = parseM115(
      'FIRMWARE_NAME:Prusa-Firmware 3.13.3 based on Marlin FIRMWARE_URL:https://github.com/prusa3d/Prusa-Firmware PROTOCOL_VERSION:1.0 MACHINE_TYPE:Prusa i3 MK3S EXTRUDER_COUNT:1 UUID:00000000-0000-0000-0000-000000000000\nCap:AUTOREPORT_TEMP:1\nCap:AUTOREPORT_FANS:1\nCap:AUTOREPORT_POSITION:1\nCap:EXTENDED_M20:1\nCap:PRUSA_MMU2:1\nok',
    );
    expect(info.firmwareFamily).toBe('prusa');
    expect(info.firmwareVersion).toBe('3.13.3');
    expect(info.fields.MACHINE_TYPE).toBe('Prusa i3 MK3S');
    expect(info.fields.FIRMWARE_URL).toBe('https://github.com/prusa3d/Prusa-Firmware');
    expect(Object.keys(info.capabilities)).toHaveLength(5);
  });

  it('recognises Prusa Buddy firmware', () => {
    const info = parseM115(
      'FIRMWARE_NAME:Prusa-Firmware-Buddy 5.1.2+13478 (Github) SOURCE_CODE_URL:https://github.com/prusa3d/Prusa-Firmware-Buddy PROTOCOL_VERSION:1.0 MACHINE_TYPE:Prusa-MK4 EXTRUDER_COUNT:1 UUID:00000000-0000-0000-0000-000000000000',
    );
    expect(info).toMatchObject({ firmwareFamily: 'prusa', firmwareVersion: '5.1.2+13478' });
  });

  it('parses RepRapFirmware fields written with a blank after the colon', () => {
    const info = parseM115(
      'FIRMWARE_NAME: RepRapFirmware for Duet 3 MB6HC FIRMWARE_VERSION: 3.5.1 ELECTRONICS: Duet 3 MB6HC v1.01 FIRMWARE_DATE: 2024-04-19 14:20:05',
    );
    expect(info).toMatchObject({
      firmwareName: 'RepRapFirmware for Duet 3 MB6HC',
      firmwareFamily: 'reprapfirmware',
      firmwareVersion: '3.5.1',
      fields: { ELECTRONICS: 'Duet 3 MB6HC v1.01', FIRMWARE_DATE: '2024-04-19 14:20:05' },
      capabilities: {},
    });
  });

  it('parses Klipper, which acks M115 with the fields on the ok line', () => {
    const info = parseM115(['ok FIRMWARE_NAME:Klipper FIRMWARE_VERSION:v0.12.0-85-gd785b396']);
    expect(info).toMatchObject({
      firmwareName: 'Klipper',
      firmwareFamily: 'klipper',
      firmwareVersion: 'v0.12.0-85-gd785b396',
    });
  });

  it('reports an unknown family for other firmwares and an empty name when none was seen', () => {
    expect(
      parseM115('FIRMWARE_NAME:Repetier_1.0.3 FIRMWARE_URL:https://github.com/repetier/Repetier-Firmware/')
        .firmwareFamily,
    ).toBe('unknown');
    expect(parseM115(['echo:busy: processing', 'ok'])).toEqual({
      firmwareName: '',
      firmwareFamily: 'unknown',
      fields: {},
      capabilities: {},
    });
  });
});

describe('parseFirmwareFields', () => {
  it('does not split values on times or lower-case words with colons', () => {
    expect(
      parseFirmwareFields('FIRMWARE_NAME:Marlin 2.0.9 (Jun 1 2021 10:20:30) SOURCE_CODE_URL:https://x.y'),
    ).toEqual({
      FIRMWARE_NAME: 'Marlin 2.0.9 (Jun 1 2021 10:20:30)',
      SOURCE_CODE_URL: 'https://x.y',
    });
  });
});

describe('parseCapability', () => {
  it('reads the name and flag of a Cap: line', () => {
    expect(parseCapability('Cap:AUTOREPORT_TEMP:1')).toEqual({ name: 'AUTOREPORT_TEMP', enabled: true });
    expect(parseCapability('Cap:EMERGENCY_PARSER:0')).toEqual({ name: 'EMERGENCY_PARSER', enabled: false });
    expect(parseCapability('ok')).toBeUndefined();
  });
});

describe('detectFirmwareFamily', () => {
  it('maps names to families', () => {
    expect(detectFirmwareFamily('Marlin bugfix-2.1.x')).toBe('marlin');
    expect(detectFirmwareFamily('Smoothieware')).toBe('unknown');
  });
});
