// Byte-level model of a Marlin 2.1 board as a host sees it on the serial line: buffers, line protocol, commands, faults.

import { checksum } from '../../gcode/checksum.ts';
import { type Clock, nowMs, SystemClock, type TimerHandle } from '../core/clock.ts';
import { ByteInbox, ByteRing } from './byte-queue.ts';
import { type EmergencyCommand, EmergencyParser } from './emergency-parser.ts';
import { type Axes, Planner } from './planner.ts';
import { BED_MODEL, Heater, type HeaterModel, HOTEND_MODEL } from './thermal.ts';

// ---------------------------------------------------------------------------------------------
// Public types

/**
 * Scripted faults. `atLine` is the N of a numbered line; a line fault fires once, the first
 * time the firmware would otherwise have accepted that line (N == last N + 1), so the host's
 * resend of it goes through.
 */
export type VirtualFault =
  /** Reject the line as if its N arrived garbled: line-number error, `Resend:`, `ok`. */
  | { readonly kind: 'resend'; readonly atLine: number }
  /** Corrupt one character of the received line, so its checksum no longer matches. */
  | { readonly kind: 'checksum'; readonly atLine: number }
  /** Flip one bit of the received line (`offset` into the line, default its middle; `bit` 0-7). */
  | { readonly kind: 'bitflip'; readonly atLine: number; readonly offset?: number; readonly bit?: number }
  /** The whole line vanishes on the wire; the next line then fails the line-number check. */
  | { readonly kind: 'lose_line'; readonly atLine: number }
  /** The command runs, then the firmware stays busy for `seconds` before its `ok`. */
  | { readonly kind: 'busy'; readonly atLine: number; readonly seconds: number }
  /** The command runs but its `ok` is never sent. */
  | { readonly kind: 'drop_ok'; readonly atLine: number }
  /** The board resets when the line arrives (brown-out, watchdog): banner, state lost, N back to 0. */
  | { readonly kind: 'reset'; readonly atLine: number }
  /** The firmware locks up silently when the line arrives, until reset(). */
  | { readonly kind: 'hang'; readonly atLine: number }
  /**
   * The USB device disappears when the line arrives. With `replugAfterS` it comes back and,
   * like an AVR board opened again, boots with a fresh banner.
   */
  | { readonly kind: 'unplug'; readonly atLine: number; readonly replugAfterS?: number }
  /**
   * Random single-bit flips on the wire with `probability` per byte, from `fromLine` on
   * (default: from the start), at most `maxFlips` times. Seeded, so runs repeat.
   */
  | {
      readonly kind: 'noise';
      readonly probability: number;
      readonly direction?: 'to_printer' | 'to_host' | 'both';
      readonly fromLine?: number;
      readonly maxFlips?: number;
      readonly seed?: number;
    }
  /**
   * Random loss of single bytes on the wire (a marginal cable or USB bridge) with `probability`
   * per byte, from `fromLine` on, at most `maxDrops` times. Seeded, so runs repeat.
   */
  | {
      readonly kind: 'drop_bytes';
      readonly probability: number;
      readonly direction?: 'to_printer' | 'to_host' | 'both';
      readonly fromLine?: number;
      readonly maxDrops?: number;
      readonly seed?: number;
    };

export interface VirtualMarlinOptions {
  /** Time source; default real time (`new SystemClock()`). Tests pass a ManualClock. */
  readonly clock?: Clock;
  /** RX_BUFFER_SIZE. The ring holds one byte less, as on AVR. Default 128. */
  readonly rxBufferSize?: number;
  /**
   * What happens to bytes when the RX buffer is full: `drop` is a UART board (AVR with a
   * USB bridge chip, the default), `block` is native USB, where the host's write waits.
   */
  readonly rxOverflow?: 'drop' | 'block';
  /** BUFSIZE: command queue slots. Default 4. */
  readonly bufsize?: number;
  /** MAX_CMD_SIZE: longer lines are cut at MAX_CMD_SIZE - 1 characters. Default 96. */
  readonly maxCmdSize?: number;
  /**
   * Factor on how long moves take. 0 makes every move instant, so the planner never fills and
   * the host's streaming is the only limit (streaming tests and benchmarks). Default 1.
   */
  readonly moveTimeScale?: number;
  /** BLOCK_BUFFER_SIZE. The planner holds one block less. Default 16. */
  readonly blockBufferSize?: number;
  /** ADVANCED_OK: `ok N<n> P<p> B<b>`. Default true. */
  readonly advancedOk?: boolean;
  /** EMERGENCY_PARSER. Default true. */
  readonly emergencyParser?: boolean;
  /** HOST_ACTION_COMMANDS and HOST_PROMPT_SUPPORT (`//action:` lines, M876). Default true. */
  readonly hostActionCommands?: boolean;
  /** DEFAULT_KEEPALIVE_INTERVAL in seconds (M113 changes it at run time). 0 disables. Default 2. */
  readonly keepaliveIntervalS?: number;
  /** BUSY_WHILE_HEATING: also send `busy:` during M109/M190. Off in stock Marlin. */
  readonly busyWhileHeating?: boolean;
  /** Number of hotends. Default 1. */
  readonly hotends?: number;
  /** Room temperature in C. Default 22. */
  readonly ambientC?: number;
  readonly hotendModel?: Partial<HeaterModel>;
  readonly bedModel?: Partial<HeaterModel>;
  /** TEMP_RESIDENCY_TIME / TEMP_BED_RESIDENCY_TIME in seconds. Default 10 each. */
  readonly hotendResidencyS?: number;
  readonly bedResidencyS?: number;
  /** TEMP_WINDOW and TEMP_HYSTERESIS in C (same for bed). Defaults 1 and 3. */
  readonly tempWindowC?: number;
  readonly tempHysteresisC?: number;
  /** Minimum hotend temperature for extrusion (PREVENT_COLD_EXTRUSION); 0 disables. Default 170. */
  readonly extrudeMinTempC?: number;
  /** Longest single extrusion accepted (PREVENT_LENGTHY_EXTRUDE); 0 disables. Default 200 mm. */
  readonly extrudeMaxLengthMm?: number;
  readonly machineName?: string;
  /** Reported as `Marlin <version>`. Default 2.1.2.1. */
  readonly firmwareVersion?: string;
  readonly uuid?: string;
  /** Travel in mm from the min endstops; soft endstops clamp homed axes to it. */
  readonly bedSize?: { readonly x: number; readonly y: number; readonly z: number };
  readonly stepsPerMm?: Axes;
  /** DEFAULT_MAX_FEEDRATE in mm/s. */
  readonly maxFeedrateMmS?: Axes;
  /** HOMING_FEEDRATE_MM_M in mm/min. */
  readonly homingFeedrateMmMin?: { readonly x: number; readonly y: number; readonly z: number };
  /** Time from reset until `start`; bytes sent meanwhile are lost, as in a bootloader. Default 0. */
  readonly bootMs?: number;
  /** Period of the firmware's housekeeping (heaters, autoreports, keepalive). Default 100 ms. */
  readonly tickMs?: number;
  readonly faults?: readonly VirtualFault[];
}

/** One command the firmware actually ran, in execution order. */
export interface ExecutedCommand {
  readonly seq: number;
  /** The line's N, or null for an un-numbered line. */
  readonly lineNumber: number | null;
  /** The command without its N word and checksum, e.g. `G1 X10 Y20`. */
  readonly command: string;
  readonly atMs: number;
}

export interface VirtualMarlinStats {
  /** Bytes lost because the RX buffer was full. */
  droppedBytes: number;
  /** Bytes lost because the firmware was booting, halted, hung or unplugged. */
  ignoredBytes: number;
  resendRequests: number;
  lineNumberErrors: number;
  checksumErrors: number;
  missingChecksumErrors: number;
  unknownCommands: number;
  oksSent: number;
  bitsFlipped: number;
  /** Bytes a `drop_bytes` fault took off the wire (either direction). */
  bytesLostOnWire: number;
  resets: number;
}

export interface VirtualMarlinEvents {
  data: Buffer;
  executed: ExecutedCommand;
  unplug: { readonly replugAfterMs: number | null };
  replug: { readonly atMs: number };
  /** `rxOverflow: 'block'` only: the backlog drained, the host may write again. */
  drain: { readonly atMs: number };
}

export interface VirtualMarlinState {
  readonly booting: boolean;
  readonly killed: boolean;
  readonly hung: boolean;
  readonly unplugged: boolean;
  readonly lastLineNumber: number;
  /** Logical position as M114 reports it (after G92 offsets). */
  readonly position: Axes;
  readonly homed: { readonly x: boolean; readonly y: boolean; readonly z: boolean };
  readonly hotends: readonly {
    readonly temperature: number;
    readonly target: number;
    readonly pwm: number;
  }[];
  readonly bed: { readonly temperature: number; readonly target: number; readonly pwm: number };
  readonly fans: readonly number[];
  readonly feedratePercent: number;
  readonly flowPercent: readonly number[];
  readonly statusMessage: string;
  readonly queuedCommands: number;
  readonly plannedMoves: number;
  readonly rxBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Marlin's strings that hosts match byte for byte (language.h).

const STR_ERR_LINE_NO = 'Line Number is not Last Line Number+1, Last Line: ';
const STR_ERR_CHECKSUM_MISMATCH = 'checksum mismatch, Last Line: ';
const STR_ERR_NO_CHECKSUM = 'No Checksum with line number, Last Line: ';
const STR_ERR_KILLED = 'Printer halted. kill() called!';
const M112_KILL_STR = 'M112 Shutdown';
const STR_INVALID_EXTRUDER = 'Invalid extruder';

const LF = 0x0a;
const CR = 0x0d;
const BACKSPACE = 0x08;
/** Marlin skips planner blocks shorter than this many steps (MIN_STEPS_PER_SEGMENT). */
const MIN_STEPS_PER_SEGMENT = 6;
/** Longest arc segment (MAX_ARC_SEGMENT_MM). */
const ARC_SEGMENT_MM = 1;
/** Marlin's power-on feedrate before any F word: 1500 mm/min. */
const DEFAULT_FEEDRATE_MM_S = 25;
const FAN_COUNT = 1;
/** How far an axis that was never homed travels to its switch in G28. */
const UNHOMED_TRAVEL_MM = { x: 110, y: 110, z: 10 };
/** Output kept for a listener that has not subscribed yet. */
const UNREAD_LIMIT = 64 * 1024;

/** Keepalive kinds, as Marlin's busy_state. `null` is NOT_BUSY. */
type BusyState = 'processing' | 'paused for user' | null;

/** What a blocked handler waits for. */
interface Wait {
  readonly until: () => boolean;
  readonly busy: BusyState;
}

type Handler = Generator<Wait, void, void>;

/** A command's handler: a generator if it may block, undefined if it is done at once. */
type CommandHandler = (p: ParsedCommand, r: RunningCommand) => Handler | undefined;

interface QueuedCommand {
  /** The line as it sat in Marlin's buffer (comments and overflow removed). */
  readonly raw: string;
  readonly lineNumber: number | null;
}

interface RunningCommand {
  readonly cmd: QueuedCommand;
  gen: Handler;
  wait: Wait | null;
  /** Set by handlers that print their own `ok` (M105) or must print none. */
  noOk: boolean;
}

interface ParsedCommand {
  readonly letter: 'G' | 'M' | 'T' | '?';
  readonly code: number;
  /** Command text from its letter, without the checksum. */
  readonly text: string;
  readonly params: ReadonlyMap<string, number | null>;
  /** Free text argument of M117/M118/M23/M28/M30. */
  readonly stringArg: string;
}

type WireFault = Extract<VirtualFault, { kind: 'noise' | 'drop_bytes' }>;
type LineFault = Exclude<VirtualFault, WireFault>;

interface ActiveWireFault {
  readonly fault: WireFault;
  readonly random: () => number;
  /** Flips or drops so far. */
  hits: number;
  active: boolean;
}

// ---------------------------------------------------------------------------------------------

const f2 = (v: number): string => (Object.is(Math.round(v * 100) / 100, -0) ? '0.00' : v.toFixed(2));

/** Deterministic PRNG (mulberry32) so noise faults repeat run to run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** strtol on a string: optional sign and digits, 0 when there are none. */
function strtol(s: string, from: number): number {
  const m = /^[ \t]*([-+]?\d+)/.exec(s.slice(from));
  return m ? Number.parseInt(m[1] as string, 10) : 0;
}

const FLOAT_RE = /^[-+]?(?:\d+\.?\d*|\.\d+)/;

/**
 * Splits a queued line the way Marlin's parser does: skip `N<n>`, stop at `*`, command letter
 * G/M/T with a number, then `A`-`Z` words with optional numbers.
 */
export function parseCommand(raw: string): ParsedCommand {
  let p = raw.replace(/^ +/, '');
  if (p[0] === 'N' && /[-+\d]/.test(p[1] ?? '')) p = p.replace(/^N[-+]?\d*\s*/, '');
  const star = p.indexOf('*');
  const text = (star >= 0 ? p.slice(0, star) : p).replace(/ +$/, '');
  const params = new Map<string, number | null>();
  const letter = text[0];
  if (letter !== 'G' && letter !== 'M' && letter !== 'T') {
    return { letter: '?', code: 0, text, params, stringArg: '' };
  }
  let i = 1;
  while (text[i] === ' ') i++;
  const num = /^\d+/.exec(text.slice(i));
  if (!num) return { letter: '?', code: 0, text, params, stringArg: '' };
  const code = Number.parseInt(num[0], 10);
  i += num[0].length;
  // A subcode (G29.1) is ignored by a build without USE_GCODE_SUBCODES.
  if (text[i] === '.') i += 1 + (/^\d*/.exec(text.slice(i + 1))?.[0].length ?? 0);
  while (text[i] === ' ') i++;
  const rest = text.slice(i);
  if (letter === 'M' && (code === 23 || code === 28 || code === 30 || code === 117 || code === 118)) {
    return { letter, code, text, params, stringArg: rest };
  }
  let stringArg = '';
  let j = 0;
  while (j < rest.length) {
    const c = rest[j] as string;
    if (c >= 'A' && c <= 'Z') {
      let k = j + 1;
      while (rest[k] === ' ') k++;
      const v = FLOAT_RE.exec(rest.slice(k));
      if (v) {
        params.set(c, Number.parseFloat(v[0]));
        j = k + v[0].length;
      } else {
        if (!params.has(c)) params.set(c, null);
        if (!stringArg) stringArg = rest.slice(j);
        j++;
      }
    } else {
      j++;
    }
  }
  return { letter, code, text, params, stringArg };
}

// ---------------------------------------------------------------------------------------------

/**
 * A Marlin 2.1 board on the other end of a serial line. Feed it the host's bytes with
 * write(); its replies come out through on('data'). It keeps the three buffers a host has to
 * reason about (RX bytes, command queue, planner), answers with Marlin's exact strings, and
 * records every command it ran in `executed`.
 */
export class VirtualMarlin {
  readonly clock: Clock;
  readonly stats: VirtualMarlinStats = {
    droppedBytes: 0,
    ignoredBytes: 0,
    resendRequests: 0,
    lineNumberErrors: 0,
    checksumErrors: 0,
    missingChecksumErrors: 0,
    unknownCommands: 0,
    oksSent: 0,
    bitsFlipped: 0,
    bytesLostOnWire: 0,
    resets: 0,
  };

  private readonly cfg: Required<
    Omit<VirtualMarlinOptions, 'clock' | 'faults' | 'hotendModel' | 'bedModel' | 'uuid'>
  > & { uuid: string | undefined };

  private readonly listeners: { [K in keyof VirtualMarlinEvents]: Set<(p: VirtualMarlinEvents[K]) => void> } =
    {
      data: new Set(),
      executed: new Set(),
      unplug: new Set(),
      replug: new Set(),
      drain: new Set(),
    };
  /** Output produced before anyone listened, like bytes waiting in a USB buffer. */
  private unread: Buffer[] = [];
  private unreadBytes = 0;

  private readonly log: ExecutedCommand[] = [];
  private lineFaults: LineFault[] = [];
  private readonly firedFaults: VirtualFault[] = [];
  private wireFaults: ActiveWireFault[] = [];

  // Serial side
  private readonly rx: ByteRing;
  private readonly inbox = new ByteInbox();
  private readonly ep: EmergencyParser | null;
  private pendingEmergency: EmergencyCommand[] = [];
  private lineBuf: number[] = [];
  private lineState: 'normal' | 'eol' | 'escape' = 'normal';
  private lastN = 0;
  private wroteBlocked = false;

  // Command side
  private queue: QueuedCommand[] = [];
  private running: RunningCommand | null = null;
  private readonly planner: Planner;
  private readonly commands: ReadonlyMap<string, CommandHandler>;

  // Machine state
  private readonly hotends: Heater[];
  private readonly bed: Heater;
  private activeTool = 0;
  /** Native position of the last command (Marlin's current_position). */
  private position: Axes = { x: 0, y: 0, z: 0, e: 0 };
  /** Native position the planner last queued (Marlin's planner.position). */
  private plannedPosition: Axes = { x: 0, y: 0, z: 0, e: 0 };
  /** G92 shift per axis: logical = native + offset. */
  private offset = { x: 0, y: 0, z: 0 };
  private homed = { x: false, y: false, z: false };
  private relativeBits = { xyz: false, e: false, eMode: null as 'rel' | 'abs' | null };
  private feedrateMmS = DEFAULT_FEEDRATE_MM_S;
  private feedratePercent = 100;
  private flowPercent: number[];
  private fans: number[] = [0];
  private allowColdExtrude = false;
  private extrudeMinTempC: number;
  private stepsPerMm: Axes;
  private keepaliveS: number;
  private tempReportS = 0;
  private nextTempReportMs = 0;
  private posReportS = 0;
  private nextPosReportMs = 0;
  private nextBusyMs = 0;
  private waitForHeatup = false;
  private waitForUser = false;
  private statusMessage = '';
  private jobStartedMs: number | null = null;
  private jobElapsedMs = 0;

  // Lifecycle
  private booting = false;
  private killed = false;
  private hung = false;
  private unplugged = false;
  private closed = false;
  private pumping = false;
  private pumpAgain = false;
  private lastTickMs: number;
  private tickTimer: TimerHandle | null = null;
  private bootTimer: TimerHandle | null = null;
  private replugTimer: TimerHandle | null = null;

  constructor(options: VirtualMarlinOptions = {}) {
    this.clock = options.clock ?? new SystemClock();
    const hotendCount = Math.max(1, Math.floor(options.hotends ?? 1));
    this.cfg = {
      rxBufferSize: options.rxBufferSize ?? 128,
      rxOverflow: options.rxOverflow ?? 'drop',
      bufsize: Math.max(2, options.bufsize ?? 4),
      maxCmdSize: Math.max(8, options.maxCmdSize ?? 96),
      blockBufferSize: Math.max(2, options.blockBufferSize ?? 16),
      moveTimeScale: Math.max(0, options.moveTimeScale ?? 1),
      advancedOk: options.advancedOk ?? true,
      emergencyParser: options.emergencyParser ?? true,
      hostActionCommands: options.hostActionCommands ?? true,
      keepaliveIntervalS: options.keepaliveIntervalS ?? 2,
      busyWhileHeating: options.busyWhileHeating ?? false,
      hotends: hotendCount,
      ambientC: options.ambientC ?? 22,
      hotendResidencyS: options.hotendResidencyS ?? 10,
      bedResidencyS: options.bedResidencyS ?? 10,
      tempWindowC: options.tempWindowC ?? 1,
      tempHysteresisC: options.tempHysteresisC ?? 3,
      extrudeMinTempC: options.extrudeMinTempC ?? 170,
      extrudeMaxLengthMm: options.extrudeMaxLengthMm ?? 200,
      machineName: options.machineName ?? 'Brim Virtual Printer',
      firmwareVersion: options.firmwareVersion ?? '2.1.2.1',
      uuid: options.uuid,
      bedSize: options.bedSize ?? { x: 220, y: 220, z: 250 },
      stepsPerMm: options.stepsPerMm ?? { x: 80, y: 80, z: 400, e: 93 },
      maxFeedrateMmS: options.maxFeedrateMmS ?? { x: 500, y: 500, z: 5, e: 25 },
      homingFeedrateMmMin: options.homingFeedrateMmMin ?? { x: 3000, y: 3000, z: 240 },
      bootMs: options.bootMs ?? 0,
      tickMs: Math.max(1, options.tickMs ?? 100),
    };
    // The AVR ring keeps one slot empty to tell full from empty.
    this.rx = new ByteRing(Math.max(1, this.cfg.rxBufferSize - 1));
    this.ep = this.cfg.emergencyParser ? new EmergencyParser({ prompts: this.cfg.hostActionCommands }) : null;
    this.planner = new Planner(this.clock, this.cfg.blockBufferSize - 1, () => this.pump());
    this.commands = this.buildCommandTable();
    const hotendModel = { ...HOTEND_MODEL, ...options.hotendModel };
    this.hotends = Array.from({ length: hotendCount }, () => new Heater(hotendModel, this.cfg.ambientC));
    this.bed = new Heater({ ...BED_MODEL, ...options.bedModel }, this.cfg.ambientC);
    this.flowPercent = Array.from({ length: hotendCount }, () => 100);
    this.keepaliveS = this.cfg.keepaliveIntervalS;
    this.extrudeMinTempC = this.cfg.extrudeMinTempC;
    this.stepsPerMm = { ...this.cfg.stepsPerMm };
    for (const f of options.faults ?? []) this.addFault(f);
    this.lastTickMs = nowMs(this.clock);
    this.scheduleTick();
    this.boot('PowerUp');
  }

  // -------------------------------------------------------------------------------------------
  // Public API

  /** Bytes from the host. Returns false while a `block`-mode board holds a backlog ('drain' follows). */
  write(data: Buffer | Uint8Array | string): boolean {
    if (this.closed) return false;
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    this.inbox.push(bytes);
    this.pump();
    const clear = this.inbox.length === 0;
    if (!clear) this.wroteBlocked = true;
    return clear;
  }

  on<K extends keyof VirtualMarlinEvents>(
    event: K,
    fn: (payload: VirtualMarlinEvents[K]) => void,
  ): () => void {
    const set = this.listeners[event] as Set<(p: VirtualMarlinEvents[K]) => void>;
    set.add(fn);
    if (event === 'data' && this.unread.length > 0) {
      const pending = Buffer.concat(this.unread);
      this.unread = [];
      this.unreadBytes = 0;
      (fn as (p: Buffer) => void)(pending);
    }
    return () => {
      set.delete(fn);
    };
  }

  /** Shorthand for on('data'). */
  onData(fn: (chunk: Buffer) => void): () => void {
    return this.on('data', fn);
  }

  /** Every command the firmware ran, in order. */
  get executed(): readonly ExecutedCommand[] {
    return this.log;
  }

  /** Faults that have fired so far, in order. */
  get faultsFired(): readonly VirtualFault[] {
    return this.firedFaults;
  }

  addFault(fault: VirtualFault): void {
    if (fault.kind === 'noise' || fault.kind === 'drop_bytes') {
      if (!(fault.probability >= 0 && fault.probability <= 1)) {
        throw new RangeError(
          `${fault.kind} fault: probability must be within 0..1, got ${fault.probability}`,
        );
      }
      const seed = fault.seed ?? 0x5eed;
      this.wireFaults.push({ fault, random: prng(seed), hits: 0, active: fault.fromLine === undefined });
    } else {
      this.lineFaults.push(fault);
    }
  }

  /** A reset button press or DTR pulse: everything but the heaters' physical temperature is lost. */
  reset(): void {
    if (this.closed) return;
    this.boot('External Reset');
  }

  /** Pulls the USB cable. Output stops and input is lost until replug(). */
  unplug(replugAfterMs: number | null = null): void {
    if (this.closed || this.unplugged) return;
    this.abortEverything();
    this.unplugged = true;
    this.emitEvent('unplug', { replugAfterMs });
    if (replugAfterMs !== null) {
      this.replugTimer = this.clock.setTimeout(() => {
        this.replugTimer = null;
        this.replug();
      }, replugAfterMs);
    }
  }

  /** Plugs the cable back in; the board boots as an AVR board does when a host opens the port. */
  replug(): void {
    if (this.closed || !this.unplugged) return;
    this.replugTimer?.cancel();
    this.replugTimer = null;
    this.unplugged = false;
    this.emitEvent('replug', { atMs: nowMs(this.clock) });
    this.boot('External Reset');
  }

  /** Snapshot for assertions and the UI. */
  state(): VirtualMarlinState {
    const l = this.logical(this.position);
    return {
      booting: this.booting,
      killed: this.killed,
      hung: this.hung,
      unplugged: this.unplugged,
      lastLineNumber: this.lastN,
      position: l,
      homed: { ...this.homed },
      hotends: this.hotends.map((h) => ({ temperature: h.temperature, target: h.target, pwm: h.pwm() })),
      bed: { temperature: this.bed.temperature, target: this.bed.target, pwm: this.bed.pwm() },
      fans: [...this.fans],
      feedratePercent: this.feedratePercent,
      flowPercent: [...this.flowPercent],
      statusMessage: this.statusMessage,
      queuedCommands: this.queue.length,
      plannedMoves: this.planner.movesPlanned(),
      rxBytes: this.rx.length,
    };
  }

  /** Stops all timers; the instance is dead afterwards. */
  close(): void {
    if (this.closed) return;
    this.abortEverything();
    this.closed = true;
    this.tickTimer?.cancel();
    this.tickTimer = null;
    this.bootTimer?.cancel();
    this.replugTimer?.cancel();
    this.planner.dispose();
    for (const set of Object.values(this.listeners)) set.clear();
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle

  private boot(reason: 'PowerUp' | 'External Reset'): void {
    this.abortEverything();
    if (reason !== 'PowerUp') this.stats.resets++;
    this.killed = false;
    this.hung = false;
    this.lastN = 0;
    this.position = { x: 0, y: 0, z: 0, e: 0 };
    this.plannedPosition = { x: 0, y: 0, z: 0, e: 0 };
    this.offset = { x: 0, y: 0, z: 0 };
    this.homed = { x: false, y: false, z: false };
    this.relativeBits = { xyz: false, e: false, eMode: null };
    this.feedrateMmS = DEFAULT_FEEDRATE_MM_S;
    this.feedratePercent = 100;
    this.flowPercent = this.flowPercent.map(() => 100);
    this.fans = Array.from({ length: FAN_COUNT }, () => 0);
    this.allowColdExtrude = false;
    this.extrudeMinTempC = this.cfg.extrudeMinTempC;
    this.stepsPerMm = { ...this.cfg.stepsPerMm };
    this.keepaliveS = this.cfg.keepaliveIntervalS;
    this.tempReportS = 0;
    this.posReportS = 0;
    this.activeTool = 0;
    this.statusMessage = '';
    this.jobStartedMs = null;
    this.jobElapsedMs = 0;
    for (const h of [...this.hotends, this.bed]) h.setTarget(0);
    this.booting = true;
    this.bootTimer?.cancel();
    this.bootTimer = null;
    const finish = (): void => {
      this.bootTimer = null;
      this.booting = false;
      this.printBanner(reason);
      this.pump();
    };
    if (this.cfg.bootMs > 0) this.bootTimer = this.clock.setTimeout(finish, this.cfg.bootMs);
    else finish();
  }

  private printBanner(reason: 'PowerUp' | 'External Reset'): void {
    this.emit('start');
    this.emit(reason === 'PowerUp' ? 'echo:PowerUp' : 'echo: External Reset');
    this.emit(`echo:Marlin ${this.cfg.firmwareVersion}`);
    this.emit('echo: Last Updated: 2023-07-24 | Author: (Brim, virtual printer)');
    this.emit('echo: Compiled: Jul 24 2023');
    this.emit(`echo: Free Memory: 2591  PlannerBufferBytes: ${72 * this.cfg.blockBufferSize}`);
    this.emit('echo:V86 stored settings retrieved (644 bytes; crc 28522)');
    if (this.cfg.hostActionCommands) this.emit('//action:prompt_end');
  }

  /** Drops all queued work, as a reset, kill or unplug does. */
  private abortEverything(): void {
    if (this.running) {
      const r = this.running;
      this.running = null;
      try {
        // Runs the handler's finally blocks (cancels its timers).
        r.gen.return();
      } catch {
        // Only throws if the handler itself is executing, i.e. a listener reset us mid-command.
      }
    }
    this.queue = [];
    this.planner.clear(this.position);
    this.rx.clear();
    this.inbox.clear();
    this.lineBuf = [];
    this.lineState = 'normal';
    this.ep?.reset();
    this.pendingEmergency = [];
    this.waitForHeatup = false;
    this.waitForUser = false;
  }

  private alive(): boolean {
    return !this.closed && !this.booting && !this.killed && !this.hung && !this.unplugged;
  }

  private scheduleTick(): void {
    this.tickTimer = this.clock.setTimeout(() => {
      this.tickTimer = null;
      if (this.closed) return;
      this.tick();
      this.scheduleTick();
    }, this.cfg.tickMs);
  }

  /** Marlin's idle(): heaters, autoreports and keepalive, then let waiting handlers re-check. */
  private tick(): void {
    const now = nowMs(this.clock);
    const dt = now - this.lastTickMs;
    this.lastTickMs = now;
    for (const h of this.hotends) h.step(dt);
    this.bed.step(dt);
    if (!this.alive()) return;
    if (this.tempReportS > 0 && now >= this.nextTempReportMs) {
      this.nextTempReportMs = now + this.tempReportS * 1000;
      this.emit(this.heaterStates(this.activeTool));
    }
    if (this.posReportS > 0 && now >= this.nextPosReportMs) {
      this.nextPosReportMs = now + this.posReportS * 1000;
      this.emit(this.positionReport());
    }
    const busy = this.currentBusyState();
    if (busy === null || this.keepaliveS <= 0) {
      this.nextBusyMs = now + this.keepaliveS * 1000;
    } else if (now >= this.nextBusyMs) {
      this.nextBusyMs = now + this.keepaliveS * 1000;
      this.emit(`echo:busy: ${busy}`);
    }
    this.pump();
  }

  private currentBusyState(): BusyState {
    const r = this.running;
    return r?.wait ? r.wait.busy : null;
  }

  // -------------------------------------------------------------------------------------------
  // Serial receive path

  /**
   * Moves the host's bytes into the firmware one at a time and lets the firmware run between
   * bytes: the firmware is much faster than the wire, so the RX buffer only fills while the
   * command queue is full, as on a real board.
   */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.runFirmware();
        while (this.inbox.length > 0) {
          if (this.cfg.rxOverflow === 'block' && this.alive() && this.rx.isFull()) break;
          this.receiveByte(this.inbox.shift());
          this.runFirmware();
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
    if (this.wroteBlocked && this.inbox.length === 0) {
      this.wroteBlocked = false;
      this.emitEvent('drain', { atMs: nowMs(this.clock) });
    }
  }

  /** The UART interrupt: emergency parser first (it sees even bytes that find the ring full), then the ring. */
  private receiveByte(raw: number): void {
    if (!this.alive()) {
      this.stats.ignoredBytes++;
      return;
    }
    if (this.wireFaults.length > 0 && this.dropMaybe('to_printer')) return;
    const c = this.flipMaybe(raw, 'to_printer');
    if (this.ep) {
      const cmd = this.ep.feed(c);
      if (cmd) this.pendingEmergency.push(cmd);
    }
    if (!this.rx.push(c)) this.stats.droppedBytes++;
  }

  private runFirmware(): void {
    for (let guard = 0; guard < 100_000; guard++) {
      if (!this.alive()) return;
      if (this.pendingEmergency.length > 0) this.handleEmergency();
      if (!this.alive()) return;
      const pulled = this.getAvailableCommands();
      const advanced = this.advance();
      if (!pulled && !advanced) return;
    }
  }

  private handleEmergency(): void {
    const cmds = this.pendingEmergency;
    this.pendingEmergency = [];
    for (const cmd of cmds) {
      switch (cmd.code) {
        case 'M112':
          this.kill(M112_KILL_STR);
          return;
        case 'M108':
          this.breakWaits();
          break;
        case 'M410':
          this.quickStop();
          break;
        case 'M876':
          this.promptResponse(cmd.response);
          break;
        case 'M524':
          break;
      }
    }
  }

  /** Marlin's get_serial_commands(): complete lines from RX into free queue slots. */
  private getAvailableCommands(): boolean {
    let progressed = false;
    while (this.alive() && this.queue.length < this.cfg.bufsize && this.rx.length > 0) {
      const c = this.rx.shift();
      progressed = true;
      if (c === LF || c === CR) {
        this.lineState = 'normal';
        if (this.lineBuf.length === 0) continue;
        const line = Buffer.from(this.lineBuf).toString('latin1');
        this.lineBuf = [];
        this.lineReceived(line);
      } else {
        this.streamChar(c);
      }
    }
    return progressed;
  }

  /** Comment stripping, escapes, backspace and the MAX_CMD_SIZE cut, as Marlin's stream parser. */
  private streamChar(c: number): void {
    if (this.lineState === 'eol') return;
    if (this.lineState === 'escape') {
      this.lineState = 'normal';
    } else if (c === 0x5c /* \ */) {
      this.lineState = 'escape';
      return;
    } else if (c === 0x3b /* ; */) {
      this.lineState = 'eol';
      return;
    }
    if (c === BACKSPACE) {
      this.lineBuf.pop();
      return;
    }
    this.lineBuf.push(c);
    if (this.lineBuf.length >= this.cfg.maxCmdSize - 1) this.lineState = 'eol';
  }

  /** Line-number and checksum validation, then into the command queue. */
  private lineReceived(received: string): void {
    const line = this.applyArrivalFault(received);
    if (line === null) return;
    const command = line.replace(/^ +/, '');
    const numbered = command[0] === 'N';
    if (numbered) {
      const isM110 = command.includes('M110');
      // M110 may carry its new number after the command; that one counts instead.
      let nAt = 0;
      if (isM110) {
        const second = command.indexOf('N', 4);
        if (second >= 0) nAt = second;
      }
      const n = strtol(command, nAt + 1);
      if (n !== this.lastN + 1 && !isM110) {
        this.stats.lineNumberErrors++;
        this.lineError(STR_ERR_LINE_NO);
        return;
      }
      const star = command.lastIndexOf('*');
      if (star < 0) {
        this.stats.missingChecksumErrors++;
        this.lineError(STR_ERR_NO_CHECKSUM);
        return;
      }
      if (strtol(command, star + 1) !== checksum(command.slice(0, star))) {
        this.stats.checksumErrors++;
        this.lineError(STR_ERR_CHECKSUM_MISMATCH);
        return;
      }
      if (!isM110 && this.takeLineFault(n, ['resend'])) {
        this.stats.lineNumberErrors++;
        this.lineError(STR_ERR_LINE_NO);
        return;
      }
      this.lastN = n;
      for (const wf of this.wireFaults) {
        if (!wf.active && wf.fault.fromLine !== undefined && n >= wf.fault.fromLine) wf.active = true;
      }
    }
    if (!this.ep && this.earlyCritical(command)) return;
    const lineNumber = numbered ? strtol(command, 1) : null;
    // Marlin queues its line buffer as is; leading spaces then hide the N from ADVANCED_OK.
    this.queue.push({ raw: line, lineNumber });
  }

  /**
   * Faults that strike a line as it arrives, keyed by the N it was sent with. Returns the line
   * as the firmware now sees it, or null when it never gets processed.
   */
  private applyArrivalFault(line: string): string | null {
    const command = line.replace(/^ +/, '');
    if (command[0] !== 'N' || command.includes('M110')) return line;
    const declared = strtol(command, 1);
    if (declared !== this.lastN + 1) return line;
    const fault = this.takeLineFault(declared, [
      'reset',
      'hang',
      'unplug',
      'lose_line',
      'checksum',
      'bitflip',
    ]);
    switch (fault?.kind) {
      case undefined:
        return line;
      case 'reset':
        this.boot('External Reset');
        return null;
      case 'hang':
        this.abortEverything();
        this.hung = true;
        return null;
      case 'unplug':
        this.unplug(fault.replugAfterS === undefined ? null : fault.replugAfterS * 1000);
        return null;
      case 'lose_line':
        return null;
      case 'checksum':
        return corruptBeforeChecksum(command);
      case 'bitflip':
        this.stats.bitsFlipped++;
        return flipBit(command, fault.offset ?? Math.floor(command.length / 2), fault.bit ?? 0);
      default:
        return line;
    }
  }

  /**
   * Without the emergency parser Marlin still looks at the first characters of a line as it
   * enters the queue: `M108`, `M112`, `M410` take effect then. A numbered line starts with N,
   * so only bare lines get this treatment.
   */
  private earlyCritical(command: string): boolean {
    if (command.startsWith('M112')) {
      this.kill(M112_KILL_STR);
      return true;
    }
    if (command.startsWith('M108')) {
      this.breakWaits();
    } else if (command.startsWith('M410')) {
      this.quickStop();
    }
    return false;
  }

  /** Marlin's gcode_line_error(): error, flush what is in RX, ask for the next line again, `ok`. */
  private lineError(message: string): void {
    this.emit(`Error:${message}${this.lastN}`);
    this.rx.clear();
    this.lineBuf = [];
    this.lineState = 'normal';
    this.emit(`Resend: ${this.lastN + 1}`);
    this.emit('ok');
    this.stats.resendRequests++;
  }

  private takeLineFault(n: number, kinds: readonly LineFault['kind'][]): LineFault | null {
    const i = this.lineFaults.findIndex((f) => f.atLine === n && kinds.includes(f.kind));
    if (i < 0) return null;
    const [fault] = this.lineFaults.splice(i, 1);
    if (!fault) return null;
    this.firedFaults.push(fault);
    return fault;
  }

  private flipMaybe(byte: number, direction: 'to_printer' | 'to_host'): number {
    let b = byte;
    for (const wf of this.wireFaults) {
      const f = wf.fault;
      if (f.kind !== 'noise' || !wireFaultApplies(wf, direction, f.maxFlips)) continue;
      if (wf.random() < f.probability) {
        b ^= 1 << Math.floor(wf.random() * 8);
        wf.hits++;
        this.stats.bitsFlipped++;
      }
    }
    return b;
  }

  /** True when a `drop_bytes` fault takes this byte off the wire. */
  private dropMaybe(direction: 'to_printer' | 'to_host'): boolean {
    for (const wf of this.wireFaults) {
      const f = wf.fault;
      if (f.kind !== 'drop_bytes' || !wireFaultApplies(wf, direction, f.maxDrops)) continue;
      if (wf.random() < f.probability) {
        wf.hits++;
        this.stats.bytesLostOnWire++;
        return true;
      }
    }
    return false;
  }

  // -------------------------------------------------------------------------------------------
  // Command execution

  /**
   * Marlin's queue.advance(): start the head command or let a blocked one re-check its wait.
   * The `ok` goes out when the handler is done, before its queue slot is released.
   */
  private advance(): boolean {
    let progressed = false;
    if (!this.running) {
      const cmd = this.queue[0];
      if (!cmd) return false;
      const started = this.start(cmd);
      progressed = true;
      // The handler may have killed or reset the board while starting.
      if (!this.alive() || this.queue[0] !== cmd) return true;
      this.running = started;
    }
    const r = this.running;
    for (;;) {
      if (r.wait) {
        if (!r.wait.until()) return progressed;
        r.wait = null;
      }
      const step = r.gen.next();
      if (this.running !== r || !this.alive()) return true;
      if (step.done) break;
      r.wait = step.value;
    }
    this.running = null;
    if (!r.noOk) this.okToSend(r.cmd);
    this.queue.shift();
    return true;
  }

  private start(cmd: QueuedCommand): RunningCommand {
    const parsed = parseCommand(cmd.raw);
    const now = nowMs(this.clock);
    const entry: ExecutedCommand = {
      seq: this.log.length,
      lineNumber: cmd.lineNumber,
      command: parsed.text,
      atMs: now,
    };
    this.log.push(entry);
    this.emitEvent('executed', entry);
    // Between commands Marlin's idle() runs with NOT_BUSY, which restarts the keepalive interval.
    this.nextBusyMs = now + this.keepaliveS * 1000;
    const running: RunningCommand = { cmd, gen: this.idleHandler(), wait: null, noOk: false };
    running.gen = this.dispatch(parsed, running);
    if (cmd.lineNumber !== null) {
      const busy = this.takeLineFault(cmd.lineNumber, ['busy']);
      if (busy?.kind === 'busy')
        running.gen = this.sequence(running.gen, this.sleep(busy.seconds * 1000, 'processing'));
      if (this.takeLineFault(cmd.lineNumber, ['drop_ok'])) running.noOk = true;
    }
    return running;
  }

  private *idleHandler(): Handler {}

  private *sequence(a: Handler, b: Handler): Handler {
    yield* a;
    yield* b;
  }

  /** Marlin's ok_to_send(): sent after the handler, before the slot is released. */
  private okToSend(cmd: QueuedCommand): void {
    let ok = 'ok';
    if (this.cfg.advancedOk) {
      const n = /^N[-+]?\d*/.exec(cmd.raw);
      if (n) ok += ` ${n[0]}`;
      ok += ` P${this.planner.movesFree()} B${this.cfg.bufsize - this.queue.length}`;
    }
    this.stats.oksSent++;
    this.emit(ok);
  }

  /** Runs a parsed command's handler; unknown commands get Marlin's echo and still their ok. */
  private dispatch(p: ParsedCommand, r: RunningCommand): Handler {
    if (p.letter === 'T') {
      if (p.code >= this.cfg.hotends) this.emit(`echo:T${p.code} ${STR_INVALID_EXTRUDER}`);
      else this.activeTool = p.code;
      return this.idleHandler();
    }
    const handler = this.commands.get(`${p.letter}${p.code}`);
    if (!handler) {
      this.stats.unknownCommands++;
      this.emit(`echo:Unknown command: "${p.text}"`);
      return this.idleHandler();
    }
    return handler(p, r) ?? this.idleHandler();
  }

  /**
   * What this build understands. A handler returns a generator when it can block (the queue
   * waits on it), nothing when it finishes at once. Codes a stock build lacks (SD card, G29,
   * M600...) are left out on purpose, so they answer "Unknown command" as such a build does.
   */
  private buildCommandTable(): Map<string, CommandHandler> {
    const accept: CommandHandler = () => undefined;
    const say =
      (line: string): CommandHandler =>
      () => {
        this.emit(line);
        return undefined;
      };
    const table: [string, CommandHandler][] = [
      ['G0', (p) => this.g0g1(p)],
      ['G1', (p) => this.g0g1(p)],
      ['G2', (p) => this.g2g3(p, true)],
      ['G3', (p) => this.g2g3(p, false)],
      ['G4', (p) => this.g4(p)],
      ['G21', accept],
      ['G28', (p) => this.g28(p)],
      ['G90', () => void this.setRelativeMode(false)],
      ['G91', () => void this.setRelativeMode(true)],
      ['G92', (p) => void this.g92(p)],
      ['M0', (p) => this.m0(p)],
      ['M1', (p) => this.m0(p)],
      ['M31', () => void this.emit(`echo:Print time: ${formatDuration(this.jobTimeMs())}`)],
      ['M73', accept],
      ['M75', () => void this.startJobTimer()],
      ['M76', () => void this.stopJobTimer(false)],
      ['M77', () => void this.stopJobTimer(true)],
      ['M82', () => void this.setEMode('abs')],
      ['M83', () => void this.setEMode('rel')],
      ['M92', (p) => void this.m92(p)],
      ['M104', (p) => void this.m104(p)],
      ['M105', (p, r) => void this.m105(p, r)],
      ['M106', (p) => void this.m106(p)],
      ['M107', (p) => void this.m106(p)],
      ['M108', () => void this.breakWaits()],
      ['M109', (p) => this.m109(p)],
      ['M110', (p) => void this.m110(p)],
      ['M111', say('echo:DEBUG:None')],
      ['M112', () => void this.kill(M112_KILL_STR)],
      ['M113', (p) => void this.m113(p)],
      ['M114', () => void this.emit(this.positionReport())],
      ['M115', () => void this.m115()],
      ['M117', (p) => void this.m117(p)],
      ['M118', (p) => void this.m118(p)],
      ['M119', () => void this.m119()],
      ['M140', (p) => void this.m140(p)],
      ['M154', (p) => void this.m154(p)],
      ['M155', (p) => void this.m155(p)],
      ['M190', (p) => this.m190(p)],
      ['M211', () => void this.m211()],
      ['M220', (p) => void this.m220(p)],
      ['M221', (p) => void this.m221(p)],
      ['M302', (p) => void this.m302(p)],
      ['M400', () => this.synchronize()],
      ['M410', () => void this.quickStop()],
      ['M500', say('echo:Settings Stored (644 bytes; crc 28522)')],
      ['M501', say('echo:V86 stored settings retrieved (644 bytes; crc 28522)')],
      ['M502', say('echo:Hardcoded Default Settings Loaded')],
      ['M503', () => void this.m503()],
      // Without media there is no SD print to abort.
      ['M524', accept],
      ['M999', accept],
    ];
    // Motor, motion and tuning settings this model does not simulate, but a stock build accepts; the
    // virtual board also has the common options FWRETRACT (M207/M208), BABYSTEPPING (M290),
    // bed levelling (M420) and LIN_ADVANCE (M900).
    for (const code of [17, 18, 84, 85, 201, 203, 204, 205, 206, 207, 208, 290, 300, 301, 304, 420, 900])
      table.push([`M${code}`, accept]);
    if (this.cfg.hostActionCommands) table.push(['M876', (p) => void this.m876(p)]);
    return new Map(table);
  }

  // -- waits

  private *synchronize(): Handler {
    if (!this.planner.isEmpty()) yield { until: () => this.planner.isEmpty(), busy: 'processing' };
  }

  private *sleep(ms: number, busy: BusyState): Handler {
    if (ms <= 0) return;
    const end = nowMs(this.clock) + ms;
    // `elapsed` covers seconds-to-ms rounding that could put now a hair before `end` when the timer fires.
    let elapsed = false;
    const timer = this.clock.setTimeout(() => {
      elapsed = true;
      this.pump();
    }, ms);
    try {
      yield { until: () => elapsed || nowMs(this.clock) >= end, busy };
    } finally {
      timer.cancel();
    }
  }

  // -- motion

  private logical(native: Axes): Axes {
    return {
      x: native.x + this.offset.x,
      y: native.y + this.offset.y,
      z: native.z + this.offset.z,
      e: native.e,
    };
  }

  /** G90/G91 set every axis including E, and clear an M82/M83 choice: slicers send G90 before M83. */
  private setRelativeMode(relative: boolean): void {
    this.relativeBits = { xyz: relative, e: relative, eMode: null };
  }

  private setEMode(mode: 'rel' | 'abs'): void {
    this.relativeBits = { ...this.relativeBits, eMode: mode };
  }

  private eRelative(): boolean {
    if (this.relativeBits.eMode === 'rel') return true;
    if (this.relativeBits.eMode === 'abs') return false;
    return this.relativeBits.e;
  }

  /** Destination from X/Y/Z/E words in native coordinates, with F applied. */
  private destination(p: ParsedCommand): Axes {
    const d = { ...this.position };
    for (const axis of ['x', 'y', 'z'] as const) {
      const v = p.params.get(axis.toUpperCase());
      if (v == null) continue;
      d[axis] = this.relativeBits.xyz ? d[axis] + v : v - this.offset[axis];
    }
    const e = p.params.get('E');
    if (e != null) d.e = this.eRelative() ? d.e + e : e;
    const f = p.params.get('F');
    if (f != null && f > 0) this.feedrateMmS = f / 60;
    return this.clampToSoftEndstops(d);
  }

  private clampToSoftEndstops(d: Axes): Axes {
    const out = { ...d };
    for (const axis of ['x', 'y', 'z'] as const) {
      if (!this.homed[axis]) continue;
      out[axis] = Math.min(Math.max(out[axis], 0), this.cfg.bedSize[axis]);
    }
    return out;
  }

  private *g0g1(p: ParsedCommand): Handler {
    yield* this.lineTo(this.destination(p));
  }

  /**
   * Queues one straight move: waits for a free planner block (in the handler, as Marlin does),
   * applies the cold/long extrusion guards and the feedrate limits.
   */
  private *lineTo(target: Axes): Handler {
    if (this.planner.movesFree() <= 0)
      yield { until: () => this.planner.movesFree() > 0, busy: 'processing' };
    const from = this.plannedPosition;
    const to = { ...target };
    let de = to.e - from.e;
    if (de !== 0) {
      const hotend = this.hotends[this.activeTool] as Heater;
      if (!this.allowColdExtrude && this.extrudeMinTempC > 0 && hotend.temperature < this.extrudeMinTempC) {
        this.emit('echo: cold extrusion prevented');
        de = 0;
      } else if (this.cfg.extrudeMaxLengthMm > 0 && Math.abs(de) > this.cfg.extrudeMaxLengthMm) {
        this.emit('echo: too long extrusion prevented');
        de = 0;
      }
    }
    const steps = this.stepsPerMm;
    const delta = { x: to.x - from.x, y: to.y - from.y, z: to.z - from.z, e: de };
    const stepEvents = Math.max(
      Math.abs(Math.round(delta.x * steps.x)),
      Math.abs(Math.round(delta.y * steps.y)),
      Math.abs(Math.round(delta.z * steps.z)),
      Math.abs(Math.round(delta.e * steps.e)),
    );
    this.position = { ...target };
    if (de === 0) this.plannedPosition = { ...this.plannedPosition, e: to.e };
    if (stepEvents < MIN_STEPS_PER_SEGMENT) return;
    const xyz = Math.hypot(delta.x, delta.y, delta.z);
    const length = xyz > 0 ? xyz : Math.abs(delta.e);
    const speed = Math.max(0.001, (this.feedrateMmS * this.feedratePercent) / 100);
    let seconds = length / speed;
    const max = this.cfg.maxFeedrateMmS;
    for (const axis of ['x', 'y', 'z', 'e'] as const)
      seconds = Math.max(seconds, Math.abs(delta[axis]) / max[axis]);
    const blockEnd = { ...to, e: from.e + de };
    this.planner.add(from, blockEnd, seconds * 1000 * this.cfg.moveTimeScale);
    this.plannedPosition = { ...to };
  }

  private *g2g3(p: ParsedCommand, clockwise: boolean): Handler {
    const start = { ...this.position };
    const target = this.destination(p);
    const i = p.params.get('I');
    const j = p.params.get('J');
    const r = p.params.get('R');
    let cx: number;
    let cy: number;
    if (i != null || j != null) {
      cx = start.x + (i ?? 0);
      cy = start.y + (j ?? 0);
    } else if (r != null && r !== 0 && (start.x !== target.x || start.y !== target.y)) {
      // Centre on the perpendicular bisector of the chord; a negative R picks the long way round.
      const mx = (target.x - start.x) / 2;
      const my = (target.y - start.y) / 2;
      const half = Math.hypot(mx, my);
      const h = Math.sqrt(Math.max(0, r * r - half * half));
      const sign = clockwise !== r < 0 ? -1 : 1;
      cx = start.x + mx - (my / half) * h * sign;
      cy = start.y + my + (mx / half) * h * sign;
    } else {
      this.emit('Error:G2/G3 bad parameters');
      return;
    }
    const radius = Math.hypot(start.x - cx, start.y - cy);
    const a0 = Math.atan2(start.y - cy, start.x - cx);
    const a1 = Math.atan2(target.y - cy, target.x - cx);
    let travel = a1 - a0;
    if (travel < 0) travel += 2 * Math.PI;
    if (clockwise) travel -= 2 * Math.PI;
    if (travel === 0 && start.x === target.x && start.y === target.y)
      travel = clockwise ? -2 * Math.PI : 2 * Math.PI;
    const mm = Math.hypot(travel * radius, target.z - start.z);
    const segments = Math.max(1, Math.floor(mm / ARC_SEGMENT_MM));
    for (let s = 1; s <= segments; s++) {
      const f = s / segments;
      const a = a0 + travel * f;
      const point: Axes =
        s === segments
          ? target
          : {
              x: cx + radius * Math.cos(a),
              y: cy + radius * Math.sin(a),
              z: start.z + (target.z - start.z) * f,
              e: start.e + (target.e - start.e) * f,
            };
      yield* this.lineTo(point);
    }
  }

  /** G4 P<ms> | S<s>: finish all moves, then dwell (S wins over P, as in Marlin). */
  private *g4(p: ParsedCommand): Handler {
    const s = p.params.get('S');
    const ms = s != null ? s * 1000 : (p.params.get('P') ?? 0);
    yield* this.synchronize();
    yield* this.sleep(ms, 'processing');
  }

  private *g28(p: ParsedCommand): Handler {
    yield* this.synchronize();
    const any = p.params.has('X') || p.params.has('Y') || p.params.has('Z');
    const axes = (['x', 'y', 'z'] as const).filter((a) => !any || p.params.has(a.toUpperCase()));
    let ms = 0;
    for (const a of axes) {
      // An axis that was never homed is physically somewhere mid-travel (Z: near the bed),
      // whatever position Marlin assumed at boot.
      const travel = this.homed[a] ? Math.abs(this.position[a]) : UNHOMED_TRAVEL_MM[a];
      // Travel to the switch, back off, and a slower second touch (HOMING_BUMP, half speed).
      const feed = this.cfg.homingFeedrateMmMin[a] / 60;
      const bump = a === 'z' ? 2 : 5;
      ms += ((travel + bump) / feed + (2 * bump) / feed) * 1000;
    }
    yield* this.sleep(ms, 'processing');
    for (const a of axes) {
      this.position[a] = 0;
      this.plannedPosition[a] = 0;
      this.offset[a] = 0;
      this.homed[a] = true;
    }
    this.emit(this.positionReport());
  }

  /** G92 shifts the logical origin of X/Y/Z (the steppers do not move) and sets E outright. */
  private g92(p: ParsedCommand): void {
    for (const axis of ['x', 'y', 'z'] as const) {
      const v = p.params.get(axis.toUpperCase());
      if (v == null) continue;
      this.offset[axis] = v - this.position[axis];
    }
    const e = p.params.get('E');
    if (e != null) {
      this.position.e = e;
      this.plannedPosition.e = e;
    }
  }

  private quickStop(): void {
    const at = this.planner.clear(this.plannedPosition);
    this.position = { ...at };
    this.plannedPosition = { ...at };
  }

  private positionReport(): string {
    const l = this.logical(this.position);
    const s = this.stepsPerMm;
    const pp = this.plannedPosition;
    return (
      `X:${f2(l.x)} Y:${f2(l.y)} Z:${f2(l.z)} E:${f2(l.e)} ` +
      `Count X:${Math.round(pp.x * s.x)} Y:${Math.round(pp.y * s.y)} Z:${Math.round(pp.z * s.z)}`
    );
  }

  private m92(p: ParsedCommand): void {
    for (const axis of ['x', 'y', 'z', 'e'] as const) {
      const v = p.params.get(axis.toUpperCase());
      if (v != null && v > 0) this.stepsPerMm[axis] = v;
    }
  }

  // -- temperature

  /** T word to a hotend index; Marlin complains and skips the command for a tool it lacks. */
  private targetExtruder(p: ParsedCommand): number | null {
    const t = p.params.get('T');
    if (t == null) return this.activeTool;
    const e = Math.trunc(t);
    if (e < 0 || e >= this.cfg.hotends) {
      this.emit(`echo:M${p.code} ${STR_INVALID_EXTRUDER} ${e}`);
      return null;
    }
    return e;
  }

  private m104(p: ParsedCommand): void {
    const e = this.targetExtruder(p);
    if (e === null) return;
    const s = p.params.get('S');
    if (s != null) (this.hotends[e] as Heater).setTarget(s);
  }

  /** M105 prints its own `ok` with the report, so the normal one (and ADVANCED_OK's fields) is skipped. */
  private m105(p: ParsedCommand, r: RunningCommand): void {
    r.noOk = true;
    const e = this.targetExtruder(p);
    // With a bad T Marlin returns before printing anything, not even its ok.
    if (e === null) return;
    this.stats.oksSent++;
    this.emit(`ok${this.heaterStates(e)}`);
  }

  private *m109(p: ParsedCommand): Handler {
    const e = this.targetExtruder(p);
    if (e === null) return;
    const s = p.params.get('S');
    const r = p.params.get('R');
    const temp = s ?? r;
    if (temp == null) return;
    const heater = this.hotends[e] as Heater;
    heater.setTarget(temp);
    yield* this.waitForHeater(heater, e, this.cfg.hotendResidencyS, s != null);
  }

  private *m190(p: ParsedCommand): Handler {
    const s = p.params.get('S');
    const r = p.params.get('R');
    const temp = s ?? r;
    if (temp == null) return;
    this.bed.setTarget(temp);
    yield* this.waitForHeater(this.bed, this.activeTool, this.cfg.bedResidencyS, s != null);
  }

  /**
   * Marlin's wait_for_hotend / wait_for_bed: a status line with the residency countdown every
   * second, done once the temperature stayed inside the window for the residency time.
   * `S` does not wait for cooling; `R` does, but gives up when cooling stalls.
   */
  private *waitForHeater(
    heater: Heater,
    tool: number,
    residencyS: number,
    noWaitForCooling: boolean,
  ): Handler {
    this.waitForHeatup = true;
    const residencyMs = residencyS * 1000;
    let residencyStart: number | null = null;
    let nextReport = 0;
    let seenTarget = Number.NaN;
    let wantsToCool = false;
    let nextCoolCheck = 0;
    let oldTemp = 9999;
    const done = (): boolean => {
      if (!this.waitForHeatup) return true;
      const now = nowMs(this.clock);
      if (seenTarget !== heater.target) {
        seenTarget = heater.target;
        wantsToCool = heater.isCooling();
        if (noWaitForCooling && wantsToCool) return true;
      }
      if (now >= nextReport) {
        nextReport = now + 1000;
        const w =
          residencyStart === null
            ? '?'
            : String(Math.max(0, Math.floor((residencyMs - (now - residencyStart)) / 1000)));
        this.emit(`${this.heaterStates(tool)} W:${w}`);
      }
      const temp = heater.temperature;
      const diff = Math.abs(heater.target - temp);
      if (residencyStart === null) {
        if (diff < this.cfg.tempWindowC) residencyStart = now;
      } else if (diff > this.cfg.tempHysteresisC) {
        residencyStart = now;
      }
      if (wantsToCool && now >= nextCoolCheck) {
        // Marlin gives up when the temperature fell less than 1.5 C in the last minute.
        if (oldTemp - temp < 1.5) return true;
        nextCoolCheck = now + 60_000;
        oldTemp = temp;
      }
      return residencyStart !== null && now - residencyStart >= residencyMs;
    };
    try {
      yield { until: done, busy: this.cfg.busyWhileHeating ? 'processing' : null };
    } finally {
      this.waitForHeatup = false;
    }
  }

  /** ` T:21.30 /0.00 B:21.05 /0.00 @:0 B@:0`, with per-tool fields when there are several hotends. */
  private heaterStates(tool: number): string {
    const h = this.hotends[tool] as Heater;
    let s = ` T:${f2(h.temperature)} /${f2(h.target)} B:${f2(this.bed.temperature)} /${f2(this.bed.target)}`;
    if (this.hotends.length > 1) {
      this.hotends.forEach((t, i) => {
        s += ` T${i}:${f2(t.temperature)} /${f2(t.target)}`;
      });
    }
    s += ` @:${h.pwm()} B@:${this.bed.pwm()}`;
    if (this.hotends.length > 1) {
      this.hotends.forEach((t, i) => {
        s += ` @${i}:${t.pwm()}`;
      });
    }
    return s;
  }

  private m140(p: ParsedCommand): void {
    const s = p.params.get('S');
    if (s != null) this.bed.setTarget(s);
  }

  /** M155 S<seconds>: temperature autoreport, at most every 60 s; S0 stops it. */
  private m155(p: ParsedCommand): void {
    this.tempReportS = Math.min(60, Math.max(0, Math.trunc(p.params.get('S') ?? 0)));
    this.nextTempReportMs = nowMs(this.clock) + this.tempReportS * 1000;
  }

  /** M302 [S<min temp>] [P<allow>]: cold extrusion guard; no words reports it. */
  private m302(p: ParsedCommand): void {
    const s = p.params.get('S');
    if (s != null) {
      this.extrudeMinTempC = s;
      this.allowColdExtrude = s === 0;
    }
    if (p.params.has('P')) this.allowColdExtrude = this.extrudeMinTempC === 0 || (p.params.get('P') ?? 1) > 0;
    else if (s == null) {
      const state = this.allowColdExtrude ? 'en' : 'dis';
      this.emit(`echo:Cold extrudes are ${state}abled (min temp ${this.extrudeMinTempC}C)`);
    }
  }

  // -- fans, rates, messages

  private m106(p: ParsedCommand): void {
    const fan = Math.trunc(p.params.get('P') ?? 0);
    if (fan < 0 || fan >= this.fans.length) return;
    const speed = p.code === 107 ? 0 : (p.params.get('S') ?? 255);
    this.fans[fan] = Math.min(255, Math.max(0, Math.round(speed)));
  }

  private m110(p: ParsedCommand): void {
    const next = p.params.get('N');
    if (next != null) this.lastN = Math.trunc(next);
  }

  /** M154 S<seconds>: position autoreport; S0 stops it. */
  private m154(p: ParsedCommand): void {
    this.posReportS = Math.min(60, Math.max(0, Math.trunc(p.params.get('S') ?? 0)));
    this.nextPosReportMs = nowMs(this.clock) + this.posReportS * 1000;
  }

  private m220(p: ParsedCommand): void {
    const s = p.params.get('S');
    if (s != null) this.feedratePercent = Math.max(10, Math.trunc(s));
    else this.emit(`FR:${this.feedratePercent}%`);
  }

  private m113(p: ParsedCommand): void {
    const s = p.params.get('S');
    if (s != null) this.keepaliveS = Math.min(60, Math.max(0, Math.trunc(s)));
    else this.emit(`echo:M113 S${this.keepaliveS}`);
  }

  private m221(p: ParsedCommand): void {
    const e = this.targetExtruder(p);
    if (e === null) return;
    const s = p.params.get('S');
    if (s != null) this.flowPercent[e] = Math.trunc(s);
    else this.emit(`echo:E${e} Flow: ${this.flowPercent[e]}%`);
  }

  private m115(): void {
    const c = this.cfg;
    const date = 'Jul 24 2023 12:00:00';
    this.emit(
      `FIRMWARE_NAME:Marlin ${c.firmwareVersion} (${date}) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin ` +
        `PROTOCOL_VERSION:1.0 MACHINE_TYPE:${c.machineName} EXTRUDER_COUNT:${c.hotends}` +
        (c.uuid ? ` UUID:${c.uuid}` : ''),
    );
    const caps: [string, boolean][] = [
      ['SERIAL_XON_XOFF', false],
      ['BINARY_FILE_TRANSFER', false],
      ['EEPROM', true],
      ['VOLUMETRIC', true],
      ['AUTOREPORT_POS', true],
      ['AUTOREPORT_TEMP', true],
      ['PROGRESS', false],
      ['PRINT_JOB', true],
      ['AUTOLEVEL', false],
      ['RUNOUT', false],
      ['Z_PROBE', false],
      ['LEVELING_DATA', false],
      ['BUILD_PERCENT', true],
      ['SOFTWARE_POWER', false],
      ['TOGGLE_LIGHTS', false],
      ['CASE_LIGHT_BRIGHTNESS', false],
      ['EMERGENCY_PARSER', c.emergencyParser],
      ['HOST_ACTION_COMMANDS', c.hostActionCommands],
      ['PROMPT_SUPPORT', c.hostActionCommands],
      ['SDCARD', false],
      ['REPEAT', false],
      ['SD_WRITE', false],
      ['AUTOREPORT_SD_STATUS', false],
      ['LONG_FILENAME', false],
      ['LFN_WRITE', false],
      ['CUSTOM_FIRMWARE_UPLOAD', false],
      ['EXTENDED_M20', false],
      ['THERMAL_PROTECTION', true],
      ['MOTION_MODES', false],
      ['ARCS', true],
      ['BABYSTEPPING', false],
      ['CHAMBER_TEMPERATURE', false],
      ['COOLER_TEMPERATURE', false],
      ['MEATPACK', false],
      ['CONFIG_EXPORT', false],
    ];
    for (const [name, on] of caps) this.emit(`Cap:${name}:${on ? 1 : 0}`);
  }

  private m117(p: ParsedCommand): void {
    this.statusMessage = p.stringArg;
    // With HOST_ACTION_COMMANDS Marlin forwards LCD status messages as notifications.
    if (this.cfg.hostActionCommands && p.stringArg) this.emit(`//action:notification ${p.stringArg}`);
  }

  /** M118 [E1] [A1] [Pn] text: echo text, `E1` adds `echo:`, `A1` adds `//`. */
  private m118(p: ParsedCommand): void {
    let text = p.stringArg;
    let echo = false;
    let action = false;
    for (let k = 0; k < 3; k++) {
      const m = /^([AEP])(\d)\s*/.exec(text);
      if (!m) break;
      if (m[1] === 'E') echo = m[2] === '1';
      if (m[1] === 'A') action = m[2] === '1';
      text = text.slice(m[0].length);
    }
    this.emit(`${echo ? 'echo:' : ''}${action ? '//' : ''}${text}`);
  }

  private m119(): void {
    this.emit('Reporting endstop status');
    const live = this.planner.livePosition(this.plannedPosition);
    for (const axis of ['x', 'y', 'z'] as const) {
      // A homed axis rests on its min switch (no post-homing back-off in stock Marlin).
      this.emit(`${axis}_min: ${live[axis] <= 0 && this.homed[axis] ? 'TRIGGERED' : 'open'}`);
    }
  }

  private m211(): void {
    const b = this.cfg.bedSize;
    this.emit(
      `echo:Soft endstops: On  Min:  X${f2(this.offset.x)} Y${f2(this.offset.y)} Z${f2(this.offset.z)}   ` +
        `Max:  X${f2(b.x + this.offset.x)} Y${f2(b.y + this.offset.y)} Z${f2(b.z + this.offset.z)}`,
    );
  }

  private m503(): void {
    const s = this.stepsPerMm;
    const f = this.cfg.maxFeedrateMmS;
    for (const line of [
      '; Linear Units:',
      '  G21 ; (mm)',
      '; Temperature Units:',
      '  M149 C ; Units in Celsius',
      '; Steps per unit:',
      `  M92 X${f2(s.x)} Y${f2(s.y)} Z${f2(s.z)} E${f2(s.e)}`,
      '; Max feedrates (units/s):',
      `  M203 X${f2(f.x)} Y${f2(f.y)} Z${f2(f.z)} E${f2(f.e)}`,
      '; Max Acceleration (units/s2):',
      '  M201 X500.00 Y500.00 Z100.00 E5000.00',
      '; Acceleration (units/s2) (P<print-accel> R<retract-accel> T<travel-accel>):',
      '  M204 P500.00 R500.00 T500.00',
      '; Home offset:',
      '  M206 X0.00 Y0.00 Z0.00',
      '; Hotend PID:',
      '  M301 P21.73 I1.54 D76.55',
    ]) {
      this.emit(`echo:${line}`);
    }
  }

  // -- user waits and prompts

  /** M0/M1: wait for the user, shown to the host as a prompt; M108 or M876 continues. */
  private *m0(p: ParsedCommand): Handler {
    const s = p.params.get('S');
    const ms = s != null ? s * 1000 : (p.params.get('P') ?? 0);
    yield* this.synchronize();
    this.waitForUser = true;
    if (this.cfg.hostActionCommands) {
      this.emit('//action:prompt_end');
      this.emit(`//action:prompt_begin ${p.stringArg || 'Click to Resume...'}`);
      this.emit('//action:prompt_button Continue');
      this.emit('//action:prompt_show');
    }
    const end = ms > 0 ? nowMs(this.clock) + ms : null;
    let timedOut = false;
    const timer =
      end === null
        ? null
        : this.clock.setTimeout(() => {
            timedOut = true;
            this.pump();
          }, ms);
    try {
      yield {
        until: () => !this.waitForUser || timedOut || (end !== null && nowMs(this.clock) >= end),
        busy: 'paused for user',
      };
    } finally {
      timer?.cancel();
      this.waitForUser = false;
    }
    if (this.cfg.hostActionCommands) this.emit('//action:prompt_end');
  }

  private m876(p: ParsedCommand): void {
    const s = p.params.get('S');
    if (s != null) this.promptResponse(Math.trunc(s));
  }

  /** M108, from the queue or the emergency parser: stop waiting for heaters or the user. */
  private breakWaits(): void {
    this.waitForHeatup = false;
    this.waitForUser = false;
  }

  private startJobTimer(): void {
    if (this.jobStartedMs === null) this.jobStartedMs = nowMs(this.clock);
  }

  private stopJobTimer(reset: boolean): void {
    if (this.jobStartedMs !== null) this.jobElapsedMs += nowMs(this.clock) - this.jobStartedMs;
    this.jobStartedMs = null;
    if (reset) this.jobElapsedMs = 0;
  }

  private promptResponse(_button: number): void {
    // Any answer ends a "continue" prompt, which is the only kind this firmware raises.
    this.waitForUser = false;
  }

  // -- kill

  /** Marlin's kill(): heaters off, the three lines hosts look for, then nothing until reset. */
  private kill(message: string): void {
    this.abortEverything();
    for (const h of [...this.hotends, this.bed]) h.setTarget(0);
    this.fans = this.fans.map(() => 0);
    this.emit(`echo:${message}`);
    this.emit(`Error:${STR_ERR_KILLED}`);
    if (this.cfg.hostActionCommands) this.emit('//action:poweroff');
    // From here on the board sits in a loop with interrupts off: no output, no input.
    this.killed = true;
  }

  private jobTimeMs(): number {
    return this.jobElapsedMs + (this.jobStartedMs === null ? 0 : nowMs(this.clock) - this.jobStartedMs);
  }

  // -------------------------------------------------------------------------------------------
  // Output

  private emit(line: string): void {
    if (this.closed || this.unplugged || this.hung || this.killed) return;
    let bytes = Buffer.from(`${line}\n`, 'latin1');
    if (this.wireFaults.length > 0) {
      const kept: number[] = [];
      for (const byte of bytes) if (!this.dropMaybe('to_host')) kept.push(this.flipMaybe(byte, 'to_host'));
      bytes = Buffer.from(kept);
    }
    if (this.listeners.data.size === 0) {
      // Like a USB-serial chip's small FIFO: the oldest output goes when nobody reads.
      this.unread.push(bytes);
      this.unreadBytes += bytes.length;
      while (this.unreadBytes > UNREAD_LIMIT && this.unread.length > 1) {
        this.unreadBytes -= (this.unread.shift() as Buffer).length;
      }
      return;
    }
    this.emitEvent('data', bytes);
  }

  private emitEvent<K extends keyof VirtualMarlinEvents>(event: K, payload: VirtualMarlinEvents[K]): void {
    for (const fn of [...(this.listeners[event] as Set<(p: VirtualMarlinEvents[K]) => void>)]) fn(payload);
  }
}

// ---------------------------------------------------------------------------------------------

function wireFaultApplies(
  wf: ActiveWireFault,
  direction: 'to_printer' | 'to_host',
  limit: number | undefined,
): boolean {
  const dir = wf.fault.direction ?? 'to_printer';
  if (!wf.active || (dir !== 'both' && dir !== direction)) return false;
  return limit === undefined || wf.hits < limit;
}

/** Changes the last character before `*` so the XOR no longer matches (any single-bit change does). */
function corruptBeforeChecksum(command: string): string {
  const star = command.lastIndexOf('*');
  const at = star > 0 ? star - 1 : command.length - 1;
  return flipBit(command, at, 0);
}

function flipBit(s: string, offset: number, bit: number): string {
  if (s.length === 0) return s;
  const at = Math.min(Math.max(0, offset), s.length - 1);
  const c = s.charCodeAt(at) ^ (1 << (bit & 7));
  return s.slice(0, at) + String.fromCharCode(c & 0xff) + s.slice(at + 1);
}

/** Marlin's duration text for M31: `1h 2m 3s`, `4m 5s`, `6s`. */
function formatDuration(ms: number): string {
  const total = Math.floor(ms / 1000);
  const d = Math.floor(total / 86400);
  const h = Math.floor(total / 3600) % 24;
  const m = Math.floor(total / 60) % 60;
  const s = total % 60;
  if (d > 0) return `${d}d ${h}h ${m}m ${s}s`;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  if (m > 0) return `${m}m ${s}s`;
  return `${s}s`;
}
