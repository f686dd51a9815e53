// Job queue and print history (Moonraker's server.job_queue.* and server.history.*), reloaded on their
// change notifications; statistics are computed from the history list.
import { computed, signal } from '@preact/signals';
import type { AnalyticsSummary } from '../../server/jobs/analytics.ts';
import { METHOD_NOT_FOUND, RpcError } from '../api/rpc.ts';
import { onConnected, onNotification, rpc } from '../api/session.ts';
import { errorText } from './toasts.ts';

export interface QueuedJob {
  job_id: string;
  filename: string;
  time_added: number;
  time_in_queue: number;
}

export interface QueueStatus {
  queued_jobs: QueuedJob[];
  queue_state: 'ready' | 'loading' | 'starting' | 'paused';
}

export interface HistoryJob {
  job_id: string;
  filename: string;
  status:
    | 'completed'
    | 'cancelled'
    | 'error'
    | 'klippy_shutdown'
    | 'klippy_disconnect'
    | 'interrupted'
    | 'in_progress'
    | string;
  start_time: number;
  end_time: number | null;
  print_duration: number;
  total_duration: number;
  filament_used: number;
  exists: boolean;
  metadata?: { estimated_time?: number; filament_total?: number; thumbnails?: unknown[] };
}

export interface HistoryTotals {
  total_jobs: number;
  total_time: number;
  total_print_time: number;
  total_filament_used: number;
  longest_job: number;
  longest_print: number;
}

export const queue = signal<QueueStatus | null>(null);
export const queueError = signal('');
export const queueAvailable = signal(true);
export const historyJobs = signal<HistoryJob[] | null>(null);
export const historyTotals = signal<HistoryTotals | null>(null);
export const historyError = signal('');
export const historyAvailable = signal(true);

const wanted = { queue: false, history: false };

export async function loadQueue(): Promise<void> {
  wanted.queue = true;
  try {
    queue.value = await rpc.query<QueueStatus>('server.job_queue.status');
    queueError.value = '';
    queueAvailable.value = true;
  } catch (error) {
    if (error instanceof RpcError && error.code === METHOD_NOT_FOUND) queueAvailable.value = false;
    queueError.value = errorText(error);
  }
}

// Brim's server.analytics.summary (server/jobs/analytics.ts); the UI falls back to its own sums.
export const analytics = signal<AnalyticsSummary | null>(null);

async function loadAnalytics(): Promise<void> {
  try {
    analytics.value = await rpc.query<AnalyticsSummary>('server.analytics.summary', { period: 'week' });
  } catch {
    analytics.value = null;
  }
}

const HISTORY_LIMIT = 200;

export async function loadHistory(): Promise<void> {
  wanted.history = true;
  try {
    const [list, totals] = await Promise.all([
      rpc.query<{ count: number; jobs: HistoryJob[] }>('server.history.list', {
        limit: HISTORY_LIMIT,
        order: 'desc',
      }),
      rpc.query<{ job_totals: HistoryTotals }>('server.history.totals').catch(() => null),
    ]);
    historyJobs.value = list.jobs;
    void loadAnalytics();
    historyTotals.value = totals?.job_totals ?? null;
    historyError.value = '';
    historyAvailable.value = true;
  } catch (error) {
    if (error instanceof RpcError && error.code === METHOD_NOT_FOUND) historyAvailable.value = false;
    historyError.value = errorText(error);
  }
}

onNotification('notify_job_queue_changed', () => {
  if (wanted.queue) void loadQueue();
});
onNotification('notify_history_changed', () => {
  if (wanted.history) void loadHistory();
});
onConnected(() => {
  if (wanted.queue) void loadQueue();
  if (wanted.history) void loadHistory();
});

export function queueFiles(filenames: string[]): Promise<unknown> {
  return rpc.call('server.job_queue.post_job', { filenames });
}

export function removeQueued(jobIds: string[]): Promise<unknown> {
  return rpc.call('server.job_queue.delete_job', { job_ids: jobIds });
}

export function startQueue(): Promise<unknown> {
  return rpc.call('server.job_queue.start');
}

export function pauseQueue(): Promise<unknown> {
  return rpc.call('server.job_queue.pause');
}

export function deleteHistoryJob(uid: string): Promise<unknown> {
  return rpc.call('server.history.delete_job', { uid });
}

// --- statistics from the list -------------------------------------------------------------------

export interface WeekStats {
  /** Monday 00:00 local time, Unix seconds. */
  start: number;
  jobs: number;
  hours: number;
  filamentM: number;
}

function weekStart(unixS: number): number {
  const d = new Date(unixS * 1000);
  const day = (d.getDay() + 6) % 7;
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() - day);
  return d.getTime() / 1000;
}

export const stats = computed(() => {
  const jobs = (historyJobs.value ?? []).filter((j) => j.status !== 'in_progress');
  const finished = jobs.length;
  const completed = jobs.filter((j) => j.status === 'completed').length;
  const weeks = new Map<number, WeekStats>();
  for (const job of jobs) {
    const start = weekStart(job.start_time);
    const w = weeks.get(start) ?? { start, jobs: 0, hours: 0, filamentM: 0 };
    w.jobs += 1;
    w.hours += job.print_duration / 3600;
    w.filamentM += job.filament_used / 1000;
    weeks.set(start, w);
  }
  const perFile = new Map<string, number>();
  for (const job of jobs) perFile.set(job.filename, (perFile.get(job.filename) ?? 0) + 1);
  return {
    finished,
    completed,
    successRate: finished > 0 ? completed / finished : null,
    weeks: [...weeks.values()].sort((a, b) => b.start - a.start).slice(0, 8),
    perFile,
  };
});
