// Entry point of `npm run bench`: compiles bench/*.bench.ts with esbuild (as scripts/build.mjs does the
// server) into dist/bench/, then runs them against the built daemon. Usage: node bench/run.mjs [name ...]
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const names = readdirSync(join(root, 'bench'))
  .filter((file) => file.endsWith('.bench.ts'))
  .map((file) => file.slice(0, -'.bench.ts'.length))
  .sort();

const outdir = join(root, 'dist/bench');
await build({
  entryPoints: [join(root, 'bench/main.ts'), ...names.map((name) => join(root, `bench/${name}.bench.ts`))],
  outdir,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // One shared copy of bench/harness.ts, so cleanUpAll() in main.ts sees the processes the benchmarks started.
  splitting: true,
  // Left external so that ws and friends load from node_modules, as the daemon's own do.
  packages: 'external',
  logLevel: 'warning',
});

const { main } = await import(pathToFileURL(join(outdir, 'main.js')).href);
// Exit explicitly: a benchmark abandoned after its timeout may still hold a timer.
process.exit(await main(root, names, process.argv.slice(2)));
