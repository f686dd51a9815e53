// Brim's own streaming G-code analysis: layers with byte ranges, extents, filament, a trapezoid time estimate and objects.

import { isAscii, utf8ByteLength } from './bytes.ts';
import { parseLine } from './line.ts';
import type { GcodeMetadata } from './metadata.ts';

/** The printer's kinematic limits, Klipper's `[printer]` names in Brim's spelling. */
export interface MachineLimits {
  /** Toolhead speed limit, mm/s (Klipper `max_velocity`). */
  maxVelocity: number;
  /** Acceleration for printing and travel moves until M204 or SET_VELOCITY_LIMIT changes it, mm/s². */
  maxAccel: number;
  /** Klipper `square_corner_velocity`, mm/s; default 5. Ignored when `junctionDeviation` is set. */
  squareCornerVelocity?: number;
  /** Marlin junction deviation (`M205 J`), mm. When set, cornering uses it instead of the square corner velocity. */
  junctionDeviation?: number;
  /** mm/s; default `maxVelocity`. */
  maxZVelocity?: number;
  /** mm/s²; default `maxAccel`. */
  maxZAccel?: number;
  /** Speed limit of moves that only extrude or retract, mm/s; default 50. Also caps E during printing moves. */
  maxExtrudeOnlyVelocity?: number;
  /** Acceleration of moves that only extrude or retract, mm/s²; default 1000 (M204 R changes it). */
  maxExtrudeOnlyAccel?: number;
  /** Klipper's extruder `instantaneous_corner_velocity`, mm/s; default 1. */
  instantCornerVelocity?: number;
  /** Feed rate before the file sets one, mm/s; default 25. */
  defaultVelocity?: number;
}

/** Axis-aligned extents in mm. */
export interface BoundingBox {
  minX: number;
  minY: number;
  minZ: number;
  maxX: number;
  maxY: number;
  maxZ: number;
}

/**
 * One layer. Layers tile the file from the first layer's `startByte` to the end: each layer's
 * `endByte` is the next one's `startByte`, and the last one ends at the end of the file. Bytes before
 * `layers[0].startByte` are the start G-code.
 */
/**
 * What a reader needs to start at a layer's first byte and get the same moves as one that read the
 * file from the top: the toolhead and extruder positions and the G90/G91, M82/M83 modes in force there.
 */
export interface LayerEntry {
  x: number;
  y: number;
  z: number;
  /** Extruder position as G92 left it (absolute E files compare against it). */
  e: number;
  relativeXyz: boolean;
  relativeE: boolean;
}

export interface Layer {
  /** Z of the layer's extrusions, mm. */
  z: number;
  /** Thickness, mm: the slicer's `;HEIGHT:` hint when it gives one, else the step from the layer below. */
  height: number;
  /** Byte offset of the layer's first line. */
  startByte: number;
  /** Byte offset just past the layer's last line. */
  endByte: number;
  /** The machine state at `startByte`. */
  entry: LayerEntry;
}

/** A byte range `[start, end)` of the file. */
export interface ByteRange {
  start: number;
  end: number;
}

/** How the file marks its objects. */
export type ObjectLabelStyle =
  /** Klipper `EXCLUDE_OBJECT_DEFINE` / `EXCLUDE_OBJECT_START` / `EXCLUDE_OBJECT_END` (Orca, Prusa 2.6+, Cura plugins). */
  | 'exclude_object'
  /** `; printing object NAME` / `; stop printing object NAME` (PrusaSlicer, SuperSlicer, Orca). */
  | 'label'
  /** `; start printing object, unique label id: N` / `; stop printing object, unique label id: N` (Bambu Studio). */
  | 'label_id'
  /** `;MESH:NAME` until the next `;MESH:` (Cura; `;MESH:NONMESH` is travel between meshes). */
  | 'mesh'
  /** Marlin `M486 S<id>` ... `M486 S-1`, names from `M486 A`. */
  | 'm486'
  /** `;PRINTING: NAME` until `;PRINTING_ID: -1` or the next `;PRINTING:` (ideaMaker). */
  | 'printing';

export interface ObjectInfo {
  /** The name as the file writes it. */
  name: string;
  /**
   * Name for Klipper's `exclude_object` (`EXCLUDE_OBJECT NAME=`): the defined name for
   * `EXCLUDE_OBJECT_DEFINE` files, else the name with each run of non-word characters replaced by `_`
   * (Moonraker's object preprocessor does the same).
   */
  id: string;
  /** From `EXCLUDE_OBJECT_DEFINE CENTER=`, else the middle of `bbox`. */
  center?: [number, number];
  /** From `EXCLUDE_OBJECT_DEFINE POLYGON=`, else the corners of `bbox`. */
  polygon?: [number, number][];
  /** Extents of the object's extrusions. */
  bbox?: BoundingBox;
  /**
   * The object's sections, in file order: from the start of its start marker line to the end of its
   * end marker line (or the start of the next object's marker when the style has no end marker). A job
   * runner skips these to exclude the object, then restores the position and E the skipped moves leave.
   */
  ranges: ByteRange[];
}

export interface Analysis {
  /** Bytes and lines seen. */
  bytes: number;
  lines: number;
  /** Where layer boundaries came from: slicer comments (`;LAYER_CHANGE`, `;LAYER:`...), or Z changes. */
  layerSource: 'hints' | 'z';
  layers: Layer[];
  layerCount: number;
  firstLayerHeightMm?: number;
  /** Highest Z of an extrusion, mm. */
  objectHeightMm?: number;
  /** Extents of every extruding move. */
  bbox?: BoundingBox;
  /**
   * Filament pushed through the nozzle up to the last extruding move, mm: E deltas in absolute and
   * relative modes, across G92 resets. The retract after the last extrusion is not counted.
   */
  filamentTotalMm: number;
  /** Print time from the trapezoid motion model, seconds; dwells included, heating waits not. */
  estimatedTimeS: number;
  /** First hotend, bed and chamber targets set before the first extrusion (M109 preferred over M104). */
  firstLayerExtruderTemp?: number;
  firstLayerBedTemp?: number;
  chamberTemp?: number;
  /** Byte offset of the first G or M command line, and just past the last one. */
  gcodeStartByte?: number;
  gcodeEndByte?: number;
  objectLabels?: ObjectLabelStyle;
  objects: ObjectInfo[];
  /** Tools selected with `T<n>`. */
  tools: number[];
  /** G0-G3 lines. */
  moves: number;
}

export interface Analyser {
  /**
   * Feed the next piece of the file; pieces may split lines (or CR LF pairs) anywhere. Byte offsets
   * count UTF-8, so decode with `new TextDecoder('utf-8', { ignoreBOM: true })` and `{ stream: true }`
   * to keep a byte-order mark and characters split across reads.
   */
  push(chunk: string): void;
  /** Analyse what is left and return the result. Call once, after the last `push`. */
  finish(): Analysis;
}

// Character codes.
const CR = 13;
const SPACE = 32;
const TAB = 9;
const SEMI = 59;
const PAREN = 40;
const STAR = 42;
const DOT = 46;
const MINUS = 45;
const PLUS = 43;

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16];

/** Lookahead depth: moves are planned in batches and the first part of each batch committed. */
const PLAN_SIZE = 256;
const PLAN_COMMIT = 192;

const EPS = 1e-9;
const Z_EPS = 1e-5;

interface LayerBuild {
  z: number;
  heightHint: number;
  zHint: number;
  startByte: number;
  entry: LayerEntry;
  extruded: boolean;
}

interface ObjectBuild {
  name: string;
  id: string;
  center?: [number, number];
  polygon?: [number, number][];
  box: Float64Array;
  ranges: ByteRange[];
}

function emptyBox(): Float64Array {
  return new Float64Array([Infinity, Infinity, Infinity, -Infinity, -Infinity, -Infinity]);
}

function boxOf(b: Float64Array): BoundingBox | undefined {
  if (!(b[0]! <= b[3]!)) return undefined;
  const r = (v: number) => Math.round(v * 1e6) / 1e6;
  return { minX: r(b[0]!), minY: r(b[1]!), minZ: r(b[2]!), maxX: r(b[3]!), maxY: r(b[4]!), maxZ: r(b[5]!) };
}

function cleanId(name: string): string {
  return name.replace(/\W+/g, '_').replace(/^_+|_+$/g, '');
}

function roundMm(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

class GcodeAnalyser implements Analyser {
  // Input framing.
  private carry = '';
  private bytePos = 0;
  private lineBytes = 0;
  private lines = 0;

  // Machine state.
  private x = 0;
  private y = 0;
  private z = 0;
  /** The current move's target, set by beginMove(). */
  private tx = 0;
  private ty = 0;
  private tz = 0;
  private e = 0;
  private feed: number;
  private relXYZ = false;
  private relE = false;
  private speedFactor = 1;
  private printAccel: number;
  private travelAccel: number;
  private retractAccel: number;
  private readonly maxVel: number;
  private axisVel: Float64Array;
  private axisAccel: Float64Array;
  private scv: number;
  private jd: number;
  private readonly icv: number;

  // Words of the current line (NaN when absent).
  private wX = NaN;
  private wY = NaN;
  private wZ = NaN;
  private wE = NaN;
  private wF = NaN;
  private wI = NaN;
  private wJ = NaN;
  private wR = NaN;
  private wS = NaN;
  private wP = NaN;
  private wT = NaN;
  private wA = NaN;
  private numEnd = 0;

  // Results being built.
  private moves = 0;
  private net = 0;
  private filament = 0;
  private readonly box = emptyBox();
  private firstExtrusion = false;
  private m104 = NaN;
  private m109 = NaN;
  private m140 = NaN;
  private m190 = NaN;
  private chamber = NaN;
  private macroExtruder = NaN;
  private macroBed = NaN;
  private gcodeStart = -1;
  private gcodeEnd = -1;
  private readonly tools = new Set<number>();

  // Layers: one list from slicer hints and one from Z changes; finish() picks one.
  private readonly hintLayers: Layer[] = [];
  private hintOpen: LayerBuild | undefined;
  private readonly zLayers: Layer[] = [];
  private zOpen: LayerBuild | undefined;
  private lastZChangeByte = 0;
  /** The state just before the line at lastZChangeByte, where a layer found by Z may start. */
  private lastZChangeEntry: LayerEntry = {
    x: 0,
    y: 0,
    z: 0,
    e: 0,
    relativeXyz: false,
    relativeE: false,
  };

  // Objects.
  private style: ObjectLabelStyle | undefined;
  private readonly objects = new Map<string, ObjectBuild>();
  private readonly byName = new Map<string, ObjectBuild>();
  private current: ObjectBuild | undefined;
  private currentStart = 0;

  // Planner: moves waiting for lookahead.
  private readonly pD = new Float64Array(PLAN_SIZE);
  private readonly pAccel = new Float64Array(PLAN_SIZE);
  private readonly pCruise = new Float64Array(PLAN_SIZE);
  private readonly pMaxStart = new Float64Array(PLAN_SIZE);
  private readonly pStartLimit = new Float64Array(PLAN_SIZE + 1);
  private pCount = 0;
  private pFirstStart = 0;
  private time = 0;
  // The last planned move, for junctions: unit vector, E ratio, delta_v2, cruise and kind.
  private prevUx = 0;
  private prevUy = 0;
  private prevUz = 0;
  private prevEr = 0;
  private prevDeltaV2 = 0;
  private prevCruise = 0;
  private prevKinematic = false;
  private prevAccel = 0;

  constructor(limits: MachineLimits) {
    this.maxVel = limits.maxVelocity;
    this.feed = limits.defaultVelocity ?? 25;
    this.printAccel = limits.maxAccel;
    this.travelAccel = limits.maxAccel;
    this.retractAccel = limits.maxExtrudeOnlyAccel ?? 1000;
    this.axisVel = new Float64Array([
      Infinity,
      Infinity,
      limits.maxZVelocity ?? limits.maxVelocity,
      limits.maxExtrudeOnlyVelocity ?? 50,
    ]);
    this.axisAccel = new Float64Array([Infinity, Infinity, limits.maxZAccel ?? limits.maxAccel, Infinity]);
    this.scv = limits.squareCornerVelocity ?? 5;
    this.jd = limits.junctionDeviation ?? NaN;
    this.icv = limits.instantCornerVelocity ?? 1;
  }

  push(chunk: string): void {
    let start = 0;
    const n = chunk.length;
    if (this.carry !== '') {
      const nl = chunk.indexOf('\n');
      if (nl < 0) {
        this.carry += chunk;
        return;
      }
      const line = this.carry + chunk.slice(0, nl + 1);
      this.carry = '';
      this.lineBytes = utf8ByteLength(line);
      this.line(line, 0, line.length - 1);
      this.bytePos += this.lineBytes;
      start = nl + 1;
    }
    const ascii = isAscii(chunk);
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      this.lineBytes = ascii ? nl + 1 - start : utf8ByteLength(chunk, start, nl + 1);
      this.line(chunk, start, nl);
      this.bytePos += this.lineBytes;
      start = nl + 1;
    }
    if (start < n) this.carry = chunk.slice(start);
  }

  finish(): Analysis {
    if (this.carry !== '') {
      const line = this.carry;
      this.carry = '';
      this.lineBytes = utf8ByteLength(line);
      this.line(line, 0, line.length);
      this.bytePos += this.lineBytes;
    }
    this.flushPlanner();
    const end = this.bytePos;
    if (this.current) this.closeObject(end);
    this.closeLayer(this.hintLayers, this.hintOpen, end);
    this.closeLayer(this.zLayers, this.zOpen, end);
    for (const list of [this.hintLayers, this.zLayers]) {
      const last = list[list.length - 1];
      if (last) last.endByte = end;
    }
    const useHints = this.hintLayers.length > 0;
    const layers = useHints ? this.hintLayers : mergePrelude(this.zLayers);
    const objects: ObjectInfo[] = [];
    for (const o of this.objects.values()) {
      const bbox = boxOf(o.box);
      const info: ObjectInfo = { name: o.name, id: o.id, ranges: o.ranges };
      if (bbox) info.bbox = bbox;
      if (o.center) info.center = o.center;
      else if (bbox)
        info.center = [roundMm((bbox.minX + bbox.maxX) / 2), roundMm((bbox.minY + bbox.maxY) / 2)];
      if (o.polygon) info.polygon = o.polygon;
      else if (bbox) {
        info.polygon = [
          [bbox.minX, bbox.minY],
          [bbox.maxX, bbox.minY],
          [bbox.maxX, bbox.maxY],
          [bbox.minX, bbox.maxY],
        ];
      }
      objects.push(info);
    }
    const bbox = boxOf(this.box);
    const result: Analysis = {
      bytes: end,
      lines: this.lines,
      layerSource: useHints ? 'hints' : 'z',
      layers,
      layerCount: layers.length,
      filamentTotalMm: roundMm(this.filament),
      estimatedTimeS: Math.round(this.time * 100) / 100,
      objects,
      tools: [...this.tools].sort((a, b) => a - b),
      moves: this.moves,
    };
    if (layers.length > 0) result.firstLayerHeightMm = layers[0]!.height;
    if (bbox) {
      result.bbox = bbox;
      result.objectHeightMm = bbox.maxZ;
    }
    const extr = !Number.isNaN(this.m109)
      ? this.m109
      : !Number.isNaN(this.m104)
        ? this.m104
        : this.macroExtruder;
    const bed = !Number.isNaN(this.m190) ? this.m190 : !Number.isNaN(this.m140) ? this.m140 : this.macroBed;
    if (!Number.isNaN(extr)) result.firstLayerExtruderTemp = extr;
    if (!Number.isNaN(bed)) result.firstLayerBedTemp = bed;
    if (!Number.isNaN(this.chamber)) result.chamberTemp = this.chamber;
    if (this.gcodeStart >= 0) result.gcodeStartByte = this.gcodeStart;
    if (this.gcodeEnd >= 0) result.gcodeEndByte = this.gcodeEnd;
    if (this.style) result.objectLabels = this.style;
    return result;
  }

  // ---- Lines -------------------------------------------------------------------------------------

  private line(s: string, start: number, end: number): void {
    this.lines++;
    if (end > start && s.charCodeAt(end - 1) === CR) end--;
    let i = start;
    let c = s.charCodeAt(i);
    // A byte-order mark (kept by TextDecoder's ignoreBOM) counts as blank.
    while (i < end && (c === SPACE || c === TAB || c === 0xfeff)) c = s.charCodeAt(++i);
    if (i >= end) return;
    if (c === SEMI) {
      this.comment(s, i + 1, end);
      return;
    }
    // An N<n> line number (serial-style files).
    if ((c === 78 || c === 110) && i + 1 < end && isDigit(s.charCodeAt(i + 1))) {
      i++;
      while (i < end && isDigit(s.charCodeAt(i))) i++;
      while (i < end && (s.charCodeAt(i) === SPACE || s.charCodeAt(i) === TAB)) i++;
      if (i >= end) return;
      c = s.charCodeAt(i);
    }
    const upper = c & 0xdf;
    const next = i + 1 < end ? s.charCodeAt(i + 1) : SPACE;
    if (isDigit(next)) {
      if (upper === 71 || upper === 77) {
        let j = i + 1;
        let code = 0;
        while (j < end) {
          const d = s.charCodeAt(j);
          if (d < 48 || d > 57) break;
          code = code * 10 + (d - 48);
          j++;
        }
        // Subcodes (G29.1, M862.3) are not commands this analysis acts on.
        this.markCommand();
        if (j < end && s.charCodeAt(j) === DOT) return;
        if (upper === 71) this.gcode(code, s, j, end);
        else this.mcode(code, s, j, end, i);
        return;
      }
      if (upper === 84) {
        let j = i + 1;
        let tool = 0;
        while (j < end && isDigit(s.charCodeAt(j))) tool = tool * 10 + (s.charCodeAt(j++) - 48);
        this.tools.add(tool);
      }
      return;
    }
    if ((upper >= 65 && upper <= 90) || c === 95) this.extended(s.slice(i, end));
  }

  private markCommand(): void {
    if (this.gcodeStart < 0) this.gcodeStart = this.bytePos;
    this.gcodeEnd = this.bytePos + this.lineBytes;
  }

  /** Reads the words of a classic line into wX..wA; stops at a comment or checksum. */
  /** Per-axis limits (M201 accelerations, M203 speeds): each positive X, Y, Z, E word of the line read. */
  private takePositiveAxes(axes: Float64Array): void {
    const given = [this.wX, this.wY, this.wZ, this.wE];
    for (let axis = 0; axis < given.length; axis++) {
      const value = given[axis] ?? Number.NaN;
      if (!Number.isNaN(value) && value > 0) axes[axis] = value;
    }
  }

  private words(s: string, i: number, end: number): void {
    this.wX = this.wY = this.wZ = this.wE = this.wF = NaN;
    this.wI = this.wJ = this.wR = this.wS = this.wP = this.wT = this.wA = NaN;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === SEMI || c === STAR) return;
      if (c === PAREN) {
        const close = s.indexOf(')', i + 1);
        if (close < 0 || close >= end) return;
        i = close + 1;
        continue;
      }
      const u = c & 0xdf;
      if (u < 65 || u > 90) {
        i++;
        continue;
      }
      const v = this.number(s, i + 1, end);
      i = this.numEnd;
      switch (u) {
        case 88:
          this.wX = v;
          break;
        case 89:
          this.wY = v;
          break;
        case 90:
          this.wZ = v;
          break;
        case 69:
          this.wE = v;
          break;
        case 70:
          this.wF = v;
          break;
        case 73:
          this.wI = v;
          break;
        case 74:
          this.wJ = v;
          break;
        case 82:
          this.wR = v;
          break;
        case 83:
          this.wS = v;
          break;
        case 80:
          this.wP = v;
          break;
        case 84:
          this.wT = v;
          break;
        case 65:
          this.wA = v;
          break;
      }
    }
  }

  /** A decimal number at i (sign, digits, point, digits); NaN when there are no digits. Sets numEnd. */
  private number(s: string, i: number, end: number): number {
    while (i < end && s.charCodeAt(i) === SPACE) i++;
    let neg = false;
    let c = s.charCodeAt(i);
    if (c === MINUS || c === PLUS) {
      neg = c === MINUS;
      c = s.charCodeAt(++i);
    }
    let int = 0;
    let digits = 0;
    // Lines end at a CR, LF or the end of the string, none of them a digit or a point, so the digit
    // loops need no bounds checks.
    while (c >= 48 && c <= 57) {
      int = int * 10 + (c - 48);
      digits++;
      c = s.charCodeAt(++i);
    }
    let value = int;
    if (c === DOT) {
      c = s.charCodeAt(++i);
      let frac = 0;
      let scale = 0;
      while (c >= 48 && c <= 57) {
        if (scale < 16) {
          frac = frac * 10 + (c - 48);
          scale++;
        }
        digits++;
        c = s.charCodeAt(++i);
      }
      value = int + frac / POW10[scale]!;
    }
    this.numEnd = i;
    if (digits === 0) return NaN;
    return neg ? -value : value;
  }

  private gcode(code: number, s: string, i: number, end: number): void {
    switch (code) {
      case 0:
      case 1:
        this.words(s, i, end);
        this.linear();
        return;
      case 2:
      case 3:
        this.words(s, i, end);
        this.arc(code === 2);
        return;
      case 4: {
        this.words(s, i, end);
        this.flushPlanner();
        const dwell = !Number.isNaN(this.wP) ? this.wP / 1000 : !Number.isNaN(this.wS) ? this.wS : 0;
        if (dwell > 0) this.time += dwell;
        return;
      }
      case 28:
        // Homing: the position after it is the origin of the homed axes; its duration is unknown.
        this.flushPlanner();
        this.zChangeAt(this.x, this.y, this.z, this.e);
        {
          // Axis letters are flags here (`G28 X Y`); none means all axes.
          let args = s.slice(i, end);
          const semi = args.indexOf(';');
          if (semi >= 0) args = args.slice(0, semi);
          const hx = /x/i.test(args);
          const hy = /y/i.test(args);
          const hz = /z/i.test(args);
          const all = !hx && !hy && !hz;
          if (all || hx) this.x = 0;
          if (all || hy) this.y = 0;
          if (all || hz) this.z = 0;
        }
        return;
      case 90:
        // Marlin: G90 makes every axis absolute, E included (an earlier M83 is undone).
        this.relXYZ = false;
        this.relE = false;
        return;
      case 91:
        this.relXYZ = true;
        this.relE = true;
        return;
      case 92:
        this.words(s, i, end);
        if (!Number.isNaN(this.wX)) this.x = this.wX;
        if (!Number.isNaN(this.wY)) this.y = this.wY;
        if (!Number.isNaN(this.wZ)) {
          this.zChangeAt(this.x, this.y, this.z, this.e);
          this.z = this.wZ;
        }
        if (!Number.isNaN(this.wE)) this.e = this.wE;
        else if (Number.isNaN(this.wX) && Number.isNaN(this.wY) && Number.isNaN(this.wZ)) this.e = 0;
        return;
    }
  }

  private mcode(code: number, s: string, i: number, end: number, lineStart: number): void {
    switch (code) {
      case 82:
        this.relE = false;
        return;
      case 83:
        this.relE = true;
        return;
      case 104:
      case 109:
      case 140:
      case 190:
      case 141:
      case 191: {
        if (this.firstExtrusion) return;
        this.words(s, i, end);
        const t = !Number.isNaN(this.wS) ? this.wS : this.wR;
        if (Number.isNaN(t) || t <= 0) return;
        if (code === 104 && Number.isNaN(this.m104)) this.m104 = t;
        else if (code === 109 && Number.isNaN(this.m109)) this.m109 = t;
        else if (code === 140 && Number.isNaN(this.m140)) this.m140 = t;
        else if (code === 190 && Number.isNaN(this.m190)) this.m190 = t;
        else if ((code === 141 || code === 191) && Number.isNaN(this.chamber)) this.chamber = t;
        return;
      }
      case 201:
        this.words(s, i, end);
        this.takePositiveAxes(this.axisAccel);
        return;
      case 203:
        this.words(s, i, end);
        this.takePositiveAxes(this.axisVel);
        return;
      case 204:
        this.words(s, i, end);
        if (!Number.isNaN(this.wS) && this.wS > 0) this.printAccel = this.travelAccel = this.wS;
        if (!Number.isNaN(this.wP) && this.wP > 0) this.printAccel = this.wP;
        if (!Number.isNaN(this.wT) && this.wT > 0) this.travelAccel = this.wT;
        if (!Number.isNaN(this.wR) && this.wR > 0) this.retractAccel = this.wR;
        return;
      case 205:
        this.words(s, i, end);
        if (!Number.isNaN(this.wJ) && this.wJ > 0) this.jd = this.wJ;
        return;
      case 220:
        this.words(s, i, end);
        if (!Number.isNaN(this.wS) && this.wS > 0) this.speedFactor = this.wS / 100;
        return;
      case 400:
        this.flushPlanner();
        return;
      case 486:
        this.m486(s.slice(lineStart, end));
        return;
    }
  }

  // ---- Moves -------------------------------------------------------------------------------------

  /**
   * What G0-G3 share: counts the move, takes F, puts the target in tx/ty/tz (fields, so the hot path
   * allocates nothing) and returns the E delta, already added to the extruder position.
   */
  private beginMove(): number {
    this.moves++;
    if (!Number.isNaN(this.wF) && this.wF > 0) this.feed = this.wF / 60;
    this.tx = Number.isNaN(this.wX) ? this.x : this.relXYZ ? this.x + this.wX : this.wX;
    this.ty = Number.isNaN(this.wY) ? this.y : this.relXYZ ? this.y + this.wY : this.wY;
    this.tz = Number.isNaN(this.wZ) ? this.z : this.relXYZ ? this.z + this.wZ : this.wZ;
    if (Number.isNaN(this.wE)) return 0;
    const de = this.relE ? this.wE : this.wE - this.e;
    this.e += de;
    this.net += de;
    return de;
  }

  private linear(): void {
    const x0 = this.x;
    const y0 = this.y;
    const z0 = this.z;
    const e0 = this.e;
    const de = this.beginMove();
    const x = this.tx;
    const y = this.ty;
    const z = this.tz;
    const dx = x - x0;
    const dy = y - y0;
    const dz = z - z0;
    this.x = x;
    this.y = y;
    this.z = z;
    if (dz > Z_EPS || dz < -Z_EPS) this.zChangeAt(x0, y0, z0, e0);
    const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
    if (de > 0 && (dx !== 0 || dy !== 0)) this.extrusion(x0, y0, x, y, z);
    if (d > EPS) this.planKinematic(dx / d, dy / d, dz / d, d, de, 0);
    else if (de > EPS || de < -EPS) this.planExtrudeOnly(de);
  }

  private arc(clockwise: boolean): void {
    const x0 = this.x;
    const y0 = this.y;
    const z0 = this.z;
    const e0 = this.e;
    const de = this.beginMove();
    const x = this.tx;
    const y = this.ty;
    const z = this.tz;
    // Centre from I/J, or from R (Marlin: positive R takes the shorter arc).
    let cx: number;
    let cy: number;
    if (!Number.isNaN(this.wI) || !Number.isNaN(this.wJ)) {
      cx = x0 + (Number.isNaN(this.wI) ? 0 : this.wI);
      cy = y0 + (Number.isNaN(this.wJ) ? 0 : this.wJ);
    } else if (!Number.isNaN(this.wR)) {
      const mx = (x - x0) / 2;
      const my = (y - y0) / 2;
      const half = Math.sqrt(mx * mx + my * my);
      const r = Math.abs(this.wR);
      if (half < EPS || r < half) {
        this.x = x;
        this.y = y;
        this.z = z;
        this.linearFallback(x0, y0, z0, de);
        return;
      }
      const h = Math.sqrt(r * r - half * half);
      // Unit normal to the chord, on the side that gives the requested direction and arc size.
      let nx = -my / half;
      let ny = mx / half;
      if (clockwise !== this.wR < 0) {
        nx = -nx;
        ny = -ny;
      }
      cx = x0 + mx + nx * h;
      cy = y0 + my + ny * h;
    } else {
      this.x = x;
      this.y = y;
      this.z = z;
      this.linearFallback(x0, y0, z0, de);
      return;
    }
    const r0x = x0 - cx;
    const r0y = y0 - cy;
    const r1x = x - cx;
    const r1y = y - cy;
    const radius = Math.sqrt(r0x * r0x + r0y * r0y);
    let sweep = Math.atan2(r0x * r1y - r0y * r1x, r0x * r1x + r0y * r1y);
    if (clockwise) {
      if (sweep >= -EPS) sweep -= 2 * Math.PI;
    } else if (sweep <= EPS) sweep += 2 * Math.PI;
    const dz = z - z0;
    this.x = x;
    this.y = y;
    this.z = z;
    if (dz > Z_EPS || dz < -Z_EPS) this.zChangeAt(x0, y0, z0, e0);
    const planar = Math.abs(sweep) * radius;
    const d = Math.sqrt(planar * planar + dz * dz);
    if (d <= EPS) return;
    if (de > 0) {
      this.extrusion(x0, y0, x, y, z);
      // The arc's extreme points at 0°, 90°, 180° and 270° when the sweep passes them.
      const a0 = Math.atan2(r0y, r0x);
      for (let k = 0; k < 4; k++) {
        const a = (k * Math.PI) / 2;
        let delta = a - a0;
        if (sweep > 0) {
          delta = ((delta % (2 * Math.PI)) + 2 * Math.PI) % (2 * Math.PI);
          if (delta > sweep) continue;
        } else {
          delta = ((delta % (2 * Math.PI)) - 2 * Math.PI) % (2 * Math.PI);
          if (delta < sweep) continue;
        }
        this.grow(this.box, cx + radius * Math.cos(a), cy + radius * Math.sin(a), z);
        if (this.current)
          this.grow(this.current.box, cx + radius * Math.cos(a), cy + radius * Math.sin(a), z);
      }
    }
    // Tangents at both ends for the junctions; the centripetal limit caps the cruise speed.
    const dir = sweep > 0 ? 1 : -1;
    const t0x = (-r0y * dir * planar) / (radius * d);
    const t0y = (r0x * dir * planar) / (radius * d);
    const t1x = (-r1y * dir * planar) / (radius * d);
    const t1y = (r1x * dir * planar) / (radius * d);
    const tz = dz / d;
    this.planKinematic(t0x, t0y, tz, d, de, radius);
    this.prevUx = t1x;
    this.prevUy = t1y;
  }

  /** A G2/G3 without a usable centre: Marlin rejects it; count it as a straight move. */
  private linearFallback(x0: number, y0: number, z0: number, de: number): void {
    const dx = this.x - x0;
    const dy = this.y - y0;
    const dz = this.z - z0;
    const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
    if (de > 0 && (dx !== 0 || dy !== 0)) this.extrusion(x0, y0, this.x, this.y, this.z);
    if (d > EPS) this.planKinematic(dx / d, dy / d, dz / d, d, de, 0);
  }

  private grow(b: Float64Array, x: number, y: number, z: number): void {
    if (x < b[0]!) b[0] = x;
    if (y < b[1]!) b[1] = y;
    if (z < b[2]!) b[2] = z;
    if (x > b[3]!) b[3] = x;
    if (y > b[4]!) b[4] = y;
    if (z > b[5]!) b[5] = z;
  }

  /** A move that lays down plastic: extents, filament, layers and the current object. */
  private extrusion(x0: number, y0: number, x: number, y: number, z: number): void {
    this.firstExtrusion = true;
    this.filament = this.net;
    const b = this.box;
    this.grow(b, x0, y0, z);
    this.grow(b, x, y, z);
    const o = this.current;
    if (o) {
      this.grow(o.box, x0, y0, z);
      this.grow(o.box, x, y, z);
    }
    // Hint layers take the Z of their first extrusion.
    const h = this.hintOpen;
    if (h && !h.extruded) {
      h.extruded = true;
      h.z = z;
    }
    const zl = this.zOpen;
    if (!zl || z - zl.z > Z_EPS || zl.z - z > Z_EPS) {
      const fromZChange = !zl || this.lastZChangeByte >= zl.startByte;
      const start = fromZChange ? this.lastZChangeByte : zl.startByte;
      const entry = fromZChange ? this.lastZChangeEntry : zl.entry;
      if (zl) this.closeLayer(this.zLayers, zl, start);
      this.zOpen = { z, zHint: NaN, heightHint: NaN, startByte: start, entry, extruded: true };
    }
  }

  // ---- Planner -----------------------------------------------------------------------------------

  /**
   * Queue a move along unit vector (ux, uy, uz) of length d. `radius` > 0 for arcs. Junction limits
   * follow Klipper's toolhead: the junction deviation circle, the centripetal limit of half of each
   * move, and the extruder's instantaneous corner velocity.
   */
  private planKinematic(ux: number, uy: number, uz: number, d: number, de: number, radius: number): void {
    const extruding = de > 0;
    let v = Math.min(this.feed * this.speedFactor, this.maxVel);
    let accel = extruding ? this.printAccel : this.travelAccel;
    const av = this.axisVel;
    const aa = this.axisAccel;
    const ax = Math.abs(ux);
    const ay = Math.abs(uy);
    const az = Math.abs(uz);
    const er = de / d;
    const ae = Math.abs(er);
    if (ax > EPS) {
      v = Math.min(v, av[0]! / ax);
      accel = Math.min(accel, aa[0]! / ax);
    }
    if (ay > EPS) {
      v = Math.min(v, av[1]! / ay);
      accel = Math.min(accel, aa[1]! / ay);
    }
    if (az > EPS) {
      v = Math.min(v, av[2]! / az);
      accel = Math.min(accel, aa[2]! / az);
    }
    if (ae > EPS) {
      v = Math.min(v, av[3]! / ae);
      accel = Math.min(accel, aa[3]! / ae);
    }
    let cruise = v * v;
    if (radius > 0) cruise = Math.min(cruise, accel * radius);
    const deltaV2 = 2 * d * accel;

    let maxStart = 0;
    if (this.prevKinematic) {
      maxStart = Math.min(cruise, this.prevCruise);
      const cos = -(ux * this.prevUx + uy * this.prevUy + uz * this.prevUz);
      const sinHalf = Math.sqrt(Math.max(0.5 * (1 - cos), 0));
      const cosHalf = Math.sqrt(Math.max(0.5 * (1 + cos), 0));
      const oneMinus = 1 - sinHalf;
      if (oneMinus > 0 && cosHalf > 0) {
        const rJd = sinHalf / oneMinus;
        // Klipper derives the deviation from the square corner velocity: scv² (√2 − 1) / accel.
        const jdV2 = Number.isNaN(this.jd)
          ? rJd * this.scv * this.scv * (Math.SQRT2 - 1)
          : rJd * this.jd * accel;
        const prevJdV2 = Number.isNaN(this.jd) ? jdV2 : rJd * this.jd * this.prevAccel;
        const quarterTan = (0.25 * sinHalf) / cosHalf;
        maxStart = Math.min(maxStart, jdV2, prevJdV2, deltaV2 * quarterTan, this.prevDeltaV2 * quarterTan);
      }
      const diffEr = er - this.prevEr;
      if (diffEr > EPS || diffEr < -EPS) {
        const ev = this.icv / Math.abs(diffEr);
        maxStart = Math.min(maxStart, ev * ev);
      }
    }
    this.queue(d, accel, cruise, maxStart);
    this.prevUx = ux;
    this.prevUy = uy;
    this.prevUz = uz;
    this.prevEr = er;
    this.prevDeltaV2 = deltaV2;
    this.prevCruise = cruise;
    this.prevKinematic = true;
    this.prevAccel = accel;
  }

  private planExtrudeOnly(de: number): void {
    const d = Math.abs(de);
    const v = Math.min(this.feed * this.speedFactor, this.axisVel[3]!);
    const accel = Math.min(this.retractAccel, this.axisAccel[3]!);
    this.queue(d, accel, v * v, 0);
    this.prevKinematic = false;
  }

  private queue(d: number, accel: number, cruise: number, maxStart: number): void {
    if (this.pCount === PLAN_SIZE) this.plan(false);
    const k = this.pCount++;
    this.pD[k] = d;
    this.pAccel[k] = accel;
    this.pCruise[k] = cruise;
    this.pMaxStart[k] = k === 0 ? Math.min(maxStart, this.pFirstStart) : maxStart;
  }

  private flushPlanner(): void {
    if (this.pCount > 0) this.plan(true);
    this.prevKinematic = false;
    this.pFirstStart = 0;
  }

  /**
   * Plan the queued moves assuming a stop after the last one, then add up the time of the first
   * PLAN_COMMIT moves (all of them when `all`), keeping the rest, with their start speed, for later.
   */
  private plan(all: boolean): void {
    const n = this.pCount;
    const D = this.pD;
    const A = this.pAccel;
    const C = this.pCruise;
    const M = this.pMaxStart;
    const L = this.pStartLimit;
    L[n] = 0;
    for (let k = n - 1; k >= 0; k--) {
      const reach = L[k + 1]! + 2 * D[k]! * A[k]!;
      L[k] = Math.min(M[k]!, C[k]!, reach);
    }
    const commit = all ? n : Math.min(PLAN_COMMIT, n);
    // The first move's start speed is where the previous batch left off (folded into M[0]).
    let start = L[0]!;
    let time = 0;
    for (let k = 0; k < commit; k++) {
      const d = D[k]!;
      const a = A[k]!;
      const end = Math.min(L[k + 1]!, start + 2 * d * a);
      const peak = Math.min(C[k]!, (start + end) / 2 + d * a);
      const vs = Math.sqrt(start);
      const ve = Math.sqrt(end);
      const vp = Math.sqrt(peak);
      const accelD = (peak - start) / (2 * a);
      const decelD = (peak - end) / (2 * a);
      const cruiseD = Math.max(0, d - accelD - decelD);
      time += (vp - vs) / a + (vp - ve) / a + (vp > 0 ? cruiseD / vp : 0);
      start = end;
    }
    this.time += time;
    if (commit < n) {
      D.copyWithin(0, commit, n);
      A.copyWithin(0, commit, n);
      C.copyWithin(0, commit, n);
      M.copyWithin(0, commit, n);
      this.pCount = n - commit;
      this.pFirstStart = start;
      M[0] = Math.min(M[0]!, start);
    } else {
      this.pCount = 0;
      this.pFirstStart = 0;
    }
  }

  // ---- Comments: layer and object hints ----------------------------------------------------------

  private comment(s: string, i: number, end: number): void {
    while (i < end && s.charCodeAt(i) === SPACE) i++;
    if (i >= end) return;
    switch (s.charCodeAt(i)) {
      case 76: // L
        if (s.startsWith('LAYER_CHANGE', i)) this.layerHint();
        else if (s.startsWith('LAYER:', i)) this.layerHint();
        else if (s.startsWith('LAYER_HEIGHT:', i)) this.heightHint(this.number(s, i + 13, end));
        return;
      case 67: // C
        if (s.startsWith('CHANGE_LAYER', i)) this.layerHint();
        return;
      case 108: // l
        // Simplify3D: `; layer 1, Z = 0.200`
        if (s.startsWith('layer ', i) && isDigit(s.charCodeAt(i + 6))) {
          this.layerHint();
          const eq = s.indexOf('Z = ', i);
          if (eq > 0 && eq < end) this.zHint(this.number(s, eq + 4, end));
        }
        return;
      case 90: // Z
        if (s.startsWith('Z:', i)) this.zHint(this.number(s, i + 2, end));
        else if (s.startsWith('Z_HEIGHT:', i)) this.zHint(this.number(s, i + 9, end));
        return;
      case 72: // H
        if (s.startsWith('HEIGHT:', i)) this.heightHint(this.number(s, i + 7, end));
        return;
      case 112: // p
        if (s.startsWith('printing object ', i)) this.labelStart('label', s.slice(i + 16, end).trim());
        return;
      case 115: // s
        if (s.startsWith('stop printing object', i)) {
          if (s.startsWith(', unique label id:', i + 20)) this.labelEnd('label_id');
          else this.labelEnd('label');
        } else if (s.startsWith('start printing object, unique label id:', i)) {
          this.labelStart('label_id', s.slice(i + 39, end).trim());
        }
        return;
      case 77: // M
        if (s.startsWith('MESH:', i)) {
          const name = s.slice(i + 5, end).trim();
          if (name === 'NONMESH' || name === '') this.labelEnd('mesh');
          else this.labelStart('mesh', name);
        }
        return;
      case 80: // P
        if (s.startsWith('PRINTING_ID:', i)) {
          if (this.number(s, i + 12, end) === -1) this.labelEnd('printing');
        } else if (s.startsWith('PRINTING:', i)) {
          const name = s.slice(i + 9, end).trim();
          if (name !== '') this.labelStart('printing', name);
        }
        return;
    }
  }

  private layerHint(): void {
    const open = this.hintOpen;
    if (open && !open.extruded) return;
    if (open) this.closeLayer(this.hintLayers, open, this.bytePos);
    this.hintOpen = {
      z: NaN,
      zHint: NaN,
      heightHint: NaN,
      startByte: this.bytePos,
      entry: this.entryHere(this.x, this.y, this.z, this.e),
      extruded: false,
    };
  }

  /** The line being read changes Z; a layer found by Z may start at it, from the state before it. */
  private zChangeAt(x: number, y: number, z: number, e: number): void {
    this.lastZChangeByte = this.bytePos;
    this.lastZChangeEntry = this.entryHere(x, y, z, e);
  }

  private entryHere(x: number, y: number, z: number, e: number): LayerEntry {
    return { x, y, z, e, relativeXyz: this.relXYZ, relativeE: this.relE };
  }

  private zHint(z: number): void {
    const open = this.hintOpen;
    if (open && !open.extruded && !Number.isNaN(z)) open.zHint = z;
  }

  private heightHint(h: number): void {
    const open = this.hintOpen;
    if (open && !Number.isNaN(h) && h > 0) open.heightHint = h;
  }

  private closeLayer(list: Layer[], open: LayerBuild | undefined, endByte: number): void {
    if (!open?.extruded) return;
    const z = Number.isNaN(open.z) ? open.zHint : open.z;
    const prev = list[list.length - 1];
    let height = open.heightHint;
    if (Number.isNaN(height)) height = prev && z > prev.z ? z - prev.z : z;
    if (prev) prev.endByte = open.startByte;
    list.push({
      z: roundMm(z),
      height: roundMm(height),
      startByte: open.startByte,
      endByte,
      entry: open.entry,
    });
  }

  // ---- Objects -----------------------------------------------------------------------------------

  private claim(style: ObjectLabelStyle): boolean {
    if (this.style === undefined) this.style = style;
    return this.style === style;
  }

  private object(name: string, id: string): ObjectBuild {
    let o = this.objects.get(id);
    if (!o) {
      o = { name, id, box: emptyBox(), ranges: [] };
      this.objects.set(id, o);
    }
    return o;
  }

  private openObject(o: ObjectBuild, at: number): void {
    if (this.current) this.closeObject(at);
    this.current = o;
    this.currentStart = at;
  }

  private closeObject(at: number): void {
    const o = this.current;
    if (!o) return;
    this.current = undefined;
    const last = o.ranges[o.ranges.length - 1];
    if (last && last.end === this.currentStart) last.end = at;
    else o.ranges.push({ start: this.currentStart, end: at });
  }

  private labelStart(style: ObjectLabelStyle, name: string): void {
    if (!this.claim(style) || name === '') return;
    let o = this.byName.get(name);
    if (!o) {
      const id = style === 'exclude_object' ? name : cleanId(name);
      o = this.object(name, id === '' ? name : id);
      this.byName.set(name, o);
    }
    this.openObject(o, this.bytePos);
  }

  private labelEnd(style: ObjectLabelStyle): void {
    if (this.style !== style) return;
    // Styles without an end marker close at the start of the marker line; the others after it.
    const at = style === 'mesh' || style === 'printing' ? this.bytePos : this.bytePos + this.lineBytes;
    this.closeObject(at);
  }

  private m486(text: string): void {
    const parsed = parseLine(text);
    if (!parsed.ok) return;
    const p = parsed.line.params;
    const s = p.S;
    const a = typeof p.A === 'string' && p.A !== '' ? p.A : undefined;
    if (typeof s === 'number') {
      if (!this.claim('m486')) return;
      if (s < 0) {
        this.closeObject(this.bytePos);
        return;
      }
      const key = `\u0000m486 ${s}`;
      let o = this.objects.get(key);
      if (!o) {
        o = { name: String(s), id: String(s), box: emptyBox(), ranges: [] };
        this.objects.set(key, o);
      }
      if (a !== undefined) nameObject(o, a);
      this.openObject(o, this.bytePos);
    } else if (a !== undefined && this.current && this.style === 'm486') {
      // `M486 A<name>` names the object the last `M486 S` started.
      nameObject(this.current, a);
    }
  }

  private extended(text: string): void {
    const name = /^\w+/.exec(text)?.[0]?.toUpperCase() ?? '';
    if (name.startsWith('EXCLUDE_OBJECT')) {
      const parsed = parseLine(text);
      if (!parsed.ok) return;
      const p = parsed.line.params;
      const obj = typeof p.NAME === 'string' ? p.NAME : '';
      if (name === 'EXCLUDE_OBJECT_DEFINE') {
        if (!this.claim('exclude_object') || obj === '') return;
        const o = this.object(obj, obj);
        const center = parsePoint(p.CENTER);
        if (center) o.center = center;
        const polygon = parsePolygon(p.POLYGON);
        if (polygon) o.polygon = polygon;
      } else if (name === 'EXCLUDE_OBJECT_START') {
        this.labelStart('exclude_object', obj);
      } else if (name === 'EXCLUDE_OBJECT_END') {
        this.labelEnd('exclude_object');
      }
      return;
    }
    if (name === 'SET_VELOCITY_LIMIT') {
      const parsed = parseLine(text);
      if (!parsed.ok) return;
      const p = parsed.line.params;
      const accel = Number(p.ACCEL);
      if (accel > 0) this.printAccel = this.travelAccel = accel;
      const scv = Number(p.SQUARE_CORNER_VELOCITY);
      if (scv > 0) {
        this.scv = scv;
        this.jd = NaN;
      }
      return;
    }
    if (name === 'SET_PRINT_STATS_INFO') {
      if (/CURRENT_LAYER=/i.test(text)) this.layerHint();
      return;
    }
    // PRINT_START / START_PRINT macros: temperatures as parameters, when the file has no M104/M109.
    if (!this.firstExtrusion && name.includes('START')) {
      const parsed = parseLine(text);
      if (!parsed.ok) return;
      const p = parsed.line.params;
      const ext = Number(p.EXTRUDER ?? p.EXTRUDER_TEMP ?? p.HOTEND ?? p.NOZZLE);
      const bed = Number(p.BED ?? p.BED_TEMP);
      if (ext > 0 && Number.isNaN(this.macroExtruder)) this.macroExtruder = ext;
      if (bed > 0 && Number.isNaN(this.macroBed)) this.macroBed = bed;
    }
  }
}

function nameObject(o: ObjectBuild, name: string): void {
  o.name = name;
  o.id = cleanId(name) || o.id;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function parsePoint(value: number | string | undefined): [number, number] | undefined {
  if (typeof value !== 'string') return undefined;
  const parts = value.split(',').map(Number);
  if (parts.length !== 2 || !parts.every(Number.isFinite)) return undefined;
  return [parts[0]!, parts[1]!];
}

function parsePolygon(value: number | string | undefined): [number, number][] | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    if (!Array.isArray(parsed)) return undefined;
    const out: [number, number][] = [];
    for (const p of parsed) {
      if (!Array.isArray(p) || p.length < 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number')
        return undefined;
      out.push([p[0], p[1]]);
    }
    return out;
  } catch {
    return undefined;
  }
}

/**
 * Start G-code often primes a line at one height before the first layer at a lower one; without
 * slicer hints that looks like an extra layer. Fold such a lone first layer into the next.
 */
function mergePrelude(layers: Layer[]): Layer[] {
  if (layers.length >= 3) {
    const [a, b, c] = layers as [Layer, Layer, Layer];
    if (b.z < a.z && c.z > b.z) {
      const merged: Layer = {
        z: b.z,
        height: b.z,
        startByte: a.startByte,
        endByte: b.endByte,
        entry: a.entry,
      };
      return [merged, ...layers.slice(2)];
    }
  }
  return layers;
}

/** Start a streaming analysis with the printer's limits. */
export function createAnalyser(limits: MachineLimits): Analyser {
  return new GcodeAnalyser(limits);
}

/** Analyse a whole file held in memory. */
export function analyseGcode(text: string, limits: MachineLimits): Analysis {
  const a = createAnalyser(limits);
  a.push(text);
  return a.finish();
}

/**
 * Metadata fields the file's slicer header left out, filled from the analysis (a file from an unknown
 * slicer, or CuraEngine's CLI placeholders). Fields the slicer wrote are kept.
 */
export function completeMetadata(meta: GcodeMetadata, analysis: Analysis): GcodeMetadata {
  const out: GcodeMetadata = { ...meta };
  const fill = <K extends keyof GcodeMetadata>(key: K, value: GcodeMetadata[K] | undefined) => {
    if (out[key] === undefined && value !== undefined) out[key] = value;
  };
  fill('layer_count', analysis.layerCount > 0 ? analysis.layerCount : undefined);
  fill('object_height', analysis.objectHeightMm);
  fill('first_layer_height', analysis.firstLayerHeightMm);
  fill('layer_height', typicalLayerHeight(analysis.layers));
  fill('estimated_time', analysis.moves > 0 ? Math.round(analysis.estimatedTimeS) : undefined);
  fill(
    'filament_total',
    analysis.filamentTotalMm > 0 ? Math.round(analysis.filamentTotalMm * 100) / 100 : undefined,
  );
  fill('first_layer_extr_temp', analysis.firstLayerExtruderTemp);
  fill('first_layer_bed_temp', analysis.firstLayerBedTemp);
  fill('chamber_temp', analysis.chamberTemp);
  fill('gcode_start_byte', analysis.gcodeStartByte);
  fill('gcode_end_byte', analysis.gcodeEndByte);
  if (out.referenced_tools === undefined && analysis.tools.length > 0) out.referenced_tools = analysis.tools;
  return out;
}

/** The most common height among layers after the first. */
function typicalLayerHeight(layers: Layer[]): number | undefined {
  const counts = new Map<number, number>();
  for (let i = 1; i < layers.length; i++) {
    const h = layers[i]!.height;
    counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  let best: number | undefined;
  let bestCount = 0;
  for (const [h, n] of counts) {
    if (n > bestCount) {
      best = h;
      bestCount = n;
    }
  }
  return best;
}
