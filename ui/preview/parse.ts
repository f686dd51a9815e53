// Turns G-code into extrusion segments grouped by layer, with each segment's byte offset in the file so a
// print's file position says which part is printed. Pure (no DOM, no Node), so the worker and tests share it.
import { utf8ByteLength } from '../../gcode/bytes.ts';
import { parseLine } from '../../gcode/line.ts';

export interface LayerData {
  index: number;
  /** Height of the layer's extrusions, mm. */
  z: number;
  /** Byte offset of the layer's first extruding line. */
  startByte: number;
  /** Segments as x1 y1 z1 x2 y2 z2, mm. */
  positions: Float32Array;
  /** Byte offset of the line that made each segment. */
  offsets: Uint32Array;
}

export interface ParseSummary {
  layerCount: number;
  segments: number;
  lines: number;
  bytes: number;
  /** min x, y, z, max x, y, z of the extrusions. */
  bbox: [number, number, number, number, number, number];
}

/** Arcs are drawn as chords of at most this length, mm. */
const ARC_SEGMENT_MM = 1;
const Z_EPSILON = 1e-4;

class Growable {
  positions = new Float32Array(6 * 1024);
  offsets = new Uint32Array(1024);
  count = 0;

  push(x1: number, y1: number, z1: number, x2: number, y2: number, z2: number, offset: number): void {
    if (this.count === this.offsets.length) {
      const positions = new Float32Array(this.positions.length * 2);
      positions.set(this.positions);
      this.positions = positions;
      const offsets = new Uint32Array(this.offsets.length * 2);
      offsets.set(this.offsets);
      this.offsets = offsets;
    }
    const p = this.count * 6;
    this.positions[p] = x1;
    this.positions[p + 1] = y1;
    this.positions[p + 2] = z1;
    this.positions[p + 3] = x2;
    this.positions[p + 4] = y2;
    this.positions[p + 5] = z2;
    this.offsets[this.count] = offset;
    this.count++;
  }
}

/**
 * Feed text in chunks (`push`), get finished layers from `onLayer`; `finish` flushes the last one.
 * Tracks G90/G91, M82/M83 and G92 so absolute and relative files both come out right.
 */
export class GcodeLayerParser {
  private x = 0;
  private y = 0;
  private z = 0;
  private e = 0;
  private absolute = true;
  private absoluteE = true;
  private rest = '';
  private byte = 0;
  private lines = 0;
  private segments = 0;
  private layer: Growable | null = null;
  private layerZ = Number.NaN;
  private layerStart = 0;
  private layerIndex = 0;
  private readonly bbox: [number, number, number, number, number, number] = [
    Infinity,
    Infinity,
    Infinity,
    -Infinity,
    -Infinity,
    -Infinity,
  ];

  constructor(private readonly onLayer: (layer: LayerData) => void) {}

  push(text: string): void {
    const data = this.rest + text;
    let start = 0;
    for (;;) {
      const end = data.indexOf('\n', start);
      if (end < 0) break;
      this.line(data.slice(start, end));
      start = end + 1;
    }
    this.rest = data.slice(start);
  }

  finish(): ParseSummary {
    if (this.rest) this.line(this.rest);
    this.rest = '';
    this.flush();
    const found = this.segments > 0;
    return {
      layerCount: this.layerIndex,
      segments: this.segments,
      lines: this.lines,
      bytes: this.byte,
      bbox: found ? this.bbox : [0, 0, 0, 0, 0, 0],
    };
  }

  private line(raw: string): void {
    const offset = this.byte;
    // +1 for the newline; a file with CRLF keeps the \r inside `raw`, counted by the length.
    this.byte += utf8ByteLength(raw) + 1;
    this.lines++;
    const first = raw.charCodeAt(0);
    // Fast path: comment-only and blank lines (a third of a sliced file) need no lexing.
    if (raw.length === 0 || first === 59 /* ; */) return;
    const parsed = parseLine(raw);
    if (!parsed.ok || !parsed.line.command) return;
    const { command, params } = parsed.line;
    switch (command) {
      case 'G0':
      case 'G1':
      case 'G2':
      case 'G3':
        this.move(command, params, offset);
        break;
      case 'G90':
        this.absolute = true;
        this.absoluteE = true;
        break;
      case 'G91':
        this.absolute = false;
        this.absoluteE = false;
        break;
      case 'M82':
        this.absoluteE = true;
        break;
      case 'M83':
        this.absoluteE = false;
        break;
      case 'G92': {
        const num = (key: string) => (typeof params[key] === 'number' ? (params[key] as number) : undefined);
        this.x = num('X') ?? this.x;
        this.y = num('Y') ?? this.y;
        this.z = num('Z') ?? this.z;
        this.e = num('E') ?? this.e;
        break;
      }
      case 'G28':
        this.x = 0;
        this.y = 0;
        this.z = 0;
        break;
    }
  }

  private move(command: string, params: Record<string, number | string>, offset: number): void {
    const value = (key: string): number | undefined => {
      const v = params[key];
      return typeof v === 'number' ? v : undefined;
    };
    const target = (key: 'X' | 'Y' | 'Z', current: number) => {
      const v = value(key);
      if (v === undefined) return current;
      return this.absolute ? v : current + v;
    };
    const nx = target('X', this.x);
    const ny = target('Y', this.y);
    const nz = target('Z', this.z);
    const ev = value('E');
    let extruding = false;
    if (ev !== undefined) {
      const delta = this.absoluteE ? ev - this.e : ev;
      this.e = this.absoluteE ? ev : this.e + ev;
      extruding = delta > 0;
    }
    const moved = nx !== this.x || ny !== this.y;
    if (extruding && moved) {
      if (Number.isNaN(this.layerZ) || Math.abs(nz - this.layerZ) > Z_EPSILON) {
        this.flush();
        this.layer = new Growable();
        this.layerZ = nz;
        this.layerStart = offset;
      }
      const layer = this.layer!;
      if (command === 'G2' || command === 'G3') this.arc(layer, command === 'G2', params, nx, ny, nz, offset);
      else this.segment(layer, this.x, this.y, this.z, nx, ny, nz, offset);
    }
    this.x = nx;
    this.y = ny;
    this.z = nz;
  }

  private segment(
    layer: Growable,
    x1: number,
    y1: number,
    z1: number,
    x2: number,
    y2: number,
    z2: number,
    offset: number,
  ): void {
    layer.push(x1, y1, z1, x2, y2, z2, offset);
    this.segments++;
    const b = this.bbox;
    if (x2 < b[0]) b[0] = x2;
    if (y2 < b[1]) b[1] = y2;
    if (z2 < b[2]) b[2] = z2;
    if (x2 > b[3]) b[3] = x2;
    if (y2 > b[4]) b[4] = y2;
    if (z2 > b[5]) b[5] = z2;
  }

  /** G2 (clockwise) / G3 with I J (centre offsets) or R (radius), as chords. */
  private arc(
    layer: Growable,
    clockwise: boolean,
    params: Record<string, number | string>,
    nx: number,
    ny: number,
    nz: number,
    offset: number,
  ): void {
    const num = (key: string) => (typeof params[key] === 'number' ? (params[key] as number) : undefined);
    let cx: number;
    let cy: number;
    const r = num('R');
    if (r !== undefined) {
      const dx = nx - this.x;
      const dy = ny - this.y;
      const d = Math.hypot(dx, dy);
      if (d === 0 || d > 2 * Math.abs(r)) {
        this.segment(layer, this.x, this.y, this.z, nx, ny, nz, offset);
        return;
      }
      const h = Math.sqrt(r * r - (d / 2) ** 2) * ((clockwise ? 1 : -1) * Math.sign(r));
      cx = this.x + dx / 2 - (h * dy) / d;
      cy = this.y + dy / 2 + (h * dx) / d;
    } else {
      cx = this.x + (num('I') ?? 0);
      cy = this.y + (num('J') ?? 0);
    }
    const radius = Math.hypot(this.x - cx, this.y - cy);
    const start = Math.atan2(this.y - cy, this.x - cx);
    let end = Math.atan2(ny - cy, nx - cx);
    if (clockwise) {
      if (end >= start) end -= 2 * Math.PI;
    } else if (end <= start) end += 2 * Math.PI;
    const sweep = end - start;
    const steps = Math.max(1, Math.min(720, Math.ceil((Math.abs(sweep) * radius) / ARC_SEGMENT_MM)));
    let px = this.x;
    let py = this.y;
    let pz = this.z;
    for (let i = 1; i <= steps; i++) {
      const t = i / steps;
      const angle = start + sweep * t;
      const x = i === steps ? nx : cx + radius * Math.cos(angle);
      const y = i === steps ? ny : cy + radius * Math.sin(angle);
      const z = this.z + (nz - this.z) * t;
      this.segment(layer, px, py, pz, x, y, z, offset);
      px = x;
      py = y;
      pz = z;
    }
  }

  private flush(): void {
    const layer = this.layer;
    if (!layer || layer.count === 0) return;
    this.onLayer({
      index: this.layerIndex++,
      z: this.layerZ,
      startByte: this.layerStart,
      positions: layer.positions.slice(0, layer.count * 6),
      offsets: layer.offsets.slice(0, layer.count),
    });
    this.layer = null;
  }
}

/** The layer holding a file position (the last one starting at or before it); -1 before the first. */
export function layerAt(layers: readonly { startByte: number }[], filePosition: number): number {
  let lo = 0;
  let hi = layers.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (layers[mid]!.startByte <= filePosition) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** How many of a layer's segments come from lines before `filePosition`. */
export function segmentsBefore(offsets: Uint32Array, filePosition: number): number {
  let lo = 0;
  let hi = offsets.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid]! < filePosition) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
