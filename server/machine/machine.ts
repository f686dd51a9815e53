// The `machine` component: machine.proc_stats and the once-a-second notify_proc_stat_update.

import type { TimerHandle } from '../core/clock.ts';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import {
  type HostSample,
  type ProcessSample,
  ProcStatsSampler,
  readThrottledState,
  type ThrottledState,
} from './proc-stats.ts';

/** Moonraker keeps this many one-second samples of its own process. */
const PROCESS_HISTORY = 30;

export interface Machine extends ComponentInstance {
  procStats(): Record<string, unknown>;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    machine: Machine;
  }
}

export const machineComponent = defineComponent({
  name: 'machine',
  needs: ['server'],
  advertiseAs: 'machine',
  create(host): Machine {
    const sampler = new ProcStatsSampler();
    const history: ProcessSample[] = [];
    let latest: HostSample | null = null;
    let throttled: ThrottledState | null = null;
    let ticker: TimerHandle | null = null;
    let sampling = false;
    const websocketConnections = () => host.lookup('server').websocketCount();

    const tick = async () => {
      if (sampling) return;
      sampling = true;
      try {
        latest = await sampler.sample(host.clock.wallMs() / 1000);
        history.push(latest.moonraker_stats);
        if (history.length > PROCESS_HISTORY) history.shift();
        host.api.notify('notify_proc_stat_update', [
          {
            moonraker_stats: latest.moonraker_stats,
            cpu_temp: latest.cpu_temp,
            network: latest.network,
            system_cpu_usage: latest.system_cpu_usage,
            system_memory: latest.system_memory,
            websocket_connections: websocketConnections(),
          },
        ]);
      } catch (error) {
        host.log.warn({ err: error }, 'proc stats sample failed');
      } finally {
        sampling = false;
      }
    };

    const machine: Machine = {
      procStats: () => ({
        moonraker_stats: [...history],
        throttled_state: throttled,
        cpu_temp: latest?.cpu_temp ?? null,
        network: latest?.network ?? {},
        system_cpu_usage: latest?.system_cpu_usage ?? {},
        system_memory: latest?.system_memory ?? { total: 0, available: 0, used: 0 },
        system_uptime: latest?.system_uptime ?? 0,
        websocket_connections: websocketConnections(),
      }),
      async start() {
        throttled = await readThrottledState();
        await tick();
        // Mainsail closes the socket after 10 s without a frame; a 1 Hz notify keeps it open.
        ticker = host.clock.setInterval(() => void tick(), 1000);
      },
      stop() {
        ticker?.cancel();
      },
    };

    host.api.register({
      path: '/machine/proc_stats',
      verbs: ['GET'],
      role: 'viewer',
      description: 'CPU, memory, network and uptime of the host and the daemon',
      handler: () => machine.procStats(),
    });
    return machine;
  },
});
