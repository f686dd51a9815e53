// The `machine` component: system_info, proc_stats and its once-a-second push, reboot and services.

import { Type } from '@sinclair/typebox';
import type { TimerHandle } from '../core/clock.ts';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { errors } from '../core/errors.ts';
import {
  type HostSample,
  type ProcessSample,
  ProcStatsSampler,
  readThrottledState,
  type ThrottledState,
} from './proc-stats.ts';
import { type MachineProvider, NoProvider, SELF_SERVICE, SystemdProvider } from './services.ts';
import { cpuInfo, distribution, network, sdInfo, virtualization } from './system-info.ts';

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

export const machineConfig = Type.Object({
  provider: Type.Union([Type.Literal('none'), Type.Literal('systemd')], {
    default: 'none',
    description:
      'How reboot, shutdown and service actions are carried out: "systemd" on the appliance (needs sudo rights for systemctl), "none" answers them with an error.',
  }),
  services: Type.Array(Type.String({ minLength: 1 }), {
    default: [SELF_SERVICE],
    description: 'Services clients may see and start, stop or restart.',
  }),
});

export const machineComponent = defineComponent({
  name: 'machine',
  needs: ['server'],
  advertiseAs: 'machine',
  config: machineConfig,
  create(host): Machine {
    const provider: MachineProvider =
      host.config.provider === 'systemd' ? new SystemdProvider() : new NoProvider();
    const services = host.config.services;
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
      path: '/machine/system_info',
      verbs: ['GET'],
      role: 'viewer',
      description: 'Facts about the host: CPU, memory, distribution, network, services',
      handler: async () => {
        const [cpu, dist, sd, virt, states] = await Promise.all([
          cpuInfo(),
          distribution(),
          sdInfo(),
          virtualization(),
          provider.serviceStates(services),
        ]);
        return {
          system_info: {
            provider: provider.name,
            cpu_info: cpu,
            sd_info: sd,
            distribution: dist,
            available_services: [...services],
            instance_ids: { moonraker: SELF_SERVICE, klipper: SELF_SERVICE },
            service_state: states,
            virtualization: virt,
            python: { version: [3, 11, 0, 'final', 0], version_string: `Node.js ${process.version}` },
            network: network(),
            canbus: {},
          },
        };
      },
    });
    host.api.register({
      path: '/machine/reboot',
      verbs: ['POST'],
      role: 'admin',
      description: 'Reboots the host',
      handler: async () => {
        await provider.reboot();
        return 'ok';
      },
    });
    host.api.register({
      path: '/machine/shutdown',
      verbs: ['POST'],
      role: 'admin',
      description: 'Powers the host off',
      handler: async () => {
        await provider.shutdown();
        return 'ok';
      },
    });
    for (const action of ['start', 'stop', 'restart'] as const) {
      host.api.register({
        path: `/machine/services/${action}`,
        verbs: ['POST'],
        role: 'admin',
        params: Type.Object({ service: Type.String({ minLength: 1 }) }),
        description: `${action[0]!.toUpperCase()}${action.slice(1)}s one of the configured services`,
        handler: async ({ service }) => {
          if (!services.includes(service))
            throw errors.badRequest(`Invalid argument 'service': ${service} is not an available service`);
          await provider.serviceAction(service, action);
          return 'ok';
        },
      });
    }
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
