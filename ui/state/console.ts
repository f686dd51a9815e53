// The G-code console: what went to and came from the printer (seeded from server.gcode_store), the
// command history, and completion from printer.gcode.help plus the common Marlin commands.
import { computed, signal } from '@preact/signals';
import { onConnected, onNotification, rpc } from '../api/session.ts';
import { macros } from './printer.ts';
import { errorText } from './toasts.ts';

export type LineKind = 'command' | 'response' | 'error' | 'info' | 'noise';

export interface ConsoleLine {
  id: number;
  /** Unix seconds. */
  time: number;
  text: string;
  kind: LineKind;
}

const MAX_LINES = 1000;
let nextId = 1;

export const lines = signal<ConsoleLine[]>([]);
/** Hide bare `ok` and reports nobody typed a command for (the daemon already leaves out autoreports). */
export const hideNoise = signal(localStorage.getItem('brim.console.hideNoise') !== 'false');

export const visibleLines = computed(() =>
  hideNoise.value ? lines.value.filter((l) => l.kind !== 'noise') : lines.value,
);

const TEMPERATURE_REPORT = /^(ok\s+)?\s*(T\d*|B|C):\s*-?\d/;
const POSITION_REPORT = /^(ok\s+)?X:\s*-?\d+(\.\d+)?\s+Y:\s*-?\d/;

/** What the user last typed that asks for a report, so its answer shows even with the filter on. */
let askedFor: { report: 'temperature' | 'position'; untilMs: number } | null = null;

export function classify(text: string, kind: 'command' | 'response'): LineKind {
  if (kind === 'command') return 'command';
  if (/^!!/.test(text) || /^error:/i.test(text)) return 'error';
  if (/^\/\//.test(text)) return 'info';
  if (/^ok\s*$/i.test(text)) return 'noise';
  const report = TEMPERATURE_REPORT.test(text)
    ? 'temperature'
    : POSITION_REPORT.test(text)
      ? 'position'
      : null;
  if (report) {
    if (askedFor && askedFor.report === report && Date.now() < askedFor.untilMs) {
      askedFor = null;
      return 'response';
    }
    return 'noise';
  }
  return 'response';
}

function push(entries: { text: string; kind: LineKind; time?: number }[]): void {
  const now = Date.now() / 1000;
  const next = [
    ...lines.peek(),
    ...entries.map((e) => ({ id: nextId++, time: e.time ?? now, text: e.text, kind: e.kind })),
  ];
  lines.value = next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
}

onNotification('notify_gcode_response', (params) => {
  const text = String(params[0] ?? '');
  push([{ text, kind: classify(text, 'response') }]);
});

onConnected(() => {
  rpc
    .query<{ gcode_store: { message: string; time: number; type: 'command' | 'response' }[] }>(
      'server.gcode_store',
      { count: 300 },
    )
    .then(({ gcode_store }) => {
      lines.value = gcode_store.map((e) => ({
        id: nextId++,
        time: e.time,
        text: e.message,
        kind: classify(e.message, e.type),
      }));
    })
    .catch(() => {
      // Keep what is on screen.
    });
  rpc
    .query<Record<string, string>>('printer.gcode.help')
    .then((help) => {
      hostHelp.value = help;
    })
    .catch(() => {});
});

export function setHideNoise(on: boolean): void {
  hideNoise.value = on;
  localStorage.setItem('brim.console.hideNoise', String(on));
}

export function clearConsole(): void {
  lines.value = [];
}

// --- history and sending --------------------------------------------------------------------

const HISTORY_KEY = 'brim.console.history';
const HISTORY_SIZE = 100;

function loadHistory(): string[] {
  try {
    const parsed = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]') as unknown;
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Oldest first. */
export const commandHistory = signal<string[]>(loadHistory());

function remember(command: string): void {
  const next = [...commandHistory.peek().filter((c) => c !== command), command].slice(-HISTORY_SIZE);
  commandHistory.value = next;
  localStorage.setItem(HISTORY_KEY, JSON.stringify(next));
}

/** Sends a console command; resolves when the printer answered ok, rejects with its error. */
export async function sendCommand(script: string): Promise<void> {
  const text = script.trim();
  if (!text) return;
  remember(text);
  const word = text.split(/\s/)[0]!.toUpperCase();
  if (word === 'M105') askedFor = { report: 'temperature', untilMs: Date.now() + 5000 };
  else if (word === 'M114' || word === 'GET_POSITION')
    askedFor = { report: 'position', untilMs: Date.now() + 5000 };
  push(text.split('\n').map((line) => ({ text: line, kind: 'command' as const })));
  try {
    await rpc.call('printer.gcode.script', { script: text });
  } catch (error) {
    // The printer's own `!! message` usually arrived as a notification already; do not show it twice.
    const message = errorText(error);
    const recent = lines.peek().slice(-5);
    if (!recent.some((l) => l.kind === 'error' && l.text.replace(/^!!\s*/, '') === message)) {
      push([{ text: `!! ${message}`, kind: 'error' }]);
    }
    throw error;
  }
}

// --- completion -----------------------------------------------------------------------------

export const hostHelp = signal<Record<string, string>>({});

const MARLIN_COMMANDS: Record<string, string> = {
  G0: 'Travel move',
  G1: 'Linear move: X Y Z E F',
  G28: 'Home all axes, or the ones named',
  G29: 'Probe the bed (mesh levelling)',
  G90: 'Absolute positioning',
  G91: 'Relative positioning',
  G92: 'Set position',
  M17: 'Enable steppers',
  M84: 'Disable steppers (motors off)',
  M104: 'Set hotend temperature: S<°C>',
  M105: 'Report temperatures',
  M106: 'Fan on: S<0..255>',
  M107: 'Fan off',
  M109: 'Set hotend temperature and wait',
  M112: 'Emergency stop',
  M114: 'Report position',
  M115: 'Firmware info and capabilities',
  M117: 'Show a message on the display',
  M119: 'Report endstops',
  M140: 'Set bed temperature: S<°C>',
  M190: 'Set bed temperature and wait',
  M220: 'Speed factor: S<percent>',
  M221: 'Flow factor: S<percent>',
  M290: 'Babystep: Z<mm>',
  M500: 'Save settings to EEPROM',
  M501: 'Load settings from EEPROM',
  M503: 'Report settings',
};

export const completions = computed(() => {
  const all: Record<string, string> = { ...MARLIN_COMMANDS, ...hostHelp.value };
  for (const name of macros.value) all[name.toUpperCase()] ??= 'Macro';
  return Object.entries(all)
    .map(([name, help]) => ({ name, help }))
    .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
});

/** Commands starting with the first word typed (case-insensitive), at most `limit`. */
export function complete(input: string, limit = 8): { name: string; help: string }[] {
  const word = input.trimStart().toUpperCase();
  if (!word || /\s/.test(word)) return [];
  return completions.value.filter((c) => c.name.startsWith(word) && c.name !== word).slice(0, limit);
}
