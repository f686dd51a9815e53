// The G-code preview page, loaded only when opened: the file is parsed in a worker while layers appear;
// the current layer follows the print, printed and remaining parts in different colours, objects can be
// excluded during a print, and a 2D layer view stands in where WebGL is missing.
import { useComputed, useSignal, useSignalEffect } from '@preact/signals';
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
import { type LayerData, layerAt, segmentsBefore } from './parse.ts';
import type { PreviewColours, PreviewViewer, PrintObject } from './viewer.ts';
import { Viewer2d } from './viewer2d.ts';
import { Viewer3d } from './viewer3d.ts';
import type { WorkerReply } from './worker.ts';

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

interface LoadStatus {
  state: 'idle' | 'loading' | 'done' | 'error';
  bytes: number;
  total: number;
  parseMs: number;
  segments: number;
  message: string;
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
  const showRemaining = useSignal(true);
  const top = useSignal(-1);
  const layerCount = useSignal(0);
  const status = useSignal<LoadStatus>({
    state: 'idle',
    bytes: 0,
    total: 0,
    parseMs: 0,
    segments: 0,
    message: '',
  });
  const stage = useRef<HTMLDivElement>(null);
  const viewer = useRef<PreviewViewer | null>(null);
  const layers = useRef<LayerData[]>([]);

  const printingThis = useComputed(
    () => jobActive.value && file.value !== '' && file.value === jobFile.value,
  );
  const position = useComputed(() => (printingThis.value ? (virtualSdcard.value?.file_position ?? 0) : -1));
  const current = useComputed(() => {
    layerCount.value;
    return position.value >= 0 ? layerAt(layers.current, position.value) : -1;
  });

  // Load: a new viewer and a new worker per file and mode; both go when the page or the file changes.
  useEffect(() => {
    const host = stage.current;
    const path = file.value;
    layers.current = [];
    layerCount.value = 0;
    top.value = -1;
    if (!host || !path) {
      status.value = { ...status.peek(), state: 'idle' };
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
    viewer.current = view;
    const bed = toolhead.peek();
    const min = (bed?.axis_minimum ?? [0, 0]) as number[];
    const max = (bed?.axis_maximum ?? [220, 220]) as number[];
    view.setBed([min[0] ?? 0, min[1] ?? 0], [max[0] ?? 220, max[1] ?? 220]);
    status.value = { state: 'loading', bytes: 0, total: 0, parseMs: 0, segments: 0, message: '' };
    const worker = new Worker(PREVIEW_WORKER_URL);
    let fitted = false;
    worker.onmessage = (event: MessageEvent<WorkerReply>) => {
      const reply = event.data;
      if (reply.type === 'layers') {
        const atEnd = top.peek() === layerCount.peek() - 1;
        layers.current.push(...reply.layers);
        view.addLayers(reply.layers);
        layerCount.value = layers.current.length;
        if (atEnd || top.peek() < 0) top.value = layers.current.length - 1;
        if (!fitted) {
          view.fit(extent(reply.layers[0]!.positions));
          fitted = true;
        }
      } else if (reply.type === 'progress') {
        status.value = { ...status.peek(), bytes: reply.bytes, total: reply.total };
      } else if (reply.type === 'done') {
        view.fit(reply.bbox);
        status.value = {
          state: 'done',
          bytes: reply.bytes,
          total: reply.bytes,
          parseMs: reply.parseMs,
          segments: reply.segments,
          message: '',
        };
        worker.terminate();
      } else {
        status.value = { ...status.peek(), state: 'error', message: reply.message };
        worker.terminate();
      }
    };
    worker.postMessage({ type: 'load', url: new URL(fileUrl(`gcodes/${path}`), location.href).toString() });
    return () => {
      worker.terminate();
      view.dispose();
      viewer.current = null;
    };
  }, [file.value, mode.value]);

  useSignalEffect(() => {
    const theme = resolvedTheme.value;
    viewer.current?.setColours(colours(theme));
  });

  // Follow the print: the slider moves with the current layer unless the user took it elsewhere.
  useSignalEffect(() => {
    const layer = current.value;
    if (follow.value && layer >= 0) top.value = layer;
  });

  useSignalEffect(() => {
    const layer = current.value;
    const data = layer >= 0 ? layers.current[layer] : undefined;
    // Following a print, everything still to come is drawn dimmed above it (when asked for).
    const following = follow.value && layer >= 0;
    viewer.current?.setState({
      top: following && showRemaining.value ? layerCount.value - 1 : top.value,
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
    viewer.current?.setObjects?.(printingThis.value ? objects : []);
  });

  const s = status.value;
  const layer = layers.current[top.value];
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
          data-parse-ms={s.state === 'done' ? Math.round(s.parseMs) : undefined}
          data-layers={layerCount.value}
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
                onChange={(e) => (showRemaining.value = (e.target as HTMLInputElement).checked)}
              />
              Show what is left
            </label>
            <span class="muted preview-status" role="status">
              {s.state === 'loading' ? (
                <>
                  <Spinner /> Parsing {bytes(s.bytes)}
                  {s.total ? ` of ${bytes(s.total)}` : ''}…
                </>
              ) : s.state === 'done' ? (
                `${bytes(s.bytes)} parsed in ${s.parseMs < 1000 ? `${Math.round(s.parseMs)} ms` : duration(s.parseMs / 1000)}, ${s.segments.toLocaleString()} moves`
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
