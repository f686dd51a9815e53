// Samples this process and the host from /proc once a second, for machine.proc_stats and its push.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';

export interface ProcessSample {
  time: number;
  cpu_usage: number;
  memory: number;
  mem_units: 'kB';
}

export interface NetworkCounters {
  rx_bytes: number;
  tx_bytes: number;
  rx_packets: number;
  tx_packets: number;
  rx_errs: number;
  tx_errs: number;
  rx_drop: number;
  tx_drop: number;
  bandwidth: number;
}

export interface ThrottledState {
  bits: number;
  flags: string[];
}

export interface HostSample {
  moonraker_stats: ProcessSample;
  cpu_temp: number | null;
  network: Record<string, NetworkCounters>;
  system_cpu_usage: Record<string, number>;
  system_memory: { total: number; available: number; used: number };
  system_uptime: number;
}

type CpuTimes = Map<string, { busy: number; total: number }>;

/** Keeps the previous counters so CPU and bandwidth are rates over the last interval. */
export class ProcStatsSampler {
  private lastCpu: CpuTimes | null = null;
  private lastProcessCpu = process.cpuUsage();
  private lastProcessTime = process.hrtime.bigint();
  private lastNet: Map<string, { rx: number; tx: number; at: number }> = new Map();

  async sample(wallSeconds: number): Promise<HostSample> {
    const [stat, meminfo, netdev, uptime, temp] = await Promise.all([
      readText('/proc/stat'),
      readText('/proc/meminfo'),
      readText('/proc/net/dev'),
      readText('/proc/uptime'),
      readText('/sys/class/thermal/thermal_zone0/temp'),
    ]);
    return {
      moonraker_stats: this.processSample(wallSeconds),
      cpu_temp: temp ? round(Number.parseInt(temp, 10) / 1000, 2) : null,
      network: this.network(netdev, wallSeconds),
      system_cpu_usage: this.systemCpu(stat),
      system_memory: memory(meminfo),
      system_uptime: uptime ? Number.parseFloat(uptime.split(' ')[0] ?? '0') : 0,
    };
  }

  private processSample(wallSeconds: number): ProcessSample {
    const now = process.hrtime.bigint();
    const usage = process.cpuUsage(this.lastProcessCpu);
    const elapsedUs = Number(now - this.lastProcessTime) / 1000;
    this.lastProcessCpu = process.cpuUsage();
    this.lastProcessTime = now;
    const percent = elapsedUs > 0 ? ((usage.user + usage.system) / elapsedUs) * 100 : 0;
    return {
      time: round(wallSeconds, 3),
      cpu_usage: round(percent, 2),
      memory: Math.round(process.memoryUsage.rss() / 1024),
      mem_units: 'kB',
    };
  }

  private systemCpu(stat: string | null): Record<string, number> {
    const times: CpuTimes = new Map();
    for (const line of (stat ?? '').split('\n')) {
      if (!line.startsWith('cpu')) continue;
      const [name, ...fields] = line.trim().split(/\s+/);
      const values = fields.map(Number);
      const idle = (values[3] ?? 0) + (values[4] ?? 0);
      const total = values.reduce((a, b) => a + b, 0);
      times.set(name!, { busy: total - idle, total });
    }
    const usage: Record<string, number> = {};
    for (const [name, now] of times) {
      const before = this.lastCpu?.get(name);
      const dTotal = before ? now.total - before.total : now.total;
      const dBusy = before ? now.busy - before.busy : now.busy;
      usage[name] = dTotal > 0 ? round((dBusy / dTotal) * 100, 2) : 0;
    }
    this.lastCpu = times;
    return usage;
  }

  private network(netdev: string | null, wallSeconds: number): Record<string, NetworkCounters> {
    const out: Record<string, NetworkCounters> = {};
    for (const line of (netdev ?? '').split('\n').slice(2)) {
      const match = /^\s*([^:]+):\s*(.*)$/.exec(line);
      if (!match) continue;
      const name = match[1]!;
      const v = match[2]!.trim().split(/\s+/).map(Number);
      const rx = v[0] ?? 0;
      const tx = v[8] ?? 0;
      const before = this.lastNet.get(name);
      const seconds = before ? wallSeconds - before.at : 0;
      const bandwidth = before && seconds > 0 ? round((rx - before.rx + (tx - before.tx)) / seconds, 2) : 0;
      this.lastNet.set(name, { rx, tx, at: wallSeconds });
      out[name] = {
        rx_bytes: rx,
        tx_bytes: tx,
        rx_packets: v[1] ?? 0,
        tx_packets: v[9] ?? 0,
        rx_errs: v[2] ?? 0,
        tx_errs: v[10] ?? 0,
        rx_drop: v[3] ?? 0,
        tx_drop: v[11] ?? 0,
        bandwidth,
      };
    }
    return out;
  }
}

function memory(meminfo: string | null): { total: number; available: number; used: number } {
  const field = (name: string) => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(meminfo ?? '');
    return match ? Number(match[1]) : 0;
  };
  const total = field('MemTotal');
  const available = field('MemAvailable');
  return { total, available, used: total - available };
}

/** The Raspberry Pi firmware's throttling bits (`vcgencmd get_throttled`); null elsewhere. */
const THROTTLE_FLAGS: [number, string][] = [
  [1 << 0, 'Under-Voltage Detected'],
  [1 << 1, 'Frequency Capped'],
  [1 << 2, 'Currently Throttled'],
  [1 << 3, 'Temperature Limit Active'],
  [1 << 16, 'Previously Under-Volted'],
  [1 << 17, 'Previously Frequency Capped'],
  [1 << 18, 'Previously Throttled'],
  [1 << 19, 'Previously Temperature Limited'],
];

export async function readThrottledState(): Promise<ThrottledState | null> {
  const model = await readText('/proc/device-tree/model');
  if (!model?.includes('Raspberry Pi')) return null;
  const output = await new Promise<string | null>((resolve) => {
    execFile('vcgencmd', ['get_throttled'], { timeout: 2000 }, (error, stdout) =>
      resolve(error ? null : stdout),
    );
  });
  const match = output ? /throttled=(0x[0-9a-f]+)/i.exec(output) : null;
  if (!match) return null;
  const bits = Number.parseInt(match[1]!, 16);
  return { bits, flags: THROTTLE_FLAGS.filter(([bit]) => bits & bit).map(([, name]) => name) };
}

export function cpuCount(): number {
  return cpus().length;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
