// Time source for the virtual printer, so tests can run hours of firmware time in milliseconds.

/** Cancels a scheduled callback; calling it twice is harmless. */
export type CancelTimer = () => void;

/** Milliseconds and one-shot timers: all the firmware model needs from the outside world. */
export interface VirtualClock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Runs `fn` once after `delayMs` of this clock's time. */
  schedule(delayMs: number, fn: () => void): CancelTimer;
}

/** Wall-clock time, optionally sped up: `speed` 20 makes a 3 s busy wait take 150 ms. */
export function realClock(speed = 1): VirtualClock {
  if (!(speed > 0)) throw new RangeError(`realClock: speed must be > 0, got ${speed}`);
  const origin = performance.now();
  const now = (): number => (performance.now() - origin) * speed;
  return {
    now,
    schedule(delayMs, fn) {
      const due = now() + Math.max(0, delayMs);
      // setTimeout may fire up to a millisecond early by performance.now(), which `speed`
      // magnifies; waiting out the rest keeps the promise that now() >= due inside fn.
      let handle: ReturnType<typeof setTimeout>;
      const fire = (): void => {
        const left = due - now();
        if (left > 0) handle = setTimeout(fire, Math.max(1, left / speed));
        else fn();
      };
      handle = setTimeout(fire, Math.max(0, delayMs) / speed);
      return () => clearTimeout(handle);
    },
  };
}

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; timers fire in time order, ties in scheduling order. */
export class ManualClock implements VirtualClock {
  private current = 0;
  private seq = 0;
  private timers: ManualTimer[] = [];

  now(): number {
    return this.current;
  }

  schedule(delayMs: number, fn: () => void): CancelTimer {
    const timer: ManualTimer = {
      at: this.current + Math.max(0, delayMs),
      seq: this.seq++,
      fn,
      cancelled: false,
    };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers still waiting to fire. */
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, including ones scheduled on the way. */
  advance(ms: number): void {
    const target = this.current + Math.max(0, ms);
    for (;;) {
      const next = this.takeNext(target);
      if (!next) break;
      this.current = next.at;
      next.fn();
    }
    this.current = target;
  }

  /**
   * Advances in `stepMs` steps until `done()` holds; returns false if `maxMs` passed first.
   * Tests use it to wait for a reply without knowing exactly when it comes.
   */
  advanceUntil(done: () => boolean, maxMs = 600_000, stepMs = 10): boolean {
    const limit = this.current + maxMs;
    while (!done()) {
      if (this.current >= limit) return false;
      this.advance(Math.min(stepMs, limit - this.current));
    }
    return true;
  }

  private takeNext(limit: number): ManualTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: ManualTimer | undefined;
    for (const t of this.timers) {
      if (t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    if (best) best.cancelled = true;
    return best;
  }
}
