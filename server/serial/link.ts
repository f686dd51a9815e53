// PrinterLink: the only writer to the port. Numbers and checksums lines, keeps a safe send-ahead window,
// answers resend requests, lets emergency commands overtake the queue, and notices silence and resets.
import { numberedLine } from '../../gcode/checksum.ts';
import type { FirmwareFamily } from '../../gcode/firmware.ts';
import { type ErrorReply, type OkReply, parseReply, type Reply } from '../../gcode/replies.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import { commandWord, isBlocking, isEmergency, isLong } from './commands.ts';
import type { Transport } from './transport.ts';

export type LinkState = 'disconnected' | 'connecting' | 'ready' | 'error' | 'shutdown';
/** Who asked for a line; every line on the wire is tagged with one (OctoPrint's tags idea). */
export type LineSource = 'job' | 'console' | 'macro' | 'api' | 'host';
/** `high` lines (console, macros) go before queued job lines; emergencies bypass both. */
export type LinePriority = 'high' | 'normal';

export interface SendOptions {
  source: LineSource;
  priority?: LinePriority;
}

export interface SendResult {
  /** Lines the firmware printed while this command was the oldest unacknowledged one (e.g. M114's reply). */
  responses: string[];
}

export interface LinkOptions {
  /** Firmware receive buffer in bytes (RX_BUFFER_SIZE): unacknowledged bytes never exceed it. */
  rxBufferSize: number;
  /** Most lines in flight; 1 is OctoPrint-style ping-pong. */
  maxInFlight: number;
  /** Lines kept for resend requests; much larger than the window. */
  historySize: number;
  /** Silence (no ok, no busy) with lines in flight before a resynchronising M105. */
  okTimeoutMs: number;
  /** No byte at all for this long while lines are in flight means the firmware is dead. */
  deadTimeoutMs: number;
  /** Without busy keepalive, how long a G28/G29/M109... may stay silent. */
  longCommandTimeoutMs: number;
  /** Give up when the firmware asks for the same line this many times in a row. */
  maxResendsPerLine: number;
}

export const DEFAULT_LINK_OPTIONS: LinkOptions = {
  rxBufferSize: 128,
  maxInFlight: 8,
  historySize: 1000,
  okTimeoutMs: 5000,
  deadTimeoutMs: 30_000,
  longCommandTimeoutMs: 900_000,
  maxResendsPerLine: 10,
};

/** Bytes always left free in the firmware's buffer so an emergency line fits (rule 4 in the notes). */
const EMERGENCY_RESERVE_BYTES = 12;
/** Firmwares that omit the ok after `Resend:` (Marlin#18955) are detected after this long. */
const RESEND_OK_TIMEOUT_MS = 500;
const HANDSHAKE_RETRY_MS = 1000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
const WATCHDOG_TICK_MS = 250;

export class LinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkError';
  }
}

interface Command {
  text: string;
  word: string;
  source: LineSource;
  blocking: boolean;
  long: boolean;
  responses: string[];
  /** Set when the firmware refused the command (e.g. `echo:Unknown command`); its ok then rejects. */
  refusal: string | null;
  settled: boolean;
  resolve(result: SendResult): void;
  reject(error: Error): void;
}

/** One unacknowledged item on the wire: a numbered line, or a bare emergency/probe line. */
interface Slot {
  lineNumber: number | null;
  bytes: number;
  word: string;
  command: Command | null;
}

interface HistoryEntry {
  wire: string;
  command: Command | null;
}

export interface LinkListeners {
  /**
   * `answering`: for an ok, the source of the command it acknowledged ('host' for the link's own M105
   * probe); for any other line, the source of the oldest unacknowledged command, whose it may be.
   */
  reply?(reply: Reply, answering: LineSource | null): void;
  sent?(wire: string, source: LineSource): void;
  state?(state: LinkState, message: string): void;
}

export interface LinkStats {
  linesSent: number;
  resendRequests: number;
  linkErrors: number;
  inFlight: number;
  queued: number;
  advancedOk: boolean;
  /** Lines allowed in flight now: the configured window, or the learned queue depth if smaller. */
  windowLimit: number;
}

export class PrinterLink {
  private transport: Transport | null = null;
  private currentState: LinkState = 'disconnected';
  private stateMessage = 'Not connected';
  private readonly highQueue: Command[] = [];
  private readonly normalQueue: Command[] = [];
  private readonly inFlight: Slot[] = [];
  private inFlightBytes = 0;
  private readonly history = new Map<number, HistoryEntry>();
  private resendQueue: number[] = [];
  private nextLineNumber = 1;
  private lastSentNumber = 0;
  private partial = '';
  private pumping = false;
  /** Each `Resend:` is followed by an ok that acknowledges nothing; these count the ones still due. */
  private resendOkTimers: TimerHandle[] = [];
  private duplicateResends: { lineNumber: number; remaining: number } | null = null;
  /** Source of the last slot the line being handled settled; undefined when it settled none. */
  private settledSource: LineSource | null | undefined = undefined;
  /** `Last Line: X` of the line error just received: its `Resend:` must ask for X + 1 (corroboration). */
  private lineErrorLastLine: number | null = null;
  /** A line error came without its `Resend:` yet; the ok that follows them is already expected. */
  private lineErrorAwaitingResend = false;
  /** From the M115 reply the printer component asks for; decides how a silent window is resynchronised. */
  private firmwareFamily: FirmwareFamily = 'unknown';
  private resendCounts = new Map<number, number>();
  private advancedOk = false;
  private lastBufferFree: number | null = null;
  /** Largest ADVANCED_OK `B` seen: the firmware's real queue depth less one (Marlin#26128). */
  private learnedQueueDepth = 0;
  private busySeen = false;
  private lastRxS = 0;
  private lastProgressS = 0;
  private probeInFlight = false;
  private lastProbeS = 0;
  private watchdog: TimerHandle | null = null;
  private handshake: {
    timer: TimerHandle;
    deadline: TimerHandle;
    resolve(): void;
    reject(e: Error): void;
  } | null = null;
  private readonly stats = { linesSent: 0, resendRequests: 0, linkErrors: 0 };

  constructor(
    private readonly options: LinkOptions,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly listeners: LinkListeners = {},
  ) {}

  get state(): LinkState {
    return this.currentState;
  }

  get message(): string {
    return this.stateMessage;
  }

  /** Lines on the wire without their ok yet; cheap enough to read on every sent line. */
  get linesInFlight(): number {
    return this.inFlight.length;
  }

  getStats(): LinkStats {
    return {
      ...this.stats,
      inFlight: this.inFlight.length,
      queued: this.highQueue.length + this.normalQueue.length,
      advancedOk: this.advancedOk,
      windowLimit: this.windowLimit(),
    };
  }

  /** Opens the transport and runs the M110 N0 handshake; resolves once the firmware answers. */
  async connect(transport: Transport): Promise<void> {
    this.transport = transport;
    transport.onData((chunk) => this.receive(chunk));
    transport.onClose((unexpected, error) => this.transportClosed(transport, unexpected, error));
    this.setState('connecting', `Connecting to ${transport.description}`);
    await transport.open();
    // What a firmware revealed about itself may differ after a reconnect (reflashed, other board).
    this.advancedOk = false;
    this.learnedQueueDepth = 0;
    this.busySeen = false;
    this.firmwareFamily = 'unknown';
    this.resetProtocol();
    this.watchdog?.cancel();
    this.watchdog = this.clock.setInterval(() => this.checkTimeouts(), WATCHDOG_TICK_MS);
    await this.runHandshake();
  }

  async close(): Promise<void> {
    this.watchdog?.cancel();
    this.watchdog = null;
    this.cancelHandshake(new LinkError('Link closed'));
    this.failAll(new LinkError('Link closed'));
    const transport = this.transport;
    this.transport = null;
    await transport?.close();
    this.setState('disconnected', 'Not connected');
  }

  /** Says why there is no connection (device absent), without touching a transport. */
  markUnavailable(message: string): void {
    if (this.transport) return;
    this.setState('disconnected', message);
  }

  /** Queues a command; resolves on its `ok`, rejects on a reset, emergency stop, unplug or link failure. */
  send(text: string, options: SendOptions): Promise<SendResult> {
    const word = commandWord(text);
    if (isEmergency(word)) return this.emergency(text).then(() => ({ responses: [] }));
    if (this.currentState !== 'ready') {
      return Promise.reject(new LinkError(`Printer not ready (${this.currentState}): ${this.stateMessage}`));
    }
    if (word === 'M110') return Promise.reject(new LinkError('M110: line numbers are managed by Brim'));
    return new Promise<SendResult>((resolve, reject) => {
      const command: Command = {
        text: text.trim(),
        word,
        source: options.source,
        blocking: isBlocking(word),
        long: isLong(word),
        responses: [],
        refusal: null,
        settled: false,
        resolve: (result) => {
          if (command.settled) return;
          command.settled = true;
          resolve(result);
        },
        reject: (error) => {
          if (command.settled) return;
          command.settled = true;
          reject(error);
        },
      };
      (options.priority === 'high' ? this.highQueue : this.normalQueue).push(command);
      void this.pump();
    });
  }

  /**
   * Writes an emergency command bare, at once, ahead of everything queued. M112 also fails every
   * pending command, since the firmware halts and must be reset.
   */
  async emergency(text: string): Promise<void> {
    const transport = this.transport;
    if (!transport) throw new LinkError('Printer not connected');
    const word = commandWord(text);
    const wire = `${text.trim()}\n`;
    const write = transport.write(wire);
    this.listeners.sent?.(wire, 'api');
    if (word === 'M112') {
      // Fail everything before the firmware's own "halted" reply arrives, so the reason reads right.
      this.failAll(new LinkError('Emergency stop'));
      this.setState('shutdown', 'Emergency stop');
    } else {
      this.addSlot({ lineNumber: null, bytes: wire.length, word, command: null });
    }
    await write;
  }

  /** Drops every queued job line (cancel): lines already on the wire still finish. */
  dropQueued(source: LineSource, reason: string): number {
    let dropped = 0;
    for (const queue of [this.highQueue, this.normalQueue]) {
      for (let i = queue.length - 1; i >= 0; i--) {
        if (queue[i]!.source !== source) continue;
        queue[i]!.reject(new LinkError(reason));
        queue.splice(i, 1);
        dropped++;
      }
    }
    return dropped;
  }

  async pulseDtr(): Promise<void> {
    if (!this.transport) throw new LinkError('Printer not connected');
    await this.transport.pulseDtr();
  }

  // --- sending -------------------------------------------------------------------------------

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (;;) {
        const transport = this.transport;
        if (!transport) break;
        // Every line the window allows now goes out in one write: one syscall and one trip through
        // the serialport stream per burst instead of per line is most of the host's CPU per line.
        let wire = '';
        for (let next = this.nextToSend(); next; next = this.nextToSend()) {
          this.stats.linesSent++;
          this.listeners.sent?.(next.wire, next.command?.source ?? 'host');
          wire += next.wire;
        }
        if (wire === '') break;
        try {
          await transport.write(wire);
        } catch (error) {
          // A port that closed under the write (unplugged) was already reported as disconnected.
          if (this.transport === transport) {
            this.fail(`Write to ${transport.description} failed: ${(error as Error).message}`);
          }
          break;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Picks the next line the window allows and marks it in flight; null when nothing may go now. */
  private nextToSend(): { wire: string; command: Command | null } | null {
    if (this.currentState !== 'ready') return null;
    const oldest = this.inFlight[0];
    if (oldest?.command?.blocking) return null;
    if (this.inFlight.length >= this.windowLimit()) return null;
    // ADVANCED_OK B0: the command queue is full, more lines would only pile up in the RX buffer.
    if (this.inFlight.length > 0 && this.lastBufferFree === 0) return null;

    const resend = this.resendQueue[0];
    if (resend !== undefined) {
      const entry = this.history.get(resend);
      if (!entry) {
        this.fail(`Line ${resend} vanished from the resend history`);
        return null;
      }
      if (entry.command?.blocking && this.inFlight.length > 0) return null;
      if (!this.fits(entry.wire.length)) return null;
      this.resendQueue.shift();
      this.addSlot(
        {
          lineNumber: resend,
          bytes: entry.wire.length,
          word: commandWord(entry.wire.replace(/^N\d+ /, '')),
          command: entry.command,
        },
        false,
      );
      return { wire: entry.wire, command: entry.command };
    }

    const queue = this.highQueue.length > 0 ? this.highQueue : this.normalQueue;
    const command = queue[0];
    if (!command) return null;
    if (command.blocking && this.inFlight.length > 0) return null;
    const lineNumber = this.nextLineNumber;
    const wire = `${numberedLine(lineNumber, command.text)}\n`;
    if (!this.fits(wire.length)) return null;
    queue.shift();
    this.nextLineNumber++;
    this.lastSentNumber = lineNumber;
    this.history.set(lineNumber, { wire, command });
    if (this.history.size > this.options.historySize) {
      this.history.delete(this.history.keys().next().value as number);
    }
    this.addSlot({ lineNumber, bytes: wire.length, word: command.word, command });
    return { wire, command };
  }

  /** The configured window, narrowed to the queue depth the firmware revealed through ADVANCED_OK. */
  private windowLimit(): number {
    if (this.learnedQueueDepth === 0) return this.options.maxInFlight;
    return Math.max(1, Math.min(this.options.maxInFlight, this.learnedQueueDepth));
  }

  /** Byte counting (notes §13 B): conservative for Marlin, whose ok means "left the queue", not "left RX". */
  private fits(bytes: number): boolean {
    if (this.inFlight.length === 0) return true;
    return this.inFlightBytes + bytes <= this.options.rxBufferSize - EMERGENCY_RESERVE_BYTES;
  }

  /** `fresh` is false for a repeated line: repeating lines to a silent board is no sign of life. */
  private addSlot(slot: Slot, fresh = true): void {
    // Time waiting for an ok counts from the first line put on an idle wire.
    if (fresh && this.inFlight.length === 0) this.lastProgressS = this.clock.now();
    this.inFlight.push(slot);
    this.inFlightBytes += slot.bytes;
  }

  // --- receiving -----------------------------------------------------------------------------

  private receive(chunk: Buffer): void {
    this.partial += chunk.toString('latin1');
    for (;;) {
      const end = this.partial.search(/[\r\n]/);
      if (end < 0) break;
      const line = this.partial.slice(0, end);
      this.partial = this.partial.slice(end + 1);
      if (line.trim() !== '') this.handleLine(line);
    }
  }

  private handleLine(line: string): void {
    this.lastRxS = this.clock.now();
    const reply = parseReply(line);
    // An ok settles its slot before listeners hear it; they are told whose command it answered.
    this.settledSource = undefined;
    switch (reply.kind) {
      case 'ok':
        this.handleOk(reply);
        break;
      case 'resend':
        this.handleResend(reply.lineNumber);
        break;
      case 'busy':
        this.busySeen = true;
        this.lastProgressS = this.lastRxS;
        break;
      case 'wait':
        // "Queue empty, nothing pending": an ok went missing if we still count lines in flight.
        if (this.inFlight.length > 0) this.probe();
        break;
      case 'start':
        this.firmwareRestarted('the firmware printed "start"');
        break;
      case 'banner':
        if (reply.item === 'version' && this.currentState === 'ready' && this.lastSentNumber > 0) {
          this.firmwareRestarted(`the firmware printed its banner (${reply.text})`);
        }
        break;
      case 'error':
        this.handleError(reply);
        break;
      case 'firmware':
        this.firmwareFamily = reply.firmwareFamily;
        break;
      case 'temperature':
        // Heat-up wait lines (W:) show a blocking M109/M190 making progress.
        if (reply.report.waitRemainingS !== undefined) this.lastProgressS = this.lastRxS;
        break;
      default:
        this.inFlight[0]?.command?.responses.push(line);
    }
    const answering =
      this.settledSource !== undefined ? this.settledSource : (this.inFlight[0]?.command?.source ?? null);
    this.listeners.reply?.(reply, answering);
  }

  private handleOk(reply: OkReply): void {
    if (this.handshake) {
      this.finishHandshake();
      return;
    }
    if (reply.bufferFree !== undefined) {
      this.advancedOk = true;
      this.lastBufferFree = reply.bufferFree;
      this.learnedQueueDepth = Math.max(this.learnedQueueDepth, reply.bufferFree);
    }
    // Marlin prints a bare `ok` after each `Resend:`; it belongs to the rejected line, not to any slot.
    const bare = reply.temperature === undefined && (!this.advancedOk || reply.bufferFree === undefined);
    if (this.resendOkTimers.length > 0 && bare) {
      this.resendOkTimers.shift()?.cancel();
      return;
    }
    this.lastProgressS = this.clock.now();
    if (reply.temperature) {
      // The first M105 in flight is the one answering. Without ADVANCED_OK, oks are only counted,
      // so everything sent before it counts as run; with it, each numbered line has its own ok N,
      // and one whose ok and resend request were both lost is found by the resend probe instead.
      const index = this.inFlight.findIndex((s) => s.word === 'M105');
      if (!this.advancedOk) this.acknowledgeThrough(Math.max(index, 0));
      else if (index >= 0) this.acknowledgeSlot(index);
    } else if (this.advancedOk && reply.lineNumber !== undefined) {
      const index = this.inFlight.findIndex((s) => s.lineNumber === reply.lineNumber);
      // An N we no longer hold was already taken care of by a resynchronisation.
      if (index >= 0) this.acknowledgeThrough(index);
    } else if (this.advancedOk) {
      // ADVANCED_OK names the line of every numbered command, so an ok without N answers an
      // unnumbered one (M108, a probe), or a line noise turned into garbage: never a numbered slot.
      const index = this.inFlight.findIndex((s) => s.lineNumber === null);
      if (index >= 0) this.acknowledgeSlot(index);
    } else {
      this.acknowledgeThrough(0);
    }
    void this.pump();
  }

  private acknowledgeThrough(index: number): void {
    if (this.inFlight.length === 0) return;
    this.settleSlots(this.inFlight.splice(0, index + 1));
  }

  private acknowledgeSlot(index: number): void {
    this.settleSlots(this.inFlight.splice(index, 1));
  }

  private settleSlots(done: Slot[]): void {
    // A slot without a command is the link's own (the M105 probe or poll): housekeeping.
    const last = done[done.length - 1];
    if (last) this.settledSource = last.command?.source ?? 'host';
    for (const slot of done) {
      this.inFlightBytes -= slot.bytes;
      if (slot.word === 'M105' && slot.command === null) this.probeInFlight = false;
      if (slot.lineNumber !== null) {
        this.resendCounts.delete(slot.lineNumber);
        if (this.duplicateResends && slot.lineNumber >= this.duplicateResends.lineNumber)
          this.duplicateResends = null;
      }
      const command = slot.command;
      if (command?.refusal) command.reject(new LinkError(command.refusal));
      else command?.resolve({ responses: command.responses });
    }
  }

  /** Each line error and its `Resend:` are followed by one ok that acknowledges nothing. */
  private expectResendOk(): void {
    const timer = this.clock.setTimeout(() => {
      const index = this.resendOkTimers.indexOf(timer);
      if (index >= 0) this.resendOkTimers.splice(index, 1);
    }, RESEND_OK_TIMEOUT_MS);
    this.resendOkTimers.push(timer);
  }

  private handleResend(lineNumber: number): void {
    this.stats.resendRequests++;
    // The error line before it already announced this ok, in case this line had been lost.
    if (this.lineErrorAwaitingResend) this.lineErrorAwaitingResend = false;
    else this.expectResendOk();
    // Marlin's error says `Last Line: X` and then asks for X + 1; noise rarely garbles both alike.
    const corroborated = this.lineErrorLastLine !== null && this.lineErrorLastLine + 1 === lineNumber;
    this.lineErrorLastLine = null;

    if (lineNumber === this.lastSentNumber + 1 && corroborated) {
      // The firmware already has every line we sent (the resend probe repeated one it had): their
      // oks were lost, and each repeated line still on the wire earns the same request again.
      const duplicates = this.duplicateResends;
      if (duplicates?.lineNumber === lineNumber && duplicates.remaining > 0) duplicates.remaining--;
      else this.duplicateResends = { lineNumber, remaining: this.inFlight.length };
      this.acknowledgeNumberedThrough(this.lastSentNumber);
      void this.pump();
      return;
    }
    if (lineNumber < 1 || lineNumber > this.lastSentNumber) {
      // A corrupted number (OctoPrint#4671: `Resend: 034497` for 134497) must not rewind the print.
      this.log.warn(
        { lineNumber, lastSent: this.lastSentNumber },
        'ignoring resend request outside what was sent',
      );
      return;
    }
    const duplicates = this.duplicateResends;
    if (duplicates && duplicates.lineNumber === lineNumber && duplicates.remaining > 0) {
      // Lines already on the wire when the first request came each earn another request for the same line.
      duplicates.remaining--;
      return;
    }
    if (!this.history.has(lineNumber)) {
      if (!corroborated) {
        // A dropped or flipped digit (`Resend: 1046` for 15046): the firmware asks again with the next line.
        this.log.warn({ lineNumber }, 'ignoring an uncorroborated resend request for a line no longer kept');
        return;
      }
      const oldest = this.history.keys().next().value;
      this.fail(
        `The firmware asked to resend line ${lineNumber}, which is no longer in the resend history (oldest kept: ${oldest ?? 'none'})`,
      );
      return;
    }
    const count = (this.resendCounts.get(lineNumber) ?? 0) + 1;
    this.resendCounts.set(lineNumber, count);
    if (count > this.options.maxResendsPerLine) {
      this.fail(
        `The firmware rejected line ${lineNumber} ${count} times in a row; check the cable and baud rate`,
      );
      return;
    }
    this.duplicateResends = { lineNumber, remaining: this.lastSentNumber - lineNumber };
    this.resendFrom(lineNumber);
  }

  /** The firmware accepted every line through `lineNumber`: their slots are done, whatever became of their oks. */
  private acknowledgeNumberedThrough(lineNumber: number): void {
    const done: Slot[] = [];
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      const slot = this.inFlight[i]!;
      if (slot.lineNumber !== null && slot.lineNumber <= lineNumber)
        done.unshift(...this.inFlight.splice(i, 1));
    }
    this.settleSlots(done);
  }

  /** Line N and everything after it leave the window and go again, in order. */
  private resendFrom(lineNumber: number): void {
    for (let i = this.inFlight.length - 1; i >= 0; i--) {
      const slot = this.inFlight[i]!;
      if (slot.lineNumber !== null && slot.lineNumber >= lineNumber) {
        this.inFlightBytes -= slot.bytes;
        this.inFlight.splice(i, 1);
      }
    }
    this.resendQueue = [];
    for (let n = lineNumber; n <= this.lastSentNumber; n++) this.resendQueue.push(n);
    this.log.info({ lineNumber, resending: this.resendQueue.length }, 'resending on firmware request');
    void this.pump();
  }

  private handleError(reply: ErrorReply): void {
    const kind = reply.error;
    const message = reply.message;
    if (
      kind === 'checksumMismatch' ||
      kind === 'lineNumber' ||
      kind === 'noChecksum' ||
      kind === 'noLineNumber'
    ) {
      this.stats.linkErrors++;
      // `Resend:` and an ok follow; if noise eats the `Resend:`, that ok must still acknowledge nothing.
      if (kind !== 'noLineNumber') {
        if (!this.lineErrorAwaitingResend) this.expectResendOk();
        this.lineErrorAwaitingResend = true;
        this.lineErrorLastLine = reply.lastLine ?? null;
      }
      return;
    }
    if (kind === 'unknownCommand') {
      // The caller hears of it; a job line is not failed for it, so the print goes on.
      const command = this.inFlight[0]?.command;
      if (command && command.source !== 'job') command.refusal = message;
      return;
    }
    if ((kind === 'halted' || kind === 'thermal') && this.currentState !== 'shutdown') {
      this.failAll(new LinkError(`Firmware halted: ${message}`));
      this.setState('shutdown', message);
    }
  }

  /** Sends an unnumbered M105; its `ok T:` tells us everything before it has run (notes §14). */
  private probe(): void {
    if (this.probeInFlight || !this.transport || this.currentState !== 'ready') return;
    this.probeInFlight = true;
    const wire = 'M105\n';
    this.addSlot({ lineNumber: null, bytes: wire.length, word: 'M105', command: null });
    this.listeners.sent?.(wire, 'host');
    this.transport.write(wire).catch((error: Error) => this.fail(`Write failed: ${error.message}`));
  }

  /** Polls temperatures without disturbing the window, for firmware without AUTOREPORT_TEMP. */
  pollTemperature(): void {
    this.probe();
  }

  private checkTimeouts(): void {
    if (this.currentState !== 'ready') return;
    const now = this.clock.now();
    if (this.inFlight.length === 0) {
      // An idle line that has gone quiet (no autoreport, no reply) is asked once, so a board that
      // hung or vanished without the port reporting it is found by the dead timeout below.
      if ((now - Math.max(this.lastRxS, this.lastProbeS)) * 1000 > this.options.okTimeoutMs) {
        this.lastProbeS = now;
        this.probe();
      }
      return;
    }
    const oldest = this.inFlight[0]!;
    const longRunning = oldest.command?.long === true;
    const quietMs = (now - Math.max(this.lastProgressS, this.lastProbeS)) * 1000;
    const silentMs = (now - Math.max(this.lastRxS, this.lastProgressS)) * 1000;
    const deadMs =
      longRunning && !this.busySeen ? this.options.longCommandTimeoutMs : this.options.deadTimeoutMs;
    if (silentMs > deadMs) {
      this.fail(`The printer stopped responding: nothing received for ${Math.round(silentMs / 1000)} s`);
      return;
    }
    const okLimit =
      longRunning && !this.busySeen ? this.options.longCommandTimeoutMs : this.options.okTimeoutMs;
    if (quietMs > okLimit) {
      this.lastProbeS = now;
      const oldestNumbered = this.inFlight.find((s) => s.lineNumber !== null)?.lineNumber ?? null;
      if (oldestNumbered !== null && this.enforcesLineNumbers()) {
        // Repeating the oldest unacknowledged line is safe where the firmware checks N: it runs it if
        // it never got it, or answers `Last Line: X` if it did, which is exactly where it stands.
        // An M105 would instead count lines whose resend request was lost as done (notes §14).
        this.log.warn(
          { inFlight: this.inFlight.length, quietMs, lineNumber: oldestNumbered },
          'no ok for a while; resynchronising by repeating the oldest unacknowledged line',
        );
        this.resendFrom(oldestNumbered);
        return;
      }
      this.log.warn(
        { inFlight: this.inFlight.length, quietMs },
        'no ok for a while; resynchronising with M105',
      );
      this.probe();
    }
  }

  /**
   * Marlin and Prusa reject a line whose N is not last N + 1, so a repeated line never runs twice.
   * RepRapFirmware records N without enforcing the sequence and Klipper ignores it: repeating a line
   * there could run it twice, so those get the M105 probe. Known limit: RRF 3 drops a bad-checksum
   * line without any reply, and the probe's `ok T:` then counts it as done, so on RRF such a line is
   * lost (never doubled); only a later line's ok, never a resend, follows it.
   */
  private enforcesLineNumbers(): boolean {
    return this.firmwareFamily !== 'reprapfirmware' && this.firmwareFamily !== 'klipper';
  }

  // --- connection life -----------------------------------------------------------------------

  private runHandshake(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const hello = () => {
        this.listeners.sent?.('M110 N0\n', 'host');
        this.transport?.write('M110 N0\n').catch(() => {});
      };
      // Garbage while an AVR board boots can eat the first hello; repeat until an ok comes.
      const timer = this.clock.setInterval(hello, HANDSHAKE_RETRY_MS);
      const deadline = this.clock.setTimeout(() => {
        this.cancelHandshake(
          new LinkError(`No answer from the firmware within ${HANDSHAKE_TIMEOUT_MS / 1000} s`),
        );
        this.setState('error', `No answer from the firmware on ${this.transport?.description ?? 'the port'}`);
      }, HANDSHAKE_TIMEOUT_MS);
      this.handshake = { timer, deadline, resolve, reject };
      hello();
    });
  }

  private finishHandshake(): void {
    const handshake = this.handshake;
    if (!handshake) return;
    handshake.timer.cancel();
    handshake.deadline.cancel();
    this.handshake = null;
    this.resetProtocol();
    this.setState('ready', 'Printer is ready');
    handshake.resolve();
    void this.pump();
  }

  private cancelHandshake(error: Error): void {
    const handshake = this.handshake;
    if (!handshake) return;
    handshake.timer.cancel();
    handshake.deadline.cancel();
    this.handshake = null;
    handshake.reject(error);
  }

  private resetProtocol(): void {
    this.nextLineNumber = 1;
    this.lastSentNumber = 0;
    this.history.clear();
    this.resendQueue = [];
    for (const timer of this.resendOkTimers) timer.cancel();
    this.resendOkTimers = [];
    this.duplicateResends = null;
    this.lineErrorLastLine = null;
    this.lineErrorAwaitingResend = false;
    this.resendCounts.clear();
    this.inFlight.length = 0;
    this.inFlightBytes = 0;
    this.lastBufferFree = null;
    this.probeInFlight = false;
    this.lastRxS = this.clock.now();
    this.lastProgressS = this.lastRxS;
  }

  private firmwareRestarted(why: string): void {
    if (this.handshake || this.currentState === 'connecting') return;
    const message = `Firmware restarted: ${why}; every queued and unfinished command was dropped`;
    this.log.error(message);
    this.failAll(new LinkError(message));
    this.setState('connecting', message);
    this.runHandshake().catch((error: Error) =>
      this.log.error({ err: error }, 'handshake after reset failed'),
    );
  }

  private transportClosed(transport: Transport, unexpected: boolean, error?: Error): void {
    if (transport !== this.transport) return;
    this.watchdog?.cancel();
    this.watchdog = null;
    this.transport = null;
    const message = unexpected
      ? `Printer disconnected: ${transport.description} closed${error ? ` (${error.message})` : ''}`
      : 'Not connected';
    this.cancelHandshake(new LinkError(message));
    this.failAll(new LinkError(message));
    this.setState('disconnected', message);
  }

  /** A fault the link cannot recover from by itself: everything pending fails with the reason. */
  private fail(message: string): void {
    this.log.error(message);
    this.failAll(new LinkError(message));
    this.setState('error', message);
  }

  private failAll(error: Error): void {
    for (const slot of this.inFlight) slot.command?.reject(error);
    for (const entry of this.history.values()) entry.command?.reject(error);
    for (const command of [...this.highQueue, ...this.normalQueue]) command.reject(error);
    this.highQueue.length = 0;
    this.normalQueue.length = 0;
    this.resetProtocol();
  }

  private setState(state: LinkState, message: string): void {
    if (state === this.currentState && message === this.stateMessage) return;
    this.currentState = state;
    this.stateMessage = message;
    this.listeners.state?.(state, message);
  }
}
