import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { StatusStore } from './status-store.ts';

function setup() {
  const clock = new ManualClock();
  const store = new StatusStore(clock);
  const bed = { temperature: 20, target: 0, power: 0 };
  store.register('heater_bed', { status: () => ({ ...bed }) });
  store.register('toolhead', { status: () => ({ position: [0, 0, 0, 0], homed_axes: '' }) });
  return { clock, store, bed };
}

describe('StatusStore', () => {
  it('returns the full snapshot on subscribe, then only changed fields', () => {
    const { clock, store, bed } = setup();
    const deltas: unknown[] = [];
    const { snapshot } = store.subscribe({ heater_bed: null, toolhead: null }, (delta) => deltas.push(delta));
    expect(snapshot.status).toEqual({
      heater_bed: { temperature: 20, target: 0, power: 0 },
      toolhead: { position: [0, 0, 0, 0], homed_axes: '' },
    });
    clock.advance(250);
    expect(deltas).toEqual([]);
    bed.temperature = 21.5;
    bed.target = 60;
    clock.advance(250);
    expect(deltas).toEqual([{ heater_bed: { temperature: 21.5, target: 60 } }]);
  });

  it('sends at most one delta per 250 ms however often fields change', () => {
    const { clock, store, bed } = setup();
    const deltas: unknown[] = [];
    store.subscribe({ heater_bed: ['temperature'] }, (delta) => deltas.push(delta));
    for (let i = 0; i < 10; i++) {
      bed.temperature += 1;
      clock.advance(20);
    }
    clock.advance(50);
    expect(deltas).toEqual([{ heater_bed: { temperature: 30 } }]);
  });

  it('leaves out fields that were not asked for and objects that do not exist', () => {
    const { clock, store, bed } = setup();
    const deltas: unknown[] = [];
    const { snapshot } = store.subscribe({ heater_bed: ['target'], ghost: null }, (d) => deltas.push(d));
    expect(snapshot.status).toEqual({ heater_bed: { target: 0 } });
    bed.temperature = 99;
    clock.advance(250);
    expect(deltas).toEqual([]);
  });

  it('stamps updates with a monotonic eventtime in seconds', () => {
    const { clock, store, bed } = setup();
    const times: number[] = [];
    const { snapshot } = store.subscribe({ heater_bed: null }, (_d, eventtime) => times.push(eventtime));
    for (let i = 0; i < 4; i++) {
      bed.temperature += 1;
      clock.advance(250);
    }
    expect(times).toEqual([0.25, 0.5, 0.75, 1]);
    expect(times[0]!).toBeGreaterThan(snapshot.eventtime);
  });

  it('keeps separate diffs for separate subscribers', () => {
    const { clock, store, bed } = setup();
    const first: unknown[] = [];
    const second: unknown[] = [];
    store.subscribe({ heater_bed: null }, (d) => first.push(d));
    bed.temperature = 40;
    clock.advance(250);
    store.subscribe({ heater_bed: null }, (d) => second.push(d));
    clock.advance(250);
    expect(first).toEqual([{ heater_bed: { temperature: 40 } }]);
    expect(second).toEqual([]);
  });

  it('stops polling when the last subscriber leaves', () => {
    const { clock, store } = setup();
    const { unsubscribe } = store.subscribe({ heater_bed: null }, () => {});
    expect(clock.pendingTimers()).toBe(1);
    unsubscribe();
    expect(clock.pendingTimers()).toBe(0);
  });

  it('computes each object once per tick for all subscribers', () => {
    const clock = new ManualClock();
    const store = new StatusStore(clock);
    let calls = 0;
    store.register('fan', {
      status: () => {
        calls += 1;
        return { speed: calls };
      },
    });
    store.subscribe({ fan: null }, () => {});
    store.subscribe({ fan: null }, () => {});
    store.subscribe({ fan: ['speed'] }, () => {});
    calls = 0;
    clock.advance(250);
    expect(calls).toBe(1);
  });
});
