// Turns the bytes of a run of layers into extrusion segments, each with its byte offset in the file so a
// print's file position says which part is printed. The layer index (server.files.layers) says where
// each layer starts and what state the machine is in there, so one layer's bytes can be read alone.
// Pure (no DOM, no Node), so the worker and tests share it.
import { utf8ByteLength } from '../../gcode/bytes.ts';
import { parseLine } from '../../gcode/line.ts';

/** Where a layer sits in the file, from the layer index. */
export interface LayerSpan {
  index: number;
  /** Height of the layer's extrusions, mm. */
  z: number;
  /** Byte offset of the layer's first line. */
  startByte: number;
  /** Byte offset just past its last line. */
  endByte: number;
}

/** Positions and modes in force at a layer's first byte (the index's `entry`). */
export interface MachineEntry {
  x: number;
  y: number;
  z: number;
  e: number;
  relativeXyz: boolean;
  relativeE: boolean;
}

export interface LayerData extends LayerSpan {
  /** Segments as x1 y1 z1 x2 y2 z2, mm. */
  positions: Float32Array;
  /** Byte offset of the line that made each segment. */
  offsets: Uint32Array;
}

/** Arcs are drawn as chords of at most this length, mm. */
const ARC_SEGMENT_MM = 1;

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
 * Reads the bytes of consecutive layers: feed the text from the first layer's `startByte` in chunks
 * (`push`), then `finish` gives one LayerData per span, in order. Starts from the first layer's
 * entry state and tracks G90/G91, M82/M83, G92 and G28 as the server's analysis does, so a layer
 * read alone gives the same segments as the whole file read from the top.
 */
export class GcodeLayerParser {
  private x: number;
  private y: number;
  private z: number;
  private e: number;
  private absolute: boolean;
  private absoluteE: boolean;
  private rest = '';
  private byte: number;
  private span = 0;
  private readonly built: Growable[];

  constructor(
    private readonly spans: readonly LayerSpan[],
    entry: MachineEntry,
  ) {
    if (spans.length === 0) throw new Error('GcodeLayerParser needs at least one layer');
    for (let i = 1; i < spans.length; i++) {
      if (spans[i]!.startByte !== spans[i - 1]!.endByte) {
        throw new Error(`Layers ${spans[i - 1]!.index} and ${spans[i]!.index} are not next to each other`);
      }
    }
    this.byte = spans[0]!.startByte;
    this.x = entry.x;
    this.y = entry.y;
    this.z = entry.z;
    this.e = entry.e;
    this.absolute = !entry.relativeXyz;
    this.absoluteE = !entry.relativeE;
    this.built = spans.map(() => new Growable());
  }

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

  finish(): LayerData[] {
    if (this.rest) this.line(this.rest);
    this.rest = '';
    return this.spans.map((span, i) => {
      const layer = this.built[i]!;
      return {
        ...span,
        positions: layer.positions.slice(0, layer.count * 6),
        offsets: layer.offsets.slice(0, layer.count),
      };
    });
  }

  private line(raw: string): void {
    const offset = this.byte;
    // +1 for the newline; a file with CRLF keeps the \r inside `raw`, counted by the length.
    this.byte += utf8ByteLength(raw) + 1;
    while (this.span < this.spans.length - 1 && offset >= this.spans[this.span]!.endByte) this.span++;
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
        const [x, y, z, e] = [num('X'), num('Y'), num('Z'), num('E')];
        this.x = x ?? this.x;
        this.y = y ?? this.y;
        this.z = z ?? this.z;
        // A bare G92 resets E, as the analysis (and so the index's entry states) counts it.
        this.e = e ?? (x === undefined && y === undefined && z === undefined ? 0 : this.e);
        break;
      }
      case 'G28': {
        // Axis letters are flags (`G28 X Y`); none means all, as in the analysis.
        const named = ['X', 'Y', 'Z'].filter((axis) => axis in params);
        const all = named.length === 0;
        if (all || named.includes('X')) this.x = 0;
        if (all || named.includes('Y')) this.y = 0;
        if (all || named.includes('Z')) this.z = 0;
        break;
      }
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
      const layer = this.built[this.span]!;
      if (command === 'G2' || command === 'G3') this.arc(layer, command === 'G2', params, nx, ny, nz, offset);
      else layer.push(this.x, this.y, this.z, nx, ny, nz, offset);
    }
    this.x = nx;
    this.y = ny;
    this.z = nz;
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
        layer.push(this.x, this.y, this.z, nx, ny, nz, offset);
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
      layer.push(px, py, pz, x, y, z, offset);
      px = x;
      py = y;
      pz = z;
    }
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
