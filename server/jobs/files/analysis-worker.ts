// Entry point of the analysis worker thread: one request in, one reply out, errors as replies.
import { parentPort } from 'node:worker_threads';
import { type AnalysisRequest, analyseFile } from './analyse-file.ts';

const port = parentPort;
if (!port) throw new Error('analysis-worker.ts runs only as a worker thread');

port.on('message', (message: { id: number; request: AnalysisRequest }) => {
  analyseFile(message.request).then(
    (output) => port.postMessage({ id: message.id, ok: true, output }),
    (error: unknown) =>
      port.postMessage({
        id: message.id,
        ok: false,
        error: error instanceof Error ? error.message : String(error),
      }),
  );
});
