// Temperature history for the chart: seeded from server.temperature_store on each connection, then one
// sample a second from the heater signals (the store's own rate), and material presets in the database.
import { signal } from '@preact/signals';
import { connected, onConnected, rpc } from '../api/session.ts';
import { type HeaterStatus, heaterNames, printerObject, sensorNames } from './printer.ts';

export const HISTORY_SECONDS = 1200;

export interface Series {
  temperatures: (number | null)[];
  targets: (number | null)[];
}

export interface History {
  /** Unix seconds, one a second, oldest first. */
  times: number[];
  series: Map<string, Series>;
}

export const history: History = { times: [], series: new Map() };
/** Bumped after every change to `history` (the arrays are mutated in place, for the chart). */
export const historyVersion = signal(0);

function seriesFor(name: string, length: number): Series {
  let found = history.series.get(name);
  if (!found) {
    found = { temperatures: new Array(length).fill(null), targets: new Array(length).fill(null) };
    history.series.set(name, found);
  }
  return found;
}

function trim(): void {
  const extra = history.times.length - HISTORY_SECONDS;
  if (extra <= 0) return;
  history.times.splice(0, extra);
  for (const s of history.series.values()) {
    s.temperatures.splice(0, extra);
    s.targets.splice(0, extra);
  }
}

type Store = Record<string, { temperatures?: number[]; targets?: number[] }>;

export function seedHistory(store: Store, nowS = Date.now() / 1000): void {
  const length = Math.min(
    HISTORY_SECONDS,
    Math.max(0, ...Object.values(store).map((s) => s.temperatures?.length ?? 0)),
  );
  history.times = Array.from({ length }, (_, i) => Math.round(nowS) - (length - 1 - i));
  history.series = new Map();
  for (const [name, s] of Object.entries(store)) {
    const pad = (values: number[] = []) => {
      const tail = values.slice(-length);
      return [...new Array<number | null>(length - tail.length).fill(null), ...tail];
    };
    history.series.set(name, { temperatures: pad(s.temperatures), targets: pad(s.targets) });
  }
  historyVersion.value++;
}

function sample(): void {
  if (!connected.peek()) return;
  const names = [...heaterNames.peek(), ...sensorNames.peek()];
  const now = Math.round(Date.now() / 1000);
  if (history.times.at(-1) === now) return;
  const length = history.times.length;
  history.times.push(now);
  for (const name of names) {
    const status = printerObject<HeaterStatus>(name).peek();
    const s = seriesFor(name, length);
    s.temperatures.push(typeof status?.temperature === 'number' ? status.temperature : null);
    s.targets.push(typeof status?.target === 'number' ? status.target : null);
  }
  for (const [name, s] of history.series) {
    if (!names.includes(name)) {
      s.temperatures.push(null);
      s.targets.push(null);
    }
  }
  trim();
  historyVersion.value++;
}

onConnected(() => {
  rpc
    .query<Store>('server.temperature_store', { include_monitors: false })
    .then((store) => seedHistory(store))
    .catch(() => {
      // No store: the chart starts empty and fills from live samples.
    });
});
setInterval(sample, 1000);

// --- presets ------------------------------------------------------------------------------

export interface Preset {
  name: string;
  /** Heater name → target °C. */
  targets: Record<string, number>;
}

export const PRESET_NAMESPACE = 'brim';
export const PRESET_KEY = 'temperature_presets';

export const DEFAULT_PRESETS: Preset[] = [
  { name: 'PLA', targets: { extruder: 210, heater_bed: 60 } },
  { name: 'PETG', targets: { extruder: 240, heater_bed: 80 } },
  { name: 'ABS', targets: { extruder: 250, heater_bed: 100 } },
  { name: 'TPU', targets: { extruder: 225, heater_bed: 50 } },
];

export const presets = signal<Preset[]>(DEFAULT_PRESETS);

onConnected(() => {
  rpc
    .query<{ value: unknown }>('server.database.get_item', { namespace: PRESET_NAMESPACE, key: PRESET_KEY })
    .then(({ value }) => {
      if (Array.isArray(value)) presets.value = value.filter(isPreset);
    })
    .catch(() => {
      // Nothing stored yet (the namespace does not exist): the defaults stand until someone edits them.
    });
});

function isPreset(value: unknown): value is Preset {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Preset;
  return typeof p.name === 'string' && typeof p.targets === 'object' && p.targets !== null;
}

export async function savePresets(next: Preset[]): Promise<void> {
  await rpc.call('server.database.post_item', { namespace: PRESET_NAMESPACE, key: PRESET_KEY, value: next });
  presets.value = next;
}

/** Klipper's command, which Brim translates to M104/M140 for Marlin. */
export function targetScript(heater: string, target: number): string {
  return `SET_HEATER_TEMPERATURE HEATER=${heater.split(' ').pop()} TARGET=${Math.max(0, Math.round(target))}`;
}

export function applyPreset(preset: Preset): Promise<unknown> {
  const script = Object.entries(preset.targets)
    .map(([heater, target]) => targetScript(heater, target))
    .join('\n');
  return rpc.call('printer.gcode.script', { script });
}
