// Issue 5: slicer metadata and full G-code analysis of a 50 MB file generated here, in this process and
// in the daemon's analysis worker, and how long the main thread's event loop stalls meanwhile (alone,
// and while the virtual printer is fed through the PrinterLink).
import { spawn } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  createReadStream,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { createAnalyser } from '../gcode/analysis.ts';
import { extractMetadata } from '../gcode/metadata.ts';
import { SystemClock } from '../server/core/clock.ts';
import { type AnalysisOutput, type MotionLimits, readHeadTail } from '../server/jobs/files/analyse-file.ts';
import { AnalysisPool } from '../server/jobs/files/analysis-pool.ts';
import { deviceBinding } from '../server/serial/device-binding.ts';
import { DEFAULT_LINK_OPTIONS, PrinterLink } from '../server/serial/link.ts';
import { BindingTransport } from '../server/serial/transport.ts';
import { marlinDevice } from '../server/virtual/device.ts';
import { VirtualMarlin } from '../server/virtual/marlin.ts';
import { type Bench, loadAverage, type Metric, median, round, Scratch, track } from './harness.ts';

const MB = 1_048_576;
const FILE_MB = 50;
/** The limits server/jobs/files/component.ts falls back to without a [printer] table. */
const LIMITS: MotionLimits = { maxVelocity: 300, maxAccel: 3000, squareCornerVelocity: 5 };
/** As server/jobs/files/component.ts configures the daemon's pool (the timeout shortened to bound the bench). */
const WORKER_HEAP_MB = 512;
const WORKER_TIMEOUT_MS = 60_000;
/** monitorEventLoopDelay's sampling interval; every recorded delay includes it. */
const ELD_RESOLUTION_MS = 1;
/** The virtual printer's clock runs this much faster than real time: the link moves 100-300 lines/s. */
const FIRMWARE_SPEED = 4;
const IN_PROCESS_RUNS = 3;
const WORKER_RUNS = 3;
const LINK_WORKER_RUNS = 2;
const LINK_BASELINE_MS = 3000;

// ---------------------------------------------------------------------------------------------
// The file

/** PrusaSlicer's number style: at most `digits` decimals, no trailing zeros, no leading zero (`.2`). */
function fmt(value: number, digits: number): string {
  let text = value.toFixed(digits);
  let end = text.length;
  while (text.charCodeAt(end - 1) === 48) end--;
  if (text.charCodeAt(end - 1) === 46) end--;
  text = text.slice(0, end);
  if (text.startsWith('0.')) return text.slice(1);
  if (text.startsWith('-0.')) return `-${text.slice(2)}`;
  return text === '-0' ? '0' : text;
}

interface Generated {
  bytes: number;
  layers: number;
  lines: number;
  moves: number;
  objects: string[];
}

/**
 * Writes a PrusaSlicer-style file of about `targetBytes`: the start G-code and thumbnails of the real
 * PrusaSlicer fixture, then layers (`;LAYER_CHANGE`, `;Z:`, `;HEIGHT:`, `M73` progress) of four labelled
 * objects (`; printing object ... id:0 copy N`), each two perimeters of 0.5 mm segments around a wavy
 * outline and a wavy zig-zag infill of 1 mm segments, with retractions between objects, then the
 * fixture's end G-code, totals and `; prusaslicer_config` block.
 */
function generateGcode(root: string, file: string, targetBytes: number): Generated {
  const fixture = readFileSync(join(root, 'gcode/fixtures/prusa-2cubes.gcode'), 'utf8');
  const header = fixture.slice(0, fixture.indexOf(';LAYER_CHANGE'));
  const lastStop = fixture.lastIndexOf('; stop printing object');
  const footer = fixture.slice(fixture.indexOf('\n', lastStop) + 1);
  const objects = [0, 1, 2, 3].map((copy) => `vase.stl id:0 copy ${copy}`);
  const centres: [number, number][] = [
    [70, 70],
    [150, 70],
    [70, 150],
    [150, 150],
  ];
  const radius = 25;
  const layerHeight = 0.2;
  const ePerMm = (0.45 * layerHeight) / (Math.PI * 0.875 ** 2);
  // About 160 KB a layer: the layer count follows from the target size.
  const estimatedLayers = Math.ceil(targetBytes / 160_000);

  const fd = openSync(file, 'w');
  let bytes = 0;
  let lines = 0;
  let moves = 0;
  // For the footer's totals, as PrusaSlicer writes them: filament pushed and a plain length / feed time.
  let filamentMm = 0;
  let seconds = 0;
  let feed = 1200;
  const write = (text: string) => {
    writeSync(fd, text);
    bytes += text.length;
  };
  try {
    write(header);
    let e = 0;
    let layer = 0;
    while (bytes < targetBytes) {
      const z = layerHeight * (layer + 1);
      const first = layer === 0;
      const out: string[] = [
        ';LAYER_CHANGE',
        `;Z:${fmt(z, 3)}`,
        `;HEIGHT:${fmt(layerHeight, 3)}`,
        ';BEFORE_LAYER_CHANGE',
        'G92 E0',
        `;${fmt(z, 3)}`,
        '',
        `G1 Z${fmt(z, 3)} F9000`,
        ';AFTER_LAYER_CHANGE',
        `;${fmt(z, 3)}`,
        `M73 P${Math.min(99, Math.floor((layer * 100) / estimatedLayers))} R${Math.max(1, estimatedLayers - layer)}`,
      ];
      if (layer === 1) out.push('M106 S255');
      e = 0;
      const move = (x: number, y: number, length: number) => {
        e += length * ePerMm;
        filamentMm += length * ePerMm;
        seconds += length / (feed / 60);
        out.push(`G1 X${fmt(x, 3)} Y${fmt(y, 3)} E${fmt(e, 5)}`);
        moves++;
      };
      const setFeed = (value: number) => {
        feed = value;
        out.push(`G1 F${value}`);
      };
      for (let o = 0; o < objects.length; o++) {
        const [cx, cy] = centres[o]!;
        // An outline that turns and breathes with height, so no two layers are the same.
        const r = (theta: number, inset: number) =>
          radius * (1 + 0.08 * Math.sin(6 * theta + z / 5)) * (0.85 + 0.15 * Math.cos(z / 20)) - inset;
        out.push(`; printing object ${objects[o]}`);
        const startX = cx + r(0, 0.45);
        out.push(`G1 X${fmt(startX, 3)} Y${fmt(cy, 3)} F9000`, `G1 E${fmt(e, 5)} F2100`);
        moves += 2;
        for (const [type, inset, speed] of [
          ['Perimeter', 0.45, first ? 1200 : 2700],
          ['External perimeter', 0, first ? 1200 : 1500],
        ] as const) {
          out.push(`;TYPE:${type}`, ';WIDTH:0.45');
          setFeed(speed);
          const segments = Math.round((2 * Math.PI * radius) / 0.5);
          let px = cx + r(0, inset);
          let py = cy;
          for (let s = 1; s <= segments; s++) {
            const theta = (2 * Math.PI * s) / segments;
            const x = cx + r(theta, inset) * Math.cos(theta);
            const y = cy + r(theta, inset) * Math.sin(theta);
            move(x, y, Math.hypot(x - px, y - py));
            px = x;
            py = y;
          }
        }
        out.push(';TYPE:Internal infill', ';WIDTH:0.45');
        setFeed(first ? 1200 : 4800);
        // Zig-zag rows 3 mm apart, alternating direction each layer, drawn as 1 mm wavy segments.
        const inner = radius * 0.8;
        for (let row = -inner; row <= inner; row += 3) {
          const half = Math.sqrt(Math.max(0, inner * inner - row * row));
          const steps = Math.max(1, Math.round((2 * half) / 1));
          const forward = Math.round((row + inner) / 3) % 2 === 0;
          let prev: [number, number] | null = null;
          for (let s = 0; s <= steps; s++) {
            const t = -half + ((forward ? s : steps - s) * 2 * half) / steps;
            const wobble = 0.6 * Math.sin(t / 2 + z);
            const [x, y] = layer % 2 === 0 ? [cx + t, cy + row + wobble] : [cx + row + wobble, cy + t];
            if (prev) move(x, y, Math.hypot(x - prev[0], y - prev[1]));
            else {
              out.push(`G1 X${fmt(x, 3)} Y${fmt(y, 3)} F9000`);
              seconds += 0.1;
              moves++;
              setFeed(first ? 1200 : 4800);
            }
            prev = [x, y];
          }
        }
        out.push(`G1 E${fmt(e - 0.8, 5)} F2100`, `; stop printing object ${objects[o]}`);
        moves++;
      }
      lines += out.length;
      write(`${out.join('\n')}\n`);
      layer++;
    }
    const hms = `${Math.floor(seconds / 3600)}h ${Math.floor(seconds / 60) % 60}m ${Math.floor(seconds) % 60}s`;
    write(
      footer
        .replace(/^; filament used \[mm\] = .*$/m, `; filament used [mm] = ${filamentMm.toFixed(2)}`)
        .replace(
          /^; filament used \[cm3\] = .*$/m,
          `; filament used [cm3] = ${((filamentMm * Math.PI * 0.875 ** 2) / 1000).toFixed(2)}`,
        )
        .replace(/^(; estimated printing time \((?:normal|silent) mode\) = ).*$/gm, `$1${hms}`),
    );
    lines += footer.split('\n').length + header.split('\n').length;
    return { bytes, layers: layer, lines, moves, objects };
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// In this process: the pure functions

/** extractMetadata on the head and tail the daemon reads (readHeadTail), repeated for at least 2 s. */
async function metadataThroughput(file: string, size: number) {
  const { head, tail } = await readHeadTail(file, size);
  const inputMb = (Buffer.byteLength(head) + Buffer.byteLength(tail)) / MB;
  const metadata = extractMetadata(head, tail, size);
  const times: number[] = [];
  const started = performance.now();
  while (times.length < 5 || (performance.now() - started < 2000 && times.length < 200)) {
    const t0 = performance.now();
    extractMetadata(head, tail, size);
    times.push(performance.now() - t0);
  }
  const readTimes: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const read = await readHeadTail(file, size);
    extractMetadata(read.head, read.tail, size);
    readTimes.push(performance.now() - t0);
  }
  return { inputMb, metadata, times, readTimes };
}

/** The worker's analyseStream, in this thread: createReadStream (utf8, 1 MB reads) into createAnalyser. */
async function analyseInProcess(file: string) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const analyser = createAnalyser(LIMITS);
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: MB });
  for await (const chunk of stream as AsyncIterable<string>) analyser.push(chunk);
  const analysis = analyser.finish();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, analysis };
}

// ---------------------------------------------------------------------------------------------
// In a fresh child process: the daemon's AnalysisPool, with or without a PrinterLink streaming

export interface ChildOptions {
  file: string;
  size: number;
  thumbsDir: string;
  /** Feed the virtual printer through a PrinterLink on this thread while the worker analyses. */
  link: boolean;
  runs: number;
}

interface ChildRun {
  ms: number;
  cpuMs: number;
  eldP99Ms: number;
  eldMaxMs: number;
  peakRssMb: number;
  linesSent: number;
}

export interface ChildResult {
  baselineRssMb: number;
  hwmMb: number;
  runs: ChildRun[];
  first: { metadata: Record<string, unknown>; layers: number; objects: string[]; thumbnails: number };
  link?: {
    baselineEldP99Ms: number;
    baselineEldMaxMs: number;
    baselineLinesPerS: number;
    state: string;
    resendRequests: number;
    droppedBytes: number;
    linesSent: number;
  };
}

function statusMb(field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

/** Lines a printer would run from the file (4 MB of it after the start G-code): its moves, without comments. */
function printLines(file: string): string[] {
  const fd = openSync(file, 'r');
  const buffer = Buffer.alloc(4 * MB);
  const length = readSync(fd, buffer, 0, buffer.length, MB);
  closeSync(fd);
  return buffer
    .subarray(0, length)
    .toString('utf8')
    .split('\n')
    .map((line) => line.split(';')[0]!.trim())
    .filter((line) => /^(G0|G1|G92) /.test(line));
}

/** Run by the child process `gcode` spawns; prints one JSON line (ChildResult) to stdout. */
export async function gcodeChild(options: ChildOptions): Promise<void> {
  const silent = pino({ level: 'silent' });
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS });
  eld.enable();
  let printer: VirtualMarlin | null = null;
  let link: PrinterLink | null = null;
  let streaming = false;
  let pumpDone: Promise<void> = Promise.resolve();
  const result: Partial<ChildResult> = { runs: [] };

  if (options.link) {
    printer = new VirtualMarlin({ clock: new SystemClock(FIRMWARE_SPEED), extrudeMinTempC: 0 });
    const transport = new BindingTransport(
      { path: 'virtual', baudRate: 115200 },
      deviceBinding('virtual', marlinDevice(printer)),
    );
    link = new PrinterLink(DEFAULT_LINK_OPTIONS, new SystemClock(), silent);
    await link.connect(transport);
    const lines = printLines(options.file);
    streaming = true;
    const activeLink = link;
    // A job's way of feeding the link: a few lines queued ahead, the next one as each is acknowledged.
    pumpDone = (async () => {
      let next = 0;
      const inFlight = new Set<Promise<unknown>>();
      while (streaming) {
        while (inFlight.size < 16 && streaming) {
          const line = lines[next++ % lines.length]!;
          const sent: Promise<unknown> = activeLink.send(line, { source: 'job' }).finally(() => {
            inFlight.delete(sent);
          });
          inFlight.add(sent);
        }
        await Promise.race(inFlight);
      }
      await Promise.allSettled(inFlight);
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    eld.reset();
    const sent0 = link.getStats().linesSent;
    await new Promise((resolve) => setTimeout(resolve, LINK_BASELINE_MS));
    result.link = {
      baselineEldP99Ms: eld.percentile(99) / 1e6,
      baselineEldMaxMs: eld.max / 1e6,
      baselineLinesPerS: ((link.getStats().linesSent - sent0) * 1000) / LINK_BASELINE_MS,
      state: '',
      resendRequests: 0,
      droppedBytes: 0,
      linesSent: 0,
    };
  } else {
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  // The daemon creates its worker on the first analysis; the baseline is before it exists.
  result.baselineRssMb = process.memoryUsage.rss() / MB;
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 10);
  const pool = new AnalysisPool({ log: silent, timeoutMs: WORKER_TIMEOUT_MS, maxHeapMb: WORKER_HEAP_MB });
  try {
    for (let i = 0; i < options.runs; i++) {
      peakRss = process.memoryUsage.rss();
      const sent0 = link?.getStats().linesSent ?? 0;
      eld.reset();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const output: AnalysisOutput = await pool.analyse({
        file: options.file,
        size: options.size,
        thumbsDir: options.thumbsDir,
        thumbBase: 'bench',
        limits: LIMITS,
      });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
      result.runs!.push({
        ms,
        cpuMs: (cpu.user + cpu.system) / 1000,
        eldP99Ms: eld.percentile(99) / 1e6,
        eldMaxMs: eld.max / 1e6,
        peakRssMb: peakRss / MB,
        linesSent: (link?.getStats().linesSent ?? 0) - sent0,
      });
      if (i === 0) {
        result.first = {
          metadata: output.metadata,
          layers: output.layers.length,
          objects: output.objects.map((o) => o.name),
          thumbnails: output.thumbnails.length,
        };
      }
    }
    result.hwmMb = statusMb('VmHWM');
  } finally {
    clearInterval(sampler);
    await pool.stop();
    streaming = false;
    await pumpDone;
    if (link && printer && result.link) {
      const stats = link.getStats();
      result.link.state = link.state;
      result.link.resendRequests = stats.resendRequests;
      result.link.linesSent = stats.linesSent;
      result.link.droppedBytes = printer.stats.droppedBytes;
    }
    await link?.close();
    printer?.close();
    eld.disable();
  }
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Spawns `node -e "import(gcode.bench.js).then(m => m.gcodeChild(options))"`; resolves with its JSON line. */
function runChild(options: ChildOptions, timeoutMs: number): Promise<ChildResult> {
  const url = new URL('./gcode.bench.js', import.meta.url).href;
  // CommonJS --eval with a dynamic import: an --input-type flag would be inherited by the worker thread.
  const code = `import(${JSON.stringify(url)}).then((m) => m.gcodeChild(JSON.parse(process.argv[1]))).then(() => process.exit(0));`;
  const child = track(
    spawn(process.execPath, ['-e', code, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`analysis child did not finish within ${timeoutMs / 1000} s:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`analysis child exited with ${code ?? signal}:\n${stderr}${stdout}`));
        return;
      }
      resolve(JSON.parse(last) as ChildResult);
    });
  });
}

// ---------------------------------------------------------------------------------------------

const bench: Bench = {
  name: 'gcode',
  title: 'G-code metadata and analysis of a 50 MB file',
  description:
    `Generates a ${FILE_MB} MB PrusaSlicer-style file (the PrusaSlicer fixture's header, thumbnails, ` +
    'footer and config block around layers of four labelled objects: two perimeters of 0.5 mm `G1 X Y E` ' +
    'segments and a zig-zag infill of 1 mm segments per object, retractions, `M73`). In the bench ' +
    'process: `extractMetadata` on the 1 MB head and tail the daemon reads (`readHeadTail`), and ' +
    `\`createAnalyser\` streamed over the whole file as the worker does (median of ${IN_PROCESS_RUNS}). ` +
    "In a fresh child process, the daemon's `AnalysisPool` (worker `dist/server/analysis-worker.js`, " +
    `${WORKER_HEAP_MB} MB heap limit, as \`file_manager\` runs it) analyses the file ${WORKER_RUNS} times ` +
    '(the first run starts the worker): wall time, extra memory as VmHWM at the end minus VmRSS before ' +
    `the worker existed, and the main thread's event-loop delay (\`monitorEventLoopDelay\`, ${ELD_RESOLUTION_MS} ms ` +
    'resolution, which every sample includes). Then again in a child that feeds the virtual Marlin through ' +
    'a `PrinterLink` (`deviceBinding` + `marlinDevice`, as server/serial/link.test.ts does; 16 lines queued ' +
    `ahead, the file's own moves, firmware clock ${FIRMWARE_SPEED}× real time) while the worker analyses ` +
    `${LINK_WORKER_RUNS} times.`,
  timeoutMs: 300_000,
  async run({ root, log }) {
    const scratch = new Scratch();
    const loadBefore = loadAverage();
    try {
      const file = join(scratch.dir, 'bench-50mb.gcode');
      const t0 = performance.now();
      const generated = generateGcode(root, file, FILE_MB * MB);
      const size = statSync(file).size;
      log(
        `generated ${round(size / MB)} MB (${generated.layers} layers, ${generated.lines} lines, ` +
          `${generated.moves} moves) in ${round((performance.now() - t0) / 1000)} s`,
      );

      const meta = await metadataThroughput(file, size);
      const metaMbS = meta.inputMb / (median(meta.times) / 1000);
      log(`extractMetadata: ${round(metaMbS)} MB/s over ${meta.times.length} runs`);

      const inProcess: Awaited<ReturnType<typeof analyseInProcess>>[] = [];
      for (let i = 0; i < IN_PROCESS_RUNS; i++) {
        inProcess.push(await analyseInProcess(file));
        log(`in-process analysis ${i + 1}/${IN_PROCESS_RUNS}: ${round(inProcess[i]!.ms)} ms`);
      }
      const analysis = inProcess[0]!.analysis;

      // AnalysisPool looks for analysis-worker.js beside itself: put the daemon's build there.
      copyFileSync(
        join(root, 'dist/server/analysis-worker.js'),
        fileURLToPath(new URL('./analysis-worker.js', import.meta.url)),
      );
      const thumbsDir = join(scratch.dir, '.thumbs');
      const plain = await runChild({ file, size, thumbsDir, link: false, runs: WORKER_RUNS }, 120_000);
      log(`worker: ${plain.runs.map((r) => `${round(r.ms)} ms`).join(', ')}`);
      const linked = await runChild({ file, size, thumbsDir, link: true, runs: LINK_WORKER_RUNS }, 120_000);
      log(
        `worker with the link streaming: ${linked.runs.map((r) => `${round(r.ms)} ms, p99 ${round(r.eldP99Ms, 2)} ms`).join('; ')}`,
      );

      const workerMs = plain.runs.map((r) => r.ms);
      const warmMs = workerMs.slice(1);
      const extraMb = plain.hwmMb - plain.baselineRssMb;
      const plainP99 = Math.max(...plain.runs.map((r) => r.eldP99Ms));
      const linkedP99 = Math.max(...linked.runs.map((r) => r.eldP99Ms));
      const linkedSeconds = linked.runs.reduce((sum, r) => sum + r.ms, 0) / 1000;
      const linkedLinesPerS = linked.runs.reduce((sum, r) => sum + r.linesSent, 0) / linkedSeconds;
      const inMs = inProcess.map((r) => r.ms);
      const fileMb = size / MB;
      const ms = (values: number[]) => values.map((v) => round(v));

      const metrics: Metric[] = [
        {
          key: 'metadata_mb_per_s',
          label: '`extractMetadata` on 1 MB head + 1 MB tail (median)',
          value: round(metaMbS),
          unit: 'MB/s',
        },
        {
          key: 'metadata_read_extract_ms',
          label: 'read head + tail and extract, 50 MB file (median)',
          value: round(median(meta.readTimes), 2),
          unit: 'ms',
        },
        {
          key: 'analysis_in_process_mb_per_s',
          label: '`createAnalyser` streamed over the whole file, this thread (median)',
          value: round(fileMb / (median(inMs) / 1000)),
          unit: 'MB/s',
          samples: inProcess.map((r) => round(fileMb / (r.ms / 1000))),
        },
        {
          key: 'analysis_in_process_cpu_mb_per_s',
          label: 'the same per second of process CPU time (median)',
          value: round(fileMb / (median(inProcess.map((r) => r.cpuMs)) / 1000)),
          unit: 'MB/s',
        },
        {
          key: 'worker_analysis_ms',
          label: 'full analysis of 50 MB in the worker, first run incl. worker start',
          value: round(workerMs[0]!),
          unit: 'ms',
          target: { below: 2000 },
        },
        {
          key: 'worker_analysis_warm_ms',
          label: 'full analysis of 50 MB in the worker, later runs (median)',
          value: round(median(warmMs)),
          unit: 'ms',
          target: { below: 2000 },
          samples: ms(warmMs),
        },
        {
          key: 'worker_analysis_cpu_ms',
          label: 'process CPU time per worker analysis (median)',
          value: round(median(plain.runs.map((r) => r.cpuMs))),
          unit: 'ms',
        },
        {
          key: 'worker_extra_memory_mb',
          label: 'extra memory: VmHWM after the runs − VmRSS before the worker',
          value: round(extraMb),
          unit: 'MB',
          target: { below: 100 },
        },
        {
          key: 'worker_eld_p99_ms',
          label: 'main-thread event-loop delay p99 while the worker analyses (worst run)',
          value: round(plainP99, 2),
          unit: 'ms',
          target: { below: 20 },
          samples: plain.runs.map((r) => round(r.eldP99Ms, 2)),
        },
        {
          key: 'link_eld_p99_ms',
          label: 'event-loop delay p99, PrinterLink streaming + worker analysing (worst run)',
          value: round(linkedP99, 2),
          unit: 'ms',
          target: { below: 20 },
          samples: linked.runs.map((r) => round(r.eldP99Ms, 2)),
        },
        {
          key: 'link_eld_p99_baseline_ms',
          label: 'event-loop delay p99, PrinterLink streaming, no analysis',
          value: round(linked.link?.baselineEldP99Ms ?? Number.NaN, 2),
          unit: 'ms',
        },
        {
          key: 'link_lines_per_s',
          label: 'lines/s through the link while the worker analyses',
          value: round(linkedLinesPerS),
          unit: 'count',
        },
        {
          key: 'link_lines_per_s_baseline',
          label: 'lines/s through the link, no analysis (first moves of the file: slower first layer)',
          value: round(linked.link?.baselineLinesPerS ?? Number.NaN),
          unit: 'count',
        },
      ];
      return {
        metrics,
        details: {
          file: generated,
          metadata_from_slicer: meta.metadata,
          metadata_times_ms: meta.times.length,
          analysis: {
            layers: analysis.layerCount,
            layer_source: analysis.layerSource,
            moves: analysis.moves,
            lines: analysis.lines,
            objects: analysis.objects.map((o) => o.name),
            object_labels: analysis.objectLabels,
            estimated_time_s: round(analysis.estimatedTimeS),
            filament_total_mm: round(analysis.filamentTotalMm),
          },
          in_process_ms: ms(inMs),
          in_process_cpu_ms: ms(inProcess.map((r) => r.cpuMs)),
          worker: plain,
          worker_with_link: linked,
          load_average: { before: loadBefore, after: loadAverage() },
        },
      };
    } finally {
      scratch.remove();
    }
  },
};

export default bench;
