// Streams short G1 moves through the daemon's serial component to the virtual Marlin on a real pty,
// with the printer in its own process so the host's CPU time per line is the host's alone.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { SystemClock } from '../server/core/clock.ts';
import { Kernel } from '../server/core/host.ts';
import { dataPaths } from '../server/core/paths.ts';
import { type SerialLink, serialComponent } from '../server/serial/serial.ts';
import { startPtyPrinter } from '../server/virtual/pty.ts';
import { type Bench, type Metric, round, track } from './harness.ts';

const LINES = 50_000;
const ESTOP_SAMPLES = 100;
/** Lines queued behind the window for each e-stop sample: far more than the window holds. */
const ESTOP_QUEUE = 2_000;
/** The serial table's default window; ADVANCED_OK and the 128-byte budget narrow it on the wire. */
const SEND_AHEAD_WINDOW = 8;

/** Short moves, as a slicer writes them for fine curves; distinct enough to spot a line in the wrong place. */
function move(i: number): string {
  return `G1 X${(i % 100) + 1} Y${(i * 7) % 100}`;
}

// ---------------------------------------------------------------------------------------------
// The printer's process

type ToPrinter = { kind: 'clear' } | { kind: 'check'; lines: number } | { kind: 'reset' } | { kind: 'stop' };
type FromPrinter =
  | { kind: 'ready'; devicePath: string }
  | { kind: 'estop_seen'; hrtimeNs: string }
  | { kind: 'checked'; executed: number; lost: number; doubled: number; outOfOrder: number; altered: number }
  | { kind: 'cleared' };

/** Run in the child `serial` spawns: a virtual Marlin (instant moves, dropping RX ring) on a pty. */
export async function serialPrinterChild(): Promise<void> {
  const send = (message: FromPrinter) => process.send?.(message);
  const pty = await startPtyPrinter({ printer: { moveTimeScale: 0, rxOverflow: 'drop' } });
  let runs: { n: number; command: string }[] = [];
  pty.printer.on('executed', (e) => {
    if (e.lineNumber !== null) runs.push({ n: e.lineNumber, command: e.command });
  });
  // Marlin's kill() prints this the moment its emergency parser has seen M112 arrive.
  pty.printer.onData((chunk) => {
    if (chunk.includes('M112 Shutdown'))
      send({ kind: 'estop_seen', hrtimeNs: String(process.hrtime.bigint()) });
  });
  process.on('message', (message: ToPrinter) => {
    if (message.kind === 'reset') {
      pty.printer.reset();
    } else if (message.kind === 'clear') {
      runs = [];
      send({ kind: 'cleared' });
    } else if (message.kind === 'check') {
      const seen = new Map<number, number>();
      let outOfOrder = 0;
      let altered = 0;
      runs.forEach((r, i) => {
        seen.set(r.n, (seen.get(r.n) ?? 0) + 1);
        if (i > 0 && r.n <= runs[i - 1]!.n) outOfOrder++;
        if (r.command !== move(r.n - 1)) altered++;
      });
      let lost = 0;
      for (let n = 1; n <= message.lines; n++) if (!seen.has(n)) lost++;
      const doubled = [...seen.values()].filter((count) => count > 1).length;
      send({ kind: 'checked', executed: runs.length, lost, doubled, outOfOrder, altered });
    } else {
      void pty.close().then(() => process.exit(0));
    }
  });
  send({ kind: 'ready', devicePath: pty.devicePath });
}

class PrinterProcess {
  private readonly child: ChildProcess;
  private readonly waiting: ((message: FromPrinter) => boolean)[] = [];
  private stderr = '';

  constructor() {
    const url = new URL('./serial.bench.js', import.meta.url).href;
    const code = `import(${JSON.stringify(url)}).then((m) => m.serialPrinterChild())`;
    this.child = track(spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    this.child.on('message', (message: FromPrinter) => {
      const index = this.waiting.findIndex((w) => w(message));
      if (index >= 0) this.waiting.splice(index, 1);
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  next<K extends FromPrinter['kind']>(
    kind: K,
    timeoutMs = 20_000,
  ): Promise<Extract<FromPrinter, { kind: K }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`virtual printer sent no ${kind} within ${timeoutMs} ms:\n${this.stderr}`)),
        timeoutMs,
      );
      this.waiting.push((message) => {
        if (message.kind !== kind) return false;
        clearTimeout(timer);
        resolve(message as Extract<FromPrinter, { kind: K }>);
        return true;
      });
    });
  }

  tell(message: ToPrinter): void {
    this.child.send(message);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.tell({ kind: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// The host side: the serial component exactly as the daemon builds it

interface Host {
  kernel: Kernel;
  serial: SerialLink;
  dataDir: string;
  /** Deepest window (lines in flight) seen since the last reset. */
  deepest: { value: number };
  /** Times the link started a handshake (state `connecting`). */
  handshakes: { value: number };
}

async function startHost(devicePath: string, window: number): Promise<Host> {
  const dataDir = mkdtempSync(join(tmpdir(), 'brim-bench-serial-'));
  const kernel = new Kernel({
    definitions: [serialComponent],
    config: { file: 'bench', raw: { serial: { port: devicePath, baudrate: 115200, window } } },
    paths: dataPaths(dataDir),
    clock: new SystemClock(),
    log: pino({ level: 'silent' }),
  });
  await kernel.start();
  const serial = kernel.instance('serial');
  const deepest = { value: 0 };
  const handshakes = { value: 0 };
  serial.listen({
    state: (state) => {
      if (state === 'connecting') handshakes.value++;
    },
    sent: () => {
      const inFlight = serial.link.linesInFlight;
      if (inFlight > deepest.value) deepest.value = inFlight;
    },
  });
  await waitFor(() => serial.link.state === 'ready', 'the link to become ready');
  return { kernel, serial, dataDir, deepest, handshakes };
}

async function waitFor(done: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Presses the board's reset button: the link sees `start`, fails what was pending and shakes hands again. */
async function resetBoard(host: Host, printer: PrinterProcess): Promise<void> {
  const handshakes = host.handshakes.value;
  printer.tell({ kind: 'reset' });
  await waitFor(
    () => host.handshakes.value > handshakes && host.serial.link.state === 'ready',
    'the link to reconnect after a board reset',
  );
}

/** Feeds `count` lines the way the job runner does: twice the window ahead, the next as each is acknowledged. */
async function stream(serial: SerialLink, count: number): Promise<number> {
  const link = serial.link;
  const ahead = Math.max(2, link.getStats().windowLimit * 2);
  let next = 0;
  let failures = 0;
  await new Promise<void>((resolve) => {
    let outstanding = 0;
    const feed = (): void => {
      while (outstanding < ahead && next < count) {
        outstanding++;
        link.send(move(next++), { source: 'job', priority: 'normal' }).then(settle, () => {
          failures++;
          settle();
        });
      }
      if (outstanding === 0 && next >= count) resolve();
    };
    const settle = (): void => {
      outstanding--;
      feed();
    };
    feed();
  });
  return failures;
}

interface RunResult {
  window: number;
  linesPerS: number;
  cpuUsPerLine: number;
  deepestWindow: number;
  windowLimit: number;
  resends: number;
  failures: number;
  lost: number;
  doubled: number;
  outOfOrder: number;
  altered: number;
  estopMs: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)]!;
}

async function runWindow(
  printer: PrinterProcess,
  devicePath: string,
  window: number,
  log: (line: string) => void,
): Promise<RunResult> {
  const host = await startHost(devicePath, window);
  try {
    const { serial } = host;
    // Warm up the JIT and the ADVANCED_OK learning, then measure on a fresh connection.
    await stream(serial, 2_000);
    await resetBoard(host, printer);
    printer.tell({ kind: 'clear' });
    await printer.next('cleared');
    host.deepest.value = 0;
    const resends0 = serial.link.getStats().resendRequests;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const failures = await stream(serial, LINES);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const stats = serial.link.getStats();
    printer.tell({ kind: 'check', lines: LINES });
    const check = await printer.next('checked');
    log(
      `window ${window}: ${round(LINES / seconds)} lines/s, ${round((cpu.user + cpu.system) / LINES, 2)} µs CPU/line, deepest ${host.deepest.value}, lost ${check.lost}, doubled ${check.doubled}`,
    );

    const estopMs: number[] = [];
    for (let sample = 0; sample < ESTOP_SAMPLES; sample++) {
      const pending = Array.from({ length: ESTOP_QUEUE }, (_, i) =>
        serial.link.send(move(i), { source: 'job' }).catch(() => 'failed'),
      );
      const limit = serial.link.getStats().windowLimit;
      await waitFor(() => serial.link.getStats().inFlight >= limit, 'a full window');
      const seen = printer.next('estop_seen');
      const start = process.hrtime.bigint();
      await serial.emergencyStop();
      const at = BigInt((await seen).hrtimeNs);
      estopMs.push(Number(at - start) / 1e6);
      await Promise.all(pending);
      // The board halted; reopening the port resets it (DTR), as the daemon's firmware restart does.
      await resetBoard(host, printer);
    }
    return {
      window,
      linesPerS: LINES / seconds,
      cpuUsPerLine: (cpu.user + cpu.system) / LINES,
      deepestWindow: host.deepest.value,
      windowLimit: stats.windowLimit,
      resends: stats.resendRequests - resends0,
      failures,
      lost: check.lost,
      doubled: check.doubled,
      outOfOrder: check.outOfOrder,
      altered: check.altered,
      estopMs,
    };
  } finally {
    await host.kernel.stop();
    rmSync(host.dataDir, { recursive: true, force: true });
  }
}

function metricsFor(r: RunResult, label: string, targets: boolean): Metric[] {
  const sorted = [...r.estopMs].sort((a, b) => a - b);
  const key = `window_${r.window}`;
  return [
    {
      key: `${key}_lines_per_s`,
      label: `${label}: lines per second, ${LINES.toLocaleString('en')} G1 moves`,
      value: round(r.linesPerS),
      unit: 'lines/s',
      ...(targets ? { target: { atLeast: 8000 } } : {}),
    },
    {
      key: `${key}_cpu_us_per_line`,
      label: `${label}: host CPU per line (process.cpuUsage, printer in another process)`,
      value: round(r.cpuUsPerLine, 2),
      unit: 'µs',
      ...(targets ? { target: { below: 20 } } : {}),
    },
    {
      key: `${key}_deepest_window`,
      label: `${label}: deepest window reached (lines in flight)`,
      value: r.deepestWindow,
      unit: 'count',
    },
    { key: `${key}_resends`, label: `${label}: resend requests`, value: r.resends, unit: 'count' },
    {
      key: `${key}_lost_or_doubled`,
      label: `${label}: lines lost, doubled, out of order or altered (execution log)`,
      value: r.lost + r.doubled + r.outOfOrder + r.altered + r.failures,
      unit: 'count',
      target: { atMost: 0 },
    },
    {
      key: `${key}_estop_p50_ms`,
      label: `${label}: e-stop call → M112 at the printer, queue and window full, p50`,
      value: round(percentile(sorted, 50), 3),
      unit: 'ms',
    },
    {
      key: `${key}_estop_p99_ms`,
      label: `${label}: the same, p99 of ${r.estopMs.length}`,
      value: round(percentile(sorted, 99), 3),
      unit: 'ms',
      ...(targets ? { target: { below: 5 } } : {}),
    },
  ];
}

const bench: Bench = {
  name: 'serial',
  title: 'Serial streaming to the virtual Marlin on a pty',
  description:
    `The virtual Marlin (128-byte RX ring that drops on overflow, 4-slot queue, ADVANCED_OK, emergency parser, ` +
    'instant moves: `moveTimeScale` 0) runs on a socat pty in a child process. In the bench process the ' +
    "daemon's `serial` component (a Kernel with only that component, `[serial] port = <pty>`, baudrate " +
    `115200) opens the pty as it opens a USB printer: serialport configures and locks it, a libuv tty stream ` +
    `(TtyTransport) reads and writes it. ${LINES.toLocaleString('en')} short \`G1 X Y\` moves are fed ` +
    "the way the job runner feeds the link (twice the window ahead, the next line as one is acknowledged; the runner's " +
    'file reading is not included), after a 2,000-line warm-up on an earlier connection; host CPU is ' +
    'process.cpuUsage of the bench process over the run (the printer and socat are other processes). Lost, doubled, out-of-order and altered ' +
    "lines come from the printer's execution log. E-stop: " +
    `${ESTOP_SAMPLES} times, ${ESTOP_QUEUE.toLocaleString('en')} lines queued and the window full, then ` +
    '`emergencyStop()`; latency is from the call to the printer process seeing M112 (its emergency parser ' +
    'acting), both on CLOCK_MONOTONIC (process.hrtime); then the board is reset (its reset button, in the printer process) and the link shakes hands again. ' +
    `Window 1 is ping-pong; send-ahead is the default window (${SEND_AHEAD_WINDOW}), which ADVANCED_OK's B and the 128-byte budget narrow.`,
  timeoutMs: 600_000,
  async run({ log }) {
    const printer = new PrinterProcess();
    try {
      const { devicePath } = await printer.next('ready');
      const pingPong = await runWindow(printer, devicePath, 1, log);
      const sendAhead = await runWindow(printer, devicePath, SEND_AHEAD_WINDOW, log);
      return {
        metrics: [...metricsFor(sendAhead, 'send-ahead', true), ...metricsFor(pingPong, 'window 1', false)],
        details: { printerPid: printer.pid, runs: [sendAhead, pingPong] },
      };
    } finally {
      await printer.stop();
    }
  },
};

export default bench;
