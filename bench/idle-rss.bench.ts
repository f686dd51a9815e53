// Resident memory of the idle daemon after 30 s with one websocket client subscribed to every printer object.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import {
  type Bench,
  DaemonProcess,
  freePort,
  get,
  procStatusMb,
  RpcClient,
  round,
  Scratch,
  track,
} from './harness.ts';

/** Shortened only to try the benchmark out; the recorded command then shows the override. */
const IDLE_S = Number(process.env.BRIM_BENCH_IDLE_S ?? 30);

/** The floor: what Node itself costs on this machine, one second after start. */
async function bareNodeRssMb(): Promise<number> {
  const child = track(spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' }));
  try {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    return procStatusMb(child.pid!).rss;
  } finally {
    child.kill('SIGKILL');
  }
}

const bench: Bench = {
  name: 'idle-rss',
  title: 'Idle memory with one subscribed client',
  description:
    'Start the daemon on an empty data folder, wait for /readyz 200, connect one websocket client, ' +
    'call `printer.objects.list` and then `printer.objects.subscribe` with every object mapped to null ' +
    `(all fields), stay idle ${IDLE_S} s, then read VmRSS (and the peak, VmHWM) from /proc/<pid>/status.`,
  timeoutMs: (IDLE_S + 60) * 1000,
  async run({ root, log }) {
    const bareNodeRss = await bareNodeRssMb();
    const scratch = new Scratch();
    const daemon = new DaemonProcess(root, scratch, await freePort());
    let client: RpcClient | null = null;
    try {
      await daemon.waitReady();
      client = await RpcClient.connect(daemon.port);
      const { objects } = (await client.call('printer.objects.list')) as { objects: string[] };
      await client.call('printer.objects.subscribe', {
        objects: Object.fromEntries(objects.map((name) => [name, null])),
      });
      client.notifications.clear();
      log(`subscribed to ${objects.length} objects (${objects.join(', ')}); idle for ${IDLE_S} s`);

      const subscribedAt = performance.now();
      const rssTrace: number[] = [];
      for (let s = 1; s <= IDLE_S; s++) {
        await new Promise((resolve) => setTimeout(resolve, subscribedAt + s * 1000 - performance.now()));
        if (!daemon.running) throw new Error(`daemon exited while idle:\n${daemon.logTail()}`);
        rssTrace.push(round(procStatusMb(daemon.pid).rss));
      }
      const memory = procStatusMb(daemon.pid);
      if (!client.open) throw new Error('the daemon closed the websocket while idle');
      const metricsText = (await get(daemon.port, '/metrics'))?.body ?? '';
      const heapUsed = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)/m.exec(metricsText);
      const notifications = Object.fromEntries(client.notifications);
      const totalNotifications = [...client.notifications.values()].reduce((a, b) => a + b, 0);

      const metrics = [
        {
          key: 'idle_rss_mb',
          label: `VmRSS after ${IDLE_S} s idle, one client subscribed to everything`,
          value: round(memory.rss),
          unit: 'MB' as const,
          target: { below: 60 },
        },
        {
          key: 'bare_node_rss_mb',
          label: 'VmRSS of an idle `node` doing nothing, for comparison',
          value: round(bareNodeRss),
          unit: 'MB' as const,
        },
        {
          key: 'peak_rss_mb',
          label: 'VmHWM (peak RSS since start)',
          value: round(memory.hwm),
          unit: 'MB' as const,
        },
        ...(heapUsed
          ? [
              {
                key: 'heap_used_mb',
                label: 'V8 heap used (from /metrics)',
                value: round(Number(heapUsed[1]) / 1_048_576),
                unit: 'MB' as const,
              },
            ]
          : []),
        {
          key: 'notifications',
          label: 'websocket notifications received while idle',
          value: totalNotifications,
          unit: 'count' as const,
        },
      ];
      return {
        metrics,
        details: { idle_s: IDLE_S, objects, notifications_by_method: notifications, rss_trace_mb: rssTrace },
      };
    } finally {
      await client?.close();
      await daemon.stop();
      scratch.remove();
    }
  },
};

export default bench;
