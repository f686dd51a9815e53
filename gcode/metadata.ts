// Slicer metadata from a G-code file's first and last MiB, with Moonraker's field names and parsing rules.

import { utf8ByteLength } from './bytes.ts';

/** Moonraker reads this much from each end of a file; pass that much to `extractMetadata`. */
export const METADATA_READ_SIZE = 1024 * 1024;

/**
 * `server.files.metadata` fields a G-code file itself can provide, spelled as Moonraker spells them.
 * Numbers are numbers; a field the file does not state, or states in a form that does not parse, is
 * absent. The server adds `size`, `modified`, `uuid`, `file_processors`, `thumbnails`, `job_id`,
 * `print_start_time` and `filename`.
 */
export interface GcodeMetadata {
  /** `PrusaSlicer`, `SuperSlicer`, `OrcaSlicer`, `BambuStudio`, `Cura`, `IdeaMaker`, `Simplify3D`... */
  slicer?: string;
  slicer_version?: string;
  /** Byte offset of the first G or M command line. */
  gcode_start_byte?: number;
  /** Byte offset just past the last G or M command line (and its newline). */
  gcode_end_byte?: number;
  layer_count?: number;
  /** mm */
  object_height?: number;
  /** seconds */
  estimated_time?: number;
  /** mm */
  nozzle_diameter?: number;
  /** mm */
  layer_height?: number;
  /** mm */
  first_layer_height?: number;
  /** °C */
  first_layer_extr_temp?: number;
  /** °C */
  first_layer_bed_temp?: number;
  /** °C */
  chamber_temp?: number;
  /** One name, or a JSON array in a string when the file names several (Moonraker does the same). */
  filament_name?: string;
  /** One type, or a JSON array in a string when the file names several (Moonraker does the same). */
  filament_type?: string;
  filament_colors?: string[];
  extruder_colors?: string[];
  filament_temps?: number[];
  /** mm, all extruders together */
  filament_total?: number;
  /** g, all extruders together */
  filament_weight_total?: number;
  /** g per extruder */
  filament_weights?: number[];
  filament_change_count?: number;
  referenced_tools?: number[];
  mmu_print?: number;
  printer_vendor?: string;
  printer_model?: string;
  printer_variant?: string;
  profile_version?: string;
}

type Family = 'prusa' | 'bambu' | 'cura' | 'simplify3d' | 'ideamaker' | 'unknown';

interface Identity {
  family: Family;
  slicer?: string;
  version?: string;
}

/** Comment lines of one region, split into `; key = value`, `;key:value` and `;   key,value` forms. */
class CommentIndex {
  readonly equals = new Map<string, string>();
  readonly colon = new Map<string, string>();
  readonly comma = new Map<string, string>();

  constructor(readonly text: string) {
    let start = 0;
    const n = text.length;
    while (start < n) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = n;
      let i = start;
      while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
      if (i < end && text.charCodeAt(i) === 59) this.add(text.slice(i + 1, end));
      start = end + 1;
    }
  }

  private add(body: string): void {
    const eq = body.indexOf(' = ');
    const colon = body.indexOf(':');
    if (eq > 0 && (colon < 0 || eq < colon)) {
      const key = body.slice(0, eq).trim();
      if (key.length > 0 && !this.equals.has(key)) this.equals.set(key, body.slice(eq + 3).trim());
      return;
    }
    if (colon > 0 && colon <= 64) {
      const key = body.slice(0, colon).trim();
      if (key.length > 0 && !this.colon.has(key)) this.colon.set(key, body.slice(colon + 1).trim());
      return;
    }
    const comma = body.indexOf(',');
    if (comma > 0 && comma <= 64) {
      const key = body.slice(0, comma).trim();
      if (/^\w+$/.test(key) && !this.comma.has(key)) this.comma.set(key, body.slice(comma + 1).trim());
    }
  }
}

const NUMBER = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/;
const NUMBERS = /-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/g;

/** The first number in a value (`0.4,0.4` → 0.4, `1.23m` → 1.23); undefined when there is none. */
function firstNumber(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = NUMBER.exec(value);
  if (!m) return undefined;
  const n = Number(m[0]);
  return Number.isFinite(n) ? n : undefined;
}

function allNumbers(value: string | undefined): number[] {
  if (value === undefined) return [];
  const out: number[] = [];
  for (const m of value.matchAll(NUMBERS)) {
    const n = Number(m[0]);
    if (Number.isFinite(n)) out.push(n);
  }
  return out;
}

function sum(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  let total = 0;
  for (const v of values) total += v;
  return round(total, 6);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Moonraker's list splitting for PrusaSlicer config values: items separated by `,` or `;`, each may be
 * double-quoted (`"Generic PETG";"Generic PETG"`), empty items dropped.
 */
function splitList(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const out: string[] = [];
  const item = /\s*"((?:\\"|[^"])*)"\s*|[^,;]+/g;
  for (const m of value.matchAll(item)) {
    const text = m[1] !== undefined ? m[1].replace(/\\"/g, '"').trim() : m[0].trim();
    if (text !== '') out.push(text);
  }
  return out;
}

/** One item as itself; several as Moonraker's `json.dumps(list)` text (`["PLA", "PETG"]`). */
function oneOrJson(items: string[] | undefined): string | undefined {
  if (!items || items.length === 0) return undefined;
  if (items.length === 1) return items[0];
  return `[${items.map((s) => JSON.stringify(s)).join(', ')}]`;
}

function integers(items: string[] | undefined): number[] | undefined {
  if (!items) return undefined;
  const out: number[] = [];
  for (const s of items) {
    if (!/^-?\d+$/.test(s)) return undefined;
    out.push(Number(s));
  }
  return out;
}

/** `1d 2h 3m 4s`, any part optional, as PrusaSlicer, Orca and Bambu Studio print durations. */
function parseDhms(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let total = 0;
  let found = false;
  for (const [re, mult] of [
    [/(\d+)d/, 86400],
    [/(\d+)h/, 3600],
    [/(\d+)m(?!s)/, 60],
    [/(\d+)s/, 1],
  ] as const) {
    const m = re.exec(text);
    if (m) {
      total += Number(m[1]) * mult;
      found = true;
    }
  }
  return found ? total : undefined;
}

function identify(head: string): Identity {
  let m = /; generated by (.+?) on \d{4}-\d{2}-\d{2} at \d{2}:\d{2}:\d{2}/.exec(head);
  if (m?.[1]) {
    const full = m[1];
    const space = full.lastIndexOf(' ');
    const name = space < 0 ? full : full.slice(0, space);
    const version = space < 0 ? '?' : full.slice(space + 1);
    if (/^Slic3r Prusa Edition$/i.test(name)) return { family: 'prusa', slicer: 'Slic3r PE', version };
    return { family: 'prusa', slicer: name, version };
  }
  m = /(PrusaSlicer|SuperSlicer|OrcaSlicer|MomentSlicer|SliCR-3D|A3dp-Slicer|QIDISlicer)\s(.*)\son/.exec(
    head,
  );
  if (m) return { family: 'prusa', slicer: m[1], version: m[2] };
  m = /Slic3r\sPrusa\sEdition\s(.*)\son/.exec(head);
  if (m) return { family: 'prusa', slicer: 'Slic3r PE', version: m[1] };
  m = /Slic3r\s(\d.*)\son/.exec(head);
  if (m) return { family: 'prusa', slicer: 'Slic3r', version: m[1] };
  m = /; BambuStudio[^ \n]* ([^\n]+)/.exec(head);
  if (m) return { family: 'bambu', slicer: 'BambuStudio', version: m[1]?.trim() };
  m = /;GENERATOR\.NAME:\s*Cura_SteamEngine/.exec(head);
  if (m) {
    const v = /;GENERATOR\.VERSION:\s*(\S+)/.exec(head);
    return { family: 'cura', slicer: 'Cura', version: v?.[1] ?? '?' };
  }
  m = /Cura_SteamEngine\s(.*)/.exec(head);
  if (m) return { family: 'cura', slicer: 'Cura', version: m[1]?.trim() };
  m = /Simplify3D\(R\)\sVersion\s(.*)/.exec(head);
  if (m) return { family: 'simplify3d', slicer: 'Simplify3D', version: m[1]?.trim() };
  m = /\sideaMaker\s(.*?),/.exec(head);
  if (m) return { family: 'ideamaker', slicer: 'IdeaMaker', version: m[1] };
  return { family: 'unknown' };
}

function byteOffsets(
  head: string,
  tail: string,
  fileSize: number,
): Pick<GcodeMetadata, 'gcode_start_byte' | 'gcode_end_byte'> {
  const out: Pick<GcodeMetadata, 'gcode_start_byte' | 'gcode_end_byte'> = {};
  const first = /^[GMgm]\d+(?:[\s;*]|$)/m.exec(head);
  if (first) out.gcode_start_byte = utf8ByteLength(head, 0, first.index);
  // Walk the tail's lines backwards to the last command line; `end` is just past a line's newline.
  let end = tail.length;
  while (end > 0) {
    const lineEnd = tail.charCodeAt(end - 1) === 10 ? end - 1 : end;
    const start = lineEnd === 0 ? 0 : tail.lastIndexOf('\n', lineEnd - 1) + 1;
    const c = tail.charCodeAt(start);
    const d = tail.charCodeAt(start + 1);
    if ((c === 71 || c === 77 || c === 103 || c === 109) && d >= 48 && d <= 57) {
      out.gcode_end_byte = fileSize - utf8ByteLength(tail, end);
      break;
    }
    end = start;
  }
  return out;
}

function maxOf(values: number[]): number | undefined {
  return values.length > 0 ? Math.max(...values) : undefined;
}

function minOf(values: number[]): number | undefined {
  return values.length > 0 ? Math.min(...values) : undefined;
}

function matchNumbers(re: RegExp, text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(re)) {
    const n = Number(m[1]);
    if (Number.isFinite(n)) out.push(n);
  }
  return out;
}

const G1_Z = /G1\sZ(\d*\.?\d+)\s/g;

/** Returns the value when it is a finite number, for optional assignment. */
function set<K extends keyof GcodeMetadata>(
  meta: GcodeMetadata,
  key: K,
  value: GcodeMetadata[K] | undefined,
) {
  if (value === undefined) return;
  if (typeof value === 'number' && !Number.isFinite(value)) return;
  meta[key] = value;
}

/** PrusaSlicer and its forks (SuperSlicer, OrcaSlicer, QIDISlicer...): the config block in the footer. */
function prusaFamily(meta: GcodeMetadata, head: CommentIndex, tail: CommentIndex): void {
  const cfg = (key: string) => tail.equals.get(key) ?? head.equals.get(key);
  const header = (key: string) => head.colon.get(key) ?? tail.colon.get(key);

  const layerHeight = firstNumber(cfg('layer_height'));
  set(meta, 'layer_height', layerHeight);
  const first = cfg('first_layer_height');
  if (first?.trim().endsWith('%')) {
    const pct = firstNumber(first);
    if (pct !== undefined && layerHeight !== undefined) {
      set(meta, 'first_layer_height', round((pct / 100) * layerHeight, 6));
    }
  } else {
    set(meta, 'first_layer_height', firstNumber(first ?? cfg('initial_layer_print_height')));
  }

  const time =
    tail.text.match(/;\sestimated\sprinting\stime.*/)?.[0] ??
    head.text.match(/;\sestimated\sprinting\stime.*/)?.[0];
  set(meta, 'estimated_time', parseDhms(time?.slice(time.indexOf('=') + 1)) ?? bambuTime(head));

  set(
    meta,
    'filament_total',
    sum(allNumbers(cfg('filament used [mm]'))) ?? sum(allNumbers(header('total filament length [mm]'))),
  );
  const weights = allNumbers(cfg('filament used [g]'));
  if (weights.length > 0) meta.filament_weights = weights;
  set(meta, 'filament_weight_total', firstNumber(cfg('total filament used [g]')) ?? sum(weights));
  set(meta, 'filament_type', oneOrJson(splitList(cfg('filament_type'))));
  set(meta, 'filament_name', oneOrJson(splitList(cfg('filament_settings_id'))));
  set(meta, 'filament_colors', splitList(cfg('filament_colour')));
  set(meta, 'extruder_colors', splitList(cfg('extruder_colour')));
  set(meta, 'filament_temps', integers(splitList(cfg('temperature') ?? cfg('nozzle_temperature'))));
  set(meta, 'referenced_tools', integers(splitList(cfg('referenced_tools'))));
  set(meta, 'mmu_print', firstNumber(cfg('single_extruder_multi_material')));
  set(
    meta,
    'first_layer_extr_temp',
    firstNumber(cfg('first_layer_temperature') ?? cfg('nozzle_temperature_initial_layer')),
  );
  set(meta, 'first_layer_bed_temp', firstNumber(cfg('first_layer_bed_temperature')) ?? plateTemp(cfg));
  set(meta, 'chamber_temp', firstNumber(cfg('chamber_temperature') ?? cfg('chamber_temperatures')));
  set(meta, 'nozzle_diameter', firstNumber(cfg('nozzle_diameter')));
  set(meta, 'layer_count', firstNumber(cfg('total layers count') ?? header('total layer number')));
  set(meta, 'filament_change_count', firstNumber(cfg('total toolchanges') ?? cfg('total filament change')));
  set(meta, 'object_height', prusaObjectHeight(head, tail));
  for (const key of ['printer_vendor', 'printer_model', 'printer_variant', 'profile_version'] as const) {
    const v = cfg(key);
    if (v !== undefined && v !== '') meta[key] = v.replace(/^"|"$/g, '');
  }
}

/** Orca and Bambu Studio keep one bed temperature per plate type, chosen by `curr_bed_type`. */
function plateTemp(cfg: (key: string) => string | undefined): number | undefined {
  const plates: Record<string, string> = {
    'cool plate': 'cool_plate_temp_initial_layer',
    'engineering plate': 'eng_plate_temp_initial_layer',
    'high temp plate': 'hot_plate_temp_initial_layer',
    'textured pei plate': 'textured_plate_temp_initial_layer',
    'supertack plate': 'supertack_plate_temp_initial_layer',
    'textured cool plate': 'textured_cool_plate_temp_initial_layer',
  };
  const bed = cfg('curr_bed_type')?.toLowerCase();
  const key = bed !== undefined ? plates[bed] : undefined;
  return (
    firstNumber(key !== undefined ? cfg(key) : undefined) ??
    firstNumber(cfg('bed_temperature_initial_layer_single')) ??
    firstNumber(cfg('hot_plate_temp_initial_layer'))
  );
}

/** `; model printing time: 4m 54s; total estimated time: 10m 22s` (Bambu Studio and Orca headers). */
function bambuTime(head: CommentIndex): number | undefined {
  const line = head.colon.get('model printing time');
  if (line === undefined) return undefined;
  const total = /total estimated time:\s*([^;]+)/.exec(line);
  return parseDhms(total?.[1] ?? line);
}

function prusaObjectHeight(head: CommentIndex, tail: CommentIndex): number | undefined {
  const maxZ = firstNumber(head.colon.get('max_z_height') ?? tail.colon.get('max_z_height'));
  if (maxZ !== undefined) return maxZ;
  const before = matchNumbers(/;BEFORE_LAYER_CHANGE\r?\n(?:.*\n)?;(\d+\.?\d*)/g, tail.text);
  if (before.length > 0) return maxOf(before);
  const zHints = matchNumbers(/^;Z:(\d*\.?\d+)/gm, tail.text);
  if (zHints.length > 0) return maxOf(zHints);
  return maxOf(matchNumbers(/G1\sZ(\d*\.?\d+)\sF/g, tail.text));
}

/** Bambu Studio: the header block and the config block are both at the top of the file. */
function bambu(meta: GcodeMetadata, head: CommentIndex, tail: CommentIndex): void {
  const cfg = (key: string) => head.equals.get(key) ?? tail.equals.get(key);
  const header = (key: string) => head.colon.get(key) ?? tail.colon.get(key);
  prusaFamily(meta, head, tail);
  set(meta, 'layer_height', firstNumber(cfg('layer_height')));
  set(meta, 'first_layer_height', firstNumber(cfg('initial_layer_print_height')));
  set(meta, 'object_height', firstNumber(header('max_z_height')));
  const length = sum(allNumbers(header('total filament length [mm]')));
  set(meta, 'filament_total', length);
  const weights = allNumbers(header('total filament weight [g]'));
  if (weights.length > 0) {
    meta.filament_weight_total = sum(weights);
    if (weights.length > 1) meta.filament_weights = weights;
    else delete meta.filament_weights;
  }
  set(meta, 'first_layer_extr_temp', firstNumber(cfg('nozzle_temperature_initial_layer')));
  set(meta, 'first_layer_bed_temp', plateTemp(cfg));
  set(meta, 'chamber_temp', firstNumber(cfg('chamber_temperatures')));
  set(meta, 'layer_count', firstNumber(header('total layer number')));
  set(meta, 'estimated_time', bambuTime(head));
}

/** Cura's header (`;TIME:`, `;Filament used:`, `;MINZ:`...), or the Griffin header's `PRINT.*` keys. */
function cura(meta: GcodeMetadata, head: CommentIndex): void {
  const key = (k: string) => head.colon.get(k);
  const text = head.text;
  // The CuraEngine CLI writes placeholders that only Cura's front end replaces: ;TIME:6666,
  // ;Filament used: 0m and ;MINX:2.14748e+06 (shared/notes/slicing.md, finding 2).
  const placeholders = key('TIME') === '6666' && /^0(\.0*)?m$/.test(key('Filament used') ?? '');
  const sane = (v: number | undefined) => (v !== undefined && Math.abs(v) < 1e5 ? v : undefined);
  const minZ = sane(firstNumber(key('MINZ') ?? key('PRINT.SIZE.MIN.Z')));
  const maxZ = sane(firstNumber(key('MAXZ') ?? key('PRINT.SIZE.MAX.Z')));
  if (minZ !== undefined && (maxZ === undefined || minZ <= maxZ)) set(meta, 'first_layer_height', minZ);
  if (maxZ !== undefined && (minZ === undefined || minZ <= maxZ)) set(meta, 'object_height', maxZ);
  set(meta, 'layer_height', firstNumber(key('Layer height')));
  if (!placeholders) {
    const used = key('Filament used');
    const metres = allNumbers(used);
    if (metres.length > 0) meta.filament_total = round(metres.reduce((a, b) => a + b, 0) * 1000, 6);
    set(
      meta,
      'estimated_time',
      maxOf(matchNumbers(/;TIME:(\d*\.?\d+)/g, text)) ?? firstNumber(key('PRINT.TIME')),
    );
  }
  const weights = /;Filament\sweight\s=\s\[(.*)\]/.exec(text);
  if (weights?.[1] !== undefined) {
    const w = allNumbers(weights[1]);
    if (w.length > 0) {
      meta.filament_weights = w;
      set(meta, 'filament_weight_total', sum(w));
    }
  }
  set(meta, 'filament_type', head.equals.get('Filament type')?.replace(/^"|"$/g, ''));
  set(meta, 'filament_name', head.equals.get('Filament name')?.replace(/^"|"$/g, ''));
  set(
    meta,
    'first_layer_extr_temp',
    firstNumber(/M109 S(\d*\.?\d+)/.exec(text)?.[1]) ??
      firstNumber(key('EXTRUDER_TRAIN.0.INITIAL_TEMPERATURE')),
  );
  set(
    meta,
    'first_layer_bed_temp',
    firstNumber(/M190 S(\d*\.?\d+)/.exec(text)?.[1]) ?? firstNumber(key('BUILD_PLATE.INITIAL_TEMPERATURE')),
  );
  set(meta, 'chamber_temp', firstNumber(/M191 S(\d*\.?\d+)/.exec(text)?.[1]));
  set(meta, 'layer_count', firstNumber(key('LAYER_COUNT')));
  set(
    meta,
    'nozzle_diameter',
    firstNumber(head.equals.get('Nozzle diameter')) ?? firstNumber(key('EXTRUDER_TRAIN.0.NOZZLE.DIAMETER')),
  );
}

function simplify3d(meta: GcodeMetadata, version: string, head: CommentIndex, tail: CommentIndex): void {
  const h = head.text;
  const t = tail.text;
  set(meta, 'first_layer_height', minOf(matchNumbers(G1_Z, h)));
  set(meta, 'layer_height', firstNumber(head.comma.get('layerHeight')));
  set(meta, 'object_height', maxOf(matchNumbers(G1_Z, t)));
  set(
    meta,
    'filament_total',
    firstNumber(/;\s+(?:Filament\slength|Material\sLength):\s(\d*\.?\d+)\smm/.exec(t)?.[1]),
  );
  set(
    meta,
    'filament_weight_total',
    firstNumber(/;\s+(?:Plastic\sweight|Material\sWeight):\s(\d*\.?\d+)\sg/.exec(t)?.[1]),
  );
  set(meta, 'filament_name', head.comma.get('printMaterial'));
  set(
    meta,
    'filament_type',
    tail.comma.get('makerBotModelMaterial') ?? head.comma.get('makerBotModelMaterial'),
  );
  const build = /;\s+Build (?:t|T)ime:.*/.exec(t)?.[0];
  if (build !== undefined) {
    let total = 0;
    for (const [re, mult] of [
      [/(\d+)\shours?/, 3600],
      [/(\d+)\smin/, 60],
      [/(\d+)\ssec/, 1],
    ] as const) {
      const m = re.exec(build);
      if (m) total += Number(m[1]) * mult;
    }
    meta.estimated_time = total;
  }
  if (version.startsWith('5')) {
    const temp = (type: string) =>
      firstNumber(
        new RegExp(
          `;\\s+temperatureController,.+?;\\s+temperatureType,${type}.+?;\\s+temperatureSetpoints,\\d+\\|(\\d+)`,
          's',
        ).exec(h)?.[1],
      );
    set(meta, 'first_layer_extr_temp', temp('extruder'));
    set(meta, 'first_layer_bed_temp', temp('platform'));
  } else {
    const names = (head.comma.get('temperatureName') ?? '').split(',');
    const temps = (head.comma.get('temperatureSetpointTemperatures') ?? '').split(',');
    const of = (heater: string) => {
      const i = names.indexOf(heater);
      return i < 0 ? undefined : firstNumber(temps[i]);
    };
    set(meta, 'first_layer_extr_temp', of('Extruder 1'));
    set(meta, 'first_layer_bed_temp', of('Heated Bed'));
  }
  set(
    meta,
    'nozzle_diameter',
    firstNumber(head.comma.get('extruderDiameter') ?? head.comma.get('nozzleDiameter')),
  );
}

function ideaMaker(meta: GcodeMetadata, head: CommentIndex, tail: CommentIndex): void {
  const h = head.text;
  set(meta, 'first_layer_height', firstNumber(/;LAYER:0\s*.*\s*;HEIGHT:(\d*\.?\d+)/.exec(h)?.[1]));
  set(meta, 'layer_height', firstNumber(/;LAYER:1\s*.*\s*;HEIGHT:(\d*\.?\d+)/.exec(h)?.[1]));
  // `;Bounding Box: xmin xmax ymin ymax zmin zmax`: the last number is the height.
  const box = allNumbers(head.colon.get('Bounding Box'));
  if (box.length > 0) meta.object_height = box[box.length - 1] as number;
  const lengths = matchNumbers(/;Material.\d\sUsed:\s+(\d*\.?\d+)/g, tail.text);
  set(meta, 'filament_total', sum(lengths));
  set(
    meta,
    'filament_type',
    /;Filament\sType\s.\d:\s(.*)/.exec(h)?.[1]?.trim() ?? head.equals.get('Filament type'),
  );
  set(
    meta,
    'filament_name',
    /;Filament\sName\s.\d:\s(.*)/.exec(h)?.[1]?.trim() ?? head.equals.get('Filament name'),
  );
  const diameters = matchNumbers(/;Filament\sDiameter\s.\d:\s+(\d*\.?\d+)/g, h);
  const densities = matchNumbers(/;Filament\sDensity\s.\d:\s+(\d*\.?\d+)/g, h);
  if (lengths.length > 0 && lengths.length === diameters.length && lengths.length === densities.length) {
    // m = π/4 · d² · l · ρ, with ρ in g/cm³ and lengths in mm.
    let grams = 0;
    lengths.forEach((l, i) => {
      grams += (Math.PI / 4) * (diameters[i] as number) ** 2 * l * ((densities[i] as number) / 1000);
    });
    meta.filament_weight_total = round(grams, 6);
  }
  set(meta, 'estimated_time', firstNumber(tail.colon.get('Print Time')));
  set(meta, 'first_layer_extr_temp', firstNumber(/M109 T0 S(\d*\.?\d+)/.exec(h)?.[1]));
  set(meta, 'first_layer_bed_temp', firstNumber(/M190 S(\d*\.?\d+)/.exec(h)?.[1]));
  set(meta, 'chamber_temp', firstNumber(/M191 S(\d*\.?\d+)/.exec(h)?.[1]));
  // `;Dimension: width depth height nozzle nozzle`
  const dims = allNumbers(head.colon.get('Dimension'));
  set(meta, 'nozzle_diameter', dims[3]);
}

function unknown(meta: GcodeMetadata, head: string, tail: string): void {
  set(meta, 'first_layer_height', minOf(matchNumbers(G1_Z, head)));
  set(meta, 'object_height', maxOf(matchNumbers(G1_Z, tail)));
  set(meta, 'first_layer_extr_temp', firstNumber(/M109 S(\d*\.?\d+)/.exec(head)?.[1]));
  set(meta, 'first_layer_bed_temp', firstNumber(/M190 S(\d*\.?\d+)/.exec(head)?.[1]));
  set(meta, 'chamber_temp', firstNumber(/M191 S(\d*\.?\d+)/.exec(head)?.[1]));
}

/**
 * Moonraker's metadata for a G-code file, from its decoded first and last `METADATA_READ_SIZE` bytes.
 * `tail` may overlap `head`, or be '' when `head` holds the whole file; `fileSize` is in bytes. Never
 * throws: a file with no recognisable slicer gets the unknown-slicer fields (first-layer and object
 * height from `G1 Z`, temperatures from M109/M190/M191).
 */
export function extractMetadata(head: string, tail: string, fileSize: number): GcodeMetadata {
  const meta: GcodeMetadata = {};
  const tailText = tail === '' ? head : tail;
  const id = identify(head);
  if (id.slicer !== undefined) meta.slicer = id.slicer;
  if (id.version !== undefined) meta.slicer_version = id.version;
  Object.assign(meta, byteOffsets(head, tailText, fileSize));
  const headIndex = new CommentIndex(head);
  const tailIndex = tailText === head ? headIndex : new CommentIndex(tailText);
  switch (id.family) {
    case 'prusa':
      prusaFamily(meta, headIndex, tailIndex);
      break;
    case 'bambu':
      bambu(meta, headIndex, tailIndex);
      break;
    case 'cura':
      cura(meta, headIndex);
      break;
    case 'simplify3d':
      simplify3d(meta, id.version ?? '', headIndex, tailIndex);
      break;
    case 'ideamaker':
      ideaMaker(meta, headIndex, tailIndex);
      break;
    default:
      unknown(meta, head, tailText);
  }
  return meta;
}
