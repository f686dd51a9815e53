// Issue 6: what websocket subscribers cost the daemon (CPU time per second at the 4 Hz notify rate,
// 0 / 20 / 50 clients subscribed to every object while the virtual printer runs a real print job),
// printer.objects.query over HTTP, and the daemon's own event-loop delay p99 from /metrics.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
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
/** The sliced job every window prints (PrusaSlicer, two 20 mm cubes); started again when it completes. */
const FIXTURE = 'gcode/fixtures/prusa-2cubes.gcode';
const JOB_NAME = 'bench-2cubes.gcode';
/** The fixture's own first-layer temperatures; preheating to them lets its M190/M109 return at once. */
const PREHEAT = { extruderC: 200, bedC: 60 };
const PREHEAT_DEADLINE_MS = 240_000;
/** How often the job watcher reads print_stats and virtual_sdcard (the same in every window). */
const WATCH_MS = 500;

interface JobStatus {
  print_stats: { state: string; message: string };
  virtual_sdcard: { file_position: number };
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
  /** G-code bytes the job runner got acknowledged per second (virtual_sdcard.file_position). */
  jobBytesPerS: number;
  jobState: string;
  extruderC: number | null;
  bedC: number | null;
  /** /proc/loadavg's 1-minute figure at the end of the window: how busy the shared machine was. */
  load1: number;
}

const bench: Bench = {
  name: 'api',
  title: 'API: websocket fan-out and objects.query',
  description:
    'Start the daemon (built-in virtual printer) on an empty data folder, home it, heat to the ' +
    `fixture's ${PREHEAT.extruderC}/${PREHEAT.bedC} °C, upload \`${FIXTURE}\` (PrusaSlicer, two cubes) ` +
    'through POST /server/files/upload and print it with `printer.print.start` (again each time it ' +
    'completes), so every window streams a real job through the job runner; the console sets the ' +
    'targets alternately to 190/55 and 200/60 at the start of each window, so temperatures change ' +
    `throughout. A watcher reads print_stats and virtual_sdcard every ${WATCH_MS} ms. After a warm-up of ` +
    `${WARM_UP_MS / 1000} s with ${WARM_UP_CLIENTS} subscribed clients, windows of ` +
    `${PHASE_S} s with ${PHASES.join(', ')} more websocket clients, each having called ` +
    '`printer.objects.subscribe` with every object of `printer.objects.list` mapped to null: the ' +
    "daemon's CPU time (utime + stime from /proc/<pid>/stat) per second of each window, in % of one core, " +
    'and what the clients add over the mean of the 0-client windows. GET /metrics at the start and end ' +
    "of each window gives prom-client's `nodejs_eventloop_lag_p99_seconds` for that window (its 10 ms " +
    'sampling interval is part of every value). Last, with no clients and the job cancelled, ' +
    `${QUERY_REQUESTS} POST /printer/objects/query for every object over ${QUERY_CONCURRENCY} keep-alive ` +
    'connections: requests per second and daemon CPU time per request.',
  timeoutMs: 480_000,
  async run({ root, log }) {
    const scratch = new Scratch();
    const daemon = new DaemonProcess(root, scratch, await freePort());
    const clients: RpcClient[] = [];
    let control: RpcClient | null = null;
    let printing = false;
    let watcher: Promise<void> = Promise.resolve();
    let watcherError: unknown = null;
    let streamedBytes = 0;
    let jobState = '';
    let jobsStarted = 0;
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
      const temperatures = async () => {
        const result = (await ctl.call('printer.objects.query', {
          objects: { extruder: ['temperature'], heater_bed: ['temperature'] },
        })) as { status: { extruder?: { temperature: number }; heater_bed?: { temperature: number } } };
        return {
          extruderC: result.status.extruder?.temperature ?? null,
          bedC: result.status.heater_bed?.temperature ?? null,
        };
      };

      const everything = Object.fromEntries(objects.map((name) => [name, null]));
      log(`printer ready (${objects.length} objects); homing and heating to the job's temperatures`);
      await ctl.call('printer.gcode.script', { script: 'G28' }, 60_000);
      await ctl.call('printer.gcode.script', {
        script: `M104 S${PREHEAT.extruderC}\nM140 S${PREHEAT.bedC}`,
      });
      const heatedBy = performance.now() + PREHEAT_DEADLINE_MS;
      for (;;) {
        const { extruderC, bedC } = await temperatures();
        if ((extruderC ?? 0) >= PREHEAT.extruderC - 2 && (bedC ?? 0) >= PREHEAT.bedC - 1) break;
        if (performance.now() > heatedBy) throw new Error(`not heated: ${extruderC} °C, bed ${bedC} °C`);
        await sleep(1000);
      }

      const form = new FormData();
      form.append('file', new Blob([readFileSync(join(root, FIXTURE))]), JOB_NAME);
      const upload = await fetch(`http://${LOOPBACK}:${daemon.port}/server/files/upload`, {
        method: 'POST',
        body: form,
      });
      if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
      const startJob = async () => {
        await ctl.call('printer.print.start', { filename: JOB_NAME });
        jobsStarted++;
      };
      await startJob();
      printing = true;
      // Counts acknowledged bytes across restarts, and starts the job again once it completes.
      watcher = (async () => {
        let lastPosition = 0;
        while (printing) {
          const { status } = (await ctl.call('printer.objects.query', {
            objects: { print_stats: ['state', 'message'], virtual_sdcard: ['file_position'] },
          })) as { status: JobStatus };
          const position = status.virtual_sdcard.file_position;
          streamedBytes += position >= lastPosition ? position - lastPosition : position;
          lastPosition = position;
          jobState = status.print_stats.state;
          if (jobState === 'complete') {
            lastPosition = 0;
            await startJob();
          } else if (jobState !== 'printing') {
            throw new Error(`the job stopped: ${jobState} ${status.print_stats.message}`);
          }
          await sleep(WATCH_MS);
        }
      })();
      // A watcher that fails (job error, daemon gone) must end the benchmark, not hang it.
      watcher.catch((error: unknown) => {
        watcherError = error;
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
        if (!printing)
          throw new Error(`the job watcher stopped: ${String(watcherError)}\n${daemon.logTail()}`);
        for (const client of clients) client.notifications.clear();
        await get(daemon.port, '/metrics');
        const bytes0 = streamedBytes;
        const cpu0 = procCpuSeconds(daemon.pid);
        const t0 = performance.now();
        await sleep(PHASE_S * 1000);
        const cpu1 = procCpuSeconds(daemon.pid);
        const seconds = (performance.now() - t0) / 1000;
        const bytes1 = streamedBytes;
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
          jobBytesPerS: (bytes1 - bytes0) / seconds,
          jobState,
          ...(await temperatures()),
          load1: loadAverage()[0]!,
        };
        phases.push(phase);
        log(
          `${want} clients: ${round(phase.cpuPercent, 2)} % of a core, ${round(phase.statusUpdatesPerClientHz, 2)} ` +
            `updates/s per client, lag p99 ${round(phase.eldP99Ms ?? Number.NaN, 1)} ms, ` +
            `job ${round(phase.jobBytesPerS)} B/s (${phase.jobState}), extruder ${phase.extruderC} °C, ` +
            `bed ${phase.bedC} °C, load ${phase.load1}`,
        );
      }

      printing = false;
      await watcher.catch(() => undefined);
      await ctl.call('printer.print.cancel', {}, 30_000);
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
          label: `daemon CPU, printing the job, no subscribers (mean of ${at(0).length} windows)`,
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
          key: 'job_bytes_per_s',
          label: 'job G-code acknowledged per second, mean of every window',
          value: round(mean(phases.map((p) => p.jobBytesPerS))),
          unit: 'B/s',
          samples: phases.map((p) => round(p.jobBytesPerS)),
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
            jobBytesPerS: round(p.jobBytesPerS, 1),
            eldP99Ms: p.eldP99Ms === null ? null : round(p.eldP99Ms, 2),
          })),
          job: { fixture: FIXTURE, started: jobsStarted },
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
