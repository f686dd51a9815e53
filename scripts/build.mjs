// Compiles the server (esbuild) and the UI to dist/; type checking is tsc's job in npm test.
// `--if-stale` skips the build when nothing under the sources changed since the last one, so
// `npm start` starts at once after `npm install` (which builds through `prepare`).
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { buildUi } from './build-ui.mjs';

const SOURCES = ['server', 'gcode', 'ui', 'scripts', 'package.json'];
const STAMP = 'dist/.build-stamp';

function newestMtime(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

const stampTime = statSync(STAMP, { throwIfNoEntry: false })?.mtimeMs ?? 0;
if (process.argv.includes('--if-stale') && Math.max(...SOURCES.map(newestMtime)) < stampTime) process.exit(0);

await build({
  // The analysis worker is its own entry: server/jobs/files/analysis-pool.ts loads it beside main.js.
  entryPoints: { main: 'server/main.ts', 'analysis-worker': 'server/jobs/files/analysis-worker.ts' },
  outdir: 'dist/server',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});

await buildUi();
mkdirSync('dist', { recursive: true });
writeFileSync(STAMP, `${new Date().toISOString()}\n`);
