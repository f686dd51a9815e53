// Reboot, shutdown and service control through a provider chosen in config: systemd on the appliance,
// none in development (where each action answers with a clear error instead of acting).
import { execFile } from 'node:child_process';
import { errors } from '../core/errors.ts';

export interface ServiceState {
  active_state: string;
  sub_state: string;
}

export interface MachineProvider {
  readonly name: string;
  reboot(): Promise<void>;
  shutdown(): Promise<void>;
  serviceAction(service: string, action: 'start' | 'stop' | 'restart'): Promise<void>;
  serviceStates(services: readonly string[]): Promise<Record<string, ServiceState>>;
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

export class SystemdProvider implements MachineProvider {
  readonly name = 'systemd_cli';

  async reboot(): Promise<void> {
    await run('sudo', ['-n', 'systemctl', 'reboot']);
  }

  async shutdown(): Promise<void> {
    await run('sudo', ['-n', 'systemctl', 'poweroff']);
  }

  async serviceAction(service: string, action: 'start' | 'stop' | 'restart'): Promise<void> {
    await run('sudo', ['-n', 'systemctl', action, service]);
  }

  async serviceStates(services: readonly string[]): Promise<Record<string, ServiceState>> {
    const out: Record<string, ServiceState> = {};
    for (const service of services) {
      try {
        const text = await run('systemctl', ['show', service, '--property=ActiveState,SubState']);
        const active = /ActiveState=(\S+)/.exec(text)?.[1] ?? 'unknown';
        const sub = /SubState=(\S+)/.exec(text)?.[1] ?? 'unknown';
        out[service] = { active_state: active, sub_state: sub };
      } catch {
        out[service] = { active_state: 'unknown', sub_state: 'unknown' };
      }
    }
    return out;
  }
}

/** Development machines: nothing is rebooted or restarted behind the user's back. */
export class NoProvider implements MachineProvider {
  readonly name = 'none';

  async reboot(): Promise<void> {
    throw errors.badRequest('Reboot is not available: [machine] provider = "none"');
  }

  async shutdown(): Promise<void> {
    throw errors.badRequest('Shutdown is not available: [machine] provider = "none"');
  }

  async serviceAction(service: string, action: string): Promise<void> {
    throw errors.badRequest(`Cannot ${action} ${service}: [machine] provider = "none"`);
  }

  /** Only the daemon itself is known to be running; other services cannot be asked about. */
  async serviceStates(services: readonly string[]): Promise<Record<string, ServiceState>> {
    return Object.fromEntries(
      services.map((s) => [
        s,
        s === SELF_SERVICE
          ? { active_state: 'active', sub_state: 'running' }
          : { active_state: 'unknown', sub_state: 'unknown' },
      ]),
    );
  }
}

/** The unit name of the daemon itself (systemd/brim.service). */
export const SELF_SERVICE = 'brim';
