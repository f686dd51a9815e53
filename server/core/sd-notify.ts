// Tells systemd we are ready and keeps its watchdog fed (Type=notify, WatchdogSec in brim.service).
import { execFile } from 'node:child_process';

/**
 * Node cannot send on a unix datagram socket, so this goes through systemd-notify; the unit sets
 * NotifyAccess=all because the message comes from that child process.
 */
export class SystemdNotifier {
  private watchdog: NodeJS.Timeout | null = null;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  ready(status: string): void {
    this.send(['--ready', `--status=${status}`]);
    const watchdogUs = Number(this.env.WATCHDOG_USEC ?? 0);
    if (this.enabled && watchdogUs > 0) {
      // Ping at half the deadline so one late tick does not get us killed.
      this.watchdog = setInterval(() => this.send(['WATCHDOG=1']), watchdogUs / 2000);
      this.watchdog.unref();
    }
  }

  stopping(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    this.send(['STOPPING=1']);
  }

  private send(args: string[]): void {
    if (!this.enabled) return;
    execFile('systemd-notify', [`--pid=${process.pid}`, ...args], () => {});
  }
}
