// The `power_loss_recovery` component: durable checkpoints while printing (fsynced SQLite rows, at layer
// changes and every few seconds), and resuming an interrupted job from its last checkpoint: reheat, home X
// and Y only, restore Z and E, prime, continue. Prusa's power-panic recovery is the model; Moonraker has none.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type Static, Type } from '@sinclair/typebox';
import Database from 'better-sqlite3';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { errors } from '../core/errors.ts';
import { type GcodeStateSnapshot, gnum, modeLines } from './gcode-state.ts';
import type { Checkpoint, CheckpointSink } from './runner.ts';

export const recoveryConfig = Type.Object({
  enabled: Type.Boolean({
    default: true,
    description:
      'Write checkpoints while printing and offer to resume a print cut short by a power loss or crash.',
  }),
  checkpoint_interval_s: Type.Number({
    default: 5,
    minimum: 0.2,
    maximum: 600,
    description:
      'Longest time between checkpoints while printing (there is also one at every layer change). What ran after the last one runs again on resume.',
  }),
  z_lift_mm: Type.Number({
    default: 5,
    minimum: 0,
    maximum: 100,
    description: 'How far the nozzle is lifted off the print before reheating and homing X and Y on resume.',
  }),
  prime_length_mm: Type.Number({
    default: 3,
    minimum: 0,
    maximum: 100,
    description:
      'Filament pushed out at the homed position before returning to the print, to refill the nozzle.',
  }),
  speed_xy: Type.Number({
    default: 50,
    minimum: 1,
    maximum: 1000,
    description: 'Speed in mm/s of the moves back to the print on resume.',
  }),
  speed_z: Type.Number({
    default: 5,
    minimum: 0.1,
    maximum: 100,
    description: 'Speed in mm/s of the Z lift and the return to the checkpoint height on resume.',
  }),
});

export type RecoveryConfig = Static<typeof recoveryConfig>;

/** A job that can be resumed, or could be but for `reason`. */
export interface InterruptedJob {
  job_id: string;
  filename: string;
  status: string;
  file_position: number;
  file_size: number;
  progress: number;
  /** Height the print reached, mm. */
  z: number;
  layer: number | null;
  total_layer: number | null;
  print_duration: number;
  filament_used: number;
  /** Unix seconds of the checkpoint. */
  checkpoint_time: number;
  resumable: boolean;
  /** Why it cannot be resumed, or null. */
  reason: string | null;
}

export interface Recovery extends ComponentInstance {
  interrupted(): Promise<InterruptedJob[]>;
  resume(jobId: string): Promise<void>;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    power_loss_recovery: Recovery;
  }
}

/** History statuses a checkpoint may be resumed from: the print stopped without anyone asking it to. */
const RESUMABLE = new Set(['interrupted', 'error', 'klippy_shutdown', 'klippy_disconnect']);
const PRIME_FEED = 300;

/**
 * What a freshly booted printer needs before the file continues at the checkpoint. Z is unknown after a
 * power loss and homing it would crash into the print, so the nozzle is declared to be at the checkpoint
 * height and lifted; X and Y are homed; the nozzle primes away from the print and comes back.
 */
export function resumePreamble(cp: Checkpoint, config: RecoveryConfig, hotends: number): string[] {
  const s: GcodeStateSnapshot = cp.state;
  const [x, y, z, e] = s.position;
  const machineX = x + s.offset[0];
  const machineY = y + s.offset[1];
  const xy = gnum(config.speed_xy * 60);
  const zs = gnum(config.speed_z * 60);
  const lines: string[] = [`G92 Z${gnum(z)}`];
  if (config.z_lift_mm > 0) lines.push('G91', `G1 Z${gnum(config.z_lift_mm)} F${zs}`, 'G90');
  const tool = (i: number) => (hotends > 1 ? ` T${i}` : '');
  if (s.bedTarget > 0) lines.push(`M140 S${gnum(s.bedTarget)}`);
  s.hotendTargets.forEach((t, i) => {
    if (t > 0 && i < hotends) lines.push(`M104${tool(i)} S${gnum(t)}`);
  });
  if (s.bedTarget > 0) lines.push(`M190 S${gnum(s.bedTarget)}`);
  s.hotendTargets.forEach((t, i) => {
    if (t > 0 && i < hotends) lines.push(`M109${tool(i)} S${gnum(t)}`);
  });
  if (hotends > 1 && s.tool > 0) lines.push(`T${s.tool}`);
  lines.push('G28 X Y', 'G90');
  if (config.prime_length_mm > 0) lines.push('M83', `G1 E${gnum(config.prime_length_mm)} F${PRIME_FEED}`);
  lines.push(`G1 X${gnum(machineX)} Y${gnum(machineY)} F${xy}`, `G1 Z${gnum(z)} F${zs}`);
  if (s.offset[0] !== 0 || s.offset[1] !== 0) lines.push(`G92 X${gnum(x)} Y${gnum(y)}`);
  lines.push(`G92 E${gnum(e)}`, ...modeLines(s), `G1 F${gnum(s.feedrate)}`);
  lines.push(s.fan > 0 ? `M106 S${s.fan}` : 'M107');
  if (s.speedPercent !== 100) lines.push(`M220 S${gnum(s.speedPercent)}`);
  if (s.flowPercent !== 100) lines.push(`M221 S${gnum(s.flowPercent)}`);
  return lines;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Checkpoints go through a connection of their own with synchronous=FULL: each one is on disk when written. */
class CheckpointStore implements CheckpointSink {
  private readonly db: Database.Database;
  private readonly upsert: Database.Statement;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('synchronous = FULL');
    this.upsert = this.db.prepare(
      `INSERT INTO job_checkpoints (job_id, filename, file_position, checkpoint, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (job_id) DO UPDATE SET filename = excluded.filename, file_position = excluded.file_position,
         checkpoint = excluded.checkpoint, updated_at = excluded.updated_at`,
    );
  }

  write(cp: Checkpoint): void {
    this.upsert.run(cp.job_id, cp.filename, cp.file_position, JSON.stringify(cp), cp.time);
  }

  read(jobId: string): Checkpoint | null {
    const row = this.db
      .prepare<[string], { checkpoint: string }>('SELECT checkpoint FROM job_checkpoints WHERE job_id = ?')
      .get(jobId);
    return row ? (JSON.parse(row.checkpoint) as Checkpoint) : null;
  }

  /** Checkpoints of jobs history says stopped on their own, newest first. */
  resumable(): { checkpoint: Checkpoint; status: string }[] {
    return this.db
      .prepare<[], { checkpoint: string; status: string }>(
        `SELECT c.checkpoint, h.status FROM job_checkpoints c JOIN job_history h ON h.job_id = c.job_id
         ORDER BY c.updated_at DESC`,
      )
      .all()
      .filter((r) => RESUMABLE.has(r.status))
      .map((r) => ({ checkpoint: JSON.parse(r.checkpoint) as Checkpoint, status: r.status }));
  }

  status(jobId: string): string | null {
    return (
      this.db
        .prepare<[string], { status: string }>('SELECT status FROM job_history WHERE job_id = ?')
        .get(jobId)?.status ?? null
    );
  }

  remove(jobId: string): void {
    this.db.prepare('DELETE FROM job_checkpoints WHERE job_id = ?').run(jobId);
  }

  /** Only the newest job stays resumable: starting another print gives up the older ones. */
  removeOthers(jobId: string): void {
    this.db.prepare('DELETE FROM job_checkpoints WHERE job_id != ?').run(jobId);
  }

  close(): void {
    this.db.close();
  }
}

export const recoveryComponent = defineComponent({
  name: 'power_loss_recovery',
  needs: ['store', 'history', 'virtual_sdcard', 'printer', 'file_manager'],
  config: recoveryConfig,
  create(host): Recovery {
    const config = host.config;
    const runner = host.lookup('virtual_sdcard');
    const printer = host.lookup('printer');
    const files = host.lookup('file_manager');
    const store = new CheckpointStore(host.lookup('store').file);

    if (config.enabled) runner.setCheckpointSink(store, config.checkpoint_interval_s);
    host.bus.on('job:state_changed', host.name, ({ previous, current, job }) => {
      if (current === 'printing' && previous !== 'paused') store.removeOthers(job.job_id);
      // A finished or cancelled job has nothing left to resume; an error keeps its checkpoint.
      if (current === 'complete' || current === 'cancelled') store.remove(job.job_id);
    });

    /** Why this checkpoint cannot be resumed now, or null. */
    const refusal = async (
      cp: Checkpoint,
      status: string | null,
      checkHash: boolean,
    ): Promise<string | null> => {
      if (!status || !RESUMABLE.has(status)) return `job ${cp.job_id} is ${status ?? 'not in the history'}`;
      const kinematics = host.runtime.config().printer?.kinematics;
      if (kinematics === 'delta')
        return 'a delta printer cannot home X and Y without moving Z into the print';
      let path: string;
      try {
        path = files.resolveGcode(cp.filename);
      } catch (error) {
        return `gcodes/${cp.filename} is no longer available (${(error as Error).message})`;
      }
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(path);
      } catch {
        return `gcodes/${cp.filename} no longer exists`;
      }
      if (info.size !== cp.file.size)
        return `gcodes/${cp.filename} changed since the job started (size ${cp.file.size} → ${info.size} bytes)`;
      if (cp.file.sha256 && checkHash) {
        if ((await sha256(path)) !== cp.file.sha256)
          return `gcodes/${cp.filename} changed since the job started (its SHA-256 differs)`;
      } else if (!cp.file.sha256 && Math.abs(info.mtimeMs - cp.file.mtimeMs) >= 1) {
        return `gcodes/${cp.filename} changed since the job started (modified ${new Date(info.mtimeMs).toISOString()})`;
      }
      return null;
    };

    const interrupted = async (): Promise<InterruptedJob[]> => {
      const out: InterruptedJob[] = [];
      for (const { checkpoint: cp, status } of store.resumable()) {
        const reason = await refusal(cp, status, false);
        out.push({
          job_id: cp.job_id,
          filename: cp.filename,
          status,
          file_position: cp.file_position,
          file_size: cp.file.size,
          progress: cp.file.size > 0 ? Math.round((cp.file_position / cp.file.size) * 1e4) / 1e4 : 0,
          z: cp.state.position[2],
          layer: cp.layer.current,
          total_layer: cp.layer.total,
          print_duration: cp.print_duration,
          filament_used: cp.filament_used,
          checkpoint_time: cp.time,
          resumable: reason === null,
          reason,
        });
      }
      return out;
    };

    const resume = async (jobId: string): Promise<void> => {
      const cp = store.read(jobId);
      if (!cp) throw errors.notFound(`No checkpoint for job ${jobId}`);
      if (runner.busy()) throw errors.badRequest(`Cannot resume job ${jobId}: a print is in progress`);
      if (printer.webhooksState() !== 'ready')
        throw errors.badRequest(`Cannot resume job ${jobId}: the printer is not ready`);
      const reason = await refusal(cp, store.status(jobId), true);
      if (reason) throw errors.conflict(`Cannot resume job ${jobId}: ${reason}`);
      host.log.info(
        { job: jobId, file: cp.filename, position: cp.file_position },
        'resuming an interrupted job',
      );
      await runner.resumeFromCheckpoint(cp, resumePreamble(cp, config, printer.model.extruders.length));
    };

    host.api.register({
      path: '/printer/print/interrupted',
      verbs: ['GET'],
      role: 'viewer',
      description:
        'Jobs a power loss, crash or printer fault cut short, with their checkpoint and whether they can resume',
      handler: async () => ({ jobs: await interrupted() }),
    });
    host.api.register({
      path: '/printer/print/resume_interrupted',
      verbs: ['POST'],
      role: 'operator',
      params: Type.Object({ job_id: Type.String({ minLength: 1 }) }),
      description:
        'Continues an interrupted job from its last checkpoint: reheats, homes X and Y, restores Z and E, primes; refuses when the file changed',
      handler: async ({ job_id }) => {
        await resume(job_id);
        return 'ok';
      },
    });

    return {
      interrupted,
      resume,
      stop() {
        // Stopping mid-print leaves the job in progress; history calls it interrupted at the next start.
        const last = config.enabled ? runner.checkpoint() : null;
        if (last) store.write(last);
        runner.setCheckpointSink(null, config.checkpoint_interval_s);
        store.close();
      },
    };
  },
});
