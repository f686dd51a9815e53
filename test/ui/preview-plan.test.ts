// Which layers the preview fetches: the ones in view, nearest the focus first, within the memory budget,
// as bounded Range requests of neighbouring layers.
import { describe, expect, it } from 'vitest';
import { chunksFor, layersInView, toEvict, withinBudget } from '../../ui/preview/layer-plan.ts';
import type { LayerSpan } from '../../ui/preview/parse.ts';

/** `count` layers of `size` bytes each after 100 bytes of start G-code. */
function layers(count: number, size: number): LayerSpan[] {
  return Array.from({ length: count }, (_, index) => ({
    index,
    z: 0.2 * (index + 1),
    startByte: 100 + index * size,
    endByte: 100 + (index + 1) * size,
  }));
}

describe('layersInView', () => {
  it('is the one layer in 2D, and in 3D the focus down to the first, then up to the top', () => {
    expect(layersInView({ mode: '2d', focus: 7, top: 9 })).toEqual([7]);
    expect(layersInView({ mode: '3d', focus: 3, top: 5 })).toEqual([3, 2, 1, 0, 4, 5]);
    expect(layersInView({ mode: '3d', focus: -1, top: -1 })).toEqual([]);
  });
});

describe('withinBudget', () => {
  it('keeps the most wanted layers that fit, and always the first', () => {
    const all = layers(10, 1000);
    expect(withinBudget(all, [5, 4, 3, 2, 1, 0], 3500)).toEqual([5, 4, 3]);
    expect(withinBudget(all, [5, 4], 10)).toEqual([5]);
    expect(withinBudget(all, [5, 4], 1_000_000)).toEqual([5, 4]);
  });
});

describe('chunksFor', () => {
  it('groups neighbouring missing layers into ranges no bigger than the chunk size', () => {
    const all = layers(10, 1000);
    const chunks = chunksFor(all, [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], () => false, 3000);
    expect(chunks.map((c) => [c.first, c.last])).toEqual([
      [7, 9],
      [4, 6],
      [1, 3],
      [0, 0],
    ]);
    expect(chunks[0]).toMatchObject({ start: all[7]!.startByte, end: all[9]!.endByte });
  });

  it('skips layers held or on their way, splitting the range around them', () => {
    const all = layers(10, 1000);
    const held = new Set([2, 3]);
    const chunks = chunksFor(all, [0, 1, 2, 3, 4, 5], (i) => held.has(i), 10_000);
    expect(chunks.map((c) => [c.first, c.last])).toEqual([
      [0, 1],
      [4, 5],
    ]);
  });

  it('fetches a layer bigger than the chunk size by itself', () => {
    const all = layers(3, 5000);
    expect(chunksFor(all, [0, 1, 2], () => false, 1000).map((c) => [c.first, c.last])).toEqual([
      [0, 0],
      [1, 1],
      [2, 2],
    ]);
  });
});

describe('toEvict', () => {
  it('drops held layers out of view, farthest from the focus first, until the rest fits', () => {
    const all = layers(10, 1000);
    expect(toEvict(all, [0, 1, 2, 7, 8, 9], new Set([0, 1, 2]), 1, 4000)).toEqual([9, 8]);
    expect(toEvict(all, [0, 1, 2], new Set([0, 1, 2]), 1, 1000)).toEqual([]);
    expect(toEvict(all, [0, 9], new Set(), 0, 10_000)).toEqual([]);
  });
});
