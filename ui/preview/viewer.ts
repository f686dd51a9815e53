// What the preview page asks of a viewer, 3D (three.js) or the 2D layer fallback.
import type { LayerData } from './parse.ts';

export interface ViewState {
  /** Highest layer shown (the layer slider). */
  top: number;
  /** Layer being printed, or -1 when not printing this file. */
  current: number;
  /** Segments of the current layer already printed. */
  printedInCurrent: number;
  /** Draw the layers not printed yet (dimmed). */
  showRemaining: boolean;
}

export interface PreviewColours {
  background: string;
  printed: string;
  current: string;
  remaining: string;
  bed: string;
}

export interface PrintObject {
  name: string;
  polygon?: [number, number][];
  center?: [number, number];
  excluded: boolean;
}

export interface PreviewViewer {
  setColours(colours: PreviewColours): void;
  setBed(min: [number, number], max: [number, number]): void;
  fit(bbox: [number, number, number, number, number, number]): void;
  /** Layers by their index in the file; the preview adds only the ones in view. */
  addLayers(layers: LayerData[]): void;
  /** Drops layers no longer in view (memory is bounded). */
  removeLayers(indices: readonly number[]): void;
  setState(state: ViewState): void;
  setObjects?(objects: PrintObject[]): void;
  dispose(): void;
}
