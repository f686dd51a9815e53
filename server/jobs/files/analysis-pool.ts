// Runs G-code analysis in a worker thread, one file at a time, so the loop that feeds the serial
// port never waits on a 100 MB file; a stuck or crashed analysis costs the worker, not the daemon.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../core/logger.ts';
import type { AnalysisOutput, AnalysisRequest } from './analyse-file.ts';

interface Job {
  request: AnalysisRequest;
  resolve(output: AnalysisOutput): void;
  reject(error: Error): void;
}

type Reply = { id: number; ok: true; output: AnalysisOutput } | { id: number; ok: false; error: string };

export interface PoolOptions {
  log: Logger;
  /** An analysis running longer than this is abandoned and its worker replaced. */
  timeoutMs: number;
  /** Heap limit of the worker; a file that needs more fails alone. */
  maxHeapMb: number;
}

/**
 * The compiled worker sits beside the bundle (scripts/build.mjs emits dist/server/analysis-worker.js);
 * from TypeScript sources (tests) it is bundled on the fly with esbuild, a dev dependency.
 */
async function workerUrl(): Promise<URL> {
  const compiled = new URL('./analysis-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) return compiled;
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [fileURLToPath(new URL('./analysis-worker.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'silent',
  });
  const code = result.outputFiles[0]!.text;
  return new URL(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
}

let cachedUrl: Promise<URL> | null = null;

export class AnalysisPool {
  private worker: Worker | null = null;
  private readonly queue: Job[] = [];
  private current: { id: number; job: Job; timer: NodeJS.Timeout } | null = null;
  private nextId = 1;
  private stopped = false;

  constructor(private readonly options: PoolOptions) {}

  analyse(request: AnalysisRequest): Promise<AnalysisOutput> {
    if (this.stopped) return Promise.reject(new Error('analysis is stopped'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      void this.next();
    });
  }

  /** Files waiting or being analysed. */
  backlog(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('analysis is stopped'));
    if (this.current) {
      clearTimeout(this.current.timer);
      this.current.job.reject(new Error('analysis is stopped'));
      this.current = null;
    }
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private async next(): Promise<void> {
    if (this.current || this.stopped) return;
    const job = this.queue.shift();
    if (!job) return;
    const id = this.nextId++;
    const timer = setTimeout(
      () => this.abandon(id, `took longer than ${this.options.timeoutMs / 1000} s`),
      this.options.timeoutMs,
    );
    this.current = { id, job, timer };
    try {
      const worker = await this.ensureWorker();
      if (this.current?.id === id) worker.postMessage({ id, request: job.request });
    } catch (error) {
      this.finish(id, { id, ok: false, error: `cannot start the analysis worker: ${String(error)}` });
    }
  }

  private async ensureWorker(): Promise<Worker> {
    if (this.worker) return this.worker;
    cachedUrl ??= workerUrl();
    const url = await cachedUrl;
    if (this.worker) return this.worker;
    const worker = new Worker(url, {
      resourceLimits: { maxOldGenerationSizeMb: this.options.maxHeapMb },
    });
    // The daemon's own handles decide when it may exit; an idle worker is not one of them.
    worker.unref();
    worker.on('message', (reply: Reply) => this.finish(reply.id, reply));
    worker.on('error', (error) => this.lose(worker, `crashed: ${error.message}`));
    worker.on('exit', (code) => this.lose(worker, `exited with code ${code}`));
    this.worker = worker;
    return worker;
  }

  private finish(id: number, reply: Reply): void {
    if (this.current?.id !== id) return;
    const { job, timer } = this.current;
    clearTimeout(timer);
    this.current = null;
    if (reply.ok) job.resolve(reply.output);
    else job.reject(new Error(reply.error));
    void this.next();
  }

  private abandon(id: number, why: string): void {
    if (this.current?.id !== id) return;
    const worker = this.worker;
    this.worker = null;
    this.options.log.warn({ file: this.current.job.request.file }, `analysis ${why}; restarting the worker`);
    this.finish(id, { id, ok: false, error: `analysis ${why}` });
    void worker?.terminate();
  }

  private lose(worker: Worker, why: string): void {
    if (this.worker !== worker) return;
    this.worker = null;
    if (this.stopped) return;
    if (this.current) {
      this.options.log.warn({ file: this.current.job.request.file }, `analysis worker ${why}`);
      this.finish(this.current.id, { id: this.current.id, ok: false, error: `analysis worker ${why}` });
    }
  }
}
