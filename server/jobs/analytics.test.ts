import { describe, expect, it } from 'vitest';
import { defaultSince, type HistoryFacts, periodStart, summarize } from './analytics.ts';

const at = (y: number, m: number, d: number, h = 12) => new Date(y, m - 1, d, h).getTime() / 1000;
const job = (filename: string, status: string, start: number, hours = 1, filament = 1000): HistoryFacts => ({
  filename,
  status,
  start_time: start,
  print_duration: hours * 3600,
  filament_used: filament,
});

describe('print analytics', () => {
  const jobs = [
    job('cube.gcode', 'completed', at(2026, 3, 2), 2, 1500),
    job('cube.gcode', 'cancelled', at(2026, 3, 2, 18), 0.5, 200),
    job('benchy.gcode', 'error', at(2026, 3, 4), 1, 300),
    job('cube.gcode', 'completed', at(2026, 3, 10), 2, 1500),
    job('benchy.gcode', 'in_progress', at(2026, 3, 10, 15), 1, 100),
  ];

  it('counts prints, outcomes, hours and filament per day, with empty days in between', () => {
    const summary = summarize(jobs, 'day', at(2026, 3, 2, 0), at(2026, 3, 4, 23));
    expect(summary.totals).toEqual({
      prints: 3,
      completed: 1,
      cancelled: 1,
      failed: 1,
      interrupted: 0,
      success_rate: 0.3333,
      print_hours: 3.5,
      filament_mm: 2000,
    });
    expect(summary.periods.map((p) => [p.start, p.prints, p.print_hours])).toEqual([
      ['2026-03-02', 2, 2.5],
      ['2026-03-03', 0, 0],
      ['2026-03-04', 1, 1],
    ]);
    expect(summary.periods[1]!.success_rate).toBeNull();
  });

  it('buckets weeks from Monday and months from the first, and ranks files by prints', () => {
    const weeks = summarize(jobs, 'week', at(2026, 3, 1), at(2026, 3, 15));
    expect(weeks.periods.map((p) => [p.start, p.prints])).toEqual([
      ['2026-02-23', 0],
      ['2026-03-02', 3],
      ['2026-03-09', 1],
    ]);
    const months = summarize(jobs, 'month', at(2026, 3, 1), at(2026, 3, 31));
    expect(months.periods).toHaveLength(1);
    expect(months.files.map((f) => [f.filename, f.prints, f.completed, f.success_rate])).toEqual([
      ['cube.gcode', 3, 2, 0.6667],
      ['benchy.gcode', 1, 0, 0],
    ]);
    expect(months.files[0]!.last_printed).toBe(at(2026, 3, 10));
  });

  it('starts weeks on Monday in local time and defaults to 30 days, 12 weeks or 12 months', () => {
    expect(periodStart(at(2026, 3, 8) * 1000, 'week').getDay()).toBe(1);
    const now = at(2026, 3, 10);
    expect(new Date(defaultSince('day', now) * 1000).getDate()).toBe(9);
    expect(new Date(defaultSince('month', now) * 1000).getMonth()).toBe(3);
  });
});
