// The preview's parser thread: streams the G-code file, parses it with gcode/ and posts finished layers
// (their buffers transferred, not copied), so the page stays responsive on large files.
import { GcodeLayerParser, type LayerData } from './parse.ts';

export type WorkerRequest = { type: 'load'; url: string } | { type: 'text'; text: string };

export type WorkerReply =
  | { type: 'layers'; layers: LayerData[] }
  | { type: 'progress'; bytes: number; total: number }
  | {
      type: 'done';
      layerCount: number;
      segments: number;
      lines: number;
      bytes: number;
      bbox: [number, number, number, number, number, number];
      parseMs: number;
    }
  | { type: 'error'; message: string };

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;

/** Layers are posted in batches at most this often, so the page redraws a few times a second. */
const POST_EVERY_MS = 120;

async function run(request: WorkerRequest): Promise<void> {
  const started = performance.now();
  let batch: LayerData[] = [];
  let lastPost = started;
  const post = () => {
    if (batch.length === 0) return;
    const transfer = batch.flatMap((l) => [l.positions.buffer, l.offsets.buffer]);
    scope.postMessage({ type: 'layers', layers: batch }, transfer);
    batch = [];
    lastPost = performance.now();
  };
  const parser = new GcodeLayerParser((layer) => {
    batch.push(layer);
    if (performance.now() - lastPost > POST_EVERY_MS) post();
  });

  if (request.type === 'text') {
    parser.push(request.text);
  } else {
    const response = await fetch(request.url);
    if (!response.ok || !response.body) {
      let message = `HTTP ${response.status}`;
      try {
        const body = (await response.json()) as { error?: { message?: string } };
        if (body.error?.message) message = body.error.message;
      } catch {
        // Not JSON.
      }
      throw new Error(`Cannot load the G-code: ${message}`);
    }
    const total = Number(response.headers.get('content-length') ?? 0);
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      parser.push(decoder.decode(value, { stream: true }));
      scope.postMessage({ type: 'progress', bytes, total });
    }
    parser.push(decoder.decode());
  }
  const summary = parser.finish();
  post();
  scope.postMessage({ type: 'done', ...summary, parseMs: performance.now() - started });
}

scope.onmessage = (event) => {
  run(event.data).catch((error: unknown) => {
    scope.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  });
};
