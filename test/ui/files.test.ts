// The files page in real Chromium against the daemon's file manager: upload (chosen or dropped) with
// progress, metadata and thumbnails, refusals with the reason, folders, rename, delete, and the preview
// of a stored file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, PHONE, problemsOf, screenshotPath, startRig, type UiRig } from './browser.ts';

const FIXTURE = join(import.meta.dirname, '../../gcode/fixtures/prusa-2cubes.gcode');

/** Uploads above this are refused by the daemon (its [server] max_body_bytes), so "too large" can be tried. */
const MAX_BODY_BYTES = 1_000_000;

let rig: UiRig;

beforeAll(async () => {
  rig = await startRig({ configToml: `[server]\nmax_body_bytes = ${MAX_BODY_BYTES}\n` });
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

/**
 * Drags a file over the page and drops it, with real DragEvents carrying a DataTransfer that holds a File
 * made in the page (what a file dragged from the desktop gives the page). `repeat` copies of `text`.
 */
async function dropFile(page: Page, name: string, text: string, repeat = 1): Promise<void> {
  // A string, not a function: the test's own TypeScript has no DOM types.
  const dataTransfer = await page.evaluateHandle(`(() => {
    const transfer = new DataTransfer();
    const body = ${JSON.stringify(text)}.repeat(${repeat});
    transfer.items.add(new File([body], ${JSON.stringify(name)}, { type: 'application/octet-stream' }));
    return transfer;
  })()`);
  const zone = page.locator('.files-view');
  await zone.dispatchEvent('dragenter', { dataTransfer });
  await zone.dispatchEvent('dragover', { dataTransfer });
  await expect.poll(() => page.locator('.files-view.dragging').count()).toBe(1);
  await zone.dispatchEvent('drop', { dataTransfer });
  await expect.poll(() => page.locator('.files-view.dragging').count()).toBe(0);
}

async function listed(): Promise<string[]> {
  const reply = await rig.rpc.call('server.files.list', { root: 'gcodes' });
  return (reply.result as { path: string }[]).map((f) => f.path).sort();
}

/**
 * Uploads at 60 KB/s (Chrome's network emulation), so their progress bar can be seen; the function it
 * resolves with puts the network back to full speed.
 */
async function slowUploads(page: Page): Promise<() => Promise<void>> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const limit = (latency: number, uploadThroughput: number) =>
    cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency,
      downloadThroughput: -1,
      uploadThroughput,
    });
  await limit(20, 60 * 1024);
  return async () => {
    await limit(0, -1);
  };
}

describe('files', () => {
  it('uploads a chosen file with a progress bar, then lists it with its thumbnail and metadata', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/files`);
    await expect.poll(() => page.getByText('No files here yet').count()).toBe(1);
    const fullSpeed = await slowUploads(page);
    await page.getByTestId('upload-input').setInputFiles(FIXTURE);
    const progress = page.getByRole('progressbar', { name: 'Uploading prusa-2cubes.gcode' });
    await expect.poll(() => progress.count()).toBe(1);
    await expect.poll(async () => Number(await progress.getAttribute('aria-valuenow'))).toBeGreaterThan(0);
    await fullSpeed();
    const row = page.locator('tr[data-file="prusa-2cubes.gcode"]');
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => row.locator('img').count()).toBe(1);
    await expect
      .poll(() =>
        page.evaluate(`document.querySelector('tr[data-file="prusa-2cubes.gcode"] img').naturalWidth`),
      )
      .toBeGreaterThan(0);
    const text = await row.textContent();
    expect(text).toContain('PrusaSlicer');
    expect(text).toContain('3m 30s');
    expect(text).toContain('107 mm');
    expect(await listed()).toEqual(['prusa-2cubes.gcode']);
    await page.screenshot({ path: screenshotPath('files-1280.png') });
    expect(problemsOf(page)).toEqual([]);
  });

  it('refuses a file that is not G-code with the server reason and leaves the list as it was', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/files`);
    await expect.poll(() => page.locator('tr[data-file]').count()).toBe(1);
    await page.getByTestId('upload-input').setInputFiles({
      name: 'broken.gcode',
      mimeType: 'application/octet-stream',
      buffer: Buffer.from([0, 1, 2, 3, 0, 255, 254, 0, 0, 0, 7, 8]),
    });
    const failure = page.locator('[data-testid=upload].error');
    await expect.poll(() => failure.count()).toBe(1);
    expect(await failure.textContent()).toContain('is not G-code');
    expect(await page.locator('.toast.error').last().textContent()).toContain('broken.gcode');
    await page.getByTestId('upload-input').setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('hello'),
    });
    await expect.poll(() => page.locator('[data-testid=upload].error').count()).toBe(2);
    expect(await page.locator('tr[data-file]').count()).toBe(1);
    expect(await listed()).toEqual(['prusa-2cubes.gcode']);
  });

  it('creates a folder, opens it and comes back', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/files`);
    await page.getByRole('button', { name: 'New folder' }).click();
    await page.getByRole('dialog').getByLabel('Name').fill('parts');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'parts', exact: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'parts', exact: true }).click();
    await expect.poll(() => page.getByText('No files here yet').count()).toBe(1);
    await page.getByRole('button', { name: 'Up one folder' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'parts', exact: true }).count()).toBe(1);
    await page.getByRole('button', { name: 'parts', exact: true }).click();
    await page
      .getByRole('navigation', { name: 'Folder' })
      .getByRole('button', { name: 'G-code files' })
      .click();
    await expect.poll(() => page.getByRole('button', { name: 'parts', exact: true }).count()).toBe(1);
  });

  it('renames and deletes a file, asking first', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/files`);
    await page.getByRole('button', { name: 'Rename prusa-2cubes.gcode' }).click();
    await page.getByRole('dialog').getByLabel('New name').fill('cubes.gcode');
    await page.getByRole('button', { name: 'Rename', exact: true }).click();
    await expect.poll(() => page.locator('tr[data-file="cubes.gcode"]').count()).toBe(1);
    expect(await listed()).toEqual(['cubes.gcode']);

    await page.getByRole('button', { name: 'Delete cubes.gcode' }).click();
    // Cancelling keeps it.
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect(await listed()).toEqual(['cubes.gcode']);
    await page.getByRole('button', { name: 'Delete cubes.gcode' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.locator('tr[data-file]').count()).toBe(0);
    expect(await listed()).toEqual([]);
  });

  it('previews a stored file from its row', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/files`);
    await page.getByTestId('upload-input').setInputFiles(FIXTURE);
    await expect
      .poll(() => page.locator('tr[data-file="prusa-2cubes.gcode"]').count(), { timeout: 15_000 })
      .toBe(1);
    await page.getByRole('link', { name: 'Preview prusa-2cubes.gcode' }).click();
    const stage = page.getByTestId('preview-stage');
    await expect.poll(() => stage.getAttribute('data-state'), { timeout: 15_000 }).toBe('done');
    expect(Number(await stage.getAttribute('data-layers'))).toBeGreaterThan(5);
  });

  it('uploads a file dropped on the page, with progress, then lists it with its metadata', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/files`);
    await expect.poll(() => page.locator('tr[data-file]').count()).toBe(1);
    const fullSpeed = await slowUploads(page);
    await dropFile(page, 'dropped.gcode', readFileSync(FIXTURE, 'utf8'));
    const progress = page.getByRole('progressbar', { name: 'Uploading dropped.gcode' });
    await expect.poll(() => progress.count()).toBe(1);
    await expect.poll(async () => Number(await progress.getAttribute('aria-valuenow'))).toBeGreaterThan(0);
    await page.screenshot({ path: screenshotPath('files-drop-1280.png') });
    await fullSpeed();
    const row = page.locator('tr[data-file="dropped.gcode"]');
    await expect.poll(() => row.count(), { timeout: 15_000 }).toBe(1);
    await expect.poll(() => row.textContent()).toContain('PrusaSlicer');
    expect(await row.textContent()).toContain('3m 30s');
    expect(await listed()).toEqual(['dropped.gcode', 'prusa-2cubes.gcode']);
    expect(problemsOf(page)).toEqual([]);
  });

  it('says why a dropped file is refused, not G-code or too large, and leaves the list as it was', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/files`);
    await expect.poll(() => page.locator('tr[data-file]').count()).toBe(2);
    await dropFile(page, 'notes.txt', 'hello');
    const failures = page.locator('[data-testid=upload].error');
    await expect.poll(() => failures.count()).toBe(1);
    expect(await failures.first().textContent()).toContain('Not a G-code file');
    // Twice the daemon's limit: it refuses the upload and says so.
    await dropFile(page, 'huge.gcode', 'G1 X10 Y10 E0.5 ; padding to be too large\n', 50_000);
    await expect.poll(() => failures.count(), { timeout: 20_000 }).toBe(2);
    const refusal = await failures.last().textContent();
    expect(refusal).toContain('huge.gcode');
    expect(refusal).toContain("larger than the server's max_body_bytes");
    await page.screenshot({ path: screenshotPath('files-refused-1280.png') });
    expect(await page.locator('tr[data-file]').count()).toBe(2);
    expect(await listed()).toEqual(['dropped.gcode', 'prusa-2cubes.gcode']);
  });

  it('lists files as cards on a phone', async () => {
    const page = await rig.page(PHONE);
    await page.goto(`${rig.server.url}/files`);
    await expect.poll(() => page.locator('tr[data-file]').count()).toBe(2);
    expect(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0);
    await page.screenshot({ path: screenshotPath('files-360.png'), fullPage: true });
    // A drop works on a phone-sized page too (a tablet with a mouse, say).
    await dropFile(page, 'small.gcode', 'G90\nM83\nG1 Z0.2\nG1 X10 Y10 E1\n');
    await expect.poll(() => page.locator('tr[data-file="small.gcode"]').count(), { timeout: 15_000 }).toBe(1);
    await page.screenshot({ path: screenshotPath('files-drop-360.png'), fullPage: true });
  });
});
