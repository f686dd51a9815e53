// What every benchmark shares: starting the built daemon on loopback, reading its memory, and cleaning up.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

export interface Metric {
  /** Stable key, used in the JSON and to compare runs. */
  key: string;
  label: string;
  value: number;
  unit: 'ms' | 'µs' | 'MB' | 'MB/s' | 'B/s' | '%' | 'req/s' | 'lines/s' | 'Hz' | 'count';
  /** The target: the value must be below `below`, at most `atMost` or at least `atLeast` to be met. */
  target?: { below: number } | { atMost: number } | { atLeast: number };
  samples?: number[];
}

export interface BenchContext {
  /** Repository root; the daemon is `<root>/dist/server/main.js`. */
  root: string;
  log(line: string): void;
}

export interface Bench {
  name: string;
  title: string;
  /** What is measured, for bench/README.md. */
  description: string;
  /** The run is abandoned (and everything it started is killed) after this long. */
  timeoutMs: number;
  run(context: BenchContext): Promise<{ metrics: Metric[]; details?: Record<string, unknown> }>;
}

export const LOOPBACK = '127.0.0.1';

/** Every process a benchmark started and has not seen exit; killed on the way out whatever happens. */
const live = new Set<ChildProcess>();
/** Scratch folders not yet removed; removed on the way out too. */
const scratches = new Set<Scratch>();

/** Registers a process so cleanUpAll() ends it if the benchmark does not. */
export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Kills what is still running and removes what is left on disk (end of a run, timeout, Ctrl-C). */
export function cleanUpAll(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null && child.pid) child.kill('SIGKILL');
  }
  live.clear();
  for (const scratch of scratches) scratch.remove();
}

/** A temporary folder holding a config that binds the daemon to loopback, and room for a data folder. */
export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'brim-bench-'));
  readonly configFile = join(this.dir, 'brim.toml');
  readonly dataDir = join(this.dir, 'data');

  constructor() {
    scratches.add(this);
    writeFileSync(this.configFile, `[server]\nhost = "${LOOPBACK}"\n`);
  }

  remove(): void {
    scratches.delete(this);
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Asks the kernel for a free loopback port (the daemon is then told to use it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** GET on loopback; resolves with the status code and body, or null when nothing answers yet. */
export function get(port: number, path: string): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve) => {
    const req = request({ host: LOOPBACK, port, path, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
    req.end();
  });
}

/** /proc/<pid>/status fields in MB (Linux only), e.g. VmRSS and VmHWM. */
export function procStatusMb(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!match) throw new Error(`/proc/${pid}/status has no ${field}`);
    return Number(match[1]) / 1024;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** /proc/loadavg's 1, 5 and 15-minute figures: how busy the shared machine was. */
export function loadAverage(): number[] {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
}

let clockTicks: number | null = null;

/** CPU time (user + system, all threads) a process has used so far, in seconds, from /proc/<pid>/stat. */
export function procCpuSeconds(pid: number): number {
  if (clockTicks === null) {
    const getconf = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 });
    clockTicks = Number(getconf.stdout?.trim()) || 100;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "pid (comm) " start at field 3 (state); utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Value of one sample line of a Prometheus text exposition, e.g. `nodejs_eventloop_lag_p99_seconds`. */
export function promValue(text: string, name: string): number | null {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return match ? Number(match[1]) : null;
}

export interface RpcReply {
  id?: number;
  method?: string;
  params?: unknown[];
  result?: unknown;
  error?: { code: number; message: string };
}

/** One JSON-RPC websocket client: call() awaits the reply with that id, everything else counts as a notification. */
export class RpcClient {
  readonly notifications = new Map<string, number>();
  private nextId = 1;
  private readonly pending = new Map<number, (reply: RpcReply) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as RpcReply;
      if (message.id !== undefined && this.pending.has(message.id)) {
        this.pending.get(message.id)!(message);
        this.pending.delete(message.id);
      } else if (message.method) {
        this.notifications.set(message.method, (this.notifications.get(message.method) ?? 0) + 1);
      }
    });
  }

  static connect(port: number): Promise<RpcClient> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(`ws://${LOOPBACK}:${port}/websocket`);
      socket.once('open', () => resolve(new RpcClient(socket)));
      socket.once('error', reject);
    });
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  call(method: string, params?: unknown, timeoutMs = 5000): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method}: no reply within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        if (reply.error) reject(new Error(`${method}: ${reply.error.code} ${reply.error.message}`));
        else resolve(reply.result);
      });
      this.socket.send(JSON.stringify({ jsonrpc: '2.0', method, params, id }));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.readyState === WebSocket.CLOSED) return resolve();
      const timer = setTimeout(() => {
        this.socket.terminate();
        resolve();
      }, 2000);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.close();
    });
  }
}

export class DaemonProcess {
  readonly child: ChildProcess;
  readonly startedAt: number;
  private readonly tail: string[] = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** Spawns `node dist/server/main.js --config <scratch> --data <scratch>/data --port <port>`. */
  constructor(
    root: string,
    scratch: Scratch,
    readonly port: number,
  ) {
    const args = [
      join(root, 'dist/server/main.js'),
      '--config',
      scratch.configFile,
      '--data',
      scratch.dataDir,
      '--port',
      String(port),
    ];
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
    // Not under systemd here: the daemon must not try to notify whatever manager runs the bench.
    delete env.NOTIFY_SOCKET;
    delete env.WATCHDOG_USEC;
    this.startedAt = performance.now();
    this.child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    track(this.child);
    // Drain the logs (a full pipe would stall the daemon) and keep the end for error messages.
    const keep = (chunk: Buffer) => {
      this.tail.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      this.tail.splice(0, Math.max(0, this.tail.length - 40));
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  logTail(): string {
    return this.tail.join('\n');
  }

  /** Polls GET /readyz every 5 ms; resolves with milliseconds since spawn at the first 200. */
  async waitReady(timeoutMs = 15_000): Promise<number> {
    const deadline = this.startedAt + timeoutMs;
    while (performance.now() < deadline) {
      if (!this.running) throw new Error(`daemon exited before /readyz answered 200:\n${this.logTail()}`);
      const res = await get(this.port, '/readyz');
      if (res?.status === 200) return performance.now() - this.startedAt;
      await sleep(5);
    }
    throw new Error(`/readyz did not answer 200 within ${timeoutMs} ms:\n${this.logTail()}`);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`; resolves with how long the exit took. */
  async stop(graceMs = 8000): Promise<{ ms: number; code: number | null; signal: NodeJS.Signals | null }> {
    const t0 = performance.now();
    if (this.running) this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return { ms: performance.now() - t0, ...result };
  }
}
