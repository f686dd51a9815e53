// One signal per printer object (Klipper's names and fields), fed by the status subscription in one batch.
import { batch, computed, type Signal, signal } from '@preact/signals';

export type ObjectStatus = Record<string, unknown>;

const objects = new Map<string, Signal<ObjectStatus | undefined>>();

/** Every object the printer offers (printer.objects.list), for the subscription and the macro list. */
export const objectNames = signal<string[]>([]);

/**
 * Objects only subscribed to while something on screen reads them (ARCHITECTURE §4): they change at the
 * subscription's full rate while the toolhead moves.
 */
export const LAZY_OBJECTS: ReadonlySet<string> = new Set(['motion_report']);
/** Lazy objects some view currently reads; the session re-subscribes when this changes. */
export const watchedLazy = signal<ReadonlySet<string>>(new Set());

function setWatched(name: string, on: boolean): void {
  const next = new Set(watchedLazy.peek());
  if (on) next.add(name);
  else next.delete(name);
  watchedLazy.value = next;
}

export function printerObject<T extends ObjectStatus = ObjectStatus>(name: string): Signal<T | undefined> {
  let found = objects.get(name);
  if (!found) {
    const lazy = LAZY_OBJECTS.has(name);
    found = signal<ObjectStatus | undefined>(undefined, {
      // Deferred: these run while a render subscribes, where writing another signal is not allowed.
      watched: lazy ? () => queueMicrotask(() => setWatched(name, true)) : undefined,
      unwatched: lazy ? () => queueMicrotask(() => setWatched(name, false)) : undefined,
    });
    objects.set(name, found);
  }
  return found as Signal<T | undefined>;
}

/** A subscribe answer: the whole state of the listed objects. */
export function applySnapshot(status: Record<string, ObjectStatus>): void {
  batch(() => {
    for (const [name, fields] of Object.entries(status)) printerObject(name).value = { ...fields };
  });
}

/** notify_status_update: only the changed fields; a field's value always comes whole. */
export function applyDelta(delta: Record<string, ObjectStatus>): void {
  batch(() => {
    for (const [name, fields] of Object.entries(delta)) {
      const target = printerObject(name);
      target.value = { ...(target.peek() ?? {}), ...fields };
    }
  });
}

// --- typed views of the objects the UI reads ---------------------------------------------------

export interface HeaterStatus extends ObjectStatus {
  temperature: number;
  target: number;
  power?: number;
  can_extrude?: boolean;
}

export interface Webhooks extends ObjectStatus {
  state: 'startup' | 'ready' | 'error' | 'shutdown';
  state_message: string;
}

export interface PrintStats extends ObjectStatus {
  filename: string;
  state: 'standby' | 'printing' | 'paused' | 'complete' | 'cancelled' | 'error';
  message: string;
  print_duration: number;
  total_duration: number;
  filament_used: number;
  info?: { total_layer: number | null; current_layer: number | null };
}

export interface Toolhead extends ObjectStatus {
  homed_axes: string;
  position: number[];
  axis_minimum: number[];
  axis_maximum: number[];
  max_velocity: number;
}

export interface GcodeMove extends ObjectStatus {
  speed_factor: number;
  extrude_factor: number;
  homing_origin: number[];
  gcode_position: number[];
  absolute_coordinates: boolean;
}

export const webhooks = printerObject<Webhooks>('webhooks');
export const printStats = printerObject<PrintStats>('print_stats');
export const virtualSdcard = printerObject<{ progress: number; is_active: boolean; file_position: number }>(
  'virtual_sdcard',
);
export const displayStatus = printerObject<{ progress: number; message: string | null }>('display_status');
export const toolhead = printerObject<Toolhead>('toolhead');
export const gcodeMove = printerObject<GcodeMove>('gcode_move');
export const fan = printerObject<{ speed: number; rpm: number | null }>('fan');
export const heaters = printerObject<{ available_heaters: string[]; available_sensors: string[] }>('heaters');
export const configfile = printerObject<{ settings: Record<string, Record<string, unknown>> }>('configfile');

export const klippyState = computed(() => webhooks.value?.state ?? 'startup');
export const printerReady = computed(() => klippyState.value === 'ready');

/** Heaters first in Klipper's order (extruders, bed, others), then sensors that are not heaters. */
export const heaterNames = computed(() => heaters.value?.available_heaters ?? ['extruder', 'heater_bed']);
export const sensorNames = computed(() => {
  const list = heaters.value?.available_sensors ?? [];
  const heating = new Set(heaterNames.value);
  return list.filter((name) => !heating.has(name));
});

/** `gcode_macro NAME` objects the user can click; `_HIDDEN` ones and the print-control macros are left out. */
export const macros = computed(() =>
  objectNames.value
    .filter((name) => name.startsWith('gcode_macro '))
    .map((name) => name.slice('gcode_macro '.length))
    .filter(
      (name) => !name.startsWith('_') && !['PAUSE', 'RESUME', 'CANCEL_PRINT'].includes(name.toUpperCase()),
    )
    .sort(),
);

export function macroDescription(name: string): string {
  const section = configfile.value?.settings?.[`gcode_macro ${name.toLowerCase()}`];
  const description = section?.description;
  return typeof description === 'string' ? description : '';
}

/** `extruder` → `Extruder`, `heater_bed` → `Bed`, `heater_generic chamber` → `Chamber`. */
export function heaterLabel(name: string): string {
  if (name === 'heater_bed') return 'Bed';
  const extruder = /^extruder(\d*)$/.exec(name);
  if (extruder) return extruder[1] ? `Extruder ${extruder[1]}` : 'Extruder';
  const last = name.split(' ').pop() ?? name;
  return last.charAt(0).toUpperCase() + last.slice(1).replace(/_/g, ' ');
}
