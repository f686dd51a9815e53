// The `virtual_sdcard` component: the job runner. Streams a G-code file from disk through the printer link,
// a few lines ahead of the firmware, and reports Klipper's print objects (print_stats, virtual_sdcard,
// pause_resume, display_status, exclude_object, idle_timeout). Pause, resume, cancel and object exclusion
// happen here, on the host; the firmware only ever sees plain moves.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Static, Type } from '@sinclair/typebox';
import { type GcodeLine, parseLine, stripForWire } from '../../gcode/line.ts';
import type { ApiRegistry } from '../api/registry.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { ApiError, describeError, errors } from '../core/errors.ts';
import type { Bus } from '../core/events.ts';
import type { Logger } from '../core/logger.ts';
import type { StatusFields } from '../core/status-store.ts';
import type { DataStore } from '../printer/data-store.ts';
import type { Printer } from '../printer/printer.ts';
import { commandWord } from '../serial/commands.ts';
import type { LinkState, PrinterLink } from '../serial/link.ts';
import type { SerialLink } from '../serial/serial.ts';
import type { FileManager, GcodeMetadata, StoredMetadata } from './files/file-manager.ts';
import { GcodeState, type GcodeStateSnapshot, gnum, modeLines } from './gcode-state.ts';
import { allocateJobId } from './job-ids.ts';
import { type FileLine, LineReader } from './line-reader.ts';
import type { GcodeMacro } from './macros.ts';
import {
  type LabelledObject,
  type ObjectEvent,
  ObjectRegistry,
  objectEventOf,
  objectName,
} from './objects.ts';

/** print_stats.state, Klipper's spelling. */
export type PrintState = 'standby' | 'printing' | 'paused' | 'complete' | 'cancelled' | 'error';
/** How a job ended, in history's words (Moonraker's job statuses). */
export type JobEndStatus = 'completed' | 'cancelled' | 'error' | 'klippy_shutdown' | 'klippy_disconnect';

/** What the file was when the job started; a resume refuses a file that no longer matches. */
export interface FileIdentity {
  size: number;
  mtimeMs: number;
  /** Computed in the background after the start; null until then (or when the file could not be read). */
  sha256: string | null;
}

/** The `job` of `job:state_changed`: one job's facts, as history stores them. */
export interface JobSummary {
  job_id: string;
  filename: string;
  user: string | null;
  state: PrintState;
  message: string;
  /** Unix seconds. */
  start_time: number;
  end_time: number | null;
  print_duration: number;
  total_duration: number;
  filament_used: number;
  /** The file's metadata when the job started (Moonraker's object, without job_id and print_start_time). */
  metadata: GcodeMetadata | null;
  /** Set once the job has ended. */
  end_status: JobEndStatus | null;
  file: FileIdentity;
}

export interface LayerInfo {
  current: number | null;
  total: number | null;
}

/** A durable picture of a job at a line boundary where every earlier line was acknowledged. */
export interface Checkpoint {
  job_id: string;
  filename: string;
  user: string | null;
  /** Byte offset just after the last acknowledged line. */
  file_position: number;
  /** Machine state the file had set up at file_position, with the live heater targets and fan. */
  state: GcodeStateSnapshot;
  objects: LabelledObject[];
  excluded_objects: string[];
  current_object: string | null;
  layer: LayerInfo;
  print_duration: number;
  total_duration: number;
  filament_used: number;
  start_time: number;
  paused: boolean;
  file: FileIdentity;
  metadata: GcodeMetadata | null;
  /** Layer starts (byte offsets) from the analysis, for current_layer after a resume. */
  layer_starts: number[] | null;
  /** Unix seconds. */
  time: number;
}

export interface CheckpointSink {
  write(checkpoint: Checkpoint): void;
}

declare module '../core/events.ts' {
  interface EventMap {
    /** The one event for job facts: started, paused, resumed, finished (ARCHITECTURE §6 example 4). */
    'job:state_changed': { previous: PrintState; current: PrintState; job: JobSummary };
  }
}

export interface JobRunner extends ComponentInstance {
  startPrint(filename: string, options?: { user?: string | null }): Promise<void>;
  pause(reason?: string): Promise<void>;
  resume(): Promise<void>;
  cancel(): Promise<void>;
  /** Continues an interrupted job from its checkpoint after running `preamble` (reheat, home, restore). */
  resumeFromCheckpoint(checkpoint: Checkpoint, preamble: readonly string[]): Promise<void>;
  excludeObject(name: string): void;
  state(): PrintState;
  /** Printing or paused: a new job cannot start. */
  busy(): boolean;
  current(): JobSummary | null;
  /** Where checkpoints go, and how often at most between layer changes. */
  setCheckpointSink(sink: CheckpointSink | null, intervalS: number): void;
  checkpoint(): Checkpoint | null;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    virtual_sdcard: JobRunner;
  }
}

export const runnerConfig = Type.Object({
  lines_ahead: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 256,
    description:
      "Most job lines handed to the serial link before the firmware acknowledges them; 0 means twice the link's window. Only these are in flight when a print pauses.",
  }),
  m600: Type.Union([Type.Literal('host'), Type.Literal('firmware')], {
    default: 'host',
    description:
      'Who handles M600 (filament change): "host" pauses the print with the PAUSE macro (Marlin without ADVANCED_PAUSE_FEATURE); "firmware" sends it to Marlin.',
  }),
  restore_speed_xy: Type.Number({
    default: 100,
    minimum: 1,
    maximum: 1000,
    description: 'Speed in mm/s of the move back to the saved position when a print resumes.',
  }),
  restore_speed_z: Type.Number({
    default: 10,
    minimum: 0.1,
    maximum: 100,
    description: 'Speed in mm/s of the Z move back to the saved height when a print resumes.',
  }),
  idle_timeout_s: Type.Number({
    default: 600,
    minimum: 1,
    maximum: 86_400,
    description: 'Seconds without a print or a command before idle_timeout.state becomes "Idle".',
  }),
});

export type RunnerConfig = Static<typeof runnerConfig>;

/** Klipper's display_status keeps an M73 value this long before falling back to file progress. */
const M73_TIMEOUT_S = 5;
/** Entries (lines sent or skipped) waiting for acknowledgement, at most; bounds memory in skipped regions. */
const MAX_PENDING_ENTRIES = 2048;
/** Commands that wait for heaters; M108 (emergency parser) ends the wait when a print is cancelled. */
const HEATING_WAITS = new Set(['M109', 'M190', 'M191', 'M116']);
/** File commands the runner handles itself; they never reach the firmware. */
const RUNNER_COMMANDS = new Set([
  'SET_PRINT_STATS_INFO',
  'EXCLUDE_OBJECT',
  'EXCLUDE_OBJECT_DEFINE',
  'EXCLUDE_OBJECT_START',
  'EXCLUDE_OBJECT_END',
  'M486',
  'PAUSE',
  'RESUME',
  'CANCEL_PRINT',
  'SDCARD_PRINT_FILE',
  'SDCARD_RESET_FILE',
]);

/** One file line (or an injected line) between reading and acknowledgement, in file order. */
interface Entry {
  /** File offset after the line, or -1 for a line Brim injected. */
  end: number;
  /** The file line, applied to the acknowledged file state when the entry drains. */
  line: GcodeLine | null;
  eDelta: number;
  sent: boolean;
  done: boolean;
  error: Error | null;
  object: ObjectEvent | null;
  word: string;
}

interface Job {
  id: string;
  filename: string;
  path: string;
  user: string | null;
  metadata: GcodeMetadata | null;
  file: FileIdentity;
  startWall: number;
  reader: LineReader;
  /** The file's state at the read position (skipped lines included). */
  feed: GcodeState;
  /** The firmware's state after every line sent (injected lines included). */
  sent: GcodeState;
  /** The file's state at file_position. */
  ack: GcodeState;
  filePosition: number;
  objects: ObjectRegistry;
  feedObject: string | null;
  ackObject: string | null;
  pending: Entry[];
  sendsInFlight: number;
  layer: LayerInfo;
  /** SET_PRINT_STATS_INFO seen: layer numbers come only from it from then on. */
  layerFromCommand: boolean;
  layerStarts: number[] | null;
  halt: boolean;
  cancelling: boolean;
  failure: { message: string; status: JobEndStatus } | null;
  feeding: Promise<void>;
  pauseSnapshot: GcodeStateSnapshot | null;
  /** Durations and filament carried over from an interrupted run of the same job. */
  base: { print: number; total: number; filament: number };
  sessionStartS: number;
  pausedS: number;
  pauseStartS: number | null;
  initS: number | null;
  endS: number | null;
  sessionFilament: number;
  endStatus: JobEndStatus | null;
  warnedCommands: Set<string>;
  lastCheckpointPosition: number;
}

export interface RunnerDeps {
  link: PrinterLink;
  printer: Printer;
  files: FileManager;
  dataStore: DataStore;
  /** Sends a notification to every websocket client (notify_gcode_response for console lines). */
  notify(method: string, params: unknown[]): void;
  macros: { pause: GcodeMacro; resume: GcodeMacro; cancel: GcodeMacro };
  bus: Bus;
  clock: Clock;
  log: Logger;
  config: RunnerConfig;
  newJobId(): string;
}

export class Runner {
  private job: Job | null = null;
  private printState: PrintState = 'standby';
  private message = '';
  /** The last job, kept for print_stats and virtual_sdcard after it ends (Klipper's rule). */
  private last: {
    filename: string;
    size: number;
    position: number;
    summary: JobSummary | null;
    layer: LayerInfo | null;
  } = { filename: '', size: 0, position: 0, summary: null, layer: null };
  private displayMessage = '';
  private m73: { progress: number; atS: number } | null = null;
  private ops: Promise<unknown> = Promise.resolve();
  private wake: (() => void) | null = null;
  private inMacro = false;
  private stopped = false;
  private sink: CheckpointSink | null = null;
  private checkpointTimer: TimerHandle | null = null;
  private checkpointIntervalS = 5;
  private lastActivityS: number;
  private printingSinceS: number | null = null;

  constructor(private readonly deps: RunnerDeps) {
    this.lastActivityS = deps.clock.now();
  }

  // --- control ---------------------------------------------------------------------------------

  state(): PrintState {
    return this.printState;
  }

  busy(): boolean {
    return this.printState === 'printing' || this.printState === 'paused';
  }

  current(): JobSummary | null {
    return this.job ? this.summary(this.job) : this.last.summary;
  }

  async startPrint(filename: string, options: { user?: string | null } = {}): Promise<void> {
    if (this.busy()) throw errors.badRequest(`Cannot print ${filename}: a print is already in progress`);
    const opened = await this.openFile(filename, 0);
    const id = this.deps.newJobId();
    this.beginJob({
      id,
      filename,
      ...opened,
      user: options.user ?? null,
      state: undefined,
      base: { print: 0, total: 0, filament: 0 },
      objects: metadataObjects(opened.stored),
      excluded: [],
      currentObject: null,
      layer: { current: null, total: layerCount(opened.stored) },
      layerStarts: metadataLayerStarts(opened.stored),
      preamble: [],
    });
  }

  async resumeFromCheckpoint(checkpoint: Checkpoint, preamble: readonly string[]): Promise<void> {
    if (this.busy()) throw errors.badRequest('Cannot resume: a print is already in progress');
    const opened = await this.openFile(checkpoint.filename, checkpoint.file_position);
    this.beginJob({
      id: checkpoint.job_id,
      filename: checkpoint.filename,
      ...opened,
      file: checkpoint.file,
      metadata: checkpoint.metadata,
      user: checkpoint.user,
      state: checkpoint.state,
      base: {
        print: checkpoint.print_duration,
        total: checkpoint.total_duration,
        filament: checkpoint.filament_used,
      },
      objects: checkpoint.objects,
      excluded: checkpoint.excluded_objects,
      currentObject: checkpoint.current_object,
      layer: checkpoint.layer,
      layerStarts: checkpoint.layer_starts,
      preamble,
      startWall: checkpoint.start_time,
      position: checkpoint.file_position,
    });
  }

  pause(reason = 'Paused', runMacro = true): Promise<void> {
    const job = this.job;
    if (!job || this.printState !== 'printing') {
      return Promise.reject(
        errors.badRequest(this.printState === 'paused' ? 'Print already paused' : 'No print in progress'),
      );
    }
    job.halt = true;
    job.pauseStartS = this.deps.clock.now();
    this.setState('paused');
    this.respond(`// Print paused: ${reason}`);
    return this.serialize(async () => {
      await job.feeding;
      if (this.job !== job || job.failure || job.cancelling) return;
      job.pauseSnapshot = this.liveSnapshot(job);
      this.writeCheckpoint(job, true);
      if (runMacro) await this.runMacro(this.deps.macros.pause);
    });
  }

  resume(restore = true): Promise<void> {
    const job = this.job;
    if (!job || this.printState !== 'paused') return Promise.reject(errors.badRequest('Print is not paused'));
    return this.serialize(async () => {
      if (this.job !== job || this.printState !== 'paused' || job.cancelling) return;
      const now = this.deps.clock.now();
      if (job.pauseStartS !== null) job.pausedS += now - job.pauseStartS;
      job.pauseStartS = null;
      // A PAUSE that arrives while the restore runs sets halt again; feeding then waits for its RESUME.
      job.halt = false;
      this.setState('printing');
      if (restore) {
        const saved = job.pauseSnapshot ?? job.ack.snapshot();
        try {
          await this.sendAll(job, this.heatLines(saved));
          await this.runMacro(this.deps.macros.resume);
          await this.sendAll(job, this.restoreLines(saved));
        } catch (error) {
          // A cancel while the restore runs (Mainsail: RESUME, PAUSE, CANCEL in quick succession) ends
          // the job; the RESUME did what it was asked until then, so it is no failure of its own.
          if (this.job !== job || job.cancelling) return;
          throw error;
        }
        // The firmware is where the file expects it again, whatever the skipped region left behind.
        job.sent = new GcodeState(job.feed.snapshot());
      }
      if (this.job !== job || job.failure || job.halt) return;
      job.pauseSnapshot = null;
      job.feeding = this.feed(job);
    });
  }

  cancel(): Promise<void> {
    const job = this.job;
    if (!job || !this.busy()) return Promise.reject(errors.badRequest('No print in progress'));
    if (job.cancelling) return this.ops.then(() => {});
    job.halt = true;
    job.cancelling = true;
    this.deps.link.dropQueued('job', 'Print cancelled');
    // A heat-up wait would hold the cancel for minutes; M108 ends it (emergency parser).
    if (job.pending.some((e) => e.sent && !e.done && HEATING_WAITS.has(e.word))) {
      this.deps.link.emergency('M108').catch(() => {});
    }
    this.wakeUp();
    return this.serialize(async () => {
      await job.feeding;
      if (this.job !== job || job.failure) return;
      try {
        await this.runMacro(this.deps.macros.cancel);
      } finally {
        await this.finish(job, 'cancelled', 'cancelled', '');
      }
    });
  }

  excludeObject(name: string): void {
    const job = this.job;
    if (!job) throw errors.badRequest('EXCLUDE_OBJECT: no print in progress');
    job.objects.exclude(name);
    this.respond(`// Excluding object ${objectName(name)}`);
  }

  resetFile(): void {
    if (this.busy()) throw errors.badRequest('SDCARD_RESET_FILE cannot be run while a print is in progress');
    this.setState('standby');
    this.message = '';
    this.last = { filename: '', size: 0, position: 0, summary: null, layer: null };
  }

  // --- checkpoints ------------------------------------------------------------------------------

  setCheckpointSink(sink: CheckpointSink | null, intervalS: number): void {
    this.sink = sink;
    this.checkpointIntervalS = intervalS;
    this.armCheckpoints();
  }

  checkpoint(): Checkpoint | null {
    const job = this.job;
    return job ? this.makeCheckpoint(job, this.printState === 'paused') : null;
  }

  private armCheckpoints(): void {
    this.checkpointTimer?.cancel();
    this.checkpointTimer = null;
    if (!this.sink || !this.job) return;
    this.checkpointTimer = this.deps.clock.setInterval(() => {
      const job = this.job;
      if (!job || this.printState !== 'printing' || job.filePosition === job.lastCheckpointPosition) return;
      this.writeCheckpoint(job, false);
    }, this.checkpointIntervalS * 1000);
  }

  private writeCheckpoint(job: Job, paused: boolean): void {
    if (!this.sink) return;
    job.lastCheckpointPosition = job.filePosition;
    try {
      this.sink.write(this.makeCheckpoint(job, paused));
    } catch (error) {
      this.deps.log.error({ err: error }, 'writing a checkpoint failed');
    }
  }

  private makeCheckpoint(job: Job, paused: boolean): Checkpoint {
    const d = this.durations(job);
    return {
      job_id: job.id,
      filename: job.filename,
      user: job.user,
      file_position: job.filePosition,
      state: paused && job.pauseSnapshot ? job.pauseSnapshot : this.liveSnapshot(job),
      objects: job.objects.objects(),
      excluded_objects: job.objects.excludedNames(),
      current_object: job.ackObject,
      layer: { ...job.layer },
      print_duration: d.print,
      total_duration: d.total,
      filament_used: d.filament,
      start_time: job.startWall,
      paused,
      file: { ...job.file },
      metadata: job.metadata,
      layer_starts: job.layerStarts,
      time: this.deps.clock.wallMs() / 1000,
    };
  }

  /** The acknowledged file state with the heater targets and fan the printer really has now. */
  private liveSnapshot(job: Job): GcodeStateSnapshot {
    const snap = job.ack.snapshot();
    const model = this.deps.printer.model;
    snap.hotendTargets = model.extruders.map((h, i) =>
      h.target > 0 ? h.target : (snap.hotendTargets[i] ?? 0),
    );
    if (model.bed.target > 0) snap.bedTarget = model.bed.target;
    snap.fan = Math.round(model.fanSpeed * 255);
    return snap;
  }

  // --- starting and finishing -------------------------------------------------------------------

  private async openFile(
    filename: string,
    offset: number,
  ): Promise<{
    path: string;
    file: FileIdentity;
    metadata: GcodeMetadata | null;
    stored: StoredMetadata | null;
    reader: LineReader;
  }> {
    const link = this.deps.link;
    if (link.state !== 'ready') throw errors.badRequest(`Printer not ready (${link.state}): ${link.message}`);
    const path = this.deps.files.resolveGcode(filename);
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(path);
    } catch {
      throw errors.notFound(`File does not exist: gcodes/${filename}`);
    }
    if (!info.isFile()) throw errors.badRequest(`gcodes/${filename} is not a file`);
    const stored = await this.deps.files.getMetadata(filename).catch(() => null);
    const reader = await LineReader.open(path, offset);
    return {
      path,
      file: { size: info.size, mtimeMs: info.mtimeMs, sha256: null },
      metadata: stored ? historyMetadata(stored.metadata) : null,
      stored,
      reader,
    };
  }

  private beginJob(o: {
    id: string;
    filename: string;
    path: string;
    file: FileIdentity;
    metadata: GcodeMetadata | null;
    reader: LineReader;
    user: string | null;
    state: GcodeStateSnapshot | undefined;
    base: Job['base'];
    objects: LabelledObject[];
    excluded: string[];
    currentObject: string | null;
    layer: LayerInfo;
    layerStarts: number[] | null;
    preamble: readonly string[];
    startWall?: number;
    position?: number;
  }): void {
    const now = this.deps.clock.now();
    const objects = new ObjectRegistry();
    for (const object of o.objects) objects.define(object);
    for (const name of o.excluded) objects.exclude(name);
    const job: Job = {
      id: o.id,
      filename: o.filename,
      path: o.path,
      user: o.user,
      metadata: o.metadata,
      file: o.file,
      startWall: o.startWall ?? this.deps.clock.wallMs() / 1000,
      reader: o.reader,
      feed: new GcodeState(o.state),
      sent: new GcodeState(o.state),
      ack: new GcodeState(o.state),
      filePosition: o.position ?? 0,
      objects,
      feedObject: o.currentObject,
      ackObject: o.currentObject,
      pending: [],
      sendsInFlight: 0,
      layer: { ...o.layer },
      layerFromCommand: false,
      layerStarts: o.layerStarts,
      halt: false,
      cancelling: false,
      failure: null,
      feeding: Promise.resolve(),
      pauseSnapshot: null,
      base: o.base,
      sessionStartS: now,
      pausedS: 0,
      pauseStartS: null,
      initS: null,
      endS: null,
      sessionFilament: 0,
      endStatus: null,
      warnedCommands: new Set(),
      lastCheckpointPosition: -1,
    };
    this.job = job;
    this.message = '';
    this.m73 = null;
    this.last = {
      filename: o.filename,
      size: o.file.size,
      position: job.filePosition,
      summary: null,
      layer: null,
    };
    this.deps.files.setActiveFile(o.filename);
    this.setState('printing');
    this.armCheckpoints();
    if (job.file.sha256 === null) void this.hashFile(job);
    job.feeding = (async () => {
      if (o.preamble.length > 0) {
        try {
          await this.sendAll(job, o.preamble);
        } catch (error) {
          if (!job.cancelling) this.fail(job, `Resume preparation failed: ${describeError(error)}`, 'error');
          return;
        }
      }
      await this.feed(job);
    })();
  }

  private async hashFile(job: Job): Promise<void> {
    const hash = createHash('sha256');
    try {
      for await (const chunk of createReadStream(job.path)) hash.update(chunk as Buffer);
      job.file.sha256 = hash.digest('hex');
    } catch (error) {
      this.deps.log.warn({ err: error, file: job.filename }, 'could not hash the printing file');
    }
  }

  /** Ends the job: state, history facts, file released. Idempotent per job. */
  private async finish(job: Job, state: PrintState, status: JobEndStatus, message: string): Promise<void> {
    // A daemon stop leaves the job in progress, for history to call interrupted at the next start.
    if (this.job !== job || this.stopped) return;
    job.endS = this.deps.clock.now();
    if (job.pauseStartS !== null) {
      job.pausedS += job.endS - job.pauseStartS;
      job.pauseStartS = null;
    }
    job.endStatus = status;
    this.message = message;
    this.checkpointTimer?.cancel();
    this.checkpointTimer = null;
    await job.reader.close().catch(() => {});
    const summary = this.summary(job, state);
    this.last = {
      filename: job.filename,
      size: job.file.size,
      position: job.filePosition,
      summary,
      layer: { ...job.layer },
    };
    this.job = null;
    this.deps.files.setActiveFile(null);
    this.setState(state, summary);
    this.respond(
      state === 'complete'
        ? `// Done printing ${job.filename}`
        : `// Print ${state}${message ? `: ${message}` : ''}`,
    );
  }

  /** Stops the job with an error; the link is gone or unusable, so no macro runs. */
  private fail(job: Job, message: string, status: JobEndStatus): void {
    if (job.failure || this.job !== job || this.stopped) return;
    job.failure = { message, status };
    job.halt = true;
    this.deps.log.error({ job: job.id, file: job.filename }, message);
    this.wakeUp();
    void this.serialize(async () => {
      await job.feeding;
      await this.finish(job, 'error', status, message);
    });
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.ops.then(fn, fn);
    this.ops = run.catch(() => {});
    return run;
  }

  // --- feeding ----------------------------------------------------------------------------------

  /** Reads, translates and sends lines until the file ends or the job halts; resolves once all settled. */
  private async feed(job: Job): Promise<void> {
    try {
      while (!job.halt) {
        if (job.sendsInFlight >= this.linesAhead() || job.pending.length >= MAX_PENDING_ENTRIES) {
          await this.nextChange();
          continue;
        }
        const line = await job.reader.next();
        if (!line) break;
        await this.processLine(job, line);
      }
      while (job.pending.length > 0) await this.nextChange();
    } catch (error) {
      this.fail(job, `Print stopped: ${describeError(error)}`, 'error');
      while (job.pending.length > 0) await this.nextChange();
      return;
    }
    if (!job.halt && !job.failure) void this.serialize(() => this.finish(job, 'complete', 'completed', ''));
  }

  private linesAhead(): number {
    const configured = this.deps.config.lines_ahead;
    return configured > 0 ? configured : Math.max(2, this.deps.link.getStats().windowLimit * 2);
  }

  private async processLine(job: Job, fileLine: FileLine): Promise<void> {
    const parsed = parseLine(fileLine.text);
    if (!parsed.ok) {
      // Marlin would answer a malformed line with an error and carry on; so does Brim, without sending it.
      this.warnOnce(
        job,
        `line@${fileLine.start}`,
        `// Skipped malformed G-code at byte ${fileLine.start}: ${parsed.error.message}`,
      );
      this.push(job, { end: fileLine.end, line: null, eDelta: 0, sent: false, object: null, word: '' });
      return;
    }
    const line = parsed.line;
    const word = line.command ?? '';
    const event = objectEventOf(line);
    const object = event && job.objects.accepts(event) ? event : null;
    if (object) this.feedObjectEvent(job, object);

    if (RUNNER_COMMANDS.has(word) || (word === 'M600' && this.deps.config.m600 === 'host')) {
      job.feed.apply(line);
      this.push(job, { end: fileLine.end, line, eDelta: 0, sent: false, object, word });
      this.fileCommand(line, word);
      return;
    }
    if (line.extended) {
      const command = this.deps.printer.commands.get(word);
      if (!command) {
        this.warnOnce(job, word, `!! Unknown command: "${word}" (skipped)`);
        this.push(job, { end: fileLine.end, line, eDelta: 0, sent: false, object, word });
        return;
      }
      // A host command may itself send lines; everything before it must have run first.
      while (job.pending.length > 0) await this.nextChange();
      if (job.failure) return;
      const params: Record<string, string> = {};
      for (const [key, value] of Object.entries(line.params)) params[key] = String(value);
      try {
        await command.run({
          raw: stripForWire(fileLine.text),
          params,
          source: 'job',
          respond: (m) => this.respond(m),
          run: (script) => this.deps.printer.runScript(script, 'macro'),
        });
      } catch (error) {
        this.respond(`!! ${word}: ${describeError(error)}`);
      }
      this.push(job, { end: fileLine.end, line, eDelta: 0, sent: false, object, word });
      return;
    }
    const wire = stripForWire(fileLine.text);
    if (wire === '') {
      job.feed.apply(line);
      this.push(job, { end: fileLine.end, line, eDelta: 0, sent: false, object, word });
      return;
    }
    const motion = /^G[0-3]$|^G1[01]$/.test(word);
    if (motion && job.objects.isExcluded(job.feedObject)) {
      job.feed.apply(line);
      this.push(job, { end: fileLine.end, line, eDelta: 0, sent: false, object, word });
      return;
    }
    if (motion) this.reconcile(job, line);
    job.feed.apply(line);
    const { eDelta } = job.sent.apply(line);
    this.send(job, wire, { end: fileLine.end, line, eDelta, sent: true, object, word });
  }

  /** Commands from the file that the runner carries out itself. */
  private fileCommand(line: GcodeLine, word: string): void {
    switch (word) {
      case 'EXCLUDE_OBJECT':
        this.excludeCommand(line.params, (m) => this.respond(m));
        return;
      case 'PAUSE':
        void this.pause('PAUSE in the file').catch(() => {});
        return;
      case 'M600':
        void this.pause('Filament change (M600)').catch(() => {});
        return;
      case 'CANCEL_PRINT':
        void this.cancel().catch(() => {});
        return;
      default:
        // SET_PRINT_STATS_INFO acts when acknowledged; the object commands were handled as object events.
        return;
    }
  }

  private feedObjectEvent(job: Job, event: ObjectEvent): void {
    if (event.kind === 'define') job.objects.define(event.object);
    else if (event.kind === 'start') {
      job.objects.see(event.name);
      job.feedObject = event.name;
    } else job.feedObject = null;
  }

  /**
   * After skipped lines the firmware is still where the last printed object left it, and (in absolute E)
   * its E differs from the file's. Before a move that extrudes, set E with G92; if it would also extrude
   * from the wrong place, travel there first without extruding (lifting first when the file is higher,
   * lowering last otherwise). Plain travels need neither: they go where the file says.
   */
  private reconcile(job: Job, next: GcodeLine): void {
    const file = job.feed.snapshot();
    const fw = job.sent.snapshot();
    const e = next.params.E;
    const hasE = typeof e === 'number';
    const lines: string[] = [];
    if (hasE && !job.feed.eRelative() && Math.abs(file.position[3] - fw.position[3]) > 1e-9)
      lines.push(`G92 E${gnum(file.position[3])}`);
    const extrudes = hasE && (job.feed.eRelative() ? e !== 0 : e !== file.position[3]);
    const positional = extrudes || next.command === 'G2' || next.command === 'G3' || file.relative;
    const machine = (st: GcodeStateSnapshot, i: number) => st.position[i]! + st.offset[i]!;
    const differs = [0, 1, 2].filter((i) => Math.abs(machine(file, i) - machine(fw, i)) > 1e-6);
    if (positional && differs.length > 0) {
      if (file.relative) lines.push('G90');
      const feed = gnum(file.feedrate);
      const xy = `G0 X${gnum(file.position[0])} Y${gnum(file.position[1])} F${feed}`;
      const z = `G0 Z${gnum(file.position[2])} F${feed}`;
      if (!differs.includes(2)) lines.push(xy);
      else if (machine(file, 2) > machine(fw, 2)) lines.push(z, xy);
      else lines.push(xy, z);
      if (file.relative) lines.push('G91');
    }
    for (const wire of lines) {
      const parsed = parseLine(wire);
      if (parsed.ok) job.sent.apply(parsed.line);
      this.send(job, wire, {
        end: -1,
        line: null,
        eDelta: 0,
        sent: true,
        object: null,
        word: commandWord(wire),
      });
    }
  }

  private push(job: Job, e: Omit<Entry, 'done' | 'error'>): void {
    job.pending.push({ ...e, done: true, error: null });
    this.drain(job);
  }

  private send(job: Job, wire: string, e: Omit<Entry, 'done' | 'error'>): void {
    const entry: Entry = { ...e, done: false, error: null };
    job.pending.push(entry);
    job.sendsInFlight++;
    this.lastActivityS = this.deps.clock.now();
    this.deps.link.send(wire, { source: 'job', priority: 'normal' }).then(
      () => this.settle(job, entry, null),
      (error: Error) => this.settle(job, entry, error),
    );
  }

  private settle(job: Job, entry: Entry, error: Error | null): void {
    entry.done = true;
    entry.error = error;
    job.sendsInFlight--;
    this.drain(job);
  }

  /** Applies acknowledged entries in file order; the file position only ever covers acknowledged lines. */
  private drain(job: Job): void {
    let layerChanged = false;
    while (job.pending[0]?.done) {
      const entry = job.pending.shift()!;
      if (job.failure) continue;
      if (entry.error) {
        if (job.cancelling) continue;
        this.fail(job, `Print stopped: ${entry.error.message}`, this.linkStatus());
        continue;
      }
      if (entry.line) {
        job.ack.apply(entry.line);
        if (this.ackLine(job, entry.line, entry.object)) layerChanged = true;
      }
      if (entry.sent && entry.eDelta !== 0) this.addFilament(job, entry.eDelta);
      if (entry.end >= 0) job.filePosition = entry.end;
    }
    if (job.layerStarts && !job.layerFromCommand) {
      const layer = layerAt(job.layerStarts, job.filePosition);
      if (layer !== job.layer.current) {
        job.layer.current = layer;
        layerChanged = true;
      }
    }
    if (job === this.job) this.last.position = job.filePosition;
    if (layerChanged && this.printState === 'printing') this.writeCheckpoint(job, false);
    this.wakeUp();
  }

  /** Acknowledgement-time effects of a file line; returns whether the layer changed. */
  private ackLine(job: Job, line: GcodeLine, object: ObjectEvent | null): boolean {
    if (object?.kind === 'start') job.ackObject = object.name;
    else if (object?.kind === 'end') job.ackObject = null;
    if (line.command === 'SET_PRINT_STATS_INFO') {
      const before = job.layer.current;
      job.layerFromCommand = true;
      applyPrintStatsInfo(job.layer, line.params);
      return job.layer.current !== before;
    }
    if (job.layerFromCommand || job.layerStarts || line.command || line.comment === undefined) return false;
    const cura = /^LAYER:(-?\d+)/.exec(line.comment);
    if (cura) {
      job.layer.current = Math.max(0, Number(cura[1])) + 1;
      return true;
    }
    if (/^LAYER_CHANGE$/.test(line.comment)) {
      job.layer.current = (job.layer.current ?? 0) + 1;
      return true;
    }
    return false;
  }

  private addFilament(job: Job, delta: number): void {
    const wasZero = job.sessionFilament < 1e-7;
    job.sessionFilament += delta;
    if (wasZero && job.sessionFilament >= 1e-7 && job.initS === null) {
      // Klipper's print_duration starts at the first extrusion: heat-up and homing are not printing.
      const now = this.deps.clock.now();
      job.initS = now - job.sessionStartS - job.pausedS;
    }
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  private warnOnce(job: Job, key: string, message: string): void {
    if (job.warnedCommands.has(key)) return;
    job.warnedCommands.add(key);
    this.respond(message);
  }

  // --- pause / resume sequences -----------------------------------------------------------------

  private async runMacro(macro: GcodeMacro): Promise<void> {
    this.inMacro = true;
    try {
      await this.deps.printer.runScript(macro.gcode, 'macro');
    } catch (error) {
      this.respond(`!! gcode_macro ${macro.name} failed: ${describeError(error)}`);
    } finally {
      this.inMacro = false;
    }
  }

  /** Lines sent as part of the job, one after the other; rejects on the first failure. */
  private async sendAll(job: Job, lines: readonly string[]): Promise<void> {
    for (const line of lines) {
      if (this.job !== job || job.failure || job.cancelling || this.stopped)
        throw new Error(job.failure?.message ?? 'the job ended');
      this.lastActivityS = this.deps.clock.now();
      await this.deps.link.send(line, { source: 'job', priority: 'normal' });
    }
  }

  /** Brings heaters back to the saved targets, waiting only for those that cooled down. */
  heatLines(saved: GcodeStateSnapshot): string[] {
    const model = this.deps.printer.model;
    const lines: string[] = [];
    const waits: string[] = [];
    const bed = saved.bedTarget;
    if (bed > 0 && (model.bed.target !== bed || model.bed.temperature < bed - 3)) {
      lines.push(`M140 S${gnum(bed)}`);
      waits.push(`M190 S${gnum(bed)}`);
    }
    saved.hotendTargets.forEach((target, i) => {
      const heater = model.extruders[i];
      if (target <= 0 || !heater) return;
      if (heater.target === target && heater.temperature >= target - 3) return;
      const tool = model.extruders.length > 1 ? ` T${i}` : '';
      lines.push(`M104${tool} S${gnum(target)}`);
      waits.push(`M109${tool} S${gnum(target)}`);
    });
    return [...lines, ...waits];
  }

  /** Back to the saved position (XY at the parked height, then Z), E, modes, feed rate and fan. */
  restoreLines(saved: GcodeStateSnapshot): string[] {
    const [x, y, z, e] = saved.position;
    const xy = this.deps.config.restore_speed_xy * 60;
    const zs = this.deps.config.restore_speed_z * 60;
    return [
      'G90',
      `G1 X${gnum(x)} Y${gnum(y)} F${gnum(xy)}`,
      `G1 Z${gnum(z)} F${gnum(zs)}`,
      `G92 E${gnum(e)}`,
      ...modeLines(saved),
      `G1 F${gnum(saved.feedrate)}`,
      saved.fan > 0 ? `M106 S${saved.fan}` : 'M107',
    ];
  }

  // --- host commands and actions ----------------------------------------------------------------

  /** EXCLUDE_OBJECT [NAME=..] [CURRENT=1] [RESET=1]; without arguments it lists the excluded objects. */
  excludeCommand(params: Record<string, unknown>, respond: (message: string) => void): void {
    const job = this.job;
    if (!job) throw errors.badRequest('EXCLUDE_OBJECT: no print in progress');
    const name = typeof params.NAME === 'string' ? params.NAME : undefined;
    if (params.RESET !== undefined && String(params.RESET) !== '0') {
      if (name) job.objects.include(name);
      else for (const n of job.objects.excludedNames()) job.objects.include(n);
      return;
    }
    if (params.CURRENT !== undefined && String(params.CURRENT) !== '0') {
      if (!job.feedObject) throw errors.badRequest('EXCLUDE_OBJECT CURRENT=1: no object is being printed');
      this.excludeObject(job.feedObject);
      return;
    }
    if (name) {
      this.excludeObject(name);
      return;
    }
    respond(`// Excluded objects: ${job.objects.excludedNames().join(' ') || 'none'}`);
  }

  /** `//action:` lines from the firmware (notes/marlin-serial.md §9). */
  hostAction(name: string, args: string): void {
    const ignore = () => {};
    switch (name) {
      case 'pause':
        if (this.printState === 'printing')
          this.pause(`the printer asked (${args || 'pause'})`).catch(ignore);
        break;
      case 'paused':
        if (this.printState === 'printing')
          this.pause(`the printer paused (${args || 'paused'})`, false).catch(ignore);
        break;
      case 'filament_runout':
        if (this.printState === 'printing') this.pause(`filament runout ${args}`.trim()).catch(ignore);
        break;
      case 'resume':
        if (this.printState === 'paused') this.resume().catch(ignore);
        break;
      case 'resumed':
        if (this.printState === 'paused') this.resume(false).catch(ignore);
        break;
      case 'cancel':
        if (this.busy()) this.cancel().catch(ignore);
        break;
      default:
        break;
    }
  }

  /** The link left `ready` (reset, unplug, halt, fault): a running job cannot continue. */
  linkChanged(state: LinkState, message: string): void {
    if (this.stopped || state === 'ready') return;
    const job = this.job;
    if (!job || job.failure) return;
    this.fail(job, `Print stopped: ${message}`, statusFor(state));
  }

  noteSent(wire: string): void {
    this.lastActivityS = this.deps.clock.now();
    const word = commandWord(wire.replace(/^N\d+\s+/, ''));
    if (word !== 'M117' && word !== 'M73') return;
    const parsed = parseLine(wire.trim());
    if (!parsed.ok) return;
    if (word === 'M117') this.displayMessage = parsed.line.text ?? '';
    else {
      const p = parsed.line.params.P;
      if (typeof p === 'number')
        this.m73 = { progress: Math.max(0, Math.min(1, p / 100)), atS: this.deps.clock.now() };
    }
  }

  get macroRunning(): boolean {
    return this.inMacro;
  }

  /** Daemon stop: leave the job in progress (history then calls it interrupted) with a final checkpoint. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.checkpointTimer?.cancel();
    const job = this.job;
    if (!job) return;
    job.halt = true;
    this.writeCheckpoint(job, this.printState === 'paused');
    this.wakeUp();
    await job.reader.close().catch(() => {});
  }

  // --- status -----------------------------------------------------------------------------------

  private setState(next: PrintState, summary?: JobSummary): void {
    const previous = this.printState;
    this.printState = next;
    const now = this.deps.clock.now();
    if (next === 'printing') this.printingSinceS = now;
    else this.printingSinceS = null;
    this.lastActivityS = now;
    if (previous === next) return;
    const job = summary ?? (this.job ? this.summary(this.job) : null);
    if (job) this.deps.bus.emit('job:state_changed', { previous, current: next, job });
  }

  private durations(job: Job): { print: number; total: number; filament: number } {
    const t = job.endS ?? this.deps.clock.now();
    const paused = job.pausedS + (job.pauseStartS !== null ? t - job.pauseStartS : 0);
    const total = t - job.sessionStartS;
    const print = job.initS === null ? 0 : Math.max(0, total - job.initS - paused);
    return {
      print: job.base.print + print,
      total: job.base.total + total,
      filament: job.base.filament + job.sessionFilament,
    };
  }

  private summary(job: Job, state: PrintState = this.printState): JobSummary {
    const d = this.durations(job);
    return {
      job_id: job.id,
      filename: job.filename,
      user: job.user,
      state,
      message: job.failure?.message ?? this.message,
      start_time: job.startWall,
      end_time: job.endS === null ? null : this.deps.clock.wallMs() / 1000,
      print_duration: d.print,
      total_duration: d.total,
      // The file's net E (Klipper's sum, retractions included) goes below zero while the slicer's opening
      // retraction (PrusaSlicer's G1 E-5) or a later one is not yet primed back; no filament came back
      // from the spool, so print_stats and the history never show less than none. Checkpoints keep the sum.
      filament_used: Math.max(0, d.filament),
      metadata: job.metadata,
      end_status: job.endStatus,
      file: { ...job.file },
    };
  }

  printStats(): StatusFields {
    const job = this.job;
    const summary = job ? this.summary(job) : this.last.summary;
    const layer = job?.layer ?? this.last.layer;
    return {
      filename: this.last.filename,
      total_duration: round(summary?.total_duration ?? 0),
      print_duration: round(summary?.print_duration ?? 0),
      filament_used: round(summary?.filament_used ?? 0),
      state: this.printState,
      message: this.message,
      info: { total_layer: layer?.total ?? null, current_layer: layer?.current ?? null },
    };
  }

  virtualSdcard(): StatusFields {
    const job = this.job;
    const size = this.last.size;
    return {
      file_path: job ? job.path : null,
      progress: size > 0 ? round(this.last.position / size, 4) : 0,
      is_active: this.printState === 'printing',
      file_position: this.last.position,
      file_size: size,
    };
  }

  displayStatus(): StatusFields {
    const now = this.deps.clock.now();
    // Klipper: an M73 value holds while printing; after the timeout with no print, file progress takes over.
    if (this.m73 && now - this.m73.atS > M73_TIMEOUT_S && this.printState !== 'printing') this.m73 = null;
    const progress = this.m73 ? this.m73.progress : (this.virtualSdcard().progress as number);
    return { progress, message: this.displayMessage };
  }

  excludeObjectStatus(): StatusFields {
    const job = this.job;
    return {
      objects: job ? job.objects.objects() : [],
      excluded_objects: job ? job.objects.excludedNames() : [],
      current_object: job?.ackObject ?? null,
    };
  }

  idleTimeoutStatus(): StatusFields {
    const now = this.deps.clock.now();
    const stats = this.deps.link.getStats();
    const printing = this.printState === 'printing' || stats.inFlight > 0 || stats.queued > 0;
    const idle = now - this.lastActivityS > this.deps.config.idle_timeout_s;
    return {
      state: printing ? 'Printing' : idle ? 'Idle' : 'Ready',
      printing_time:
        this.printState === 'printing' && this.printingSinceS !== null
          ? round(now - this.printingSinceS, 2)
          : 0,
    };
  }

  private linkStatus(): JobEndStatus {
    return statusFor(this.deps.link.state);
  }

  respond(message: string): void {
    this.deps.dataStore.recordGcode(message, 'response');
    this.deps.notify('notify_gcode_response', [message]);
  }
}

function statusFor(state: LinkState): JobEndStatus {
  if (state === 'shutdown') return 'klippy_shutdown';
  if (state === 'disconnected') return 'klippy_disconnect';
  return 'error';
}

function round(value: number, digits = 3): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

/** Klipper's SET_PRINT_STATS_INFO: a new total resets the current layer; TOTAL_LAYER=0 clears both. */
export function applyPrintStatsInfo(layer: LayerInfo, params: GcodeLine['params']): void {
  const int = (key: string): number | undefined => {
    const raw = params[key];
    const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
    return Number.isInteger(value) && value >= 0 ? value : undefined;
  };
  const total = int('TOTAL_LAYER') ?? layer.total ?? undefined;
  const current = int('CURRENT_LAYER') ?? layer.current ?? undefined;
  if (total === 0) {
    layer.total = null;
    layer.current = null;
  } else if (total !== undefined && total !== layer.total) {
    layer.total = total;
    layer.current = 0;
  }
  if (current !== undefined && current !== layer.current) {
    layer.current = layer.total !== null ? Math.min(current, layer.total) : current;
  }
}

/** Layer starts (byte offsets) from the file manager's analysis, when it found layers. */
export function metadataLayerStarts(stored: StoredMetadata | null): number[] | null {
  const layers = stored?.layers;
  return layers && layers.length > 0 ? layers.map((l) => l.start_byte) : null;
}

function layerCount(stored: StoredMetadata | null): number | null {
  const count =
    stored?.metadata.layer_count ?? (stored && stored.layers.length > 0 ? stored.layers.length : null);
  return typeof count === 'number' && Number.isFinite(count) ? count : null;
}

/** Moonraker leaves job_id and print_start_time out of history's metadata: they point back at history. */
function historyMetadata(metadata: GcodeMetadata): GcodeMetadata {
  const { job_id: _jobId, print_start_time: _start, ...rest } = metadata;
  return rest as GcodeMetadata;
}

/** 1-based layer containing the byte offset, or null before the first layer. */
export function layerAt(starts: readonly number[], position: number): number | null {
  let lo = 0;
  let hi = starts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts[mid]! < position) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? null : lo;
}

/** The analysis's objects under the names EXCLUDE_OBJECT takes (Klipper upper-cases them). */
function metadataObjects(stored: StoredMetadata | null): LabelledObject[] {
  return (stored?.objects ?? []).map((o) => {
    const object: LabelledObject = { name: o.id.toUpperCase() };
    if (o.center) object.center = [...o.center];
    if (o.polygon) object.polygon = o.polygon.map((p) => [...p] as [number, number]);
    return object;
  });
}

export const virtualSdcardComponent = defineComponent({
  name: 'virtual_sdcard',
  needs: [
    'printer',
    'serial',
    'store',
    'data_store',
    'file_manager',
    'gcode_macro PAUSE',
    'gcode_macro RESUME',
    'gcode_macro CANCEL_PRINT',
  ],
  config: runnerConfig,
  create(host): JobRunner {
    const printer = host.lookup('printer');
    // Moonraker reports these as missing_klippy_requirements when configfile lacks them.
    printer.addConfigSection('virtual_sdcard', { path: host.paths.gcodes });
    printer.addConfigSection('pause_resume', {});
    printer.addConfigSection('display_status', {});
    const serial: SerialLink = host.lookup('serial');
    const files = host.lookup('file_manager');
    const runner = new Runner({
      link: serial.link,
      printer,
      files,
      dataStore: host.lookup('data_store'),
      macros: {
        pause: host.lookup('gcode_macro PAUSE'),
        resume: host.lookup('gcode_macro RESUME'),
        cancel: host.lookup('gcode_macro CANCEL_PRINT'),
      },
      notify: (method, params) => host.api.notify(method, params),
      bus: host.bus,
      clock: host.clock,
      log: host.log,
      config: host.config,
      newJobId: () => allocateJobId(host.db),
    });
    serial.listen({
      state: (state, message) => runner.linkChanged(state, message),
      sent: (wire, source) => {
        if (source !== 'host') runner.noteSent(wire);
      },
    });
    host.bus.on('printer:action_received', host.name, ({ name, args }) => runner.hostAction(name, args));

    host.status.register('print_stats', { status: () => runner.printStats() });
    host.status.register('pause_resume', { status: () => ({ is_paused: runner.state() === 'paused' }) });
    host.status.register('display_status', { status: () => runner.displayStatus() });
    host.status.register('exclude_object', { status: () => runner.excludeObjectStatus() });
    host.status.register('idle_timeout', { status: () => runner.idleTimeoutStatus() });

    registerCommands(printer, runner, serial);
    registerEndpoints(host.api, runner);
    // Uploads with print=true start here when the printer is free; job_queue replaces this to queue them.
    files.onPrintRequested(async (path) => {
      if (runner.busy()) return { started: false, queued: false };
      await runner.startPrint(path);
      return { started: true, queued: false };
    });

    return {
      startPrint: (filename, options) => runner.startPrint(filename, options),
      pause: (reason) => runner.pause(reason),
      resume: () => runner.resume(),
      cancel: () => runner.cancel(),
      resumeFromCheckpoint: (checkpoint, preamble) => runner.resumeFromCheckpoint(checkpoint, preamble),
      excludeObject: (name) => runner.excludeObject(name),
      state: () => runner.state(),
      busy: () => runner.busy(),
      current: () => runner.current(),
      setCheckpointSink: (sink, intervalS) => runner.setCheckpointSink(sink, intervalS),
      checkpoint: () => runner.checkpoint(),
      status: () => runner.virtualSdcard(),
      stop: () => runner.stop(),
    };
  },
});

function registerCommands(printer: Printer, runner: Runner, serial: SerialLink): void {
  const commands = printer.commands;
  /** A macro that names PAUSE, RESUME or CANCEL_PRINT must not start the sequence it is part of. */
  const guarded = (name: string, fn: () => Promise<void>) => async (ctx: { respond(m: string): void }) => {
    if (runner.macroRunning) {
      ctx.respond(`// ${name} inside a macro is ignored`);
      return;
    }
    try {
      await fn();
    } catch (error) {
      if (error instanceof ApiError) {
        ctx.respond(`!! ${error.message}`);
        return;
      }
      throw error;
    }
  };
  commands.register({
    name: 'PAUSE',
    help: 'Pauses the current print: the lines already sent finish, then the PAUSE macro runs',
    run: guarded('PAUSE', () => runner.pause('PAUSE')),
  });
  commands.register({
    name: 'RESUME',
    help: 'Resumes a paused print: reheats, runs the RESUME macro, returns to the saved position',
    run: guarded('RESUME', () => runner.resume()),
  });
  commands.register({
    name: 'CANCEL_PRINT',
    help: 'Cancels the current print: drops queued lines, then runs the CANCEL_PRINT macro',
    run: guarded('CANCEL_PRINT', () => runner.cancel()),
  });
  commands.register({
    name: 'SDCARD_PRINT_FILE',
    help: 'Starts printing a file: SDCARD_PRINT_FILE FILENAME=<path in gcodes>',
    run: async ({ params }) => {
      if (!params.FILENAME) throw errors.badRequest('SDCARD_PRINT_FILE: FILENAME is required');
      await runner.startPrint(params.FILENAME.replace(/^\/+/, ''));
    },
  });
  commands.register({
    name: 'SDCARD_RESET_FILE',
    help: 'Clears the finished print from print_stats and virtual_sdcard',
    run: () => runner.resetFile(),
  });
  commands.register({
    name: 'SET_PRINT_STATS_INFO',
    help: 'Passes slicer layer info to print_stats: SET_PRINT_STATS_INFO TOTAL_LAYER=<n> CURRENT_LAYER=<n>',
    run: () => {},
  });
  commands.register({
    name: 'EXCLUDE_OBJECT',
    help: 'Skips an object for the rest of the print: EXCLUDE_OBJECT NAME=<name> | CURRENT=1 | RESET=1 [NAME=]',
    run: ({ params, respond }) => runner.excludeCommand(params, respond),
  });
  for (const [name, help] of [
    [
      'EXCLUDE_OBJECT_DEFINE',
      'Declares an object the print contains: NAME= [CENTER=x,y] [POLYGON=[[x,y],...]]',
    ],
    ['EXCLUDE_OBJECT_START', 'Marks the start of an object in the file: NAME='],
    ['EXCLUDE_OBJECT_END', 'Marks the end of an object in the file'],
  ] as const) {
    commands.register({
      name,
      help,
      run: ({ respond }) => respond(`// ${name} only has an effect inside a print file`),
    });
  }
  commands.register({
    name: 'M600',
    help: 'Filament change: pauses the print with the PAUSE macro (sent to the firmware when no print runs)',
    run: async ({ raw, respond }) => {
      if (runner.state() === 'printing') {
        await runner.pause('Filament change (M600)');
        return;
      }
      await serial.link.send(raw, { source: 'console', priority: 'high' }).catch((error: Error) => {
        respond(`!! ${error.message}`);
      });
    },
  });
}

function registerEndpoints(api: ApiRegistry, runner: Runner): void {
  api.register({
    path: '/printer/print/start',
    verbs: ['POST'],
    role: 'operator',
    params: Type.Object({ filename: Type.String({ minLength: 1 }) }),
    description: 'Starts printing a file from the gcodes root',
    handler: async ({ filename }) => {
      await runner.startPrint(filename.replace(/^\/+/, '').replace(/^gcodes\//, ''));
      return 'ok';
    },
  });
  api.register({
    path: '/printer/print/pause',
    verbs: ['POST'],
    role: 'operator',
    description: 'Pauses the print; answers once the PAUSE macro has run',
    handler: async () => {
      await runner.pause('Paused from the API');
      return 'ok';
    },
  });
  api.register({
    path: '/printer/print/resume',
    verbs: ['POST'],
    role: 'operator',
    description: 'Resumes a paused print',
    handler: async () => {
      await runner.resume();
      return 'ok';
    },
  });
  api.register({
    path: '/printer/print/cancel',
    verbs: ['POST'],
    role: 'operator',
    description: 'Cancels the print; answers once the CANCEL_PRINT macro has run',
    handler: async () => {
      await runner.cancel();
      return 'ok';
    },
  });
}
