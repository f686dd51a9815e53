// The lazily loaded G-code preview in real Chromium against the daemon: it loads only when opened, asks
// the layer index which bytes hold which layer, fetches only the layers in view with Range requests
// (watched here as the browser sends them), parses them in its worker, and follows a print.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES } from '../../ui/preview/layer-plan.ts';
import { DESKTOP, PHONE, problemsOf, queryObject, screenshotPath, startRig, type UiRig } from './browser.ts';

const FIXTURE = join(import.meta.dirname, '../../gcode/fixtures/prusa-2cubes.gcode');

/** `count` layers of a zig-zag fill (about 40 KB each), so the file needs several Range requests. */
function zigzag(count: number): string {
  const lines = ['; generated for the preview tests', 'G90', 'M83', 'G28', 'G1 Z5 F600'];
  for (let layer = 0; layer < count; layer++) {
    lines.push(';LAYER_CHANGE', `G1 Z${(0.2 * (layer + 1)).toFixed(2)} F600`, 'G1 X60 Y60 F9000');
    for (let row = 0; row < 800; row++) {
      lines.push(`G1 X${row % 2 === 0 ? 140 : 60} Y${(60 + row * 0.1).toFixed(2)} E0.0321`);
    }
  }
  lines.push('M84', '');
  return lines.join('\n');
}

/** Small squares at 60 mm/s, a layer in well under a second on the virtual printer; cold extrusion allowed. */
function quickPrint(count: number): string {
  const lines = ['; generated for the preview tests', 'M302 P1', 'G90', 'M83', 'G92 X0 Y0 Z0 E0'];
  for (let layer = 0; layer < count; layer++) {
    lines.push(';LAYER_CHANGE', `G1 Z${(0.2 * (layer + 1)).toFixed(2)} F600`, 'G1 X100 Y100 F6000');
    lines.push('G1 X110 Y100 E0.5 F3600', 'G1 X110 Y110 E0.5', 'G1 X100 Y110 E0.5', 'G1 X100 Y100 E0.5');
  }
  lines.push('M84', '');
  return lines.join('\n');
}

interface IndexLayer {
  index: number;
  start_byte: number;
  end_byte: number;
}

let rig: UiRig;

async function upload(name: string, content: string | Buffer): Promise<void> {
  const form = new FormData();
  form.append('root', 'gcodes');
  form.append('file', new Blob([content]), name);
  const reply = await fetch(`${rig.daemon.url}/server/files/upload`, { method: 'POST', body: form });
  if (reply.status !== 201)
    throw new Error(`upload of ${name} failed: ${reply.status} ${await reply.text()}`);
}

async function layerIndex(name: string): Promise<{ size: number; layers: IndexLayer[] }> {
  const reply = await rig.rpc.call('server.files.layers', { filename: name });
  if (reply.error) throw new Error(`server.files.layers ${name}: ${reply.error.message}`);
  return reply.result as { size: number; layers: IndexLayer[] };
}

interface SeenRequest {
  range: string | undefined;
  status: number;
}

/** Every request the browser (the page or its worker) makes for a G-code file, with its Range header. */
function watchDownloads(page: Page, name: string): SeenRequest[] {
  const seen: SeenRequest[] = [];
  page.context().on('response', (response) => {
    const url = new URL(response.url());
    if (url.pathname !== `/server/files/gcodes/${name}`) return;
    seen.push({ range: response.request().headers().range, status: response.status() });
  });
  return seen;
}

/** `bytes=a-b` → [a, b + 1). */
function span(range: string | undefined): [number, number] {
  const match = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
  if (!match) throw new Error(`not a closed byte range: ${range}`);
  return [Number(match[1]), Number(match[2]) + 1];
}

const rangeOf = (layers: IndexLayer[], first: number, last = first) =>
  `bytes=${layers[first]!.start_byte}-${layers[last]!.end_byte - 1}`;

const stageOf = (page: Page) => page.getByTestId('preview-stage');

async function settled(page: Page): Promise<void> {
  await expect.poll(() => stageOf(page).getAttribute('data-state'), { timeout: 20_000 }).toBe('done');
}

beforeAll(async () => {
  rig = await startRig();
  await upload('prusa-2cubes.gcode', readFileSync(FIXTURE));
  await upload('zigzag.gcode', zigzag(30));
  await upload('quick.gcode', quickPrint(60));
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

describe('preview', () => {
  it('is not downloaded until the preview page opens', async () => {
    const page = await rig.page(DESKTOP);
    const scripts: string[] = [];
    page.on('request', (request) => {
      if (request.resourceType() === 'script' || request.url().endsWith('.js')) scripts.push(request.url());
    });
    await page.goto(rig.server.url);
    await expect.poll(() => page.getByTestId('printer-state').textContent()).toBe('Ready');
    const before = scripts.length;
    await page.getByRole('link', { name: 'Preview' }).first().click();
    await expect.poll(() => page.getByRole('heading', { name: 'G-code preview' }).count()).toBe(1);
    expect(scripts.length).toBeGreaterThan(before);
    expect(problemsOf(page)).toEqual([]);
  });

  for (const mode of ['3d', '2d'] as const) {
    it(`parses a sliced file in the worker and shows its layers (${mode})`, async () => {
      const page = await rig.page(DESKTOP);
      await page.goto(`${rig.server.url}/preview?file=prusa-2cubes.gcode`);
      const stage = stageOf(page);
      if (mode === '2d') await page.getByText('2D layer').click();
      await settled(page);
      // Switching to 2D may land before the index is read: wait for the layers, not one look.
      const count = async (name: string) => Number(await stage.getAttribute(name));
      await expect.poll(() => count('data-layers'), { timeout: 20_000 }).toBeGreaterThan(5);
      const layers = await count('data-layers');
      // 3D holds every layer up to the top one, 2D just that one.
      await expect
        .poll(() => count('data-segments'), { timeout: 20_000 })
        .toBeGreaterThan(mode === '3d' ? 1000 : 20);
      expect(await stage.locator('canvas').count()).toBe(1);
      await expect.poll(() => page.getByText(`Layer ${layers} / ${layers}`).count()).toBe(1);
      const slider = page.getByLabel('Highest layer shown');
      await slider.fill('2');
      await expect.poll(() => page.getByText(`Layer 3 / ${layers}`).count()).toBe(1);
      await settled(page);
      await page.screenshot({ path: screenshotPath(`preview-${mode}-1280.png`) });
      expect(await stage.getAttribute('data-mode')).toBe(mode);
      expect(problemsOf(page)).toEqual([]);
    });
  }

  it('in 2D fetches just the layer shown, one Range request each, and keeps the ones it has', async () => {
    const { layers } = await layerIndex('zigzag.gcode');
    expect(layers).toHaveLength(30);
    const page = await rig.page(DESKTOP);
    const seen = watchDownloads(page, 'zigzag.gcode');
    await page.goto(`${rig.server.url}/preview?file=zigzag.gcode&view=2d`);
    await settled(page);
    expect(seen).toEqual([{ range: rangeOf(layers, 29), status: 206 }]);
    await page.getByLabel('Highest layer shown').fill('4');
    await expect.poll(() => seen.length).toBe(2);
    await settled(page);
    expect(seen[1]).toEqual({ range: rangeOf(layers, 4), status: 206 });
    expect(Number(await stageOf(page).getAttribute('data-segments'))).toBeGreaterThan(500);
    // Back to a layer already held: nothing more is fetched.
    await page.getByLabel('Highest layer shown').fill('29');
    await expect.poll(() => page.getByText('Layer 30 / 30').count()).toBe(1);
    await settled(page);
    expect(seen).toHaveLength(2);
    expect(problemsOf(page)).toEqual([]);
  });

  it('in 3D fetches the layers up to the one shown in bounded ranges, nearest first, never the start G-code', async () => {
    const { size, layers } = await layerIndex('zigzag.gcode');
    const page = await rig.page(DESKTOP);
    const seen = watchDownloads(page, 'zigzag.gcode');
    await page.goto(`${rig.server.url}/preview?file=zigzag.gcode`);
    await settled(page);
    expect(await stageOf(page).getAttribute('data-mode')).toBe('3d');
    expect(seen.every((r) => r.status === 206)).toBe(true);
    const spans = seen.map((r) => span(r.range)).sort((a, b) => a[0] - b[0]);
    // Together the ranges tile the layers exactly once, from the first layer's start to the end.
    expect(spans[0]![0]).toBe(layers[0]!.start_byte);
    expect(spans[spans.length - 1]![1]).toBe(size);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBe(spans[i - 1]![1]);
    for (const [start, end] of spans) expect(end - start).toBeLessThanOrEqual(CHUNK_BYTES);
    expect(spans.length).toBeGreaterThan(1);
    // The layer shown (the top one) comes first.
    expect(span(seen[0]!.range)[1]).toBe(size);
    // Lower layers are already held, so moving the slider down fetches nothing.
    await page.getByLabel('Highest layer shown').fill('10');
    await expect.poll(() => page.getByText('Layer 11 / 30').count()).toBe(1);
    await settled(page);
    expect(seen).toHaveLength(spans.length);
    await page.screenshot({ path: screenshotPath('preview-zigzag-1280.png') });
    expect(problemsOf(page)).toEqual([]);
  });

  it('follows a print: the current layer moves and only the layers printed so far are fetched', {
    timeout: 90_000,
  }, async () => {
    const { layers } = await layerIndex('quick.gcode');
    const page = await rig.page(DESKTOP);
    // Without what is left drawn, only the layers printed so far are in view; the choice is kept.
    await page.goto(`${rig.server.url}/preview?file=quick.gcode&view=2d`);
    await page.getByLabel('Show what is left').uncheck();
    const seen = watchDownloads(page, 'quick.gcode');
    const start = await rig.rpc.call('printer.print.start', { filename: 'quick.gcode' });
    expect(start.error).toBeUndefined();
    try {
      await page.goto(`${rig.server.url}/preview`);
      expect(await page.getByLabel('Show what is left').isChecked()).toBe(false);
      const stage = stageOf(page);
      const currentLayer = async () => Number(await stage.getAttribute('data-current-layer'));
      await expect.poll(currentLayer, { timeout: 20_000 }).toBeGreaterThanOrEqual(1);
      const first = await currentLayer();
      await expect.poll(currentLayer, { timeout: 30_000 }).toBeGreaterThan(first + 2);
      await settled(page);
      const reached = await currentLayer();
      // Each range lies within the layers printed when it was asked for, so never past the current one.
      expect(seen.length).toBeGreaterThan(1);
      for (const request of seen) {
        expect(request.status).toBe(206);
        expect(span(request.range)[1]).toBeLessThanOrEqual(layers[reached]!.end_byte);
      }
      // The 2D view then fetches only the layer being printed.
      const before = seen.length;
      await page.getByText('2D layer').click();
      await expect.poll(() => seen.length, { timeout: 15_000 }).toBeGreaterThan(before);
      // One layer per request, the one being printed when it was asked for.
      const shown = layers.findIndex((l) => rangeOf(layers, l.index) === seen[before]!.range);
      expect(shown).toBeGreaterThanOrEqual(reached);
      expect(shown).toBeLessThanOrEqual(await currentLayer());
      await page.screenshot({ path: screenshotPath('printing-preview-2d-1280.png') });
      expect(problemsOf(page)).toEqual([]);
    } finally {
      await rig.rpc.call('printer.print.cancel');
      await expect
        .poll(async () => (await queryObject(rig.rpc, 'print_stats')).state, { timeout: 20_000 })
        .not.toBe('printing');
    }
  });

  it('fits a phone screen', async () => {
    const page = await rig.page(PHONE);
    await page.goto(`${rig.server.url}/preview?file=prusa-2cubes.gcode`);
    await settled(page);
    expect(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0);
    await page.screenshot({ path: screenshotPath('preview-360.png') });
  });

  it('says why when the file cannot be loaded', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/preview?file=missing.gcode`);
    await expect.poll(() => stageOf(page).getAttribute('data-state'), { timeout: 15_000 }).toBe('error');
    expect(await page.locator('.preview-status .error-text').textContent()).toContain(
      'Cannot load the G-code: Metadata not available for <missing.gcode>',
    );
  });
});
