// The `job_queue` component: Moonraker's FIFO of files to print next, kept in SQLite across restarts, with
// an optional automatic start of the next job. Uploads with print=true land here when the printer is busy.
import { randomBytes } from 'node:crypto';
import { type Static, Type } from '@sinclair/typebox';
import type { TimerHandle } from '../core/clock.ts';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { describeError, errors } from '../core/errors.ts';
import type { PrintRequestResult } from './files/file-manager.ts';

export type QueueState = 'ready' | 'loading' | 'starting' | 'paused';

export interface QueuedJob {
  filename: string;
  job_id: string;
  /** Unix seconds. */
  time_added: number;
  time_in_queue: number;
}

export interface JobQueueStatus {
  queued_jobs: QueuedJob[];
  queue_state: QueueState;
}

export interface JobQueue extends ComponentInstance {
  queueStatus(): JobQueueStatus;
  enqueue(filenames: string[], reset?: boolean): JobQueueStatus;
  /** Starts the file now when the printer is free, else queues it (uploads with print=true). */
  printOrQueue(filename: string): Promise<PrintRequestResult>;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    job_queue: JobQueue;
  }
}

export const jobQueueConfig = Type.Object({
  load_on_startup: Type.Boolean({
    default: false,
    description: 'Start the first queued job once the printer is ready after Brim starts.',
  }),
  automatic_transition: Type.Boolean({
    default: false,
    description:
      'Start the next queued job when one completes. Off by default: the finished part is still on the bed.',
  }),
  job_transition_delay: Type.Number({
    default: 0.01,
    exclusiveMinimum: 0,
    maximum: 86_400,
    description: 'Seconds between a completed job and loading the next one.',
  }),
  job_transition_gcode: Type.String({
    default: '',
    description: 'G-code run between two queued jobs (e.g. to clear the bed), before the next one starts.',
  }),
});

export type JobQueueConfig = Static<typeof jobQueueConfig>;

/** Moonraker waits this long after the printer is ready before loading the first job. */
const LOAD_ON_STARTUP_DELAY_MS = 1000;

interface Row {
  queue_id: string;
  filename: string;
  time_added: number;
}

export const jobQueueComponent = defineComponent({
  name: 'job_queue',
  needs: ['store', 'virtual_sdcard', 'printer', 'file_manager'],
  advertiseAs: 'job_queue',
  config: jobQueueConfig,
  create(host): JobQueue {
    const db = host.db;
    const runner = host.lookup('virtual_sdcard');
    const printer = host.lookup('printer');
    const files = host.lookup('file_manager');
    const config = host.config;
    let state: QueueState = config.automatic_transition ? 'ready' : 'paused';
    let popTimer: TimerHandle | null = null;

    const rows = (): Row[] =>
      db.prepare<[], Row>('SELECT queue_id, filename, time_added FROM job_queue ORDER BY position').all();
    const nowS = () => host.clock.wallMs() / 1000;
    const jobs = (): QueuedJob[] => {
      const now = nowS();
      return rows().map((r) => ({
        filename: r.filename,
        job_id: r.queue_id,
        time_added: r.time_added,
        time_in_queue: Math.max(0, now - r.time_added),
      }));
    };
    const currentState = (): QueueState => state;
    const status = (): JobQueueStatus => ({ queued_jobs: jobs(), queue_state: state });
    const notify = (action: 'state_changed' | 'jobs_added' | 'jobs_removed' | 'job_loaded') =>
      host.api.notify('notify_job_queue_changed', [
        { action, updated_queue: action === 'state_changed' ? null : jobs(), queue_state: state },
      ]);
    const setState = (next: QueueState) => {
      if (next === state) return;
      state = next;
      notify('state_changed');
    };
    const canPrint = () => !runner.busy() && printer.webhooksState() === 'ready';
    const cancelPop = () => {
      popTimer?.cancel();
      popTimer = null;
    };
    const schedulePop = (delayMs: number, transition: boolean) => {
      cancelPop();
      setState('loading');
      popTimer = host.clock.setTimeout(() => {
        popTimer = null;
        void pop(transition);
      }, delayMs);
    };

    /** Moonraker's _pop_job: transition G-code, then start the head of the queue. */
    const pop = async (transition: boolean) => {
      if (state === 'paused') return;
      const head = rows()[0];
      if (!head) {
        setState(config.automatic_transition ? 'ready' : 'paused');
        return;
      }
      if (!canPrint() || state !== 'loading') {
        setState('paused');
        return;
      }
      try {
        if (transition && config.job_transition_gcode.trim() !== '') {
          await printer.runScript(config.job_transition_gcode, 'macro');
          if (currentState() !== 'loading')
            throw new Error('the queue state changed during the transition G-code');
        }
        setState('starting');
        await runner.startPrint(head.filename);
      } catch (error) {
        host.log.error({ err: error, file: head.filename }, 'loading the next queued job failed');
        host.warn(`Job queue: could not start ${head.filename}: ${describeError(error)}`);
        setState('paused');
        return;
      }
      db.prepare('DELETE FROM job_queue WHERE queue_id = ?').run(head.queue_id);
      // The queue may have been paused while the print started.
      if (currentState() === 'starting')
        state = rows().length === 0 || config.automatic_transition ? 'ready' : 'paused';
      notify('job_loaded');
    };

    const enqueue = (filenames: string[], reset = false): JobQueueStatus => {
      // Every file must exist before any is queued (Moonraker's rule).
      for (const name of filenames) files.resolveGcode(name);
      db.transaction(() => {
        if (reset) db.prepare('DELETE FROM job_queue').run();
        const last = db.prepare<[], { p: number | null }>('SELECT MAX(position) AS p FROM job_queue').get();
        let position = (last?.p ?? 0) + 1;
        const insert = db.prepare(
          'INSERT INTO job_queue (queue_id, position, filename, time_added) VALUES (?, ?, ?, ?)',
        );
        for (const name of filenames)
          insert.run(randomBytes(8).toString('hex').toUpperCase(), position++, name, nowS());
      })();
      notify('jobs_added');
      return status();
    };

    host.bus.on('job:state_changed', host.name, ({ current }) => {
      if (current === 'complete' && state === 'ready' && rows().length > 0)
        schedulePop(config.job_transition_delay * 1000, true);
      else if ((current === 'error' || current === 'cancelled') && rows().length > 0) {
        cancelPop();
        setState('paused');
      }
    });
    if (config.load_on_startup) {
      host.bus.on('printer:firmware_identified', host.name, () => {
        if (rows().length > 0 && (state === 'ready' || state === 'paused') && !runner.busy())
          schedulePop(LOAD_ON_STARTUP_DELAY_MS, false);
      });
    }

    const splitList = (value: string | string[]): string[] =>
      (Array.isArray(value) ? value : value.split(',')).map((s) => s.trim()).filter((s) => s !== '');
    const list = Type.Union([Type.String(), Type.Array(Type.String())]);

    host.api.register({
      path: '/server/job_queue/status',
      verbs: ['GET'],
      role: 'viewer',
      description: 'Queued jobs and the queue state',
      handler: () => status(),
    });
    host.api.register({
      path: '/server/job_queue/job',
      verbs: ['POST', 'DELETE'],
      role: 'operator',
      params: Type.Object({
        filenames: Type.Optional(list),
        reset: Type.Optional(Type.Boolean()),
        job_ids: Type.Optional(list),
        all: Type.Optional(Type.Boolean()),
      }),
      description:
        'Adds files to the end of the queue (POST filenames) or removes jobs (DELETE job_ids or all)',
      handler: ({ filenames, reset, job_ids, all }, context) => {
        if (context.verb === 'POST') {
          if (filenames === undefined) throw errors.missingParam('filenames');
          return enqueue(splitList(filenames), reset ?? false);
        }
        if (rows().length === 0) return status();
        if (all) db.prepare('DELETE FROM job_queue').run();
        else if (job_ids !== undefined) {
          const remove = db.prepare('DELETE FROM job_queue WHERE queue_id = ?');
          for (const id of splitList(job_ids)) remove.run(id);
        } else return status();
        notify('jobs_removed');
        return status();
      },
    });
    host.api.register({
      path: '/server/job_queue/pause',
      verbs: ['POST'],
      role: 'operator',
      description: 'Stops the queue from loading the next job',
      handler: () => {
        cancelPop();
        setState('paused');
        return status();
      },
    });
    host.api.register({
      path: '/server/job_queue/start',
      verbs: ['POST'],
      role: 'operator',
      description: 'Starts the next job now if the printer is free; otherwise sets the queue ready',
      handler: () => {
        if (state !== 'loading') {
          if (rows().length > 0 && canPrint()) schedulePop(10, true);
          else setState('ready');
        }
        return status();
      },
    });
    host.api.register({
      path: '/server/job_queue/jump',
      verbs: ['POST'],
      role: 'operator',
      params: Type.Object({ job_id: Type.String({ minLength: 1 }) }),
      description: 'Moves a queued job to the front',
      handler: ({ job_id }) => {
        const found = rows().some((r) => r.queue_id === job_id);
        if (!found) throw errors.badRequest(`Invalid job id: ${job_id}`);
        db.prepare(
          'UPDATE job_queue SET position = (SELECT MIN(position) FROM job_queue) - 1 WHERE queue_id = ?',
        ).run(job_id);
        // Moonraker sends no notification for a jump; clients read the reply.
        return status();
      },
    });

    const printOrQueue = async (filename: string): Promise<PrintRequestResult> => {
      if (canPrint()) {
        await runner.startPrint(filename);
        return { started: true, queued: false };
      }
      enqueue([filename]);
      return { started: false, queued: true };
    };
    files.onPrintRequested(printOrQueue);

    return {
      queueStatus: status,
      enqueue,
      printOrQueue,
      stop() {
        cancelPop();
      },
    };
  },
});
