// The `file_manager` component: Moonraker's file roots, uploads, metadata and filelist notifications.
import { defineComponent } from '../../core/component.ts';
import type { MotionLimits } from './analyse-file.ts';
import { AnalysisPool } from './analysis-pool.ts';
import { registerFileEndpoints } from './endpoints.ts';
import type { FileManager } from './file-manager.ts';
import { FileManagerService } from './manager.ts';
import { MetadataStore } from './metadata-store.ts';

/** A change by another program is reported once the folder has been quiet this long. */
const WATCH_QUIET_MS = 250;
/** Generous for a 100 MB file on a Pi Zero; a hung analysis must not hold the queue forever. */
const ANALYSIS_TIMEOUT_MS = 10 * 60_000;
const ANALYSIS_HEAP_MB = 512;

export const fileManagerComponent = defineComponent({
  name: 'file_manager',
  needs: ['store'],
  advertiseAs: 'file_manager',
  create(host): FileManager {
    const pool = new AnalysisPool({
      log: host.log,
      timeoutMs: ANALYSIS_TIMEOUT_MS,
      maxHeapMb: ANALYSIS_HEAP_MB,
    });
    const service = new FileManagerService({
      host,
      roots: [
        { name: 'gcodes', path: host.paths.gcodes, writable: true },
        { name: 'config', path: host.paths.config, writable: true },
        { name: 'logs', path: host.paths.logs, writable: false },
      ],
      store: new MetadataStore(host.db),
      pool,
      limits: () => printerLimits(host.runtime.config().printer),
      watchQuietMs: WATCH_QUIET_MS,
    });
    registerFileEndpoints(host, service);
    return service;
  },
});

/** The time estimate uses the [printer] table's limits when the printer component has one. */
function printerLimits(table: Record<string, unknown> | undefined): MotionLimits {
  const number = (key: string, fallback: number) => {
    const value = table?.[key];
    return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
  };
  return {
    maxVelocity: number('max_velocity', 300),
    maxAccel: number('max_accel', 3000),
    squareCornerVelocity: number('square_corner_velocity', 5),
  };
}
