// Runs the selected benchmarks, writes bench/results/<name>.json and regenerates the table in bench/README.md.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type Bench, cleanUpAll, type Metric } from './harness.ts';

export interface BenchResult {
  name: string;
  title: string;
  description: string;
  timestamp: string;
  command: string;
  commit: string;
  node: string;
  platform: string;
  nproc: number;
  cpu: string;
  memory_mb: number;
  duration_s: number;
  metrics: Metric[];
  details?: Record<string, unknown>;
}

const START = '<!-- bench:results:start (written by bench/main.ts; edit outside these markers) -->';
const END = '<!-- bench:results:end -->';

function gitCommit(root: string): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' });
  if (head.status !== 0) return 'unknown';
  const status = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    cwd: root,
    encoding: 'utf8',
  });
  return `${head.stdout.trim()}${status.stdout.trim() ? ' (uncommitted changes)' : ''}`;
}

/** The command as the user typed it, so the README says exactly how to reproduce a row. */
function commandLine(argv: readonly string[]): string {
  const env = process.env.BRIM_BENCH_IDLE_S ? `BRIM_BENCH_IDLE_S=${process.env.BRIM_BENCH_IDLE_S} ` : '';
  if (process.env.npm_lifecycle_event === 'bench') {
    return `${env}npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  }
  return `${env}node bench/run.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function verdict(metric: Metric): string {
  if (!metric.target) return '';
  const target = metric.target;
  const met =
    'below' in target
      ? metric.value < target.below
      : 'atMost' in target
        ? metric.value <= target.atMost
        : metric.value >= target.atLeast;
  return met ? 'met' : '**not met**';
}

function targetText(metric: Metric): string {
  if (!metric.target) return '';
  const unit = metric.unit === 'count' ? '' : ` ${metric.unit}`;
  const target = metric.target;
  if ('below' in target) return `< ${target.below}${unit}`;
  return 'atMost' in target ? `≤ ${target.atMost}${unit}` : `≥ ${target.atLeast}${unit}`;
}

function valueText(metric: Metric): string {
  const value = metric.unit === 'count' ? String(metric.value) : `${metric.value} ${metric.unit}`;
  return metric.samples && metric.samples.length > 1 ? `${value} (${metric.samples.join(', ')})` : value;
}

/** A table padded the way Biome formats Markdown, so `npm test`'s lint passes on the regenerated file. */
function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const width = (text: string) => [...text].length;
  const widths = header.map((h, i) => Math.max(3, width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c + ' '.repeat(widths[i]! - width(c))).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

export function renderTable(results: readonly BenchResult[]): string {
  const lines = [
    ...markdownTable(
      ['Benchmark', 'Metric', 'Measured', 'Target', 'Result'],
      results.flatMap((r) =>
        r.metrics.map((m) => [r.title, m.label, valueText(m), targetText(m), verdict(m)]),
      ),
    ),
    '',
    'Each row comes from `bench/results/<name>.json`, written by:',
    '',
    ...markdownTable(
      ['Benchmark', 'Command', 'When (UTC)', 'Machine', 'Node', 'Commit'],
      results.map((r) => [
        r.title,
        `\`${r.command}\``,
        r.timestamp.slice(0, 19).replace('T', ' '),
        `${r.nproc} × ${r.cpu}, ${r.memory_mb} MB, ${r.platform}`,
        r.node,
        r.commit,
      ]),
    ),
    '',
    ...results.map((r) => `- **${r.title}** (\`${r.name}\`): ${r.description}`),
  ];
  return lines.join('\n');
}

const README_TEMPLATE = `# Benchmarks\n\n${START}\n${END}\n`;

export function updateReadme(readmePath: string, results: readonly BenchResult[]): void {
  const current = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : README_TEMPLATE;
  const block = `${START}\n${renderTable(results)}\n${END}`;
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next =
    start >= 0 && end > start
      ? `${current.slice(0, start)}${block}${current.slice(end + END.length)}`
      : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(readmePath, next);
}

function readResults(dir: string): BenchResult[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as BenchResult);
}

/**
 * `names` are the bench/*.bench.ts files found by bench/run.mjs (compiled next to this file);
 * `argv` picks some of them by name. Resolves with the process exit code.
 */
export async function main(root: string, names: readonly string[], argv: readonly string[]): Promise<number> {
  process.on('exit', cleanUpAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanUpAll();
      process.exit(130);
    });
  }
  // After merging branches that each reran a benchmark: rebuild the table from bench/results/*.json alone.
  if (argv.length === 1 && argv[0] === '--table') {
    updateReadme(join(root, 'bench/README.md'), readResults(join(root, 'bench/results')));
    return 0;
  }
  const unknown = argv.filter((a) => !names.includes(a));
  if (unknown.length) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; have: ${names.join(', ')}\n`);
    return 2;
  }
  if (!existsSync(join(root, 'dist/server/main.js'))) {
    process.stderr.write('bench: dist/server/main.js is missing; run `npm run build` first\n');
    return 2;
  }
  const selected = argv.length ? names.filter((n) => argv.includes(n)) : names;
  const resultsDir = join(root, 'bench/results');
  mkdirSync(resultsDir, { recursive: true });
  let failed = 0;
  for (const name of selected) {
    const { default: bench } = (await import(new URL(`./${name}.bench.js`, import.meta.url).href)) as {
      default: Bench;
    };
    const log = (line: string) => process.stdout.write(`[${bench.name}] ${line}\n`);
    log(`${bench.title} …`);
    const t0 = performance.now();
    try {
      const outcome = await withTimeout(bench.run({ root, log }), bench.timeoutMs, bench.name);
      const result: BenchResult = {
        name: bench.name,
        title: bench.title,
        description: bench.description,
        timestamp: new Date().toISOString(),
        command: commandLine(argv),
        commit: gitCommit(root),
        node: process.version,
        platform: `${os.platform()} ${os.release()} ${os.arch()}`,
        nproc: os.availableParallelism(),
        cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
        memory_mb: Math.round(os.totalmem() / 1_048_576),
        duration_s: Math.round((performance.now() - t0) / 100) / 10,
        metrics: outcome.metrics,
        ...(outcome.details ? { details: outcome.details } : {}),
      };
      writeFileSync(join(resultsDir, `${bench.name}.json`), `${JSON.stringify(result, null, 2)}\n`);
      for (const m of result.metrics)
        log(`${m.label}: ${valueText(m)} ${targetText(m)} ${verdict(m)}`.trim());
    } catch (error) {
      failed++;
      log(`FAILED: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      // A benchmark that timed out may still have its daemon running.
      cleanUpAll();
    }
  }
  updateReadme(join(root, 'bench/README.md'), readResults(resultsDir));
  return failed ? 1 : 0;
}
