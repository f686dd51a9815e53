// Object labels in sliced G-code (Klipper's EXCLUDE_OBJECT_*, PrusaSlicer/Orca comments, Cura ;MESH:, M486),
// normalised to Klipper's upper-case names so the UI's EXCLUDE_OBJECT NAME=... matches whatever the slicer wrote.
import type { GcodeLine } from '../../gcode/line.ts';

/** One entry of `exclude_object.objects`; center and polygon only when the file gave them. */
export interface LabelledObject {
  name: string;
  center?: [number, number];
  polygon?: [number, number][];
}

/** How a file marks its objects; a file is read in the first style it uses (as gcode/analysis.ts does). */
export type LabelStyle = 'exclude_object' | 'label' | 'label_id' | 'mesh' | 'm486' | 'printing';

export type ObjectEvent =
  | { kind: 'define'; style: LabelStyle; object: LabelledObject }
  | { kind: 'start'; style: LabelStyle; name: string }
  | { kind: 'end'; style: LabelStyle };

/**
 * Klipper upper-cases object names. Slicer labels first get each run of non-word characters replaced by
 * `_` (Moonraker's preprocessor, and the file manager's object ids), so "cube.stl id:0 copy 0" becomes
 * "CUBE_STL_ID_0_COPY_0".
 */
export function objectName(raw: string, style: LabelStyle = 'exclude_object'): string {
  const trimmed = raw.trim();
  if (style === 'exclude_object') return trimmed.toUpperCase();
  const cleaned = trimmed.replace(/\W+/g, '_').replace(/^_+|_+$/g, '');
  return (cleaned === '' ? trimmed : cleaned).toUpperCase();
}

const PRUSA_START = /^printing object (.+)$/i;
const PRUSA_STOP = /^stop printing object\b/i;
const ORCA_START = /^start printing object, unique label id: ?(\S+)/i;
const ORCA_STOP = /^stop printing object, unique label id/i;
const CURA_MESH = /^MESH:(.*)$/;
const CURA_LAYER = /^LAYER:-?\d+/;
const IDEAMAKER_START = /^PRINTING:\s*(.+)$/;
const IDEAMAKER_STOP = /^PRINTING_ID:\s*-1\b/;

/** The object event a line carries, if any. Extended commands come first, then M486, then comments. */
export function objectEventOf(line: GcodeLine): ObjectEvent | null {
  const command = line.command;
  if (command === 'EXCLUDE_OBJECT_DEFINE') {
    const name = line.params.NAME;
    if (typeof name !== 'string' || name === '') return null;
    return {
      kind: 'define',
      style: 'exclude_object',
      object: parseDefinition(objectName(name), line.params),
    };
  }
  if (command === 'EXCLUDE_OBJECT_START') {
    const name = line.params.NAME;
    return typeof name === 'string' && name !== ''
      ? { kind: 'start', style: 'exclude_object', name: objectName(name) }
      : null;
  }
  if (command === 'EXCLUDE_OBJECT_END') return { kind: 'end', style: 'exclude_object' };
  if (command === 'M486') {
    const s = line.params.S;
    if (typeof s !== 'number') return null;
    if (s < 0) return { kind: 'end', style: 'm486' };
    return { kind: 'start', style: 'm486', name: `M486_${s}` };
  }
  if (command || line.comment === undefined) return null;
  const comment = line.comment;
  // The Bambu/Orca forms start with the same words as PrusaSlicer's, so they are tried first.
  const orca = ORCA_START.exec(comment);
  if (orca) return { kind: 'start', style: 'label_id', name: objectName(orca[1]!, 'label_id') };
  if (ORCA_STOP.test(comment)) return { kind: 'end', style: 'label_id' };
  if (PRUSA_STOP.test(comment)) return { kind: 'end', style: 'label' };
  const prusa = PRUSA_START.exec(comment);
  if (prusa) return { kind: 'start', style: 'label', name: objectName(prusa[1]!, 'label') };
  const mesh = CURA_MESH.exec(comment);
  if (mesh) {
    const name = mesh[1]!.trim();
    return name === 'NONMESH' || name === ''
      ? { kind: 'end', style: 'mesh' }
      : { kind: 'start', style: 'mesh', name: objectName(name, 'mesh') };
  }
  // Cura has no end marker: a new layer (its Z move included) starts outside every object.
  if (CURA_LAYER.test(comment)) return { kind: 'end', style: 'mesh' };
  if (IDEAMAKER_STOP.test(comment)) return { kind: 'end', style: 'printing' };
  const idea = IDEAMAKER_START.exec(comment);
  if (idea) return { kind: 'start', style: 'printing', name: objectName(idea[1]!, 'printing') };
  return null;
}

function parseDefinition(name: string, params: GcodeLine['params']): LabelledObject {
  const object: LabelledObject = { name };
  const center = typeof params.CENTER === 'string' ? params.CENTER.split(',').map(Number) : [];
  if (center.length === 2 && center.every(Number.isFinite)) object.center = [center[0]!, center[1]!];
  if (typeof params.POLYGON === 'string') {
    try {
      const polygon = JSON.parse(params.POLYGON) as unknown;
      if (
        Array.isArray(polygon) &&
        polygon.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number'))
      )
        object.polygon = polygon as [number, number][];
    } catch {
      // A polygon that is not JSON is left out, as Klipper would fail only the define.
    }
  }
  return object;
}

/** Known objects in definition order, the excluded ones, and which one the stream is in. */
export class ObjectRegistry {
  private readonly known = new Map<string, LabelledObject>();
  private readonly excluded: string[] = [];
  private style: LabelStyle | null = null;

  /** Whether the event is in the style this file uses; the first style seen is claimed. */
  accepts(event: ObjectEvent): boolean {
    this.style ??= event.style;
    return this.style === event.style;
  }

  define(object: LabelledObject): void {
    const existing = this.known.get(object.name);
    this.known.set(object.name, { ...existing, ...object });
  }

  /** Labels met in the stream without a definition still become known objects. */
  see(name: string): void {
    if (!this.known.has(name)) this.known.set(name, { name });
  }

  exclude(name: string): void {
    const normalised = name.trim().toUpperCase();
    if (!this.excluded.includes(normalised)) this.excluded.push(normalised);
  }

  include(name: string): void {
    const index = this.excluded.indexOf(name.trim().toUpperCase());
    if (index >= 0) this.excluded.splice(index, 1);
  }

  isExcluded(name: string | null): boolean {
    return name !== null && this.excluded.includes(name);
  }

  excludedNames(): string[] {
    return [...this.excluded];
  }

  objects(): LabelledObject[] {
    return [...this.known.values()].map((o) => structuredClone(o));
  }

  clear(): void {
    this.known.clear();
    this.excluded.length = 0;
    this.style = null;
  }
}
