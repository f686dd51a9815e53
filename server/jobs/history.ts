// The `history` component: Moonraker's job history and totals in SQLite, written from job:state_changed,
// plus the analytics endpoint the UI charts from. Jobs left in progress by a crash become `interrupted`.
import { statSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type BetterSqlite3 from 'better-sqlite3';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { errors } from '../core/errors.ts';
import { type AnalyticsPeriod, defaultSince, summarize } from './analytics.ts';
import type { FileManager } from './files/file-manager.ts';
import type { JobEndStatus, JobSummary, PrintState } from './runner.ts';

/** Moonraker's history statuses. */
export type HistoryStatus = 'in_progress' | 'interrupted' | JobEndStatus;

/** One job as server.history.list reports it. */
export interface HistoryJob {
  job_id: string;
  user: string | null;
  filename: string;
  exists: boolean;
  status: HistoryStatus;
  start_time: number;
  end_time: number | null;
  print_duration: number;
  total_duration: number;
  filament_used: number;
  metadata: Record<string, unknown>;
  auxiliary_data: unknown[];
}

export interface JobTotals {
  total_jobs: number;
  total_time: number;
  total_print_time: number;
  total_filament_used: number;
  longest_job: number;
  longest_print: number;
}

export interface History extends ComponentInstance {
  get(jobId: string): HistoryJob | null;
  list(options?: {
    limit?: number;
    start?: number;
    since?: number;
    before?: number;
    order?: 'asc' | 'desc';
  }): HistoryJob[];
  totals(): JobTotals;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    history: History;
  }
}

interface Row {
  job_id: string;
  user: string | null;
  filename: string;
  status: HistoryStatus;
  message: string;
  start_time: number;
  end_time: number | null;
  print_duration: number;
  total_duration: number;
  filament_used: number;
  metadata: string;
  auxiliary_data: string;
  file_size: number | null;
  file_mtime_ms: number | null;
  /** Already added to the totals by an earlier finish (a job that errored, then resumed). */
  in_totals: number;
}

const FINISHED: ReadonlySet<PrintState> = new Set(['complete', 'cancelled', 'error']);

export class HistoryStore {
  constructor(private readonly db: BetterSqlite3.Database) {}

  /** A crash leaves jobs in progress; they become interrupted, with the figures of their last checkpoint. */
  markInterrupted(): string[] {
    const ids = this.db
      .prepare<[], { job_id: string }>("SELECT job_id FROM job_history WHERE status = 'in_progress'")
      .all()
      .map((r) => r.job_id);
    this.db
      .prepare(
        `UPDATE job_history SET status = 'interrupted',
           print_duration = COALESCE((SELECT json_extract(c.checkpoint, '$.print_duration') FROM job_checkpoints c WHERE c.job_id = job_history.job_id), print_duration),
           total_duration = COALESCE((SELECT json_extract(c.checkpoint, '$.total_duration') FROM job_checkpoints c WHERE c.job_id = job_history.job_id), total_duration),
           filament_used = MAX(0, COALESCE((SELECT json_extract(c.checkpoint, '$.filament_used') FROM job_checkpoints c WHERE c.job_id = job_history.job_id), filament_used))
         WHERE status = 'in_progress'`,
      )
      .run();
    return ids;
  }

  row(jobId: string): Row | undefined {
    return this.db.prepare<[string], Row>('SELECT * FROM job_history WHERE job_id = ?').get(jobId);
  }

  /** A job started, or an interrupted one resumed under its old id. */
  begin(job: JobSummary): void {
    this.db
      .prepare(
        `INSERT INTO job_history (job_id, user, filename, status, message, start_time, end_time, print_duration,
           total_duration, filament_used, metadata, file_size, file_mtime_ms)
         VALUES (@job_id, @user, @filename, 'in_progress', '', @start_time, NULL, @print_duration, @total_duration,
           @filament_used, @metadata, @file_size, @file_mtime_ms)
         ON CONFLICT (job_id) DO UPDATE SET status = 'in_progress', message = '', end_time = NULL`,
      )
      .run(this.params(job));
  }

  /** A job ended: its row and the totals (a job counted before, then resumed, is not counted twice). */
  finish(job: JobSummary, status: JobEndStatus, endTime: number): void {
    this.db.transaction(() => {
      const before = this.row(job.job_id);
      if (!before) this.begin(job);
      this.db
        .prepare(
          `UPDATE job_history SET status = @status, message = @message, end_time = @end_time,
             print_duration = @print_duration, total_duration = @total_duration, filament_used = @filament_used,
             in_totals = 1
           WHERE job_id = @job_id`,
        )
        .run({ ...this.params(job), status, message: job.message, end_time: endTime });
      const counted = before?.in_totals ? before : null;
      this.db
        .prepare(
          `UPDATE job_totals SET
             total_jobs = total_jobs + @jobs,
             total_time = total_time + @time,
             total_print_time = total_print_time + @print,
             total_filament_used = total_filament_used + @filament,
             longest_job = MAX(longest_job, @total),
             longest_print = MAX(longest_print, @print_total)
           WHERE id = 1`,
        )
        .run({
          jobs: counted ? 0 : 1,
          time: job.total_duration - (counted?.total_duration ?? 0),
          print: job.print_duration - (counted?.print_duration ?? 0),
          filament: job.filament_used - (counted?.filament_used ?? 0),
          total: job.total_duration,
          print_total: job.print_duration,
        });
    })();
  }

  list(o: {
    limit?: number;
    start?: number;
    since?: number;
    before?: number;
    order?: 'asc' | 'desc';
  }): Row[] {
    const order = o.order === 'asc' ? 'ASC' : 'DESC';
    return this.db
      .prepare<[number, number, number, number], Row>(
        `SELECT * FROM job_history WHERE start_time >= ? AND start_time < ?
         ORDER BY start_time ${order}, job_id ${order} LIMIT ? OFFSET ?`,
      )
      .all(o.since ?? 0, o.before ?? Number.MAX_VALUE, o.limit ?? 50, o.start ?? 0);
  }

  all(): Row[] {
    return this.db.prepare<[], Row>('SELECT * FROM job_history').all();
  }

  delete(jobId: string): boolean {
    return this.db.prepare('DELETE FROM job_history WHERE job_id = ?').run(jobId).changes > 0;
  }

  deleteAll(): string[] {
    const ids = this.db
      .prepare<[], { job_id: string }>('SELECT job_id FROM job_history ORDER BY start_time')
      .all()
      .map((r) => r.job_id);
    this.db.prepare('DELETE FROM job_history').run();
    return ids;
  }

  totals(): JobTotals {
    return this.db
      .prepare<[], JobTotals>(
        'SELECT total_jobs, total_time, total_print_time, total_filament_used, longest_job, longest_print FROM job_totals WHERE id = 1',
      )
      .get()!;
  }

  resetTotals(): JobTotals {
    const last = this.totals();
    this.db
      .prepare(
        'UPDATE job_totals SET total_jobs = 0, total_time = 0, total_print_time = 0, total_filament_used = 0, longest_job = 0, longest_print = 0 WHERE id = 1',
      )
      .run();
    return last;
  }

  private params(job: JobSummary) {
    return {
      job_id: job.job_id,
      user: job.user,
      filename: job.filename,
      start_time: job.start_time,
      print_duration: job.print_duration,
      total_duration: job.total_duration,
      filament_used: job.filament_used,
      metadata: JSON.stringify(job.metadata ?? {}),
      file_size: job.file.size,
      file_mtime_ms: job.file.mtimeMs,
    };
  }
}

const listParams = Type.Object({
  limit: Type.Integer({ minimum: 1, default: 50 }),
  start: Type.Integer({ minimum: 0, default: 0 }),
  since: Type.Optional(Type.Number()),
  before: Type.Optional(Type.Number()),
  order: Type.Union([Type.Literal('asc'), Type.Literal('desc')], { default: 'desc' }),
});

export const historyComponent = defineComponent({
  name: 'history',
  needs: ['store', 'file_manager'],
  advertiseAs: 'history',
  create(host): History {
    const store = new HistoryStore(host.db);
    const files: FileManager = host.lookup('file_manager');
    const interrupted = store.markInterrupted();
    if (interrupted.length > 0)
      host.log.warn({ jobs: interrupted }, 'jobs left in progress are now interrupted');

    /** Moonraker: `exists` means the file is still there and unchanged since the job. */
    const exists = (row: Row): boolean => {
      try {
        const stat = statSync(files.resolveGcode(row.filename));
        return (
          stat.isFile() &&
          (row.file_size === null || stat.size === row.file_size) &&
          (row.file_mtime_ms === null || Math.abs(stat.mtimeMs - row.file_mtime_ms) < 1)
        );
      } catch {
        return false;
      }
    };
    const toJob = (row: Row): HistoryJob => ({
      job_id: row.job_id,
      user: row.user,
      filename: row.filename,
      exists: exists(row),
      status: row.status,
      start_time: row.start_time,
      end_time: row.end_time,
      print_duration: row.print_duration,
      total_duration: row.total_duration,
      filament_used: row.filament_used,
      metadata: JSON.parse(row.metadata) as Record<string, unknown>,
      auxiliary_data: JSON.parse(row.auxiliary_data) as unknown[],
    });
    const notify = (action: 'added' | 'finished', jobId: string) => {
      const row = store.row(jobId);
      if (row) host.api.notify('notify_history_changed', [{ action, job: toJob(row) }]);
    };

    host.bus.on('job:state_changed', host.name, ({ previous, current, job }) => {
      if (current === 'printing' && previous !== 'paused') {
        store.begin(job);
        files.recordJob(job.filename, job.job_id, job.start_time);
        notify('added', job.job_id);
      } else if (FINISHED.has(current) && job.end_status) {
        store.finish(job, job.end_status, job.end_time ?? host.clock.wallMs() / 1000);
        notify('finished', job.job_id);
      }
    });

    host.api.register({
      path: '/server/history/list',
      verbs: ['GET'],
      role: 'viewer',
      params: listParams,
      description: 'Past and current jobs, newest first unless order=asc',
      handler: (args) => {
        const jobs = store.list(args).map(toJob);
        return { count: jobs.length, jobs };
      },
    });
    host.api.register({
      path: '/server/history/job',
      verbs: ['GET', 'DELETE'],
      role: 'viewer',
      params: Type.Object({ uid: Type.Optional(Type.String()), all: Type.Optional(Type.Boolean()) }),
      description: 'One job by uid (GET), or delete one or all=true (DELETE)',
      handler: ({ uid, all }, context) => {
        if (context.verb === 'DELETE') {
          if (all) {
            const deleted = store.deleteAll();
            return { deleted_jobs: deleted };
          }
          if (!uid) throw errors.missingParam('uid');
          if (!store.delete(uid)) throw errors.notFound(`Invalid job uid: ${uid}`);
          return { deleted_jobs: [uid] };
        }
        if (!uid) throw errors.missingParam('uid');
        const row = store.row(uid);
        if (!row) throw errors.notFound(`Invalid job uid: ${uid}`);
        return { job: toJob(row) };
      },
    });
    host.api.register({
      path: '/server/history/totals',
      verbs: ['GET'],
      role: 'viewer',
      description: 'Totals over every job since the last reset',
      handler: () => ({ job_totals: store.totals(), auxiliary_totals: [] }),
    });
    host.api.register({
      path: '/server/history/reset_totals',
      verbs: ['POST'],
      role: 'operator',
      description: 'Sets the totals back to zero; the jobs stay',
      handler: () => ({ last_totals: store.resetTotals(), last_auxiliary_totals: [] }),
    });
    host.api.register({
      path: '/server/analytics/summary',
      verbs: ['GET'],
      role: 'viewer',
      params: Type.Object({
        period: Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], {
          default: 'day',
        }),
        since: Type.Optional(
          Type.Number({ description: 'Unix seconds; default 30 days, 12 weeks or 12 months back' }),
        ),
        until: Type.Optional(Type.Number({ description: 'Unix seconds; default now' })),
      }),
      description: 'Prints, success rate, print hours and filament per period and per file',
      handler: ({ period, since, until }) => {
        const now = host.clock.wallMs() / 1000;
        return summarize(
          store.all(),
          period as AnalyticsPeriod,
          since ?? defaultSince(period, now),
          until ?? now,
        );
      },
    });

    return {
      get: (jobId) => {
        const row = store.row(jobId);
        return row ? toJob(row) : null;
      },
      list: (options = {}) => store.list(options).map(toJob),
      totals: () => store.totals(),
    };
  },
});
