// Builds the web UI (ui/) with esbuild into dist/ui/: content-hashed assets under assets/, index.html,
// and a .br and .gz beside every text file so the server sends them as they are. Also measures what a
// browser downloads before first paint (issue 7's budget) and writes dist/ui/build.json.
//
//   node scripts/build-ui.mjs            production build
//   node scripts/build-ui.mjs --watch    rebuild on every change under ui/ and gcode/ (reload the page)
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, watch, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** Everything before first paint (HTML, JS, CSS), gzip: issue 7. */
export const FIRST_PAINT_BUDGET_BYTES = 120_000;

const COMPRESSIBLE = new Set(['.js', '.css', '.html', '.svg', '.json', '.txt', '.webmanifest']);
const TARGETS = ['es2020', 'chrome90', 'firefox90', 'safari15'];

function packageVersion(root) {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
}

function outputFor(metafile, entryPoint) {
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (output.entryPoint === entryPoint) return { file, output };
  }
  throw new Error(`esbuild produced no output for ${entryPoint}`);
}

/** Outputs reachable through static imports from `file` (the chunks a browser must fetch with it). */
function staticClosure(metafile, file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const imported of metafile.outputs[file]?.imports ?? []) {
    if (imported.kind === 'import-statement' && !imported.external)
      staticClosure(metafile, imported.path, seen);
  }
  return seen;
}

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? walk(path) : [path];
  });
}

function compressAll(dir) {
  for (const file of walk(dir)) {
    if (!COMPRESSIBLE.has(extname(file))) continue;
    const data = readFileSync(file);
    const gz = gzipSync(data, { level: 9 });
    const br = brotliCompressSync(data, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: 11,
        [constants.BROTLI_PARAM_SIZE_HINT]: data.length,
        [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      },
    });
    // A compressed copy that is not smaller is never worth sending.
    if (gz.length < data.length) writeFileSync(`${file}.gz`, gz);
    if (br.length < data.length) writeFileSync(`${file}.br`, br);
  }
}

/**
 * Builds the UI into `outdir` (default dist/ui) and returns its sizes.
 * @param {{ root?: string, outdir?: string, minify?: boolean, compress?: boolean, log?: (line: string) => void }} [options]
 */
export async function buildUi(options = {}) {
  const root = options.root ?? ROOT;
  const outdir = options.outdir ?? join(root, 'dist/ui');
  const minify = options.minify ?? true;
  const assets = join(outdir, 'assets');
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(assets, { recursive: true });

  const common = {
    bundle: true,
    minify,
    target: TARGETS,
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
    absWorkingDir: root,
    outdir: assets,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    assetNames: '[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    define: { BRIM_VERSION: JSON.stringify(packageVersion(root)) },
  };

  // The preview's parser runs in a worker: its own bundle, whose hashed name the app is told.
  const worker = await build({
    ...common,
    entryPoints: { 'preview-worker': 'ui/preview/worker.ts' },
    format: 'iife',
  });
  const workerFile = outputFor(worker.metafile, 'ui/preview/worker.ts').file;
  const workerUrl = `/assets/${basename(workerFile)}`;

  const app = await build({
    ...common,
    entryPoints: { main: 'ui/main.tsx' },
    format: 'esm',
    splitting: true,
    define: { ...common.define, PREVIEW_WORKER_URL: JSON.stringify(workerUrl) },
  });
  const meta = app.metafile;
  const entry = outputFor(meta, 'ui/main.tsx');
  const firstPaintJs = [...staticClosure(meta, entry.file)];
  const css = entry.output.cssBundle ? [entry.output.cssBundle] : [];
  const preview = outputFor(meta, 'ui/preview/view.tsx');
  const previewFiles = [...staticClosure(meta, preview.file)].filter((f) => !firstPaintJs.includes(f));

  const url = (file) => `/assets/${basename(file)}`;
  const tags = [
    ...css.map((f) => `<link rel="stylesheet" href="${url(f)}" />`),
    ...firstPaintJs
      .filter((f) => f !== entry.file)
      .map((f) => `<link rel="modulepreload" href="${url(f)}" />`),
    `<script type="module" src="${url(entry.file)}"></script>`,
  ];
  const template = readFileSync(join(root, 'ui/index.html'), 'utf8');
  if (!template.includes('<!--assets-->')) throw new Error('ui/index.html lacks the <!--assets--> marker');
  writeFileSync(join(outdir, 'index.html'), template.replace('<!--assets-->', tags.join('\n    ')));
  writeFileSync(join(outdir, 'favicon.svg'), readFileSync(join(root, 'ui/favicon.svg')));
  writeFileSync(
    join(outdir, 'build.json'),
    `${JSON.stringify(
      {
        version: packageVersion(root),
        entry: url(entry.file),
        first_paint: ['/index.html', ...css.map(url), ...firstPaintJs.map(url)],
        preview: [...previewFiles.map(url), workerUrl],
      },
      null,
      2,
    )}\n`,
  );
  // Brotli at quality 11 takes a couple of seconds; the watch mode leaves it out.
  if (options.compress ?? true) compressAll(outdir);
  const sizes = measureUi(outdir);
  options.log?.(describeSizes(sizes));
  return { outdir, sizes };
}

function fileSizes(dir, urlPath) {
  const file = join(dir, urlPath.replace(/^\//, ''));
  const raw = readFileSync(file);
  const gzip = gzipSync(raw, { level: 9 }).length;
  let brotli = raw.length;
  try {
    brotli = statSync(`${file}.br`).size;
  } catch {
    // Not compressible: sent as it is.
  }
  return { path: urlPath, raw: raw.length, gzip: Math.min(gzip, raw.length), brotli };
}

function sum(files) {
  return files.reduce(
    (total, f) => ({ raw: total.raw + f.raw, gzip: total.gzip + f.gzip, brotli: total.brotli + f.brotli }),
    { raw: 0, gzip: 0, brotli: 0 },
  );
}

/**
 * What a browser transfers, from the built files themselves: first paint is index.html plus every
 * stylesheet, script and module preload it names, and every module those import statically.
 */
export function measureUi(dir) {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const referenced = new Set(['/index.html']);
  for (const match of html.matchAll(/<(?:script|link)\b[^>]*?\b(?:src|href)="(\/assets\/[^"]+)"/g)) {
    referenced.add(match[1]);
  }
  const pending = [...referenced].filter((p) => p.endsWith('.js'));
  while (pending.length > 0) {
    const current = pending.pop();
    const code = readFileSync(join(dir, current.replace(/^\//, '')), 'utf8');
    // Static imports only (`import{a}from"./chunk-X.js"`, `import"./x.js"`); import("./x.js") is lazy.
    for (const match of code.matchAll(/(?:\bfrom|\bimport)\s*["']\.\/([^"']+\.js)["']/g)) {
      const path = `/assets/${match[1]}`;
      if (!referenced.has(path)) {
        referenced.add(path);
        pending.push(path);
      }
    }
  }
  const firstPaint = [...referenced].map((p) => fileSizes(dir, p));
  const build = JSON.parse(readFileSync(join(dir, 'build.json'), 'utf8'));
  const preview = build.preview.map((p) => fileSizes(dir, p));
  const all = walk(dir)
    .filter((f) => !f.endsWith('.gz') && !f.endsWith('.br') && !f.endsWith('build.json'))
    .map((f) => fileSizes(dir, `/${relative(dir, f).split('\\').join('/')}`));
  return {
    budget_gzip: FIRST_PAINT_BUDGET_BYTES,
    first_paint: { ...sum(firstPaint), files: firstPaint },
    preview: { ...sum(preview), files: preview },
    total: { ...sum(all), files: all.length },
  };
}

const kb = (n) => `${(n / 1000).toFixed(1)} KB`;

export function describeSizes(sizes) {
  return [
    `first paint: ${kb(sizes.first_paint.gzip)} gzip (${kb(sizes.first_paint.brotli)} br, ${kb(sizes.first_paint.raw)} raw; budget ${kb(sizes.budget_gzip)})`,
    `preview chunk: ${kb(sizes.preview.gzip)} gzip (${kb(sizes.preview.raw)} raw)`,
    `everything: ${kb(sizes.total.gzip)} gzip (${kb(sizes.total.raw)} raw, ${sizes.total.files} files)`,
  ].join('\n');
}

async function watchMode() {
  const log = (line) => process.stdout.write(`${line}\n`);
  let timer = null;
  let running = false;
  let again = false;
  const rebuild = async () => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const started = Date.now();
      await buildUi({ minify: false, compress: false });
      log(`ui rebuilt in ${Date.now() - started} ms`);
    } catch (error) {
      log(`ui build failed: ${error.message}`);
    } finally {
      running = false;
      if (again) {
        again = false;
        void rebuild();
      }
    }
  };
  await rebuild();
  for (const folder of ['ui', 'gcode']) {
    watch(join(ROOT, folder), { recursive: true }, () => {
      clearTimeout(timer);
      timer = setTimeout(rebuild, 100);
    });
  }
  log('watching ui/ and gcode/; dist/ui is rebuilt on every change (reload the page)');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--watch')) {
    await watchMode();
  } else {
    const { sizes } = await buildUi();
    process.stdout.write(`${describeSizes(sizes)}\n`);
    if (sizes.first_paint.gzip > FIRST_PAINT_BUDGET_BYTES) {
      process.stderr.write('ui: first paint is over budget\n');
      process.exitCode = 1;
    }
  }
}
