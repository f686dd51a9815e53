// Time from spawning the built daemon to its first GET /readyz 200, on an empty and on an existing data folder.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { type Bench, DaemonProcess, freePort, median, round, Scratch } from './harness.ts';

const RUNS = 5;

const bench: Bench = {
  name: 'startup',
  title: 'Start-up to /readyz',
  description:
    `${RUNS} times: spawn \`node dist/server/main.js --config <tmp> --data <tmp>/data --port <free>\` on an ` +
    'empty data folder (first boot: folders, SQLite migrations), poll GET /readyz every 5 ms until 200, ' +
    'SIGTERM it and time the exit; then start it again on the same folder (a restart). ' +
    "`node -e ''` is timed too, as the floor the machine puts under any Node program.",
  timeoutMs: 180_000,
  async run({ root, log }) {
    const firstBoot: number[] = [];
    const restart: number[] = [];
    const stops: number[] = [];
    let uncleanExits = 0;
    const bareNode: number[] = [];

    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore', timeout: 10_000 });
      bareNode.push(performance.now() - t0);
    }

    for (let i = 0; i < RUNS; i++) {
      const scratch = new Scratch();
      try {
        for (const series of [firstBoot, restart]) {
          const daemon = new DaemonProcess(root, scratch, await freePort());
          try {
            series.push(await daemon.waitReady());
          } finally {
            const stopped = await daemon.stop();
            stops.push(stopped.ms);
            if (stopped.code !== 0) uncleanExits++;
          }
        }
        log(`run ${i + 1}/${RUNS}: first boot ${round(firstBoot[i]!)} ms, restart ${round(restart[i]!)} ms`);
      } finally {
        scratch.remove();
      }
    }

    const ms = (values: number[]) => values.map((v) => round(v));
    return {
      metrics: [
        {
          key: 'ready_first_boot_median_ms',
          label: 'spawn → /readyz 200, empty data folder (median)',
          value: round(median(firstBoot)),
          unit: 'ms',
          target: { below: 1000 },
          samples: ms(firstBoot),
        },
        {
          key: 'ready_first_boot_min_ms',
          label: 'spawn → /readyz 200, empty data folder (min)',
          value: round(Math.min(...firstBoot)),
          unit: 'ms',
          target: { below: 1000 },
        },
        {
          key: 'ready_restart_median_ms',
          label: 'spawn → /readyz 200, existing data folder (median)',
          value: round(median(restart)),
          unit: 'ms',
          target: { below: 1000 },
          samples: ms(restart),
        },
        {
          key: 'ready_restart_min_ms',
          label: 'spawn → /readyz 200, existing data folder (min)',
          value: round(Math.min(...restart)),
          unit: 'ms',
          target: { below: 1000 },
        },
        {
          key: 'stop_max_ms',
          label: 'SIGTERM → exit (max of all runs)',
          value: round(Math.max(...stops)),
          unit: 'ms',
          target: { below: 5000 },
          samples: ms(stops),
        },
        {
          key: 'unclean_exits',
          label: 'exits with a status other than 0 after SIGTERM',
          value: uncleanExits,
          unit: 'count',
          target: { atMost: 0 },
        },
        {
          key: 'bare_node_median_ms',
          label: "`node -e ''` for comparison (median)",
          value: round(median(bareNode)),
          unit: 'ms',
          samples: ms(bareNode),
        },
      ],
    };
  },
};

export default bench;
