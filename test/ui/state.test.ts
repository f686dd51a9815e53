// The printer-object signals: one per object, deltas merged in one batch, lazy objects watched on demand.
import { effect } from '@preact/signals';
import { describe, expect, it } from 'vitest';
import { applyDelta, applySnapshot, printerObject, watchedLazy } from '../../ui/state/printer.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('printer object signals', () => {
  it('merges a delta into the object and notifies readers once per batch', () => {
    applySnapshot({ extruder: { temperature: 20, target: 0 }, heater_bed: { temperature: 21, target: 0 } });
    const seen: string[] = [];
    const stop = effect(() => {
      seen.push(
        `${printerObject('extruder').value?.temperature}/${printerObject('heater_bed').value?.target}`,
      );
    });
    applyDelta({ extruder: { temperature: 25 }, heater_bed: { target: 60 } });
    stop();
    expect(seen).toEqual(['20/0', '25/60']);
    expect(printerObject('extruder').peek()).toEqual({ temperature: 25, target: 0 });
  });

  it('asks for motion_report only while something reads it', async () => {
    expect(watchedLazy.peek().has('motion_report')).toBe(false);
    const stop = effect(() => {
      printerObject('motion_report').value;
    });
    await tick();
    expect(watchedLazy.peek().has('motion_report')).toBe(true);
    stop();
    await tick();
    expect(watchedLazy.peek().has('motion_report')).toBe(false);
  });
});
