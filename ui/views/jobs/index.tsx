// Job queue, print history and statistics (success rate, hours and filament per week, reprints per file).
import { useEffect } from 'preact/hooks';
import { baseName, dateTime, duration, filament, percent } from '../../format.ts';
import { jobActive, startPrint } from '../../state/job.ts';
import {
  analytics,
  deleteHistoryJob,
  historyAvailable,
  historyError,
  historyJobs,
  historyTotals,
  loadHistory,
  loadQueue,
  pauseQueue,
  queue,
  queueAvailable,
  queueError,
  removeQueued,
  startQueue,
  stats,
} from '../../state/jobs.ts';
import { printerReady } from '../../state/printer.ts';
import { ActionButton, Empty, Panel } from '../../widgets/common.tsx';

const STATUS_LABELS: Record<string, string> = {
  completed: 'Completed',
  cancelled: 'Cancelled',
  error: 'Failed',
  klippy_shutdown: 'Shutdown',
  klippy_disconnect: 'Disconnected',
  interrupted: 'Interrupted',
  in_progress: 'Printing',
};

const STATUS_TONES: Record<string, string> = { completed: 'ok', in_progress: 'busy', cancelled: 'warn' };

function QueuePanel() {
  if (!queueAvailable.value) {
    return (
      <Panel title="Job queue" icon="queue">
        <Empty>This daemon has no job queue yet.</Empty>
      </Panel>
    );
  }
  const q = queue.value;
  const paused = q?.queue_state === 'paused';
  return (
    <Panel
      title="Job queue"
      icon="queue"
      id="queue"
      actions={
        q ? (
          paused ? (
            <ActionButton
              class="small"
              variant="primary"
              icon="play"
              action={startQueue}
              done="Queue started"
            >
              Start queue
            </ActionButton>
          ) : (
            <ActionButton class="small" icon="pause" action={pauseQueue} done="Queue paused">
              Pause queue
            </ActionButton>
          )
        ) : null
      }
    >
      {queueError.value && !q ? <p class="error-text">{queueError.value}</p> : null}
      {q && q.queued_jobs.length === 0 ? (
        <Empty>Nothing queued. Queue files from the Files page.</Empty>
      ) : null}
      {q && q.queued_jobs.length > 0 ? (
        <ol class="queue-list">
          {q.queued_jobs.map((job) => (
            <li key={job.job_id}>
              <span class="file-name">{job.filename}</span>
              <span class="muted">queued {duration(job.time_in_queue)} ago</span>
              <ActionButton
                class="small ghost"
                icon="x"
                action={() => removeQueued([job.job_id])}
                aria-label={`Remove ${job.filename} from the queue`}
                done="Removed from the queue"
              />
            </li>
          ))}
        </ol>
      ) : null}
      {q ? <p class="muted">Queue {q.queue_state}</p> : null}
    </Panel>
  );
}

interface WeekRow {
  key: string;
  label: string;
  prints: number;
  hours: number;
  filamentM: number;
}

function StatsPanel() {
  const totals = historyTotals.value;
  const summary = analytics.value;
  const local = stats.value;
  if (!totals && !summary && local.finished === 0) return null;
  // The server's analytics when it has them (every job, not just the page of history loaded here).
  const successRate = summary ? summary.totals.success_rate : local.successRate;
  const completed = summary ? summary.totals.completed : local.completed;
  const finished = summary
    ? summary.totals.completed + summary.totals.cancelled + summary.totals.failed + summary.totals.interrupted
    : local.finished;
  const weeks: WeekRow[] = summary
    ? [...summary.periods]
        .reverse()
        .slice(0, 8)
        .map((p) => ({
          key: p.start,
          label: new Date(`${p.start}T00:00:00`).toLocaleDateString([], { month: 'short', day: 'numeric' }),
          prints: p.prints,
          hours: p.print_hours,
          filamentM: p.filament_mm / 1000,
        }))
    : local.weeks.map((w) => ({
        key: String(w.start),
        label: new Date(w.start * 1000).toLocaleDateString([], { month: 'short', day: 'numeric' }),
        prints: w.jobs,
        hours: w.hours,
        filamentM: w.filamentM,
      }));
  const maxHours = Math.max(1, ...weeks.map((w) => w.hours));
  const topFiles = summary ? summary.files.slice(0, 5) : [];
  return (
    <Panel title="Statistics" icon="layers" id="stats">
      <dl class="facts">
        {totals ? (
          <>
            <div>
              <dt>Jobs</dt>
              <dd>{totals.total_jobs}</dd>
            </div>
            <div>
              <dt>Print time</dt>
              <dd>{duration(totals.total_print_time)}</dd>
            </div>
            <div>
              <dt>Filament</dt>
              <dd>{filament(totals.total_filament_used)}</dd>
            </div>
            <div>
              <dt>Longest print</dt>
              <dd>{duration(totals.longest_print)}</dd>
            </div>
          </>
        ) : null}
        <div>
          <dt>Success rate</dt>
          <dd>
            {percent(successRate)}{' '}
            <span class="muted">
              ({completed}/{finished})
            </span>
          </dd>
        </div>
      </dl>
      {weeks.length > 0 ? (
        <table class="weeks">
          <caption class="sr-only">Per week</caption>
          <thead>
            <tr>
              <th scope="col">Week of</th>
              <th scope="col" class="num">
                Prints
              </th>
              <th scope="col">Hours</th>
              <th scope="col" class="num">
                Filament
              </th>
            </tr>
          </thead>
          <tbody>
            {weeks.map((w) => (
              <tr key={w.key}>
                <td>{w.label}</td>
                <td class="num">{w.prints}</td>
                <td>
                  <span class="bar" style={{ width: `${(w.hours / maxHours) * 100}%` }} />
                  {w.hours.toFixed(1)} h
                </td>
                <td class="num">{w.filamentM.toFixed(1)} m</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {topFiles.length > 0 ? (
        <>
          <h3>Most printed</h3>
          <ol class="queue-list">
            {topFiles.map((f) => (
              <li key={f.filename}>
                <span class="file-name">{baseName(f.filename)}</span>
                <span class="muted">
                  {f.prints}× · {percent(f.success_rate)} ok
                </span>
                <ActionButton
                  class="small"
                  icon="refresh"
                  disabled={jobActive.value || !printerReady.value}
                  action={() => startPrint(f.filename)}
                  confirm={{ title: `Print ${baseName(f.filename)} again?`, confirmLabel: 'Print' }}
                  done="Print started"
                  aria-label={`Print ${baseName(f.filename)} again`}
                >
                  Reprint
                </ActionButton>
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </Panel>
  );
}

function HistoryPanel() {
  if (!historyAvailable.value) {
    return (
      <Panel title="History" icon="jobs">
        <Empty>This daemon has no print history yet.</Empty>
      </Panel>
    );
  }
  const jobs = historyJobs.value;
  const perFile = stats.value.perFile;
  return (
    <Panel title="History" icon="jobs" id="history">
      {historyError.value && !jobs ? <p class="error-text">{historyError.value}</p> : null}
      {jobs && jobs.length === 0 ? <Empty>No prints yet.</Empty> : null}
      {jobs && jobs.length > 0 ? (
        <table class="history">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col" class="num">
                Time
              </th>
              <th scope="col" class="num">
                Filament
              </th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr key={job.job_id}>
                <th scope="row" class="file-name" title={job.filename}>
                  {baseName(job.filename)}
                  {(perFile.get(job.filename) ?? 0) > 1 ? (
                    <span class="muted file-sub">printed {perFile.get(job.filename)}×</span>
                  ) : null}
                </th>
                <td data-label="Status">
                  <span class={`badge ${STATUS_TONES[job.status] ?? 'bad'}`}>
                    {STATUS_LABELS[job.status] ?? job.status}
                  </span>
                </td>
                <td data-label="Started">{dateTime(job.start_time)}</td>
                <td class="num" data-label="Time">
                  {duration(job.print_duration)}
                </td>
                <td class="num" data-label="Filament">
                  {filament(job.filament_used)}
                </td>
                <td class="row-actions">
                  <ActionButton
                    class="small"
                    icon="refresh"
                    disabled={!job.exists || jobActive.value || !printerReady.value}
                    title={job.exists ? 'Print again' : 'The file no longer exists'}
                    action={() => startPrint(job.filename)}
                    confirm={{ title: `Print ${baseName(job.filename)} again?`, confirmLabel: 'Print' }}
                    done="Print started"
                  >
                    Reprint
                  </ActionButton>
                  <ActionButton
                    class="small ghost"
                    icon="trash"
                    aria-label="Delete from history"
                    action={() => deleteHistoryJob(job.job_id)}
                    confirm={{
                      title: 'Delete this job from the history?',
                      confirmLabel: 'Delete',
                      danger: true,
                    }}
                  />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Panel>
  );
}

export default function JobsView() {
  useEffect(() => {
    void loadQueue();
    void loadHistory();
  }, []);
  return (
    <div class="grid two">
      <QueuePanel />
      <StatsPanel />
      <div class="span-all">
        <HistoryPanel />
      </div>
    </div>
  );
}
