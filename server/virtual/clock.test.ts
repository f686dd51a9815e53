// The manual clock tests rely on: timers fire in time order, including ones scheduled on the way.

import { expect, test } from 'vitest';
import { ManualClock, realClock } from './clock.ts';

test('fires due timers in time order and leaves later ones waiting', () => {
  const clock = new ManualClock();
  const fired: string[] = [];
  clock.schedule(30, () => fired.push(`b@${clock.now()}`));
  clock.schedule(10, () => {
    fired.push(`a@${clock.now()}`);
    clock.schedule(5, () => fired.push(`a2@${clock.now()}`));
  });
  const cancel = clock.schedule(20, () => fired.push('cancelled'));
  clock.schedule(100, () => fired.push('late'));
  cancel();
  clock.advance(50);
  expect(fired).toEqual(['a@10', 'a2@15', 'b@30']);
  expect(clock.now()).toBe(50);
  expect(clock.pending()).toBe(1);
});

test('advanceUntil stops as soon as the condition holds, or gives up', () => {
  const clock = new ManualClock();
  let ready = false;
  clock.schedule(1234, () => {
    ready = true;
  });
  expect(clock.advanceUntil(() => ready, 10_000, 100)).toBe(true);
  expect(clock.now()).toBe(1300);
  expect(clock.advanceUntil(() => false, 500)).toBe(false);
});

test('a sped-up real clock runs ahead of the wall clock', async () => {
  const clock = realClock(50);
  const at = await new Promise<number>((resolve) => {
    clock.schedule(1000, () => resolve(clock.now()));
  });
  expect(at).toBeGreaterThanOrEqual(1000);
});
