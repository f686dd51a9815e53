// The lazily loaded G-code preview in real Chromium: it loads only when opened, parses in its worker,
// shows the layers, and has a 2D layer view.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, PHONE, problemsOf, startRig, type UiRig } from './browser.ts';

const SCREENSHOTS = process.env.BRIM_UI_SCREENSHOTS ?? join(tmpdir(), 'brim-ui-screenshots');
const FIXTURE = join(import.meta.dirname, '../../gcode/fixtures/prusa-2cubes.gcode');

let rig: UiRig;

beforeAll(async () => {
  rig = await startRig({ files: { '/server/files/gcodes/prusa-2cubes.gcode': FIXTURE } });
  mkdirSync(SCREENSHOTS, { recursive: true });
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
      const stage = page.getByTestId('preview-stage');
      if (mode === '2d') await page.getByText('2D layer').click();
      await expect.poll(() => stage.getAttribute('data-state'), { timeout: 15_000 }).toBe('done');
      const layers = Number(await stage.getAttribute('data-layers'));
      expect(layers).toBeGreaterThan(5);
      expect(Number(await stage.getAttribute('data-segments'))).toBeGreaterThan(100);
      expect(await stage.locator('canvas').count()).toBe(1);
      await expect.poll(() => page.getByText(`Layer ${layers} / ${layers}`).count()).toBe(1);
      const slider = page.getByLabel('Highest layer shown');
      await slider.fill('2');
      await expect.poll(() => page.getByText(`Layer 3 / ${layers}`).count()).toBe(1);
      await page.screenshot({ path: join(SCREENSHOTS, `preview-${mode}-1280.png`) });
      // A 3D view needs WebGL; headless Chromium without a GPU falls back to the 2D layer view.
      expect(['3d', '2d']).toContain(await stage.getAttribute('data-mode'));
      expect(problemsOf(page)).toEqual([]);
    });
  }

  it('fits a phone screen', async () => {
    const page = await rig.page(PHONE);
    await page.goto(`${rig.server.url}/preview?file=prusa-2cubes.gcode`);
    await expect
      .poll(() => page.getByTestId('preview-stage').getAttribute('data-state'), { timeout: 15_000 })
      .toBe('done');
    expect(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(SCREENSHOTS, 'preview-360.png') });
  });

  it('says why when the file cannot be loaded', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/preview?file=missing.gcode`);
    await expect
      .poll(() => page.getByTestId('preview-stage').getAttribute('data-state'), { timeout: 15_000 })
      .toBe('error');
    expect(await page.locator('.preview-status .error-text').textContent()).toContain(
      'Cannot load the G-code',
    );
  });
});
