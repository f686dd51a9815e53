// The dashboard's webcam panel in real Chromium. A USB camera cannot be had here, so a small HTTP server in
// this test stands in for the streamer (crowsnest/ustreamer): an MJPEG stream (multipart/x-mixed-replace)
// and single JPEG snapshots, whose frames Chromium itself encoded from a canvas. The cameras are
// configured through server.webcams.post_item, as Mainsail and the settings page do.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, PHONE, problemsOf, screenshotPath, startRig, type UiRig } from './browser.ts';

const BOUNDARY = 'brimframe';

let rig: UiRig;
let camera: Server;
let cameraUrl: string;
const frames: Buffer[] = [];
const hits = { stream: 0, snapshot: 0 };
const streams = new Set<ServerResponse>();

/** 64×48 JPEGs with an arrow pointing up and right, so rotation and flips show; drawn and encoded by Chromium. */
async function encodeFrames(page: Page): Promise<Buffer[]> {
  const urls = (await page.evaluate(`['#c0392b', '#2471a3'].map((colour) => {
    const canvas = document.createElement('canvas');
    canvas.width = 64;
    canvas.height = 48;
    const g = canvas.getContext('2d');
    g.fillStyle = colour;
    g.fillRect(0, 0, 64, 48);
    g.fillStyle = '#fff';
    g.beginPath();
    g.moveTo(40, 6); g.lineTo(58, 6); g.lineTo(58, 24); g.closePath();
    g.fill();
    g.fillRect(8, 30, 36, 8);
    return canvas.toDataURL('image/jpeg', 0.9);
  })`)) as string[];
  return urls.map((url) => Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
}

function startCamera(): Promise<string> {
  camera = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/snapshot') {
      hits.snapshot++;
      const frame = frames[hits.snapshot % frames.length]!;
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': frame.length });
      res.end(frame);
    } else if (path === '/stream') {
      hits.stream++;
      res.writeHead(200, { 'content-type': `multipart/x-mixed-replace; boundary=${BOUNDARY}` });
      streams.add(res);
      let n = 0;
      const send = () => {
        const frame = frames[n++ % frames.length]!;
        res.write(`--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${frame.length}\r\n\r\n`);
        res.write(frame);
        res.write('\r\n');
      };
      send();
      const timer = setInterval(send, 200);
      res.on('close', () => {
        clearInterval(timer);
        streams.delete(res);
      });
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    camera.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(camera.address() as AddressInfo).port}`),
    );
  });
}

/** An expression for a camera's image element in the page. */
const imageOf = (name: string) => `document.querySelector('img[alt="Webcam ${name}"]')`;

/** The computed transform of a camera's image, as [a, b, c, d] rounded (rotation and flips). */
async function transformOf(page: Page, name: string): Promise<number[]> {
  const matrix = (await page.evaluate(`getComputedStyle(${imageOf(name)}).transform`)) as string;
  const values = /matrix\(([^)]+)\)/.exec(matrix)?.[1]?.split(',').map(Number) ?? [];
  return values.slice(0, 4).map((v) => Math.round(v) + 0);
}

async function postCamera(fields: Record<string, unknown>): Promise<void> {
  const reply = await rig.rpc.call('server.webcams.post_item', fields);
  if (reply.error) throw new Error(`post_item: ${reply.error.message}`);
}

beforeAll(async () => {
  rig = await startRig();
  const page = await rig.page(DESKTOP);
  await page.goto(rig.server.url);
  frames.push(...(await encodeFrames(page)));
  await page.context().close();
  cameraUrl = await startCamera();
}, 60_000);

afterAll(async () => {
  for (const res of streams) res.destroy();
  await new Promise((resolve) => camera?.close(resolve));
  await rig?.close();
});

describe('webcam panel', () => {
  it('is not shown while no camera is configured', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(rig.server.url);
    await expect.poll(() => page.getByTestId('printer-state').textContent()).toBe('Ready');
    expect(await page.locator('#webcams').count()).toBe(0);
    expect(problemsOf(page)).toEqual([]);
  });

  it('shows an MJPEG stream with its rotation and flip, turns it further and goes full screen and back', {
    timeout: 60_000,
  }, async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(rig.server.url);
    await expect.poll(() => page.getByTestId('printer-state').textContent()).toBe('Ready');
    await postCamera({
      name: 'bed',
      service: 'mjpegstreamer',
      stream_url: `${cameraUrl}/stream`,
      snapshot_url: `${cameraUrl}/snapshot`,
      rotation: 90,
      flip_horizontal: true,
    });
    // The page hears of the new camera by notify_webcams_changed, without a reload.
    const image = page.getByRole('img', { name: 'Webcam bed' });
    await expect.poll(() => image.count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.evaluate(`${imageOf('bed')}.naturalWidth`)).toBe(64);
    expect(hits.stream).toBeGreaterThan(0);
    // rotate(90deg) then scaleX(-1): matrix(0, -1, -1, 0).
    expect(await transformOf(page, 'bed')).toEqual([0, -1, -1, 0]);
    await page.locator('#webcams').screenshot({ path: screenshotPath('webcam-1280.png') });

    await page.getByRole('button', { name: 'Rotate 90°' }).click();
    // 180° then the flip: matrix(1, 0, 0, -1).
    await expect.poll(() => transformOf(page, 'bed')).toEqual([1, 0, 0, -1]);

    await page.getByRole('button', { name: 'Full screen' }).click();
    await expect.poll(() => page.evaluate('document.fullscreenElement?.className ?? null')).toBe('webcam');
    await page.screenshot({ path: screenshotPath('webcam-fullscreen-1280.png') });
    await page.getByRole('button', { name: 'Leave full screen' }).click();
    await expect.poll(() => page.evaluate('document.fullscreenElement')).toBeNull();
    expect(problemsOf(page)).toEqual([]);
  });

  it('polls snapshots for an adaptive camera, flipped upside down, on a phone too', async () => {
    await postCamera({
      name: 'nozzle',
      service: 'mjpegstreamer-adaptive',
      stream_url: '',
      snapshot_url: `${cameraUrl}/snapshot`,
      target_fps: 5,
      flip_vertical: true,
    });
    const page = await rig.page(PHONE);
    const before = hits.snapshot;
    await page.goto(rig.server.url);
    const image = page.getByRole('img', { name: 'Webcam nozzle' });
    await expect.poll(() => image.count(), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => page.evaluate(`${imageOf('nozzle')}.naturalWidth`), { timeout: 10_000 }).toBe(64);
    // The next frame is asked for once the last arrived: the count keeps rising.
    await expect.poll(() => hits.snapshot, { timeout: 10_000 }).toBeGreaterThan(before + 2);
    expect(await transformOf(page, 'nozzle')).toEqual([1, 0, 0, -1]);
    expect(await page.getByRole('heading', { name: 'Webcams' }).count()).toBe(1);
    expect(
      await page.evaluate('document.documentElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(0);
    await page.locator('#webcams').scrollIntoViewIfNeeded();
    await page.screenshot({ path: screenshotPath('webcam-360.png') });
    expect(problemsOf(page)).toEqual([]);
  });

  it('goes away when the cameras are removed', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(rig.server.url);
    await expect.poll(() => page.locator('#webcams').count(), { timeout: 10_000 }).toBe(1);
    for (const name of ['bed', 'nozzle']) {
      const reply = await rig.rpc.call('server.webcams.delete_item', { name });
      expect(reply.error).toBeUndefined();
    }
    await expect.poll(() => page.locator('#webcams').count(), { timeout: 10_000 }).toBe(0);
  });
});
