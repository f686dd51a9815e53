// The 2D fallback: one layer from above on a canvas, the bed, and the print's objects, which can be
// clicked to exclude them. Used where WebGL is missing, or by choice; it needs only that layer's bytes.
import type { LayerData } from './parse.ts';
import type { PreviewColours, PreviewViewer, PrintObject, ViewState } from './viewer.ts';

export class Viewer2d implements PreviewViewer {
  private readonly canvas = document.createElement('canvas');
  private readonly layers = new Map<number, LayerData>();
  private colours: PreviewColours;
  private bed: { min: [number, number]; max: [number, number] } = { min: [0, 0], max: [220, 220] };
  /** The area drawn: the bed until the model's extent is known. */
  private view: { min: [number, number]; max: [number, number] } | null = null;
  private state: ViewState = { top: -1, current: -1, printedInCurrent: 0, showRemaining: true };
  private objects: PrintObject[] = [];
  private frame = 0;
  private readonly observer: ResizeObserver;

  constructor(
    private readonly host: HTMLElement,
    colours: PreviewColours,
    private readonly onObjectClick?: (name: string) => void,
  ) {
    this.colours = colours;
    this.canvas.setAttribute('role', 'img');
    this.canvas.setAttribute('aria-label', 'Layer from above');
    host.appendChild(this.canvas);
    this.canvas.addEventListener('click', (event) => this.click(event));
    this.observer = new ResizeObserver(() => this.render());
    this.observer.observe(host);
  }

  setColours(colours: PreviewColours): void {
    this.colours = colours;
    this.render();
  }

  setBed(min: [number, number], max: [number, number]): void {
    this.bed = { min, max };
    this.render();
  }

  /** Frames the model (with a margin, at least 40 mm across) rather than the whole bed. */
  fit(bbox: [number, number, number, number, number, number]): void {
    const [x0, y0, , x1, y1] = bbox;
    const size = Math.max(40, (x1 - x0) * 1.3, (y1 - y0) * 1.3);
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    this.view = { min: [cx - size / 2, cy - size / 2], max: [cx + size / 2, cy + size / 2] };
    this.render();
  }

  addLayers(layers: LayerData[]): void {
    for (const layer of layers) this.layers.set(layer.index, layer);
    this.render();
  }

  removeLayers(indices: readonly number[]): void {
    for (const index of indices) this.layers.delete(index);
    this.render();
  }

  setState(state: ViewState): void {
    this.state = state;
    this.render();
  }

  setObjects(objects: PrintObject[]): void {
    this.objects = objects;
    this.render();
  }

  /** Bed millimetres → canvas pixels (Y up, as on the printer). */
  private transform(): { scale: number; ox: number; oy: number } {
    const w = this.canvas.width;
    const h = this.canvas.height;
    const area = this.view ?? this.bed;
    const bw = area.max[0] - area.min[0];
    const bh = area.max[1] - area.min[1];
    const scale = Math.min(w / bw, h / bh) * 0.94;
    return {
      scale,
      ox: (w - bw * scale) / 2 - area.min[0] * scale,
      oy: (h + bh * scale) / 2 + area.min[1] * scale,
    };
  }

  private render(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private draw(): void {
    const ratio = Math.min(2, devicePixelRatio);
    const width = Math.max(1, Math.round(this.host.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.host.clientHeight * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
      this.canvas.style.width = '100%';
      this.canvas.style.height = '100%';
    }
    const ctx = this.canvas.getContext('2d');
    if (!ctx) return;
    const { scale, ox, oy } = this.transform();
    const px = (x: number) => ox + x * scale;
    const py = (y: number) => oy - y * scale;
    ctx.fillStyle = this.colours.background;
    ctx.fillRect(0, 0, width, height);
    ctx.strokeStyle = this.colours.bed;
    ctx.lineWidth = ratio;
    ctx.strokeRect(
      px(this.bed.min[0]),
      py(this.bed.max[1]),
      (this.bed.max[0] - this.bed.min[0]) * scale,
      (this.bed.max[1] - this.bed.min[1]) * scale,
    );

    const { top, current, printedInCurrent } = this.state;
    const shown = current >= 0 ? Math.min(top, current) : top;
    const strokeLayer = (
      layer: LayerData | undefined,
      colour: string,
      alpha: number,
      from = 0,
      to = Infinity,
    ) => {
      if (!layer) return;
      const p = layer.positions;
      const end = Math.min(layer.offsets.length, to);
      ctx.globalAlpha = alpha;
      ctx.strokeStyle = colour;
      ctx.lineWidth = Math.max(1, 0.45 * scale);
      ctx.lineCap = 'round';
      ctx.beginPath();
      for (let i = from; i < end; i++) {
        const j = i * 6;
        ctx.moveTo(px(p[j]!), py(p[j + 1]!));
        ctx.lineTo(px(p[j + 3]!), py(p[j + 4]!));
      }
      ctx.stroke();
      ctx.globalAlpha = 1;
    };
    const layer = this.layers.get(shown);
    if (current >= 0 && shown === current) {
      strokeLayer(layer, this.colours.remaining, 0.9);
      strokeLayer(layer, this.colours.current, 1, 0, printedInCurrent);
    } else {
      strokeLayer(layer, current >= 0 ? this.colours.printed : this.colours.current, 1);
    }

    ctx.font = `${12 * ratio}px system-ui, sans-serif`;
    for (const object of this.objects) {
      if (!object.polygon || object.polygon.length < 3) continue;
      ctx.beginPath();
      object.polygon.forEach(([x, y], i) => {
        if (i === 0) ctx.moveTo(px(x), py(y));
        else ctx.lineTo(px(x), py(y));
      });
      ctx.closePath();
      ctx.setLineDash(object.excluded ? [4 * ratio, 4 * ratio] : []);
      ctx.strokeStyle = object.excluded ? this.colours.remaining : this.colours.bed;
      ctx.stroke();
      ctx.setLineDash([]);
      if (object.center) {
        ctx.fillStyle = this.colours.bed;
        ctx.fillText(
          object.excluded ? `${object.name} (excluded)` : object.name,
          px(object.center[0]) + 4,
          py(object.center[1]),
        );
      }
    }
  }

  private click(event: MouseEvent): void {
    if (!this.onObjectClick) return;
    const rect = this.canvas.getBoundingClientRect();
    const ratio = this.canvas.width / rect.width;
    const { scale, ox, oy } = this.transform();
    const x = ((event.clientX - rect.left) * ratio - ox) / scale;
    const y = (oy - (event.clientY - rect.top) * ratio) / scale;
    const hit = this.objects.find((o) => !o.excluded && o.polygon && inside(o.polygon, x, y));
    if (hit) this.onObjectClick(hit.name);
  }

  dispose(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.observer.disconnect();
    this.canvas.remove();
  }
}

/** Ray casting point-in-polygon. */
function inside(polygon: [number, number][], x: number, y: number): boolean {
  let result = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) result = !result;
  }
  return result;
}
