// Issue 6: what websocket subscribers cost the daemon (CPU time per second at the 4 Hz notify rate,
// 0 / 20 / 50 clients subscribed to every object while the virtual printer heats and moves),
// printer.objects.query over HTTP, and the daemon's own event-loop delay p99 from /metrics.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  type Bench,
  DaemonProcess,
  freePort,
  get,
  LOOPBACK,
  loadAverage,
  type Metric,
  procCpuSeconds,
  promValue,
  RpcClient,
  round,
  Scratch,
  sleep,
} from './harness.ts';

/** Subscribed clients in each measuring window; 0 comes first and last so drift shows and averages out. */
const PHASES = [0, 20, 50, 0, 20, 50, 0];
const PHASE_S = 10;
/** Heater targets, alternated at the start of every window so the temperatures never settle. */
const TARGETS = ['M104 S200\nM140 S60', 'M104 S190\nM140 S55'];
/** After the clients (un)subscribe, before the window opens: the snapshots and connection set-up are not counted. */
const SETTLE_MS = 1000;
/**
 * Before the first window, 20 subscribed clients for this long: V8 compiles the hot paths (on
 * background threads, which count as the daemon's CPU time) while nothing is measured yet.
 */
const WARM_UP_MS = 12_000;
const WARM_UP_CLIENTS = 20;
const QUERY_REQUESTS = 2000;
const QUERY_CONCURRENCY = 4;
const QUERY_DEADLINE_MS = 30_000;
/** Moves per printer.gcode.script call of the "print" loop. */
const BATCH = 20;

/**
 * "Printing" without a job runner: short moves around a 20 mm circle, 0.5 mm segments at 40 mm/s with
 * relative E, as a slicer writes curves; `printer.gcode.script` answers once the last one is queued.
 */
function moveBatch(start: number): string {
  const lines: string[] = [];
  for (let i = 0; i < BATCH; i++) {
    const theta = ((start + i) * 0.5) / 20;
    const x = 110 + 20 * Math.cos(theta);
    const y = 110 + 20 * Math.sin(theta);
    lines.push(`G1 X${x.toFixed(3)} Y${y.toFixed(3)} E0.0187 F2400`);
  }
  return lines.join('\n');
}

/** POSTs `body` to `path` with a keep-alive agent; resolves with the status code. */
function post(agent: Agent, port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: LOOPBACK,
        port,
        path,
        method: 'POST',
        agent,
        timeout: 5000,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

interface PhaseResult {
  clients: number;
  seconds: number;
  cpuPercent: number;
  eldP99Ms: number | null;
  statusUpdatesPerClientHz: number;
  statusUpdates: number;
  otherNotifications: Record<string, number>;
  linesPerS: number;
  extruderC: number | null;
  bedC: number | null;
  /** /proc/loadavg's 1-minute figure at the end of the window: how busy the shared machine was. */
  load1: number;
}

const bench: Bench = {
  name: 'api',
  title: 'API: websocket fan-out and objects.query',
  description:
    'Start the daemon (built-in virtual printer) on an empty data folder, home it, allow cold extrusion ' +
    '(`M302 S0`) and send `M104 S200` and `M140 S60`, then alternately 190/55 and 200/60 at the start of ' +
    'each window, so temperatures change throughout. There is no job ' +
    `runner yet, so "printing" is one client looping \`printer.gcode.script\` with ${BATCH} short ` +
    '`G1 X Y E` moves (0.5 mm at 40 mm/s) per call. After a warm-up of ' +
    `${WARM_UP_MS / 1000} s with ${WARM_UP_CLIENTS} subscribed clients, windows of ` +
    `${PHASE_S} s with ${PHASES.join(', ')} more websocket clients, each having called ` +
    '`printer.objects.subscribe` with every object of `printer.objects.list` mapped to null: the ' +
    "daemon's CPU time (utime + stime from /proc/<pid>/stat) per second of each window, in % of one core, " +
    'and what the clients add over the mean of the 0-client windows. GET /metrics at the start and end ' +
    "of each window gives prom-client's `nodejs_eventloop_lag_p99_seconds` for that window (its 10 ms " +
    'sampling interval is part of every value). Last, with no clients and the moves stopped, ' +
    `${QUERY_REQUESTS} POST /printer/objects/query for every object over ${QUERY_CONCURRENCY} keep-alive ` +
    'connections: requests per second and daemon CPU time per request.',
  timeoutMs: 240_000,
  async run({ root, log }) {
    const scratch = new Scratch();
    const daemon = new DaemonProcess(root, scratch, await freePort());
    const clients: RpcClient[] = [];
    let control: RpcClient | null = null;
    let printing = false;
    let printLoop: Promise<void> = Promise.resolve();
    let linesMoved = 0;
    const agent = new Agent({ keepAlive: true, maxSockets: QUERY_CONCURRENCY });
    try {
      await daemon.waitReady();
      control = await RpcClient.connect(daemon.port);
      const ctl = control;
      const readyBy = performance.now() + 20_000;
      for (;;) {
        const info = (await ctl.call('printer.info')) as { state: string };
        if (info.state === 'ready') break;
        if (performance.now() > readyBy) throw new Error(`printer not ready: ${info.state}`);
        await sleep(200);
      }
      const { objects } = (await ctl.call('printer.objects.list')) as { objects: string[] };
      const everything = Object.fromEntries(objects.map((name) => [name, null]));
      log(`printer ready; homing, then heating and moving (${objects.length} objects)`);
      await ctl.call('printer.gcode.script', { script: 'G28\nG90\nM83\nM302 S0' }, 60_000);
      await ctl.call('printer.gcode.script', { script: 'M104 S200\nM140 S60' });

      printing = true;
      printLoop = (async () => {
        let n = 0;
        while (printing) {
          await ctl.call('printer.gcode.script', { script: moveBatch(n) }, 30_000);
          n += BATCH;
          linesMoved += BATCH;
        }
      })();
      // A loop that fails (daemon gone) must end the benchmark, not hang it.
      printLoop.catch(() => {
        printing = false;
      });
      const warmUp: RpcClient[] = [];
      for (let i = 0; i < WARM_UP_CLIENTS; i++) {
        const client = await RpcClient.connect(daemon.port);
        warmUp.push(client);
        await client.call('printer.objects.subscribe', { objects: everything });
      }
      await sleep(WARM_UP_MS);
      for (const client of warmUp) await client.close();

      const temperatures = async () => {
        const result = (await ctl.call('printer.objects.query', {
          objects: { extruder: ['temperature'], heater_bed: ['temperature'] },
        })) as { status: { extruder?: { temperature: number }; heater_bed?: { temperature: number } } };
        return {
          extruderC: result.status.extruder?.temperature ?? null,
          bedC: result.status.heater_bed?.temperature ?? null,
        };
      };

      const phases: PhaseResult[] = [];
      for (const [index, want] of PHASES.entries()) {
        if (index > 0) await ctl.call('printer.gcode.script', { script: TARGETS[index % 2]! });
        while (clients.length > want) await clients.pop()!.close();
        while (clients.length < want) {
          const client = await RpcClient.connect(daemon.port);
          clients.push(client);
          await client.call('printer.objects.subscribe', { objects: everything });
        }
        await sleep(SETTLE_MS);
        if (!printing) throw new Error(`the move loop stopped:\n${daemon.logTail()}`);
        for (const client of clients) client.notifications.clear();
        await get(daemon.port, '/metrics');
        const lines0 = linesMoved;
        const cpu0 = procCpuSeconds(daemon.pid);
        const t0 = performance.now();
        await sleep(PHASE_S * 1000);
        const cpu1 = procCpuSeconds(daemon.pid);
        const seconds = (performance.now() - t0) / 1000;
        const lines1 = linesMoved;
        const metricsText = (await get(daemon.port, '/metrics'))?.body ?? '';
        const lag = promValue(metricsText, 'nodejs_eventloop_lag_p99_seconds');
        const statusUpdates = clients.reduce(
          (sum, c) => sum + (c.notifications.get('notify_status_update') ?? 0),
          0,
        );
        const otherNotifications: Record<string, number> = {};
        for (const client of clients) {
          for (const [method, count] of client.notifications) {
            if (method !== 'notify_status_update')
              otherNotifications[method] = (otherNotifications[method] ?? 0) + count;
          }
        }
        const phase: PhaseResult = {
          clients: want,
          seconds: round(seconds, 3),
          cpuPercent: ((cpu1 - cpu0) / seconds) * 100,
          eldP99Ms: lag === null ? null : lag * 1000,
          statusUpdatesPerClientHz: want ? statusUpdates / want / seconds : 0,
          statusUpdates,
          otherNotifications,
          linesPerS: (lines1 - lines0) / seconds,
          ...(await temperatures()),
          load1: loadAverage()[0]!,
        };
        phases.push(phase);
        log(
          `${want} clients: ${round(phase.cpuPercent, 2)} % of a core, ${round(phase.statusUpdatesPerClientHz, 2)} ` +
            `updates/s per client, lag p99 ${round(phase.eldP99Ms ?? Number.NaN, 1)} ms, ` +
            `${round(phase.linesPerS)} moves/s, extruder ${phase.extruderC} °C, bed ${phase.bedC} °C, load ${phase.load1}`,
        );
      }

      printing = false;
      await printLoop.catch(() => undefined);
      while (clients.length > 0) await clients.pop()!.close();
      await sleep(SETTLE_MS);

      // printer.objects.query over HTTP, a bounded number of requests on loopback.
      const body = JSON.stringify({ objects: everything });
      const queryCpu0 = procCpuSeconds(daemon.pid);
      const queryT0 = performance.now();
      let sent = 0;
      let answered = 0;
      let failed = 0;
      await Promise.all(
        Array.from({ length: QUERY_CONCURRENCY }, async () => {
          while (sent < QUERY_REQUESTS && performance.now() - queryT0 < QUERY_DEADLINE_MS) {
            sent++;
            const status = await post(agent, daemon.port, '/printer/objects/query', body);
            if (status === 200) answered++;
            else failed++;
          }
        }),
      );
      const querySeconds = (performance.now() - queryT0) / 1000;
      const queryCpu = procCpuSeconds(daemon.pid) - queryCpu0;
      log(`objects.query: ${answered} answered, ${failed} failed in ${round(querySeconds, 2)} s`);
      if (failed > 0) throw new Error(`${failed} of ${sent} printer.objects.query requests failed`);

      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      const at = (n: number) => phases.filter((p) => p.clients === n);
      const base = mean(at(0).map((p) => p.cpuPercent));
      const cpu20 = mean(at(20).map((p) => p.cpuPercent));
      const cpu50 = mean(at(50).map((p) => p.cpuPercent));
      const lag20 = at(20)
        .map((p) => p.eldP99Ms)
        .filter((v): v is number => v !== null);
      const rate50 = mean(at(50).map((p) => p.statusUpdatesPerClientHz));
      const updates50PerS = mean(at(50).map((p) => p.statusUpdates / p.seconds));
      const pct = (n: number) => round(n, 2);
      const idle = at(0).map((p) => p.cpuPercent);

      const metrics: Metric[] = [
        {
          key: 'cpu_0_clients_pct',
          label: `daemon CPU, heating + moving, no subscribers (mean of ${at(0).length} windows)`,
          value: pct(base),
          unit: '%',
          samples: at(0).map((p) => pct(p.cpuPercent)),
        },
        {
          key: 'cpu_0_clients_spread_pct',
          label: 'spread (max − min) of those windows: the noise under the differences below',
          value: pct(Math.max(...idle) - Math.min(...idle)),
          unit: '%',
        },
        {
          key: 'cpu_20_clients_pct',
          label: `daemon CPU with 20 subscribed clients (mean of ${at(20).length} windows)`,
          value: pct(cpu20),
          unit: '%',
          samples: at(20).map((p) => pct(p.cpuPercent)),
        },
        {
          key: 'cpu_50_clients_pct',
          label: `daemon CPU with 50 subscribed clients (mean of ${at(50).length} windows)`,
          value: pct(cpu50),
          unit: '%',
          samples: at(50).map((p) => pct(p.cpuPercent)),
        },
        {
          key: 'cpu_added_20_clients_pct',
          label: '20 clients add, in % of one core',
          value: pct(cpu20 - base),
          unit: '%',
          target: { below: 5 },
        },
        {
          key: 'cpu_added_20_clients_worst_pct',
          label: '20 clients add, worst case: busiest 20-client window − quietest 0-client window',
          value: pct(Math.max(...at(20).map((p) => p.cpuPercent)) - Math.min(...idle)),
          unit: '%',
          target: { below: 5 },
        },
        {
          key: 'cpu_added_50_clients_pct',
          label: '50 clients add, in % of one core',
          value: pct(cpu50 - base),
          unit: '%',
        },
        {
          key: 'notify_rate_hz',
          label: '`notify_status_update` per client per second, 50 clients',
          value: round(rate50, 2),
          unit: 'Hz',
        },
        {
          key: 'cpu_per_notification_ms',
          label: 'added daemon CPU per notification sent, 50 clients',
          value: round(((cpu50 - base) / 100 / updates50PerS) * 1000, 4),
          unit: 'ms',
        },
        {
          key: 'cpu_20_clients_from_cost_pct',
          label: '20 clients × 4 Hz × that cost, in % of one core',
          value: round(20 * 4 * ((cpu50 - base) / 100 / updates50PerS) * 100, 2),
          unit: '%',
        },
        {
          key: 'eventloop_p99_20_clients_ms',
          label: '`nodejs_eventloop_lag_p99_seconds` with 20 clients (worst window)',
          value: round(Math.max(...lag20), 1),
          unit: 'ms',
          samples: lag20.map((v) => round(v, 1)),
        },
        {
          key: 'query_per_s',
          label: `POST /printer/objects/query, every object, ${QUERY_CONCURRENCY} connections`,
          value: round(answered / querySeconds),
          unit: 'req/s',
        },
        {
          key: 'query_cpu_ms',
          label: 'daemon CPU time per printer.objects.query',
          value: round((queryCpu / answered) * 1000, 3),
          unit: 'ms',
        },
      ];
      return {
        metrics,
        details: {
          objects,
          phase_s: PHASE_S,
          phases: phases.map((p) => ({
            ...p,
            cpuPercent: pct(p.cpuPercent),
            statusUpdatesPerClientHz: round(p.statusUpdatesPerClientHz, 3),
            linesPerS: round(p.linesPerS, 1),
            eldP99Ms: p.eldP99Ms === null ? null : round(p.eldP99Ms, 2),
          })),
          query: { requests: answered, seconds: round(querySeconds, 3), cpu_s: round(queryCpu, 2) },
        },
      };
    } finally {
      printing = false;
      agent.destroy();
      for (const client of clients) await client.close();
      await control?.close();
      await daemon.stop();
      scratch.remove();
    }
  },
};

export default bench;
