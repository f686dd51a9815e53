// Print analytics from the job history: prints, success rate, hours and filament per day, week or month
// and per file, in the host's local time (what the person at the printer calls "today").

export type AnalyticsPeriod = 'day' | 'week' | 'month';

/** The history columns analytics reads. */
export interface HistoryFacts {
  filename: string;
  status: string;
  /** Unix seconds. */
  start_time: number;
  print_duration: number;
  filament_used: number;
}

export interface Figures {
  prints: number;
  completed: number;
  cancelled: number;
  /** error, klippy_shutdown, klippy_disconnect */
  failed: number;
  interrupted: number;
  /** completed / finished prints (in-progress ones are left out); null with nothing finished. */
  success_rate: number | null;
  print_hours: number;
  filament_mm: number;
}

export interface PeriodFigures extends Figures {
  /** Local date the period starts on, `YYYY-MM-DD` (weeks start on Monday). */
  start: string;
}

export interface FileFigures extends Figures {
  filename: string;
  /** Unix seconds of the newest print. */
  last_printed: number;
}

export interface AnalyticsSummary {
  period: AnalyticsPeriod;
  totals: Figures;
  /** Oldest first; periods without prints are included, so charts get an even axis. */
  periods: PeriodFigures[];
  /** Most printed first. */
  files: FileFigures[];
}

const FAILED = new Set(['error', 'klippy_shutdown', 'klippy_disconnect']);

function empty(): Figures {
  return {
    prints: 0,
    completed: 0,
    cancelled: 0,
    failed: 0,
    interrupted: 0,
    success_rate: null,
    print_hours: 0,
    filament_mm: 0,
  };
}

function add(figures: Figures, job: HistoryFacts): void {
  figures.prints++;
  if (job.status === 'completed') figures.completed++;
  else if (job.status === 'cancelled') figures.cancelled++;
  else if (job.status === 'interrupted') figures.interrupted++;
  else if (FAILED.has(job.status)) figures.failed++;
  figures.print_hours += job.print_duration / 3600;
  figures.filament_mm += job.filament_used;
}

function finish<F extends Figures>(figures: F): F {
  const finished = figures.completed + figures.cancelled + figures.failed + figures.interrupted;
  figures.success_rate = finished > 0 ? round(figures.completed / finished, 4) : null;
  figures.print_hours = round(figures.print_hours, 4);
  figures.filament_mm = round(figures.filament_mm, 2);
  return figures;
}

function round(value: number, digits: number): number {
  return Math.round(value * 10 ** digits) / 10 ** digits;
}

const pad = (n: number) => String(n).padStart(2, '0');
const dateLabel = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** Local midnight of the first day of the period holding `time`. */
export function periodStart(timeMs: number, period: AnalyticsPeriod): Date {
  const d = new Date(timeMs);
  d.setHours(0, 0, 0, 0);
  if (period === 'week') d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  else if (period === 'month') d.setDate(1);
  return d;
}

function nextPeriod(d: Date, period: AnalyticsPeriod): Date {
  const next = new Date(d);
  if (period === 'day') next.setDate(next.getDate() + 1);
  else if (period === 'week') next.setDate(next.getDate() + 7);
  else next.setMonth(next.getMonth() + 1);
  return next;
}

/**
 * Figures for the jobs that started between `sinceS` and `untilS` (Unix seconds), bucketed by period.
 * `jobs` may come in any order.
 */
export function summarize(
  jobs: readonly HistoryFacts[],
  period: AnalyticsPeriod,
  sinceS: number,
  untilS: number,
): AnalyticsSummary {
  const totals = empty();
  const buckets = new Map<string, PeriodFigures>();
  const files = new Map<string, FileFigures>();
  for (let d = periodStart(sinceS * 1000, period); d.getTime() <= untilS * 1000; d = nextPeriod(d, period)) {
    buckets.set(dateLabel(d), { start: dateLabel(d), ...empty() });
  }
  for (const job of jobs) {
    if (job.start_time < sinceS || job.start_time > untilS || job.status === 'in_progress') continue;
    add(totals, job);
    const label = dateLabel(periodStart(job.start_time * 1000, period));
    let bucket = buckets.get(label);
    if (!bucket) {
      bucket = { start: label, ...empty() };
      buckets.set(label, bucket);
    }
    add(bucket, job);
    let file = files.get(job.filename);
    if (!file) {
      file = { filename: job.filename, last_printed: job.start_time, ...empty() };
      files.set(job.filename, file);
    }
    add(file, job);
    file.last_printed = Math.max(file.last_printed, job.start_time);
  }
  return {
    period,
    totals: finish(totals),
    periods: [...buckets.values()].sort((a, b) => a.start.localeCompare(b.start)).map(finish),
    files: [...files.values()]
      .map(finish)
      .sort((a, b) => b.prints - a.prints || b.last_printed - a.last_printed),
  };
}

/** The default window: the last 30 days, 12 weeks or 12 months up to now. */
export function defaultSince(period: AnalyticsPeriod, nowS: number): number {
  const start = periodStart(nowS * 1000, period);
  if (period === 'day') start.setDate(start.getDate() - 29);
  else if (period === 'week') start.setDate(start.getDate() - 7 * 11);
  else start.setMonth(start.getMonth() - 11);
  return start.getTime() / 1000;
}
