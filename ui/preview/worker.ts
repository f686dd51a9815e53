// The preview's parser thread: fetches the bytes of a run of layers with one Range request, parses them
// with gcode/ from the layer index's entry state and posts the layers (their buffers transferred, not
// copied), so the page stays responsive and never holds the whole file.
import { GcodeLayerParser, type LayerData, type LayerSpan, type MachineEntry } from './parse.ts';

export interface ChunkRequest {
  type: 'chunk';
  id: number;
  url: string;
  /** The file's size in the layer index; a different one means the file changed since. */
  size: number;
  /** Consecutive layers; the request covers the first's startByte to the last's endByte. */
  layers: LayerSpan[];
  entry: MachineEntry;
}

export type WorkerReply =
  | { type: 'chunk'; id: number; layers: LayerData[]; bytes: number; parseMs: number }
  | { type: 'error'; id: number; message: string };

interface WorkerScope {
  onmessage: ((event: MessageEvent<ChunkRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
}

const scope = self as unknown as WorkerScope;

async function errorText(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // Not JSON.
  }
  return `HTTP ${response.status}`;
}

async function loadChunk(request: ChunkRequest): Promise<void> {
  const first = request.layers[0]!;
  const last = request.layers[request.layers.length - 1]!;
  const start = first.startByte;
  const end = last.endByte;
  const what = first === last ? `layer ${first.index + 1}` : `layers ${first.index + 1}–${last.index + 1}`;
  const response = await fetch(request.url, { headers: { range: `bytes=${start}-${end - 1}` } });
  if (response.status !== 206) {
    const reason =
      response.status === 200
        ? 'the server sent the whole file instead of the requested bytes (no Range support)'
        : await errorText(response);
    throw new Error(`Cannot load the G-code (${what}): ${reason}`);
  }
  // Cross-origin (?api=), Content-Range is only readable when the daemon exposes it; it does.
  const total = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '')?.[1];
  if (total !== undefined && Number(total) !== request.size) {
    throw new Error(
      `Cannot load the G-code: the file changed since it was analysed (${total} bytes, not ${request.size}); open it again`,
    );
  }
  const bytes = new Uint8Array(await response.arrayBuffer());
  if (bytes.byteLength !== end - start) {
    throw new Error(`Cannot load the G-code (${what}): got ${bytes.byteLength} bytes, not ${end - start}`);
  }
  const started = performance.now();
  const parser = new GcodeLayerParser(request.layers, request.entry);
  // ignoreBOM keeps a byte-order mark as a character, so byte offsets still count it.
  parser.push(new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes));
  const layers = parser.finish();
  const transfer = layers.flatMap((l) => [l.positions.buffer, l.offsets.buffer]);
  scope.postMessage(
    { type: 'chunk', id: request.id, layers, bytes: bytes.byteLength, parseMs: performance.now() - started },
    transfer,
  );
}

scope.onmessage = (event) => {
  const request = event.data;
  loadChunk(request).catch((error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    scope.postMessage({ type: 'error', id: request.id, message });
  });
};
