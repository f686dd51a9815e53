// Compiles the server to dist/ with esbuild (type checking is tsc's job in npm test).
import { build } from 'esbuild';

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
