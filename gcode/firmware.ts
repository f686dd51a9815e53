// M115 identification: the firmware line, its KEY:value fields and the Cap: lines that follow.

export type FirmwareFamily = 'marlin' | 'prusa' | 'reprapfirmware' | 'klipper' | 'unknown';

export interface FirmwareInfo {
  /** FIRMWARE_NAME as printed, e.g. `Marlin 2.1.2 (Jan 1 2024 12:00:00)`; '' when no M115 line was seen. */
  firmwareName: string;
  firmwareFamily: FirmwareFamily;
  /** FIRMWARE_VERSION when printed (RRF, Klipper), else the version word after the name. */
  firmwareVersion?: string;
  /** Every KEY:value pair of the M115 line, values trimmed. */
  fields: Record<string, string>;
  /** `Cap:<NAME>:<0|1>` lines. A capability that is not listed must be taken as absent (notes §7). */
  capabilities: Record<string, boolean>;
}

export interface Capability {
  name: string;
  enabled: boolean;
}

// A key is an upper-case word at the start or after whitespace, then a colon. Values may contain
// spaces (`MACHINE_TYPE:Prusa i3 MK3S`), so the value runs to the next key, as OctoPrint splits it.
const FIELD_KEY = /(?:^|\s)([A-Z][A-Z0-9_]+):/g;
const CAPABILITY = /^Cap:([A-Za-z0-9_]+):\s*([01])\s*$/;

/** Split an M115 line into its KEY:value fields. A leading `ok ` (Klipper acks M115 with it) is ignored. */
export function parseFirmwareFields(line: string): Record<string, string> {
  const text = line.startsWith('ok ') ? line.slice(3) : line;
  const fields: Record<string, string> = {};
  let key: string | undefined;
  let valueStart = 0;
  for (const m of text.matchAll(FIELD_KEY)) {
    if (key !== undefined) fields[key] = text.slice(valueStart, m.index).trim();
    key = m[1];
    valueStart = (m.index ?? 0) + m[0].length;
  }
  if (key !== undefined) fields[key] = text.slice(valueStart).trim();
  return fields;
}

/** `Cap:AUTOREPORT_TEMP:1` → { name: 'AUTOREPORT_TEMP', enabled: true }; undefined for other lines. */
export function parseCapability(line: string): Capability | undefined {
  const m = CAPABILITY.exec(line.trim());
  if (!m) return undefined;
  return { name: m[1] ?? '', enabled: m[2] === '1' };
}

/** Tell the family from FIRMWARE_NAME. Prusa's MK3 name says "based on Marlin", so Prusa is checked first. */
export function detectFirmwareFamily(firmwareName: string): FirmwareFamily {
  if (firmwareName.includes('Prusa-Firmware')) return 'prusa';
  if (firmwareName.includes('RepRapFirmware')) return 'reprapfirmware';
  if (firmwareName.includes('Klipper')) return 'klipper';
  if (firmwareName.includes('Marlin')) return 'marlin';
  return 'unknown';
}

/**
 * Build the firmware description from the lines of an M115 reply (one string with newlines, or the
 * lines). Lines that are neither the FIRMWARE_NAME line nor Cap: lines (`ok`, `area:{...}`, echoes) are
 * skipped.
 */
export function parseM115(reply: string | readonly string[]): FirmwareInfo {
  const lines = typeof reply === 'string' ? reply.split(/\r?\n|\r/) : reply;
  const info: FirmwareInfo = { firmwareName: '', firmwareFamily: 'unknown', fields: {}, capabilities: {} };
  for (const raw of lines) {
    const line = raw.trim();
    const cap = parseCapability(line);
    if (cap) {
      info.capabilities[cap.name] = cap.enabled;
      continue;
    }
    if (line.includes('FIRMWARE_NAME:')) Object.assign(info, describeFirmware(parseFirmwareFields(line)));
  }
  return info;
}

/** Name, family and version from parsed M115 fields. */
export function describeFirmware(
  fields: Record<string, string>,
): Pick<FirmwareInfo, 'firmwareName' | 'firmwareFamily' | 'firmwareVersion' | 'fields'> {
  const firmwareName = fields.FIRMWARE_NAME ?? '';
  const firmwareVersion = fields.FIRMWARE_VERSION ?? versionFromName(firmwareName);
  const described: Pick<FirmwareInfo, 'firmwareName' | 'firmwareFamily' | 'firmwareVersion' | 'fields'> = {
    firmwareName,
    firmwareFamily: detectFirmwareFamily(firmwareName),
    fields,
  };
  if (firmwareVersion !== undefined) described.firmwareVersion = firmwareVersion;
  return described;
}

// The word after the name: `Marlin 2.1.2 (...)`, `Marlin bugfix-2.1.x (...)`,
// `Prusa-Firmware 3.13.3 based on Marlin`, `Prusa-Firmware-Buddy 5.1.0+11345`.
function versionFromName(name: string): string | undefined {
  const m = /^\S+\s+([^\s(]+)/.exec(name);
  return m?.[1];
}
