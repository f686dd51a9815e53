// The 3D line viewer: one LineSegments (one draw call) per layer, printed, current and remaining parts in
// their own colours, rendered only when something changed.
import {
  BufferAttribute,
  BufferGeometry,
  Float32BufferAttribute,
  LineBasicMaterial,
  LineSegments,
  PerspectiveCamera,
  Scene,
  WebGLRenderer,
} from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { LayerData } from './parse.ts';
import type { PreviewColours, PreviewViewer, ViewState } from './viewer.ts';

interface Layer {
  data: LayerData;
  geometry: BufferGeometry;
  lines: LineSegments;
}

export class Viewer3d implements PreviewViewer {
  private readonly renderer: WebGLRenderer;
  private readonly scene = new Scene();
  private readonly camera = new PerspectiveCamera(40, 1, 0.5, 5000);
  private readonly controls: OrbitControls;
  private readonly layers = new Map<number, Layer>();
  private readonly materials: Record<'printed' | 'current' | 'remaining', LineBasicMaterial>;
  private readonly bedMaterial: LineBasicMaterial;
  private bed: LineSegments | null = null;
  /** The printed part of the current layer, drawn over it. */
  private readonly progress: LineSegments;
  private state: ViewState = { top: -1, current: -1, printedInCurrent: 0, showRemaining: true };
  private frame = 0;
  private readonly observer: ResizeObserver;

  constructor(
    private readonly host: HTMLElement,
    colours: PreviewColours,
  ) {
    this.renderer = new WebGLRenderer({ antialias: true, powerPreference: 'low-power' });
    this.renderer.setPixelRatio(Math.min(2, devicePixelRatio));
    host.appendChild(this.renderer.domElement);
    this.camera.up.set(0, 0, 1);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = false;
    this.controls.addEventListener('change', () => this.render());
    this.materials = {
      printed: new LineBasicMaterial(),
      current: new LineBasicMaterial(),
      remaining: new LineBasicMaterial({ transparent: true, opacity: 0.35, depthWrite: false }),
    };
    this.bedMaterial = new LineBasicMaterial();
    this.progress = new LineSegments(
      new BufferGeometry(),
      new LineBasicMaterial({ transparent: true, opacity: 1, depthWrite: false }),
    );
    this.progress.renderOrder = 10;
    this.progress.frustumCulled = false;
    this.progress.visible = false;
    this.scene.add(this.progress);
    this.setColours(colours);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(host);
    this.resize();
  }

  setColours(colours: PreviewColours): void {
    this.renderer.setClearColor(colours.background);
    this.materials.printed.color.set(colours.printed);
    this.materials.current.color.set(colours.current);
    (this.progress.material as LineBasicMaterial).color.set(colours.current);
    this.materials.remaining.color.set(colours.remaining);
    this.bedMaterial.color.set(colours.bed);
    this.render();
  }

  setBed(min: [number, number], max: [number, number]): void {
    if (this.bed) {
      this.scene.remove(this.bed);
      this.bed.geometry.dispose();
    }
    const points: number[] = [];
    // In 10 mm pieces: a long line crossing the camera's near plane is dropped by some GL drivers.
    const line = (x1: number, y1: number, x2: number, y2: number) => {
      const pieces = Math.max(1, Math.ceil(Math.hypot(x2 - x1, y2 - y1) / 10));
      for (let i = 0; i < pieces; i++) {
        const a = i / pieces;
        const b = (i + 1) / pieces;
        points.push(x1 + (x2 - x1) * a, y1 + (y2 - y1) * a, 0, x1 + (x2 - x1) * b, y1 + (y2 - y1) * b, 0);
      }
    };
    for (let x = Math.ceil(min[0] / 10) * 10; x <= max[0]; x += 10) line(x, min[1], x, max[1]);
    for (let y = Math.ceil(min[1] / 10) * 10; y <= max[1]; y += 10) line(min[0], y, max[0], y);
    line(min[0], min[1], max[0], min[1]);
    line(max[0], min[1], max[0], max[1]);
    line(max[0], max[1], min[0], max[1]);
    line(min[0], max[1], min[0], min[1]);
    const geometry = new BufferGeometry();
    geometry.setAttribute('position', new Float32BufferAttribute(points, 3));
    this.bed = new LineSegments(geometry, this.bedMaterial);
    this.scene.add(this.bed);
    this.render();
  }

  /** Points the camera at the model from the front, above. */
  fit(bbox: [number, number, number, number, number, number]): void {
    const [x0, y0, z0, x1, y1, z1] = bbox;
    const cx = (x0 + x1) / 2;
    const cy = (y0 + y1) / 2;
    const cz = (z0 + z1) / 2;
    const size = Math.max(20, x1 - x0, y1 - y0, z1 - z0);
    this.controls.target.set(cx, cy, cz);
    this.camera.position.set(cx, cy - size * 1.8, cz + size * 1.3);
    this.controls.update();
    this.render();
  }

  addLayers(layers: LayerData[]): void {
    for (const data of layers) {
      if (this.layers.has(data.index)) continue;
      const geometry = new BufferGeometry();
      geometry.setAttribute('position', new BufferAttribute(data.positions, 3));
      const lines = new LineSegments(geometry, this.materials.printed);
      lines.frustumCulled = false;
      this.scene.add(lines);
      this.layers.set(data.index, { data, geometry, lines });
    }
    this.apply();
  }

  removeLayers(indices: readonly number[]): void {
    for (const index of indices) {
      const layer = this.layers.get(index);
      if (!layer) continue;
      if (this.progress.geometry.getAttribute('position') === layer.geometry.getAttribute('position')) {
        this.progress.geometry.deleteAttribute('position');
        this.progress.visible = false;
      }
      this.scene.remove(layer.lines);
      layer.geometry.dispose();
      this.layers.delete(index);
    }
    this.apply();
  }

  setState(state: ViewState): void {
    this.state = state;
    this.apply();
  }

  private apply(): void {
    const { top, current, printedInCurrent, showRemaining } = this.state;
    const printing = current >= 0;
    this.progress.visible = false;
    this.layers.forEach((layer, i) => {
      // Map.forEach gives (value, key): `i` is the layer's index in the file.
      const lines = layer.lines;
      if (!printing) {
        lines.visible = i <= top;
        lines.material = i === top ? this.materials.current : this.materials.printed;
      } else if (i < current) {
        lines.visible = i <= top;
        lines.material = this.materials.printed;
      } else {
        lines.visible = i <= top && (i === current || showRemaining);
        lines.material = this.materials.remaining;
      }
    });
    const layer = printing ? this.layers.get(current) : undefined;
    if (layer && current <= top && printedInCurrent > 0) {
      // A second geometry over the same vertices, cut at the file position: drawn last, on top.
      const position = layer.geometry.getAttribute('position');
      if (this.progress.geometry.getAttribute('position') !== position) {
        this.progress.geometry.setAttribute('position', position);
      }
      this.progress.geometry.setDrawRange(0, printedInCurrent * 2);
      this.progress.visible = true;
    }
    this.render();
  }

  private render(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.renderer.render(this.scene, this.camera);
    });
  }

  private resize(): void {
    const width = Math.max(1, this.host.clientWidth);
    const height = Math.max(1, this.host.clientHeight);
    this.renderer.setSize(width, height, false);
    this.renderer.domElement.style.width = '100%';
    this.renderer.domElement.style.height = '100%';
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  dispose(): void {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.observer.disconnect();
    this.controls.dispose();
    for (const layer of this.layers.values()) layer.geometry.dispose();
    this.bed?.geometry.dispose();
    for (const material of Object.values(this.materials)) material.dispose();
    (this.progress.material as LineBasicMaterial).dispose();
    this.bedMaterial.dispose();
    this.renderer.dispose();
    this.renderer.domElement.remove();
  }
}
