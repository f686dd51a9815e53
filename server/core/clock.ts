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

export class SystemClock implements Clock {
  private readonly origin = process.hrtime.bigint();

  now(): number {
    return Number(process.hrtime.bigint() - this.origin) / 1e9;
  }

  wallMs(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const timer = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(timer) };
  }

  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    const timer = setInterval(fn, intervalMs);
    return { cancel: () => clearInterval(timer) };
  }
}

interface ManualTimer {
  dueMs: number;
  intervalMs: number | null;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when a test calls `advance`; timers fire in due order. */
export class ManualClock implements Clock {
  private elapsedMs = 0;
  private readonly timers: ManualTimer[] = [];

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

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const target = this.elapsedMs + ms;
    for (;;) {
      const next = this.timers
        .filter((t) => !t.cancelled && t.dueMs <= target)
        .sort((a, b) => a.dueMs - b.dueMs)[0];
      if (!next) break;
      this.elapsedMs = Math.max(this.elapsedMs, next.dueMs);
      if (next.intervalMs === null) next.cancelled = true;
      else next.dueMs += next.intervalMs;
      next.fn();
    }
    this.elapsedMs = target;
    for (let i = this.timers.length - 1; i >= 0; i--) if (this.timers[i]!.cancelled) this.timers.splice(i, 1);
  }

  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  private add(fn: () => void, delayMs: number, intervalMs: number | null): TimerHandle {
    const timer: ManualTimer = {
      dueMs: this.elapsedMs + Math.max(0, delayMs),
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
