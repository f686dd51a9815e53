// The web UI's weight (issue 7: first paint ≤ 120 KB gzip, preview chunk loaded only when opened) and the
// preview's speed: a 3DBenchy G-code parsed in the worker in headless Chromium in under 1.5 s.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { startUiServer } from '../test/ui/ui-server.ts';
import { type Bench, DaemonProcess, freePort, type Metric, round, Scratch } from './harness.ts';

const CHROMIUM = process.env.BRIM_CHROMIUM ?? '/usr/bin/chromium';

interface Sizes {
  budget_gzip: number;
  first_paint: { raw: number; gzip: number; brotli: number; files: { path: string; gzip: number }[] };
  preview: { raw: number; gzip: number; brotli: number; files: { path: string; gzip: number }[] };
  total: { raw: number; gzip: number; brotli: number; files: number };
}

const kb = (bytes: number) => round(bytes / 1000, 1);

async function previewTiming(
  root: string,
  uiDir: string,
  gcode: string,
  log: (line: string) => void,
): Promise<{ metrics: Metric[]; details: Record<string, unknown> }> {
  const scratch = new Scratch();
  const daemon = new DaemonProcess(root, scratch, await freePort());
  await daemon.waitReady();
  // The preview reads the layer index the daemon builds when the file is analysed, then its bytes.
  const api = `http://127.0.0.1:${daemon.port}`;
  const form = new FormData();
  form.append('root', 'gcodes');
  form.append('file', new Blob([readFileSync(gcode)]), 'benchy.gcode');
  const uploaded = await fetch(`${api}/server/files/upload`, { method: 'POST', body: form });
  if (uploaded.status !== 201)
    throw new Error(`benchy upload failed: ${uploaded.status} ${await uploaded.text()}`);
  const index = await fetch(`${api}/server/files/layers?filename=benchy.gcode`);
  if (!index.ok) throw new Error(`benchy layer index: ${index.status} ${await index.text()}`);
  const server = await startUiServer({ dir: uiDir, apiPort: daemon.port });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--enable-precise-memory-info',
    ],
  });
  try {
    const runs: {
      view: string;
      parseMs: number;
      wallMs: number;
      stallMs: number;
      heapMb: number;
      layers: number;
      fetchedBytes: number;
    }[] = [];
    for (const view of ['3d', '3d', '3d', '2d']) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      // The main thread's longest gap between 10 ms ticks while the worker parses: how stuck the page is.
      await page.addInitScript(`
        window.__stall = 0;
        let last = performance.now();
        setInterval(() => { const now = performance.now(); window.__stall = Math.max(window.__stall, now - last - 10); last = now; }, 10);
      `);
      const started = Date.now();
      await page.goto(`${server.url}/preview?file=benchy.gcode&view=${view}`);
      // From here on the worker streams and parses; page start-up is not counted as a stall.
      await page.waitForSelector('[data-testid=preview-stage][data-state=loading]', { state: 'attached' });
      await page.evaluate('window.__stall = 0');
      await page.waitForSelector('[data-testid=preview-stage][data-state=done]', { timeout: 60_000 });
      const wallMs = Date.now() - started;
      const stage = page.getByTestId('preview-stage');
      const parseMs = Number(await stage.getAttribute('data-parse-ms'));
      const layers = Number(await stage.getAttribute('data-layers'));
      const fetchedBytes = Number(await stage.getAttribute('data-fetched-bytes'));
      const stallMs = Number(await page.evaluate('window.__stall'));
      const heapMb = Number(
        await page.evaluate('performance.memory ? performance.memory.usedJSHeapSize / 1048576 : 0'),
      );
      runs.push({ view, parseMs, wallMs, stallMs, heapMb, layers, fetchedBytes });
      log(
        `benchy ${view}: fetch+parse ${parseMs} ms, page ${wallMs} ms, stall ${round(stallMs)} ms, ${layers} layers, ${fetchedBytes} bytes fetched`,
      );
      await page.close();
    }
    const threeD = runs.filter((r) => r.view === '3d');
    const flat = runs.filter((r) => r.view === '2d');
    const best = threeD.reduce((a, b) => (b.parseMs < a.parseMs ? b : a));
    const sizeMb = round(statSync(gcode).size / 1_048_576, 2);
    return {
      metrics: [
        {
          key: 'benchy_parse_ms',
          label: `3DBenchy G-code (${sizeMb} MB, ${best.layers} layers): layer index read, every layer fetched by Range requests and parsed in the worker (best of 3)`,
          value: round(best.parseMs),
          unit: 'ms',
          target: { below: 1500 },
          samples: threeD.map((r) => round(r.parseMs)),
        },
        {
          key: 'benchy_page_ms',
          label: 'preview page opened → every layer shown in 3D (best of 3)',
          value: round(Math.min(...threeD.map((r) => r.wallMs))),
          unit: 'ms',
          samples: threeD.map((r) => r.wallMs),
        },
        {
          key: 'benchy_stall_ms',
          label:
            'longest main-thread stall while the worker parses, 3D view (WebGL in software: no GPU here)',
          value: round(Math.max(...threeD.map((r) => r.stallMs))),
          unit: 'ms',
        },
        {
          key: 'benchy_stall_2d_ms',
          label: 'longest main-thread stall while the worker parses, 2D layer view',
          value: round(Math.max(...flat.map((r) => r.stallMs))),
          unit: 'ms',
        },
        {
          key: 'benchy_heap_mb',
          label: 'page JS heap with the whole Benchy in the 3D viewer',
          value: round(Math.max(...threeD.map((r) => r.heapMb))),
          unit: 'MB',
        },
        {
          key: 'benchy_2d_fetched_kb',
          label: 'G-code fetched by the 2D layer view (its one layer), KB',
          value: kb(Math.max(...flat.map((r) => r.fetchedBytes))),
          unit: 'count',
        },
      ],
      details: { runs },
    };
  } finally {
    await browser.close();
    await server.close();
    await daemon.stop();
    scratch.remove();
  }
}

const bench: Bench = {
  name: 'ui',
  title: 'Web UI weight and preview speed',
  description:
    'Build the UI (scripts/build-ui.mjs) and measure, from the built files, the gzip size of index.html plus every script, stylesheet and statically imported chunk it loads (first paint), the lazily loaded preview (three.js chunk and parser worker) and everything; then slice ../shared/models/3DBenchy.stl with prusa-slicer, upload it to a daemon (which builds its layer index) and open it in the preview in headless Chromium (3 times in 3D, once in the 2D view), which fetches the layers in view by Range requests; a 10 ms interval on the page measures how long the main thread is stuck.',
  timeoutMs: 240_000,
  async run({ root, log }) {
    const scratch = new Scratch();
    try {
      const moduleUrl = pathToFileURL(join(root, 'scripts/build-ui.mjs')).href;
      const { buildUi } = (await import(moduleUrl)) as {
        buildUi(options: { root: string; outdir: string }): Promise<{ sizes: Sizes }>;
      };
      const uiDir = join(scratch.dir, 'ui');
      const { sizes } = await buildUi({ root, outdir: uiDir });
      const metrics: Metric[] = [
        {
          key: 'first_paint_gzip_kb',
          label: 'first paint: HTML + JS + CSS, KB gzip (Mainsail 1060, Fluidd 510)',
          value: kb(sizes.first_paint.gzip),
          unit: 'count',
          target: { atMost: sizes.budget_gzip / 1000 },
        },
        {
          key: 'first_paint_brotli_kb',
          label: 'first paint, KB brotli (what browsers are sent)',
          value: kb(sizes.first_paint.brotli),
          unit: 'count',
        },
        {
          key: 'first_paint_raw_kb',
          label: 'first paint, KB uncompressed',
          value: kb(sizes.first_paint.raw),
          unit: 'count',
        },
        {
          key: 'preview_gzip_kb',
          label: 'preview chunk (three.js viewer + parser worker), KB gzip, loaded when opened',
          value: kb(sizes.preview.gzip),
          unit: 'count',
        },
        {
          key: 'total_gzip_kb',
          label: 'everything in dist/ui, KB gzip',
          value: kb(sizes.total.gzip),
          unit: 'count',
        },
        {
          key: 'total_raw_kb',
          label: 'everything in dist/ui, KB uncompressed',
          value: kb(sizes.total.raw),
          unit: 'count',
        },
      ];
      const details: Record<string, unknown> = { sizes };
      const slicer = spawnSync('prusa-slicer', ['--help'], { encoding: 'utf8' });
      const benchy = join(root, '../shared/models/3DBenchy.stl');
      if (!existsSync(CHROMIUM) || slicer.status !== 0 || !existsSync(benchy)) {
        log('preview timing skipped: needs chromium, prusa-slicer and ../shared/models/3DBenchy.stl');
        return { metrics, details };
      }
      const gcode = join(scratch.dir, 'benchy.gcode');
      const sliced = spawnSync('prusa-slicer', ['--export-gcode', benchy, '-o', gcode], { encoding: 'utf8' });
      if (sliced.status !== 0) throw new Error(`prusa-slicer failed: ${sliced.stderr || sliced.stdout}`);
      const preview = await previewTiming(root, uiDir, gcode, log);
      return { metrics: [...metrics, ...preview.metrics], details: { ...details, ...preview.details } };
    } finally {
      scratch.remove();
    }
  },
};

export default bench;
