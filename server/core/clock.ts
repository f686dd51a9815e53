// Monotonic time and timers behind one interface, so tests can drive time by hand.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Monotonic seconds; Fluidd buffers status updates by eventtime, so it must never go backwards. */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for timestamps shown to people. */
  wallMs(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  setInterval(fn: () => void, intervalMs: number): TimerHandle;
}

/**
 * `clock.now()` in milliseconds, rounded to the nanosecond: seconds ↔ ms is not exact in binary
 * (1.001 * 1000 is 1000.9999999999999), and whole milliseconds must stay whole for code that
 * compares times it computed in milliseconds.
 */
export function nowMs(clock: Clock): number {
  return Math.round(clock.now() * 1e9) / 1e6;
}

/** Node clamps longer timer delays to 1 ms. */
const MAX_TIMER_DELAY_MS = 0x7fff_ffff;

/**
 * Real time. `speed` > 1 runs now() and timers that many times faster than the wall clock
 * (the virtual printer's `--speed`; 20 makes a 3 s busy wait take 150 ms). wallMs() stays the
 * real wall clock.
 */
export class SystemClock implements Clock {
  private readonly origin = process.hrtime.bigint();

  constructor(private readonly speed = 1) {
    if (!(speed > 0) || !Number.isFinite(speed)) {
      throw new RangeError(`SystemClock: speed must be a finite number > 0, got ${speed}`);
    }
  }

  now(): number {
    return (Number(process.hrtime.bigint() - this.origin) / 1e9) * this.speed;
  }

  wallMs(): number {
    return Date.now();
  }

  /** Inside `fn`, now() is at least the scheduling now() plus `delayMs`. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const delay = Math.max(0, delayMs);
    const due = this.now() + delay / 1000;
    // Node's timers run on a cached loop time, so one may fire a little early by now(), and
    // `speed` magnifies that; waiting out the rest keeps the promise above.
    const fire = (): void => {
      const leftMs = (due - this.now()) * 1000;
      if (leftMs > 0)
        timer = setTimeout(fire, Math.min(MAX_TIMER_DELAY_MS, Math.max(1, leftMs / this.speed)));
      else fn();
    };
    let timer = setTimeout(fire, Math.min(MAX_TIMER_DELAY_MS, delay / this.speed));
    return { cancel: () => clearTimeout(timer) };
  }

  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    const timer = setInterval(fn, intervalMs / this.speed);
    return { cancel: () => clearInterval(timer) };
  }
}

interface ManualTimer {
  dueMs: number;
  /** Scheduling order, renewed each time an interval re-arms: breaks ties between equal `dueMs`. */
  seq: number;
  readonly intervalMs: number | null;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that only moves when a test calls `advance`. Timers fire in time order, ties in
 * scheduling order, including timers scheduled by timers on the way.
 */
export class ManualClock implements Clock {
  private elapsedMs = 0;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(private readonly wallOriginMs = 1_700_000_000_000) {}

  now(): number {
    return this.elapsedMs / 1000;
  }

  wallMs(): number {
    return this.wallOriginMs + this.elapsedMs;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.add(fn, delayMs, null);
  }

  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    return this.add(fn, intervalMs, Math.max(1, intervalMs));
  }

  /** Moves time forward by `ms`, firing every timer that falls due, including ones scheduled on the way. */
  advance(ms: number): void {
    if (!Number.isFinite(ms)) throw new RangeError(`ManualClock.advance: ms must be finite, got ${ms}`);
    const target = this.elapsedMs + Math.max(0, ms);
    for (;;) {
      const next = this.takeNext(target);
      if (!next) break;
      this.elapsedMs = Math.max(this.elapsedMs, next.dueMs);
      next.fn();
    }
    this.elapsedMs = target;
  }

  /**
   * Advances in `stepMs` steps until `done()` holds; returns false if `maxMs` passed first.
   * Tests use it to wait for something without knowing exactly when it comes.
   */
  advanceUntil(done: () => boolean, maxMs = 600_000, stepMs = 10): boolean {
    if (!(stepMs > 0)) throw new RangeError(`ManualClock.advanceUntil: stepMs must be > 0, got ${stepMs}`);
    const limit = this.elapsedMs + maxMs;
    while (!done()) {
      if (this.elapsedMs >= limit) return false;
      this.advance(Math.min(stepMs, limit - this.elapsedMs));
    }
    return true;
  }

  /** Timers (intervals included) still waiting to fire. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Takes the first timer due by `limit`: a timeout is used up, an interval re-armed as if scheduled now. */
  private takeNext(limit: number): { readonly dueMs: number; readonly fn: () => void } | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.dueMs > limit) continue;
      if (!best || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.seq < best.seq)) best = t;
    }
    if (!best) return undefined;
    const { dueMs, fn } = best;
    if (best.intervalMs === null) best.cancelled = true;
    else {
      best.dueMs += best.intervalMs;
      best.seq = this.seq++;
    }
    return { dueMs, fn };
  }

  private add(fn: () => void, delayMs: number, intervalMs: number | null): TimerHandle {
    const timer: ManualTimer = {
      dueMs: this.elapsedMs + Math.max(0, delayMs),
      seq: this.seq++,
      intervalMs,
      fn,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }
}
