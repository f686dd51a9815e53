// Classifies one firmware reply line (Marlin, Prusa, RepRapFirmware, Klipper) for the reply dispatcher.

import { describeFirmware, type FirmwareFamily, parseCapability, parseFirmwareFields } from './firmware.ts';
import { looksLikeTemperature, parseTemperatures, type TemperatureReport } from './temperature.ts';

export interface PositionReport {
  x?: number;
  y?: number;
  z?: number;
  e?: number;
  /** Every axis before `Count` (Marlin 2.1 adds A, B, C, U, V, W on multi-axis builds). */
  axes: Record<string, number>;
  /** The stepper positions after `Count` (steps in Marlin, mm in Prusa MK3). */
  count?: Record<string, number>;
}

export interface OkReply {
  kind: 'ok';
  raw: string;
  /** ADVANCED_OK `N`, or the number Repetier echoes: the line this ok acknowledges. */
  lineNumber?: number;
  /** ADVANCED_OK `P`: free planner blocks. */
  plannerFree?: number;
  /** ADVANCED_OK `B`: free command-queue slots (at most BUFSIZE-1, Marlin#26128). */
  bufferFree?: number;
  /** M105 answered on the ok line (`ok T:20.0 /0.0 B:...`). */
  temperature?: TemperatureReport;
  /** OctoPrint's virtual printer answers M114 as `ok X:...`. */
  position?: PositionReport;
  /** Klipper acks M115 with the fields (`ok FIRMWARE_NAME:Klipper ...`). */
  firmware?: Record<string, string>;
  /** Any other text after `ok` (Klipper's `ok <message>`). */
  message?: string;
}

export interface ResendReply {
  kind: 'resend';
  raw: string;
  /** The line the firmware asks for. Validate it against the history window: it can be corrupted. */
  lineNumber: number;
}

export type ErrorKind =
  | 'checksumMismatch'
  | 'lineNumber'
  | 'noChecksum'
  | 'noLineNumber'
  | 'unknownCommand'
  | 'thermal'
  | 'halted'
  | 'other';

export interface ErrorReply {
  kind: 'error';
  raw: string;
  error: ErrorKind;
  /** The text after `Error:`, `!!` or `fatal:`. */
  message: string;
  /** `Last Line: <n>` of the line errors. */
  lastLine?: number;
  /** The command named by an unknown-command error. */
  command?: string;
  /** `Heater_ID: <id>` of thermal errors. */
  heater?: string;
}

export interface BusyReply {
  kind: 'busy';
  raw: string;
  reason: 'processing' | 'pausedForUser' | 'pausedForInput' | 'other';
  text: string;
}

export interface WaitReply {
  kind: 'wait';
  raw: string;
}

export interface StartReply {
  kind: 'start';
  raw: string;
}

export interface BannerReply {
  kind: 'banner';
  raw: string;
  item: 'resetCause' | 'version' | 'lastUpdated' | 'compiled' | 'freeMemory' | 'settings';
  text: string;
  /** For `item: 'version'`: `2.1.2` from `Marlin 2.1.2`. */
  version?: string;
}

export interface TemperatureReply {
  kind: 'temperature';
  raw: string;
  report: TemperatureReport;
}

export interface PositionReply {
  kind: 'position';
  raw: string;
  position: PositionReport;
}

export interface FirmwareReply {
  kind: 'firmware';
  raw: string;
  firmwareName: string;
  firmwareFamily: FirmwareFamily;
  firmwareVersion?: string;
  fields: Record<string, string>;
}

export interface CapabilityReply {
  kind: 'capability';
  raw: string;
  name: string;
  enabled: boolean;
}

export interface ActionReply {
  kind: 'action';
  raw: string;
  /** `pause`, `resume`, `cancel`, `prompt_begin`, `notification`, ... */
  name: string;
  /** The rest of the line, trimmed ('' when none). */
  args: string;
}

export type SdEvent =
  | 'printing'
  | 'notPrinting'
  | 'done'
  | 'fileOpened'
  | 'fileSelected'
  | 'openFailed'
  | 'listBegin'
  | 'listEnd'
  | 'writing'
  | 'saved'
  | 'currentFile'
  | 'cardOk'
  | 'cardReleased'
  | 'initFail';

export interface SdReply {
  kind: 'sd';
  raw: string;
  event: SdEvent;
  /** `SD printing byte <bytePosition>/<byteTotal>`. */
  bytePosition?: number;
  byteTotal?: number;
  file?: string;
  /** `File opened: <file> Size: <size>`. */
  size?: number;
}

export interface EndstopReply {
  kind: 'endstop';
  raw: string;
  /** True for the `Reporting endstop status` line that opens an M119 report. */
  header: boolean;
  /** Name → triggered (Marlin prints one per line, Klipper `x:open y:open z:TRIGGERED` on one). */
  endstops: Record<string, boolean>;
}

export interface FanReply {
  kind: 'fan';
  raw: string;
  /** Tachometer report (M123 / AUTOREPORT_FANS): `E0:4890 RPM PRN1:0 RPM E0@:255 PRN1@:0`. */
  fans: Record<string, { rpm?: number; power?: number }>;
}

export interface FanSpeedReply {
  kind: 'fanSpeed';
  raw: string;
  /** Marlin's REPORT_FAN_CHANGE line `M106 P<fan> S<speed>`. */
  fan: number;
  speed: number;
}

export interface EchoReply {
  kind: 'echo';
  raw: string;
  /** `echo:` (Marlin), `//` (Klipper info), `Info:` (Repetier), `Warning:` (RRF), `DEBUG:` (Marlin). */
  source: 'echo' | 'comment' | 'info' | 'warning' | 'debug';
  text: string;
}

export interface EmptyReply {
  kind: 'empty';
  raw: string;
}

export interface UnknownReply {
  kind: 'unknown';
  raw: string;
  text: string;
}

export type Reply =
  | OkReply
  | ResendReply
  | ErrorReply
  | BusyReply
  | WaitReply
  | StartReply
  | BannerReply
  | TemperatureReply
  | PositionReply
  | FirmwareReply
  | CapabilityReply
  | ActionReply
  | SdReply
  | EndstopReply
  | FanReply
  | FanSpeedReply
  | EchoReply
  | EmptyReply
  | UnknownReply;

export type ReplyKind = Reply['kind'];

// ADVANCED_OK always prints P and B; N only when the acknowledged command had a line number.
const ADVANCED_OK = /^(?:N(\d+)\s+)?P(\d+)\s+B(\d+)(?=\s|$)\s*/;
// Repetier echoes the line number: `ok 123` or `ok N:123`.
const NUMBERED_OK = /^N?:?(\d+)(?=\s|$)\s*/;
// `Resend: 12`, `Resend:12`, `rs 12`, `rs N12`, `rs:12` (notes §2).
const RESEND = /^(?:resend|rs)(?::\s*|\s+)N?:?\s*(\d+)/i;
const LAST_LINE = /Last Line:\s*(\d+)/i;
const UNKNOWN_COMMAND = /unknown command:?\s*"?([^"]*)"?|unsupported command:?\s*(\S*)/i;
const THERMAL = /thermal runaway|mintemp|maxtemp|heating failed|malfunction|temperature difference/i;
const HEATER_ID = /Heater_ID:\s*(\S+)/i;
const HALTED = /kill\(\) called|printer halted|printer stopped|shutdown/i;
const ACTION = /^\/\/\s*action:(\S+)\s*(.*)$/;
const AXIS = /([A-Z]):\s*(-?\d+(?:\.\d*)?|-?\.\d+)/g;
const SD_PRINTING = /^SD printing byte (\d+)\s*\/\s*(\d+)/;
const FILE_OPENED = /^File opened:\s*(.*?)\s+Size:\s*(\d+)/;
const ENDSTOP_START = /^[a-z][a-z0-9_]*:\s*(?:open|TRIGGERED)\b/;
const ENDSTOP = /([a-z][a-z0-9_]*):\s*(open|TRIGGERED)\b/g;
const FAN_START = /^[A-Z]+\d*:\s*\d+(?:\.\d*)?\s*RPM\b/;
const FAN = /([A-Z]+\d*)(@?):\s*(-?\d+(?:\.\d*)?)/g;
const FAN_SPEED = /^M106 P(\d+) S(\d+)$/;
const RESET_CAUSE = /^(?:PowerUp|Power-Up|External Reset|Brown out Reset|Watchdog Reset|Software Reset)$/;
const MARLIN_VERSION = /^Marlin\s+(\S+)$/;
const SETTINGS = /stored settings retrieved|settings loaded|hardcoded default settings/i;

// Marlin's SD messages (language.h); `Now fresh file:` is the M28 open echo.
const SD_EVENTS: ReadonlyMap<string, SdEvent> = new Map([
  ['Not SD printing', 'notPrinting'],
  ['File selected', 'fileSelected'],
  ['Begin file list', 'listBegin'],
  ['End file list', 'listEnd'],
  ['SD card ok', 'cardOk'],
  ['SD card released', 'cardReleased'],
  ['SD init fail', 'initFail'],
  ['No SD card', 'initFail'],
]);
const SD_FILE_EVENTS: ReadonlyArray<readonly [string, SdEvent]> = [
  ['open failed, File:', 'openFailed'],
  ['Writing to file:', 'writing'],
  ['Now fresh file:', 'writing'],
  ['Current file:', 'currentFile'],
];

/** Classify one line the firmware sent (without or with its line ending). */
export function parseReply(line: string): Reply {
  const raw = line;
  const text = line.trim();
  if (text === '') return { kind: 'empty', raw };

  if (text.startsWith('ok') && (text.length === 2 || text.charCodeAt(2) === 32)) return parseOk(raw, text);
  if (text.startsWith('echo:') || text.startsWith('Echo:')) return parseEcho(raw, text.slice(5).trim());
  if (text.startsWith('busy:')) return busy(raw, text.slice(5).trim());
  if (text.startsWith('Error:') || text.startsWith('error:')) {
    return parseError(raw, text.slice(6).trim(), false);
  }
  if (text.startsWith('!!')) return parseError(raw, text.slice(2).trim(), false);
  if (text.startsWith('fatal:')) return parseError(raw, text.slice(6).trim(), true);
  if (text.startsWith('//')) return parseDoubleSlash(raw, text);
  if (text === 'wait') return { kind: 'wait', raw };
  if (text === 'start') return { kind: 'start', raw };

  const resend = RESEND.exec(text);
  if (resend) return { kind: 'resend', raw, lineNumber: Number(resend[1]) };

  if (text.startsWith('Cap:')) {
    const cap = parseCapability(text);
    if (cap) return { kind: 'capability', raw, name: cap.name, enabled: cap.enabled };
  }
  if (text.startsWith('FIRMWARE_NAME:')) {
    return { kind: 'firmware', raw, ...describeFirmware(parseFirmwareFields(text)) };
  }
  if (looksLikeTemperature(text)) {
    const report = parseTemperatures(text);
    if (report) return { kind: 'temperature', raw, report };
  }
  if (text.startsWith('X:')) {
    const position = parsePosition(text);
    if (position) return { kind: 'position', raw, position };
  }

  const sd = parseSd(raw, text);
  if (sd) return sd;
  const other = parseBanner(raw, text) ?? parseHardwareReport(raw, text);
  if (other) return other;

  if (text.startsWith('Warning:')) {
    return { kind: 'echo', raw, source: 'warning', text: text.slice(8).trim() };
  }
  if (text.startsWith('Info:')) return { kind: 'echo', raw, source: 'info', text: text.slice(5).trim() };
  if (text.startsWith('DEBUG:')) return { kind: 'echo', raw, source: 'debug', text: text.slice(6).trim() };
  return { kind: 'unknown', raw, text };
}

function parseOk(raw: string, text: string): OkReply {
  const reply: OkReply = { kind: 'ok', raw };
  let rest = text.slice(2).trimStart();
  if (rest === '') return reply;

  const advanced = ADVANCED_OK.exec(rest);
  if (advanced) {
    if (advanced[1] !== undefined) reply.lineNumber = Number(advanced[1]);
    reply.plannerFree = Number(advanced[2]);
    reply.bufferFree = Number(advanced[3]);
    rest = rest.slice(advanced[0].length);
  } else {
    const numbered = NUMBERED_OK.exec(rest);
    if (numbered) {
      reply.lineNumber = Number(numbered[1]);
      rest = rest.slice(numbered[0].length);
    }
  }
  if (rest === '') return reply;

  if (looksLikeTemperature(rest)) {
    const report = parseTemperatures(rest);
    if (report) {
      reply.temperature = report;
      return reply;
    }
  }
  if (rest.startsWith('X:')) {
    const position = parsePosition(rest);
    if (position) {
      reply.position = position;
      return reply;
    }
  }
  if (rest.includes('FIRMWARE_NAME:')) {
    reply.firmware = parseFirmwareFields(rest);
    return reply;
  }
  reply.message = rest;
  return reply;
}

function parseEcho(raw: string, body: string): Reply {
  if (body.startsWith('busy:')) return busy(raw, body.slice(5).trim());
  const unknown = unknownCommand(raw, body);
  if (unknown) return unknown;
  return parseBanner(raw, body) ?? parseSd(raw, body) ?? { kind: 'echo', raw, source: 'echo', text: body };
}

function busy(raw: string, text: string): BusyReply {
  const reason =
    text === 'processing'
      ? 'processing'
      : text === 'paused for user'
        ? 'pausedForUser'
        : text === 'paused for input'
          ? 'pausedForInput'
          : 'other';
  return { kind: 'busy', raw, reason, text };
}

function parseError(raw: string, message: string, fatal: boolean): ErrorReply {
  const reply: ErrorReply = { kind: 'error', raw, error: classifyError(message), message };
  if (fatal && reply.error === 'other') reply.error = 'halted';
  const last = LAST_LINE.exec(message);
  if (last) reply.lastLine = Number(last[1]);
  if (reply.error === 'unknownCommand') {
    const m = UNKNOWN_COMMAND.exec(message);
    const command = m?.[1] ?? m?.[2];
    if (command) reply.command = command;
  }
  if (reply.error === 'thermal') {
    const heater = HEATER_ID.exec(message);
    if (heater?.[1] !== undefined) reply.heater = heater[1];
  }
  return reply;
}

function classifyError(message: string): ErrorKind {
  const lower = message.toLowerCase();
  // Marlin and Prusa strings (language.h), Repetier's "Wrong checksum" / "Missing checksum".
  if (lower.startsWith('checksum mismatch') || lower.includes('wrong checksum')) return 'checksumMismatch';
  if (lower.includes('line number is not last line number') || lower.includes('expected line')) {
    return 'lineNumber';
  }
  if (lower.startsWith('no checksum') || lower.includes('missing checksum')) return 'noChecksum';
  if (lower.startsWith('no line number') || lower.includes('missing linenumber')) return 'noLineNumber';
  if (UNKNOWN_COMMAND.test(message)) return 'unknownCommand';
  if (THERMAL.test(message)) return 'thermal';
  if (HALTED.test(message)) return 'halted';
  return 'other';
}

// Marlin and Prusa report unknown commands as echo (`echo:Unknown command: "G999"`), Klipper as
// `// Unknown command:"FOO"`; both still ok the line, so this is an error reply, not a line error.
function unknownCommand(raw: string, body: string): ErrorReply | undefined {
  if (!body.startsWith('Unknown command')) return undefined;
  const reply: ErrorReply = { kind: 'error', raw, error: 'unknownCommand', message: body };
  const command = UNKNOWN_COMMAND.exec(body)?.[1];
  if (command) reply.command = command;
  return reply;
}

function parseDoubleSlash(raw: string, text: string): Reply {
  const action = ACTION.exec(text);
  if (action) return { kind: 'action', raw, name: action[1] ?? '', args: action[2]?.trim() ?? '' };
  const body = text.slice(2).trim();
  return unknownCommand(raw, body) ?? { kind: 'echo', raw, source: 'comment', text: body };
}

/** Parse an M114 / M154 position line (`X:0.00 Y:0.00 Z:0.00 E:0.00 Count X:0 Y:0 Z:0`). */
export function parsePosition(text: string): PositionReport | undefined {
  const countAt = text.indexOf('Count');
  const axes = readAxes(countAt < 0 ? text : text.slice(0, countAt));
  if (axes === undefined) return undefined;
  const position: PositionReport = { axes };
  if (axes.X !== undefined) position.x = axes.X;
  if (axes.Y !== undefined) position.y = axes.Y;
  if (axes.Z !== undefined) position.z = axes.Z;
  if (axes.E !== undefined) position.e = axes.E;
  if (countAt >= 0) {
    const count = readAxes(text.slice(countAt + 5));
    if (count) position.count = count;
  }
  return position;
}

function readAxes(text: string): Record<string, number> | undefined {
  let axes: Record<string, number> | undefined;
  for (const m of text.matchAll(AXIS)) {
    axes ??= {};
    axes[m[1] ?? ''] = Number(m[2]);
  }
  return axes;
}

function parseSd(raw: string, text: string): SdReply | undefined {
  const printing = SD_PRINTING.exec(text);
  if (printing) {
    return {
      kind: 'sd',
      raw,
      event: 'printing',
      bytePosition: Number(printing[1]),
      byteTotal: Number(printing[2]),
    };
  }
  const opened = FILE_OPENED.exec(text);
  if (opened) return { kind: 'sd', raw, event: 'fileOpened', file: opened[1] ?? '', size: Number(opened[2]) };
  for (const [prefix, event] of SD_FILE_EVENTS) {
    if (text.startsWith(prefix)) {
      return { kind: 'sd', raw, event, file: text.slice(prefix.length).trim().replace(/\.$/, '') };
    }
  }
  const event = SD_EVENTS.get(text);
  if (event) return { kind: 'sd', raw, event };
  if (text.startsWith('Done printing file')) return { kind: 'sd', raw, event: 'done' };
  if (text.startsWith('Done saving file')) return { kind: 'sd', raw, event: 'saved' };
  return undefined;
}

// Boot lines after `start` (MarlinCore setup): reset cause, version, dates, memory, stored settings.
// Marlin prints some with `echo:` and some bare, so both forms come here.
function parseBanner(raw: string, text: string): BannerReply | undefined {
  if (RESET_CAUSE.test(text)) return { kind: 'banner', raw, item: 'resetCause', text };
  const version = MARLIN_VERSION.exec(text);
  if (version) return { kind: 'banner', raw, item: 'version', text, version: version[1] ?? '' };
  if (text.startsWith('Last Updated:')) return { kind: 'banner', raw, item: 'lastUpdated', text };
  if (text.startsWith('Compiled:')) return { kind: 'banner', raw, item: 'compiled', text };
  if (text.startsWith('Free Memory:')) return { kind: 'banner', raw, item: 'freeMemory', text };
  if (SETTINGS.test(text)) return { kind: 'banner', raw, item: 'settings', text };
  return undefined;
}

function parseHardwareReport(raw: string, text: string): EndstopReply | FanReply | FanSpeedReply | undefined {
  if (text === 'Reporting endstop status') return { kind: 'endstop', raw, header: true, endstops: {} };
  if (ENDSTOP_START.test(text)) {
    const endstops: Record<string, boolean> = {};
    for (const m of text.matchAll(ENDSTOP)) endstops[m[1] ?? ''] = m[2] === 'TRIGGERED';
    return { kind: 'endstop', raw, header: false, endstops };
  }
  if (FAN_START.test(text)) {
    const fans: Record<string, { rpm?: number; power?: number }> = {};
    for (const m of text.matchAll(FAN)) {
      const name = m[1] ?? '';
      const fan = fans[name] ?? {};
      fans[name] = fan;
      if (m[2] === '@') fan.power = Number(m[3]);
      else fan.rpm = Number(m[3]);
    }
    return { kind: 'fan', raw, fans };
  }
  const speed = FAN_SPEED.exec(text);
  if (speed) return { kind: 'fanSpeed', raw, fan: Number(speed[1]), speed: Number(speed[2]) };
  return undefined;
}
