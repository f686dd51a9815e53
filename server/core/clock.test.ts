// The clocks' promises: ManualClock fires timers in time order (ties in scheduling order), including
// ones scheduled on the way; SystemClock can run sped up.

import { describe, expect, test } from 'vitest';
import { ManualClock, nowMs, SystemClock } from './clock.ts';

describe('ManualClock', () => {
  test('fires due timers in time order, including ones scheduled on the way, and leaves later ones waiting', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${nowMs(clock)}`), 30);
    clock.setTimeout(() => {
      fired.push(`a@${nowMs(clock)}`);
      clock.setTimeout(() => fired.push(`a2@${nowMs(clock)}`), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => fired.push('cancelled'), 20);
    clock.setTimeout(() => fired.push('late'), 100);
    cancelled.cancel();
    clock.advance(50);
    expect(fired).toEqual(['a@10', 'a2@15', 'b@30']);
    expect(clock.now()).toBe(0.05);
    expect(clock.pendingTimers()).toBe(1);
  });

  test('fires timers due at the same time in scheduling order, also when scheduled on the way', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimeout(() => {
      fired.push('first');
      // Due at 20 like `second`, but scheduled after it.
      clock.setTimeout(() => fired.push('fourth'), 10);
      // Due now: runs before anything later, after what was already due now.
      clock.setTimeout(() => fired.push('third'), 0);
    }, 10);
    clock.setTimeout(() => fired.push('also at 10'), 10);
    clock.setTimeout(() => fired.push('second'), 20);
    clock.advance(20);
    expect(fired).toEqual(['first', 'also at 10', 'third', 'second', 'fourth']);
  });

  test('runs an interval once per period within one advance, in time order with other timers', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    const interval = clock.setInterval(() => fired.push(`tick@${nowMs(clock)}`), 10);
    clock.setTimeout(() => fired.push(`once@${nowMs(clock)}`), 25);
    // Due at 20 like the interval's second tick; scheduled before that tick re-armed, so it goes first.
    clock.setTimeout(() => fired.push(`tie@${nowMs(clock)}`), 20);
    clock.advance(35);
    expect(fired).toEqual(['tick@10', 'tie@20', 'tick@20', 'once@25', 'tick@30']);
    expect(clock.pendingTimers()).toBe(1);
    interval.cancel();
    expect(clock.pendingTimers()).toBe(0);
    clock.advance(100);
    expect(fired).toHaveLength(5);
  });

  test('an interval can cancel itself, and one scheduled on the way starts from then', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    let count = 0;
    const self = clock.setInterval(() => {
      count++;
      if (count === 3) self.cancel();
    }, 5);
    clock.setTimeout(() => {
      clock.setInterval(() => fired.push(`late@${nowMs(clock)}`), 4);
    }, 7);
    clock.advance(20);
    expect(count).toBe(3);
    expect(fired).toEqual(['late@11', 'late@15', 'late@19']);
    expect(clock.pendingTimers()).toBe(1);
  });

  test('never moves backwards', () => {
    const clock = new ManualClock(1_000);
    clock.advance(1500);
    clock.advance(-1000);
    expect(clock.now()).toBe(1.5);
    expect(clock.wallMs()).toBe(2_500);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
  });

  test('advanceUntil stops as soon as the condition holds, or gives up', () => {
    const clock = new ManualClock();
    let ready = false;
    clock.setTimeout(() => {
      ready = true;
    }, 1234);
    expect(clock.advanceUntil(() => ready, 10_000, 100)).toBe(true);
    expect(nowMs(clock)).toBe(1300);
    expect(clock.advanceUntil(() => false, 500)).toBe(false);
    expect(nowMs(clock)).toBe(1800);
    expect(() => clock.advanceUntil(() => false, 500, 0)).toThrow(RangeError);
  });
});

test('nowMs keeps whole milliseconds whole', () => {
  const clock = new ManualClock();
  clock.advance(1001);
  // 1.001 * 1000 is 1000.9999999999999 in binary.
  expect(clock.now() * 1000).not.toBe(1001);
  expect(nowMs(clock)).toBe(1001);
});

describe('SystemClock', () => {
  test('rejects a speed that is not a positive finite number', () => {
    for (const speed of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new SystemClock(speed)).toThrow(RangeError);
    }
    expect(() => new SystemClock(0)).toThrow(/speed must be a finite number > 0, got 0/);
  });

  test('a sped-up clock runs ahead of the wall clock, and a timer never fires before it is due', async () => {
    const clock = new SystemClock(50);
    const startedWall = performance.now();
    const at = await new Promise<number>((resolve) => {
      const start = clock.now();
      clock.setTimeout(() => resolve(clock.now() - start), 1000);
    });
    expect(at).toBeGreaterThanOrEqual(1);
    // 1 s of clock time is 20 ms of real time; a real-time timer would take 1 s.
    expect(performance.now() - startedWall).toBeLessThan(900);
  });

  test('sped-up intervals repeat until cancelled', async () => {
    const clock = new SystemClock(100);
    let ticks = 0;
    await new Promise<void>((resolve) => {
      const interval = clock.setInterval(() => {
        if (++ticks === 3) {
          interval.cancel();
          resolve();
        }
      }, 1000);
    });
    // Three 1 s periods at 100x are about 30 ms of real time.
    expect(clock.now()).toBeGreaterThan(2);
    await new Promise((r) => setTimeout(r, 30));
    expect(ticks).toBe(3);
  });

  test('a cancelled timer does not fire', async () => {
    const clock = new SystemClock(10);
    let fired = false;
    clock
      .setTimeout(() => {
        fired = true;
      }, 100)
      .cancel();
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(false);
  });
});
