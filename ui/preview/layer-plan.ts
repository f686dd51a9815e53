// Which layers the preview needs and how to fetch them: the layers in view, nearest the one looked at
// first, cut to a memory budget, grouped into byte ranges of bounded size. Pure, so it is tested alone.
import type { LayerSpan } from './parse.ts';

/** Largest Range request, bytes; a layer bigger than this is fetched alone. */
export const CHUNK_BYTES = 512 * 1024;

/**
 * G-code bytes held as geometry at most. A parsed segment (28 bytes, plus the GPU's copy) costs about
 * what its G-code line did, so this bounds the page's memory on big files (OctoPrint/OctoPrint#1755:
 * a 32 MB file took 2 GB in its viewer).
 */
export const BUDGET_BYTES = 48 * 1024 * 1024;

export interface ViewWanted {
  mode: '3d' | '2d';
  /** The layer looked at: the one being printed, else the slider's. */
  focus: number;
  /** Highest layer drawn (3D draws every layer from the first up to it). */
  top: number;
}

/** Layers in view, most wanted first: the focus, down to the first layer, then up to `top` (3D only). */
export function layersInView({ mode, focus, top }: ViewWanted): number[] {
  if (focus < 0) return [];
  if (mode === '2d') return [focus];
  const order: number[] = [];
  for (let i = focus; i >= 0; i--) order.push(i);
  for (let i = focus + 1; i <= top; i++) order.push(i);
  return order;
}

const bytesOf = (layer: LayerSpan) => layer.endByte - layer.startByte;

/** The start of `order` whose layers fit in `budgetBytes` (always at least the first). */
export function withinBudget(
  layers: readonly LayerSpan[],
  order: readonly number[],
  budgetBytes = BUDGET_BYTES,
): number[] {
  let total = 0;
  let count = 0;
  for (const i of order) {
    total += bytesOf(layers[i]!);
    if (count > 0 && total > budgetBytes) break;
    count++;
  }
  return order.slice(0, count);
}

/** Consecutive layers `first`..`last` and their bytes `[start, end)`. */
export interface Chunk {
  first: number;
  last: number;
  start: number;
  end: number;
}

/**
 * The layers of `order` that `skip` does not rule out (loaded, or on their way), as chunks of
 * neighbouring layers no bigger than `chunkBytes`, in the order they are wanted.
 */
export function chunksFor(
  layers: readonly LayerSpan[],
  order: readonly number[],
  skip: (index: number) => boolean,
  chunkBytes = CHUNK_BYTES,
): Chunk[] {
  const chunks: Chunk[] = [];
  let open: Chunk | null = null;
  for (const i of order) {
    if (skip(i)) {
      open = null;
      continue;
    }
    const layer = layers[i]!;
    if (open && i === open.last + 1 && layer.endByte - open.start <= chunkBytes) {
      open.last = i;
      open.end = layer.endByte;
      continue;
    }
    if (open && i === open.first - 1 && open.end - layer.startByte <= chunkBytes) {
      open.first = i;
      open.start = layer.startByte;
      continue;
    }
    open = { first: i, last: i, start: layer.startByte, end: layer.endByte };
    chunks.push(open);
  }
  return chunks;
}

/**
 * Loaded layers to drop so that what stays fits in `budgetBytes`: never one of `keep`, farthest from
 * `focus` first.
 */
export function toEvict(
  layers: readonly LayerSpan[],
  loaded: Iterable<number>,
  keep: ReadonlySet<number>,
  focus: number,
  budgetBytes = BUDGET_BYTES,
): number[] {
  const held = [...loaded];
  let total = held.reduce((sum, i) => sum + bytesOf(layers[i]!), 0);
  const candidates = held
    .filter((i) => !keep.has(i))
    .sort((a, b) => Math.abs(b - focus) - Math.abs(a - focus));
  const evict: number[] = [];
  for (const i of candidates) {
    if (total <= budgetBytes) break;
    total -= bytesOf(layers[i]!);
    evict.push(i);
  }
  return evict;
}
