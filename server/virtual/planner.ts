// Motion planner model: a ring of timed move blocks, so `ok` pacing follows feedrate and distance.

import { type Clock, nowMs, type TimerHandle } from '../core/clock.ts';

export interface Axes {
  x: number;
  y: number;
  z: number;
  e: number;
}

interface Block {
  readonly from: Axes;
  readonly to: Axes;
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * Blocks run back to back at constant speed (no acceleration or look-ahead): enough for the
 * host to see the planner fill, drain and free slots at the rate real moves would.
 */
export class Planner {
  private blocks: Block[] = [];
  private timer: TimerHandle | null = null;

  /**
   * @param capacity how many blocks fit. Marlin's ring keeps one slot empty, so this is
   *   BLOCK_BUFFER_SIZE - 1.
   * @param onBlockDone called after finished blocks were retired, so waiting handlers re-check.
   */
  constructor(
    private readonly clock: Clock,
    readonly capacity: number,
    private readonly onBlockDone: () => void,
  ) {}

  /** Blocks queued or executing (Marlin's movesplanned()). */
  movesPlanned(): number {
    this.retire();
    return this.blocks.length;
  }

  /** Marlin's moves_free(): what ADVANCED_OK reports as P. */
  movesFree(): number {
    return this.capacity - this.movesPlanned();
  }

  isEmpty(): boolean {
    return this.movesPlanned() === 0;
  }

  /** Appends a block; the caller must have checked movesFree() first. */
  add(from: Axes, to: Axes, durationMs: number): void {
    this.retire();
    const now = nowMs(this.clock);
    const last = this.blocks[this.blocks.length - 1];
    // A block that follows another starts exactly when it ends: motion is continuous even
    // if our timer fires late.
    const startMs = last ? Math.max(last.endMs, now) : now;
    this.blocks.push({ from: { ...from }, to: { ...to }, startMs, endMs: startMs + Math.max(0, durationMs) });
    // An armed timer already targets the head block; the new block only matters once it is head.
    if (!this.timer) this.arm();
  }

  /** Where the steppers are right now, interpolated inside the executing block. */
  livePosition(fallback: Axes): Axes {
    this.retire();
    const head = this.blocks[0];
    if (!head) return { ...fallback };
    const now = nowMs(this.clock);
    if (now <= head.startMs) return { ...head.from };
    const span = head.endMs - head.startMs;
    const f = span > 0 ? Math.min(1, (now - head.startMs) / span) : 1;
    return {
      x: head.from.x + (head.to.x - head.from.x) * f,
      y: head.from.y + (head.to.y - head.from.y) * f,
      z: head.from.z + (head.to.z - head.from.z) * f,
      e: head.from.e + (head.to.e - head.from.e) * f,
    };
  }

  /** Drops every block (M410, kill, reset); returns where the steppers stopped. */
  clear(fallback: Axes): Axes {
    const at = this.livePosition(fallback);
    this.blocks = [];
    this.disarm();
    return at;
  }

  dispose(): void {
    this.blocks = [];
    this.disarm();
  }

  /** Drops finished blocks; `now` defaults to the clock's. */
  private retire(now = nowMs(this.clock)): void {
    let n = 0;
    while (n < this.blocks.length && (this.blocks[n] as Block).endMs <= now) n++;
    if (n > 0) this.blocks.splice(0, n);
  }

  private arm(): void {
    this.disarm();
    const head = this.blocks[0];
    if (!head) return;
    const endMs = head.endMs;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      // The head is done when its timer fires, even if seconds-to-ms rounding puts now a hair before endMs.
      this.retire(Math.max(endMs, nowMs(this.clock)));
      this.arm();
      this.onBlockDone();
    }, endMs - nowMs(this.clock));
  }

  private disarm(): void {
    this.timer?.cancel();
    this.timer = null;
  }
}
