// The G-code preview page, loaded only when opened: the file is parsed in a worker while layers appear;
// the current layer follows the print, printed and remaining parts in different colours, objects can be
// excluded during a print, and a 2D layer view stands in where WebGL is missing.
import { batch, useComputed, useSignal, useSignalEffect } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import { fileUrl } from '../api/endpoint.ts';
import { rpc } from '../api/session.ts';
import { bytes, duration } from '../format.ts';
import { jobActive, jobFile } from '../state/job.ts';
import { type ObjectStatus, printerObject, toolhead, virtualSdcard } from '../state/printer.ts';
import { resolvedTheme } from '../state/settings.ts';
import { perform } from '../state/toasts.ts';
import { ActionButton, Empty, Panel, Spinner } from '../widgets/common.tsx';
import { confirm } from '../widgets/confirm.tsx';
import { type Chunk, chunksFor, layersInView, toEvict, withinBudget } from './layer-plan.ts';
import { type LayerData, type LayerSpan, layerAt, type MachineEntry, segmentsBefore } from './parse.ts';
import type { PreviewColours, PreviewViewer, PrintObject } from './viewer.ts';
import { Viewer2d } from './viewer2d.ts';
import { Viewer3d } from './viewer3d.ts';
import type { ChunkRequest, WorkerReply } from './worker.ts';

declare const PREVIEW_WORKER_URL: string;

interface ExcludeObjectStatus extends ObjectStatus {
  objects?: { name: string; center?: [number, number]; polygon?: [number, number][] }[];
  excluded_objects?: string[];
  current_object?: string | null;
}

const excludeObject = printerObject<ExcludeObjectStatus>('exclude_object');

function colours(theme: string): PreviewColours {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string) => css.getPropertyValue(name).trim();
  return {
    background: v('--bg') || '#111318',
    printed: v('--accent') || '#ff7a3d',
    current: theme === 'dark' ? '#ffe082' : '#1a56b8',
    remaining: theme === 'dark' ? '#8b93a7' : '#9aa1b1',
    bed: v('--border') || '#2f3441',
  };
}

function webglAvailable(): boolean {
  try {
    const canvas = document.createElement('canvas');
    return Boolean(canvas.getContext('webgl2') ?? canvas.getContext('webgl'));
  } catch {
    return false;
  }
}

/** What server.files.layers answers (Brim's layer index, built when the file was analysed). */
interface LayerIndexReply {
  filename: string;
  size: number;
  layers: {
    index: number;
    z: number;
    start_byte: number;
    end_byte: number;
    entry: { x: number; y: number; z: number; e: number; relative_xyz: boolean; relative_e: boolean };
  }[];
  bbox?: { min: [number, number, number]; max: [number, number, number] };
}

interface IndexedLayer extends LayerSpan {
  entry: MachineEntry;
}

const SHOW_REMAINING_KEY = 'brim.preview.remaining';

/** Range requests on their way at once (at most 2 MB): the worker parses one while the next downloads, and the page drawing a layer in software WebGL does not hold the next back. */
const MAX_IN_FLIGHT = 4;

interface LoadStatus {
  state: 'idle' | 'loading' | 'done' | 'error';
  /** G-code bytes fetched for this file so far, of `size`. */
  fetched: number;
  size: number;
  /** How long the last round of fetching took, from the first request to the last layer in view. */
  loadMs: number;
  /** Layers and segments held. */
  held: number;
  segments: number;
  /** The layers in view did not all fit in the memory budget. */
  trimmed: boolean;
  message: string;
}

const IDLE: LoadStatus = {
  state: 'idle',
  fetched: 0,
  size: 0,
  loadMs: 0,
  held: 0,
  segments: 0,
  trimmed: false,
  message: '',
};

/** One open file: its worker and viewer, the layers held and the requests on their way. */
interface Session {
  view: PreviewViewer;
  worker: Worker;
  path: string;
  size: number;
  layers: IndexedLayer[];
  loaded: Map<number, LayerData>;
  inFlight: Map<number, Chunk>;
  nextId: number;
  fetched: number;
  /** When the current round of fetching started (performance.now()). */
  roundStart: number;
  fitted: boolean;
  failed: boolean;
}

function FilePicker({ value, onPick }: { value: string; onPick: (file: string) => void }) {
  const files = useSignal<string[] | null>(null);
  useEffect(() => {
    rpc
      .query<{ path: string; modified: number }[]>('server.files.list', { root: 'gcodes' })
      .then((list) => {
        files.value = [...list].sort((a, b) => b.modified - a.modified).map((f) => f.path);
      })
      .catch(() => {
        files.value = [];
      });
  }, []);
  const options = files.value ?? [];
  return (
    <label class="field compact inline">
      <span>File</span>
      <select value={value} onChange={(e) => onPick((e.target as HTMLSelectElement).value)}>
        <option value="">{files.value === null ? 'Loading…' : 'Choose a file'}</option>
        {value && !options.includes(value) ? <option value={value}>{value}</option> : null}
        {options.map((f) => (
          <option key={f} value={f}>
            {f}
          </option>
        ))}
      </select>
    </label>
  );
}

export default function PreviewView() {
  const query = new URLSearchParams(location.search);
  const chosen = useSignal(query.get('file') ?? '');
  const file = useComputed(() => chosen.value || jobFile.value);
  const mode = useSignal<'3d' | '2d'>(query.get('view') !== '2d' && webglAvailable() ? '3d' : '2d');
  const follow = useSignal(true);
  // Per browser, like the theme: whether layers not printed yet are drawn (and so fetched).
  const showRemaining = useSignal(localStorage.getItem(SHOW_REMAINING_KEY) !== 'no');
  const top = useSignal(-1);
  const index = useSignal<IndexedLayer[] | null>(null);
  const status = useSignal<LoadStatus>(IDLE);
  const stage = useRef<HTMLDivElement>(null);
  const session = useRef<Session | null>(null);

  const layerCount = useComputed(() => index.value?.length ?? 0);
  const printingThis = useComputed(
    () => jobActive.value && file.value !== '' && file.value === jobFile.value,
  );
  const position = useComputed(() => (printingThis.value ? (virtualSdcard.value?.file_position ?? 0) : -1));
  // The index says where every layer starts, so the current layer is known before any is fetched.
  const current = useComputed(() =>
    position.value >= 0 && index.value ? layerAt(index.value, position.value) : -1,
  );
  // Following a print, everything still to come is drawn dimmed above it (when asked for).
  const viewTop = useComputed(() =>
    follow.value && current.value >= 0 && showRemaining.value ? layerCount.value - 1 : top.value,
  );
  // The layers in view, most wanted first.
  const inView = useComputed(() => {
    const layers = index.value;
    if (!layers || layers.length === 0) return [];
    const now = current.value;
    let highest = viewTop.value;
    // 3D hides what is not printed yet unless asked to show it; 2D shows the layer being printed.
    if (now >= 0 && (mode.value === '2d' || !showRemaining.value)) highest = Math.min(highest, now);
    const focus = now >= 0 ? Math.min(now, highest) : highest;
    return layersInView({ mode: mode.value, focus, top: highest });
  });
  // What of it fits in the memory budget.
  const wanted = useComputed(() => (index.value ? withinBudget(index.value, inView.value) : []));

  /** Sends what the view lacks, drops what the budget cannot keep, and says where loading stands. */
  const pump = () => {
    const open = session.current;
    if (!open || open.failed || !index.peek()) return;
    const order = wanted.peek();
    const coming = new Set<number>();
    for (const chunk of open.inFlight.values()) for (let i = chunk.first; i <= chunk.last; i++) coming.add(i);
    const chunks = chunksFor(open.layers, order, (i) => open.loaded.has(i) || coming.has(i));
    const previous = status.peek();
    const wasLoading = previous.state === 'loading';
    for (const chunk of chunks) {
      if (open.inFlight.size >= MAX_IN_FLIGHT) break;
      if (!wasLoading && open.inFlight.size === 0) open.roundStart = performance.now();
      const id = open.nextId++;
      open.inFlight.set(id, chunk);
      const spans = open.layers.slice(chunk.first, chunk.last + 1);
      const request: ChunkRequest = {
        type: 'chunk',
        id,
        // Made afresh each time: it carries the access token, which is refreshed now and then.
        url: new URL(fileUrl(`gcodes/${open.path}`), location.href).toString(),
        size: open.size,
        layers: spans.map(({ index, z, startByte, endByte }) => ({ index, z, startByte, endByte })),
        entry: spans[0]!.entry,
      };
      open.worker.postMessage(request);
    }
    const keep = new Set(order);
    const evict = toEvict(open.layers, open.loaded.keys(), keep, order[0] ?? 0);
    if (evict.length > 0) {
      for (const i of evict) open.loaded.delete(i);
      open.view.removeLayers(evict);
    }
    let segments = 0;
    for (const layer of open.loaded.values()) segments += layer.offsets.length;
    const missing = order.some((i) => !open.loaded.has(i));
    status.value = {
      state: missing ? 'loading' : 'done',
      fetched: open.fetched,
      size: open.size,
      loadMs: !missing && wasLoading ? performance.now() - open.roundStart : previous.loadMs,
      held: open.loaded.size,
      segments,
      trimmed: order.length < inView.peek().length,
      message: '',
    };
  };

  // Load: a new viewer and a new worker per file and mode; both go when the page or the file changes.
  useEffect(() => {
    const host = stage.current;
    const path = file.value;
    index.value = null;
    top.value = -1;
    session.current = null;
    if (!host || !path) {
      status.value = IDLE;
      return;
    }
    const theme = resolvedTheme.peek();
    let view: PreviewViewer;
    const exclude = (name: string) => {
      void confirm({
        title: `Exclude ${name}?`,
        message: 'It is skipped for the rest of the print.',
        confirmLabel: 'Exclude',
        danger: true,
      }).then((ok) => (ok ? perform(() => excludeNamed(name), `${name} excluded`) : false));
    };
    try {
      view =
        mode.value === '3d'
          ? new Viewer3d(host, colours(theme))
          : new Viewer2d(host, colours(theme), exclude);
    } catch {
      mode.value = '2d';
      return;
    }
    const bed = toolhead.peek();
    const min = (bed?.axis_minimum ?? [0, 0]) as number[];
    const max = (bed?.axis_maximum ?? [220, 220]) as number[];
    view.setBed([min[0] ?? 0, min[1] ?? 0], [max[0] ?? 220, max[1] ?? 220]);
    status.value = { ...IDLE, state: 'loading' };
    const open: Session = {
      view,
      worker: new Worker(PREVIEW_WORKER_URL),
      path,
      size: 0,
      layers: [],
      loaded: new Map(),
      inFlight: new Map(),
      nextId: 1,
      fetched: 0,
      roundStart: performance.now(),
      fitted: false,
      failed: false,
    };
    session.current = open;
    const fail = (message: string) => {
      open.failed = true;
      status.value = { ...status.peek(), state: 'error', message };
    };
    open.worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      open.inFlight.delete(reply.id);
      if (reply.type === 'error') {
        fail(reply.message);
        return;
      }
      open.fetched += reply.bytes;
      for (const layer of reply.layers) open.loaded.set(layer.index, layer);
      view.addLayers(reply.layers);
      if (!open.fitted) {
        const drawn = reply.layers.find((l) => l.positions.length > 0);
        if (drawn) {
          view.fit(extent(drawn.positions));
          open.fitted = true;
        }
      }
      pump();
    };
    rpc
      .query<LayerIndexReply>('server.files.layers', { filename: path })
      .then((reply) => {
        if (session.current !== open) return;
        open.size = reply.size;
        open.layers = reply.layers.map((l) => ({
          index: l.index,
          z: l.z,
          startByte: l.start_byte,
          endByte: l.end_byte,
          entry: {
            x: l.entry.x,
            y: l.entry.y,
            z: l.entry.z,
            e: l.entry.e,
            relativeXyz: l.entry.relative_xyz,
            relativeE: l.entry.relative_e,
          },
        }));
        if (reply.bbox) {
          view.fit([...reply.bbox.min, ...reply.bbox.max]);
          open.fitted = true;
        }
        if (open.layers.length === 0) {
          fail('No layers found in this file: nothing to preview');
          return;
        }
        batch(() => {
          index.value = open.layers;
          top.value = open.layers.length - 1;
        });
      })
      .catch((error: unknown) => {
        if (session.current !== open) return;
        fail(`Cannot load the G-code: ${error instanceof Error ? error.message : String(error)}`);
      });
    return () => {
      open.worker.terminate();
      view.dispose();
      if (session.current === open) session.current = null;
    };
  }, [file.value, mode.value]);

  // Whenever the layers in view change (slider, print progress, mode), fetch what is missing.
  useSignalEffect(() => {
    wanted.value;
    pump();
  });

  useSignalEffect(() => {
    const theme = resolvedTheme.value;
    session.current?.view.setColours(colours(theme));
  });

  // Follow the print: the slider moves with the current layer unless the user took it elsewhere.
  useSignalEffect(() => {
    const layer = current.value;
    if (follow.value && layer >= 0) top.value = layer;
  });

  useSignalEffect(() => {
    const layer = current.value;
    // Read so the printed part is drawn once the current layer's data has arrived.
    status.value;
    const data = layer >= 0 ? session.current?.loaded.get(layer) : undefined;
    session.current?.view.setState({
      top: viewTop.value,
      current: layer,
      printedInCurrent: data ? segmentsBefore(data.offsets, position.value) : 0,
      showRemaining: showRemaining.value,
    });
  });

  useSignalEffect(() => {
    const status = excludeObject.value;
    const excluded = new Set(status?.excluded_objects ?? []);
    const objects: PrintObject[] = (status?.objects ?? []).map((o) => ({
      ...o,
      excluded: excluded.has(o.name),
    }));
    session.current?.view.setObjects?.(printingThis.value ? objects : []);
  });

  const s = status.value;
  const layer = index.value?.[top.value];
  const objects = excludeObject.value?.objects ?? [];
  const excluded = new Set(excludeObject.value?.excluded_objects ?? []);

  return (
    <div class="preview-page">
      <Panel
        title="G-code preview"
        icon="cube"
        id="preview"
        actions={
          <>
            <FilePicker value={chosen.value || jobFile.value} onPick={(f) => (chosen.value = f)} />
            <fieldset class="steps" aria-label="View">
              {(['3d', '2d'] as const).map((m) => (
                <label key={m} class={`chip ${mode.value === m ? 'on' : ''}`}>
                  <input
                    type="radio"
                    name="preview-mode"
                    checked={mode.value === m}
                    onChange={() => (mode.value = m)}
                  />
                  {m === '3d' ? '3D' : '2D layer'}
                </label>
              ))}
            </fieldset>
          </>
        }
      >
        {!file.value ? <Empty>Choose a file, or start a print: the preview follows it.</Empty> : null}
        <div
          ref={stage}
          class={`preview-stage ${file.value ? '' : 'hidden'}`}
          data-testid="preview-stage"
          data-state={s.state}
          data-parse-ms={s.state === 'done' ? Math.round(s.loadMs) : undefined}
          data-layers={layerCount.value}
          data-held-layers={s.held}
          data-fetched-bytes={s.fetched}
          data-segments={s.segments || undefined}
          data-current-layer={current.value}
          data-mode={mode.value}
        />
        {file.value ? (
          <div class="preview-controls">
            <label class="layer-slider">
              <span>
                Layer {top.value + 1} / {layerCount.value}
                {layer ? ` · Z ${layer.z.toFixed(2)} mm` : ''}
              </span>
              <input
                type="range"
                min={0}
                max={Math.max(0, layerCount.value - 1)}
                value={Math.max(0, top.value)}
                aria-label="Highest layer shown"
                onInput={(e) => {
                  top.value = Number((e.target as HTMLInputElement).value);
                  if (printingThis.value) follow.value = top.value === current.value;
                }}
              />
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={follow.value}
                disabled={!printingThis.value}
                onChange={(e) => (follow.value = (e.target as HTMLInputElement).checked)}
              />
              Follow the print
            </label>
            <label class="check">
              <input
                type="checkbox"
                checked={showRemaining.value}
                onChange={(e) => {
                  showRemaining.value = (e.target as HTMLInputElement).checked;
                  localStorage.setItem(SHOW_REMAINING_KEY, showRemaining.value ? 'yes' : 'no');
                }}
              />
              Show what is left
            </label>
            <span class="muted preview-status" role="status">
              {s.state === 'loading' ? (
                <>
                  <Spinner /> Fetching layers… {bytes(s.fetched)} so far
                </>
              ) : s.state === 'done' ? (
                `${s.held} layers held, ${bytes(s.fetched)} of ${bytes(s.size)} fetched, last in ${s.loadMs < 1000 ? `${Math.round(s.loadMs)} ms` : duration(s.loadMs / 1000)}, ${s.segments.toLocaleString()} moves${s.trimmed ? ' · only the layers nearest this one: the rest exceed the memory budget' : ''}`
              ) : s.state === 'error' ? (
                <span class="error-text">{s.message}</span>
              ) : null}
            </span>
          </div>
        ) : null}
      </Panel>
      {printingThis.value && objects.length > 0 ? (
        <Panel title="Objects" icon="layers" id="objects">
          <ul class="object-list">
            {objects.map((o) => (
              <li key={o.name}>
                <span class={excluded.has(o.name) ? 'muted' : ''}>{o.name}</span>
                {excluded.has(o.name) ? (
                  <span class="muted">excluded</span>
                ) : (
                  <ActionButton
                    class="small ghost"
                    action={() => excludeNamed(o.name)}
                    confirm={{
                      title: `Exclude ${o.name}?`,
                      message: 'It is skipped for the rest of the print.',
                      confirmLabel: 'Exclude',
                      danger: true,
                    }}
                    done={`${o.name} excluded`}
                    aria-label={`Exclude ${o.name}`}
                  >
                    Exclude
                  </ActionButton>
                )}
              </li>
            ))}
          </ul>
        </Panel>
      ) : null}
    </div>
  );
}

function excludeNamed(name: string): Promise<unknown> {
  return rpc.call('printer.gcode.script', { script: `EXCLUDE_OBJECT NAME=${name}` });
}

/** Bounding box of a layer's segments, for a first camera position before the whole file is in. */
function extent(positions: Float32Array): [number, number, number, number, number, number] {
  const box: [number, number, number, number, number, number] = [
    Infinity,
    Infinity,
    Infinity,
    -Infinity,
    -Infinity,
    -Infinity,
  ];
  for (let i = 0; i < positions.length; i += 3) {
    for (let axis = 0; axis < 3; axis++) {
      const v = positions[i + axis]!;
      if (v < box[axis]!) box[axis] = v;
      if (v > box[axis + 3]!) box[axis + 3] = v;
    }
  }
  return box;
}
