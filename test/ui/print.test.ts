// A whole print from the browser against the virtual printer: start it from the files page, watch the
// status card and the preview's current layer move, pause, resume, cancel, and find it in the history.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP,
  eventually,
  PHONE,
  problemsOf,
  queryObject,
  screenshotPath,
  startRig,
  type UiRig,
} from './browser.ts';

/** Squares, one per layer, drawn at 20 mm/s (travel at 100 mm/s), no heating (cold extrusion allowed). */
function testPrint(layers: number): string {
  const lines = [
    '; generated for the UI tests',
    'M302 P1',
    'G90',
    'M83',
    'G92 X0 Y0 Z0 E0',
    'EXCLUDE_OBJECT_DEFINE NAME=square CENTER=90,90 POLYGON=[[70,70],[110,70],[110,110],[70,110]]',
  ];
  for (let layer = 0; layer < layers; layer++) {
    const z = (0.2 * (layer + 1)).toFixed(2);
    lines.push(
      ';LAYER_CHANGE',
      `;Z:${z}`,
      `G1 Z${z} F600`,
      'G1 X70 Y70 F6000',
      'EXCLUDE_OBJECT_START NAME=square',
    );
    lines.push('G1 X110 Y70 E1.5 F1200', 'G1 X110 Y110 E1.5', 'G1 X70 Y110 E1.5', 'G1 X70 Y70 E1.5');
    lines.push('EXCLUDE_OBJECT_END NAME=square');
  }
  lines.push('M84', '');
  return lines.join('\n');
}

let rig: UiRig;

beforeAll(async () => {
  rig = await startRig();
  const form = new FormData();
  form.append('root', 'gcodes');
  form.append('file', new Blob([testPrint(40)]), 'squares.gcode');
  const upload = await fetch(`${rig.daemon.url}/server/files/upload`, { method: 'POST', body: form });
  if (upload.status !== 201) throw new Error(`upload failed: ${upload.status} ${await upload.text()}`);
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

const badge = (page: Awaited<ReturnType<UiRig['page']>>) => page.getByTestId('printer-state');

describe('a print from the browser', () => {
  it('starts from the files page and the status card follows it; the preview follows the layer', {
    timeout: 60_000,
  }, async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/files`);
    await page.getByRole('button', { name: 'Print squares.gcode' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Print' }).click();
    await expect.poll(() => badge(page).textContent(), { timeout: 10_000 }).toBe('Printing');
    const card = page.getByRole('region', { name: 'Printer status' });
    expect(await card.textContent()).toContain('squares.gcode');
    const progress = card.getByRole('progressbar', { name: 'Print progress' });
    await expect
      .poll(async () => Number(await progress.getAttribute('aria-valuenow')), { timeout: 15_000 })
      .toBeGreaterThan(0);
    await expect.poll(() => card.textContent()).toMatch(/Layer\s*\d+ \/ 40/);

    await page.getByRole('link', { name: 'Preview' }).first().click();
    const stage = page.getByTestId('preview-stage');
    await expect.poll(() => stage.getAttribute('data-state'), { timeout: 15_000 }).toBe('done');
    const first = Number(await stage.getAttribute('data-current-layer'));
    expect(first).toBeGreaterThanOrEqual(0);
    await expect
      .poll(async () => Number(await stage.getAttribute('data-current-layer')), { timeout: 15_000 })
      .toBeGreaterThan(first);
    await expect.poll(() => page.getByText(/Layer \d+ \/ 40/).count()).toBe(1);
    await page.screenshot({ path: screenshotPath('printing-preview-1280.png') });
    await page.getByRole('link', { name: 'Dashboard' }).first().click();
    await page.screenshot({ path: screenshotPath('printing-dashboard-1280.png'), fullPage: true });
    const phone = await rig.page(PHONE);
    await phone.goto(rig.server.url);
    await expect.poll(() => badge(phone).textContent()).toBe('Printing');
    expect(
      await phone.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: screenshotPath('printing-dashboard-360.png') });
    expect(problemsOf(page)).toEqual([]);
  });

  it('excludes an object from the preview page, asking first', { timeout: 30_000 }, async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/preview`);
    await page.getByRole('button', { name: 'Exclude SQUARE' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Exclude' }).click();
    await eventually(
      () => queryObject(rig.rpc, 'exclude_object'),
      (o) => (o.excluded_objects as string[] | undefined)?.includes('SQUARE') === true,
    );
    await expect.poll(() => page.locator('.object-list').textContent()).toContain('excluded');
  });

  it('pauses, resumes and cancels (after confirming) from the status card', { timeout: 60_000 }, async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(rig.server.url);
    await expect.poll(() => badge(page).textContent()).toBe('Printing');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => badge(page).textContent(), { timeout: 15_000 }).toBe('Paused');
    expect((await queryObject(rig.rpc, 'print_stats')).state).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => badge(page).textContent(), { timeout: 15_000 }).toBe('Printing');

    await page.getByRole('button', { name: 'Cancel' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('Cancel the print?');
    // Keep printing is the safe answer.
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    expect((await queryObject(rig.rpc, 'print_stats')).state).toBe('printing');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel print' }).click();
    await expect.poll(() => badge(page).textContent(), { timeout: 15_000 }).toBe('Cancelled');
    expect(await page.getByRole('button', { name: 'Print again' }).count()).toBe(1);
  });

  it('lists the cancelled job in the history with the statistics', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/jobs`);
    const history = page.locator('#history');
    await expect.poll(() => history.textContent(), { timeout: 10_000 }).toContain('squares.gcode');
    expect(await history.textContent()).toContain('Cancelled');
    await expect.poll(() => page.locator('#stats').textContent()).toContain('Success rate');
    await page.screenshot({ path: screenshotPath('jobs-history-1280.png'), fullPage: true });
    expect(problemsOf(page)).toEqual([]);
  });
});
