import Database from 'better-sqlite3';
import { beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../store/migrations.ts';
import { HistoryStore } from './history.ts';
import { allocateJobId } from './job-ids.ts';
import type { JobSummary } from './runner.ts';

function summary(jobId: string, overrides: Partial<JobSummary> = {}): JobSummary {
  return {
    job_id: jobId,
    filename: 'cube.gcode',
    user: null,
    state: 'printing',
    message: '',
    start_time: 1_700_000_000,
    end_time: null,
    print_duration: 0,
    total_duration: 0,
    filament_used: 0,
    metadata: null,
    end_status: null,
    file: { size: 100, mtimeMs: 1, sha256: null },
    ...overrides,
  };
}

describe('HistoryStore', () => {
  let db: Database.Database;
  let store: HistoryStore;

  beforeEach(() => {
    db = new Database(':memory:');
    migrate(db);
    store = new HistoryStore(db);
  });

  it("hands out Moonraker's hex job ids and never reuses one", () => {
    expect([allocateJobId(db), allocateJobId(db)]).toEqual(['000001', '000002']);
    db.prepare('DELETE FROM job_ids').run();
    expect(allocateJobId(db)).toBe('000003');
  });

  it('turns jobs a crash left in progress into interrupted ones, with their last checkpoint figures', () => {
    store.begin(summary('00000A'));
    store.begin(summary('00000B', { start_time: 1_700_000_100 }));
    db.prepare(
      'INSERT INTO job_checkpoints (job_id, filename, file_position, checkpoint, updated_at) VALUES (?, ?, ?, ?, ?)',
    ).run(
      '00000A',
      'cube.gcode',
      50,
      JSON.stringify({ print_duration: 12, total_duration: 20, filament_used: 33 }),
      1,
    );
    expect(store.markInterrupted()).toEqual(['00000A', '00000B']);
    expect(store.row('00000A')).toMatchObject({
      status: 'interrupted',
      print_duration: 12,
      total_duration: 20,
      filament_used: 33,
    });
    expect(store.row('00000B')).toMatchObject({ status: 'interrupted', print_duration: 0 });
  });

  it('counts a job in the totals once, even when it errored and was then resumed to completion', () => {
    store.begin(summary('00000A'));
    store.finish(
      summary('00000A', { print_duration: 100, total_duration: 120, filament_used: 50 }),
      'error',
      2,
    );
    expect(store.totals()).toMatchObject({ total_jobs: 1, total_print_time: 100, total_filament_used: 50 });
    store.begin(summary('00000A'));
    expect(store.row('00000A')?.status).toBe('in_progress');
    store.finish(
      summary('00000A', { print_duration: 300, total_duration: 400, filament_used: 90 }),
      'completed',
      3,
    );
    expect(store.totals()).toEqual({
      total_jobs: 1,
      total_time: 400,
      total_print_time: 300,
      total_filament_used: 90,
      longest_job: 400,
      longest_print: 300,
    });
    expect(store.resetTotals().total_jobs).toBe(1);
    expect(store.totals().total_jobs).toBe(0);
    expect(store.row('00000A')?.status).toBe('completed');
  });

  it('lists newest first by default, with limit, start, since and before', () => {
    for (let i = 1; i <= 5; i++) store.begin(summary(`00000${i}`, { start_time: i * 100 }));
    expect(store.list({}).map((r) => r.job_id)).toEqual(['000005', '000004', '000003', '000002', '000001']);
    expect(store.list({ order: 'asc', limit: 2, start: 1 }).map((r) => r.job_id)).toEqual([
      '000002',
      '000003',
    ]);
    expect(store.list({ since: 200, before: 400 }).map((r) => r.job_id)).toEqual(['000003', '000002']);
    expect(store.delete('000003')).toBe(true);
    expect(store.delete('000003')).toBe(false);
    expect(store.deleteAll()).toEqual(['000001', '000002', '000004', '000005']);
  });
});
