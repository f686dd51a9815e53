// Real Chromium against a daemon that trusts nobody: an admin adds a user, regenerates the API key, adds and
// edits a camera, saves a config with an error (marked beside its line, nothing written) and then a valid
// one; an operator and a viewer see only what their role allows.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcClient } from '../fixtures/daemon.ts';
import { DESKTOP, PHONE, problemsOf, screenshotPath, startRig, type UiRig } from './browser.ts';

const PASSWORD = 'correct horse battery';
const CONFIG = '[authorization]\ntrusted_clients = []\n';

let rig: UiRig;
/** A websocket logged in as the admin, to check what the UI did from the daemon's side. */
let admin: RpcClient;

async function result<T>(client: RpcClient, method: string, params?: Record<string, unknown>): Promise<T> {
  const reply = await client.call(method, params);
  if (reply.error) throw new Error(`${method}: ${reply.error.code} ${reply.error.message}`);
  return reply.result as T;
}

beforeAll(async () => {
  rig = await startRig({ configToml: CONFIG });
  const auth = rig.daemon.daemon.kernel.instance('authorization');
  await auth.createUser('ada', PASSWORD, 'admin');
  await auth.createUser('vera', PASSWORD, 'viewer');
  admin = await RpcClient.connect(rig.daemon.wsUrl);
  await result(admin, 'access.login', { username: 'ada', password: PASSWORD });
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await rig?.close();
});

/** The daemon answers within milliseconds, but a loaded CI machine may take seconds. */
const WAIT = { timeout: 15_000 };

/** Text of every match joined, without waiting for one to exist (expect.poll asks again). */
async function textOf(locator: Locator): Promise<string> {
  return (await locator.allTextContents()).join(' | ');
}

const configFile = () => join(rig.daemon.dataDir, 'test.toml');

async function logInTo(page: Page, username: string, path = '/settings'): Promise<void> {
  await page.goto(`${rig.server.url}${path}`);
  await expect.poll(() => page.getByRole('button', { name: 'Log in' }).isEnabled(), WAIT).toBe(true);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#appearance').waitFor();
}

/** The newest toast of a kind, or undefined; never waits, so expect.poll can ask again. */
async function lastToast(page: Page, kind: 'success' | 'error'): Promise<string | undefined> {
  return (await page.locator(`.toast.${kind} .toast-text`).allTextContents()).at(-1);
}

async function confirmDialog(page: Page, label: string): Promise<void> {
  await page.locator('dialog[open]').getByRole('button', { name: label }).click();
}

describe('settings as an admin', () => {
  it('adds an operator who can then log in', async () => {
    const page = await rig.page(DESKTOP);
    await logInTo(page, 'ada');
    const form = page.getByRole('form', { name: 'Add a user' });
    await form.getByLabel('Username').fill('otto');
    await form.getByLabel('Password (at least 8 characters)').fill(PASSWORD);
    await form.getByLabel('Role').selectOption('operator');
    await form.getByRole('button', { name: 'Add user' }).click();
    await expect.poll(() => lastToast(page, 'success'), WAIT).toBe('User otto added as operator');
    await expect.poll(() => textOf(page.locator('tr[data-user="otto"] .badge')), WAIT).toBe('operator');

    const { users } = await result<{ users: { username: string; role: string }[] }>(
      admin,
      'access.users.list',
    );
    expect(users.find((u) => u.username === 'otto')?.role).toBe('operator');
    const login = await fetch(`${rig.daemon.url}/access/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'otto', password: PASSWORD }),
    });
    expect(login.status).toBe(200);

    // A too-short password never leaves the page: the button says no until it is long enough.
    await form.getByLabel('Username').fill('shorty');
    await form.getByLabel('Password (at least 8 characters)').fill('short');
    expect(await form.getByRole('button', { name: 'Add user' }).isDisabled()).toBe(true);
    // The server's refusal reaches the admin as it is: the name is taken.
    await form.getByLabel('Username').fill('otto');
    await form.getByLabel('Password (at least 8 characters)').fill(PASSWORD);
    await form.getByRole('button', { name: 'Add user' }).click();
    await expect.poll(() => lastToast(page, 'error'), WAIT).toBe("User 'otto' already exists");
    expect(problemsOf(page).filter((p) => !p.includes('401') && !p.includes('409'))).toEqual([]);
  });

  it('regenerates the API key: the new one is shown and the old one stops working', async () => {
    const page = await rig.page(DESKTOP);
    await logInTo(page, 'ada');
    const before = await result<string>(admin, 'access.get_api_key');
    await page.locator('#api-key').getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => page.getByTestId('api-key').textContent(), WAIT).toBe(before);
    await page.getByRole('button', { name: 'Regenerate' }).click();
    await confirmDialog(page, 'New key');
    await expect
      .poll(() => lastToast(page, 'success'), WAIT)
      .toBe('New API key made; the old one no longer works');
    const after = await result<string>(admin, 'access.get_api_key');
    expect(after).not.toBe(before);
    expect(await page.getByTestId('api-key').textContent()).toBe(after);
    const withKey = (key: string) =>
      fetch(`${rig.daemon.url}/server/info`, { headers: { 'X-Api-Key': key } });
    expect((await withKey(before)).status).toBe(401);
    expect((await withKey(after)).status).toBe(200);
  });

  it('adds a camera and edits it', async () => {
    const page = await rig.page(DESKTOP);
    await logInTo(page, 'ada');
    const cameras = page.locator('#cameras');
    await cameras.getByRole('button', { name: 'Add camera' }).click();
    const form = page.getByRole('form', { name: 'Add a camera' });
    await form.getByLabel('Name').fill('Bed cam');
    await form.getByLabel('Stream URL').fill('http://192.0.2.10/stream');
    await form.getByLabel('Rotation').selectOption('180');
    await form.getByRole('button', { name: 'Add camera' }).click();
    await expect.poll(() => lastToast(page, 'success'), WAIT).toBe('Camera Bed cam added');
    await cameras.locator('tr[data-camera="Bed cam"]').waitFor();
    const listed = async () =>
      (
        await result<{
          webcams: { name: string; stream_url: string; rotation: number; target_fps: number }[];
        }>(admin, 'server.webcams.list')
      ).webcams;
    expect(await listed()).toMatchObject([
      { name: 'Bed cam', stream_url: 'http://192.0.2.10/stream', rotation: 180 },
    ]);

    await page.getByRole('button', { name: 'Edit camera Bed cam' }).click();
    const edit = page.getByRole('form', { name: 'Edit camera Bed cam' });
    await edit.getByLabel('Frames per second').fill('30');
    await edit.getByRole('button', { name: 'Save camera' }).click();
    await expect.poll(() => lastToast(page, 'success'), WAIT).toBe('Camera Bed cam saved');
    await expect
      .poll(async () => (await listed()).map((w) => [w.name, w.target_fps]), WAIT)
      .toEqual([['Bed cam', 30]]);
  });

  it('marks a config error beside its line and writes nothing, then saves a valid file', async () => {
    const page = await rig.page(DESKTOP);
    await logInTo(page, 'ada');
    const editor = page.getByTestId('config-text');
    const original = readFileSync(configFile(), 'utf8');
    await expect.poll(() => editor.inputValue(), WAIT).toBe(original);

    const broken = `${original}\n[serial]\nwindow = 4\nresend_histroy = 500\n`;
    const badLine = broken.split('\n').indexOf('resend_histroy = 500') + 1;
    await editor.fill(broken);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect
      .poll(() => lastToast(page, 'error'), WAIT)
      .toBe('Not saved: 1 problem in the file; see the marked lines');
    const note = page.getByTestId('config-problem-inline');
    await expect.poll(() => note.count(), WAIT).toBe(1);
    expect(await note.getAttribute('data-line')).toBe(String(badLine));
    expect(await note.textContent()).toBe(
      '[serial]: unknown key "resend_histroy" (did you mean "resend_history"?)',
    );
    expect(await page.getByTestId('config-problems').textContent()).toContain(`Line ${badLine}, column 1`);
    // Beside the offending line: the note's row is that line's row in the textarea.
    // Run in the page as a string: the test's own tsconfig has no DOM types.
    const rowOf = (await page.evaluate(`(() => {
      const area = document.querySelector('[data-testid="config-text"]');
      const style = getComputedStyle(area);
      const top = area.getBoundingClientRect().top + parseFloat(style.paddingTop) - area.scrollTop;
      return top + (${badLine} - 1) * parseFloat(style.lineHeight);
    })()`)) as number;
    const box = await note.boundingBox();
    expect(Math.abs((box?.y ?? 0) - rowOf)).toBeLessThanOrEqual(2);
    expect(readFileSync(configFile(), 'utf8')).toBe(original);
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: screenshotPath('settings-1280.png'), fullPage: true });

    const fixed = broken.replace('resend_histroy', 'resend_history');
    await editor.fill(fixed);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect
      .poll(() => lastToast(page, 'success'), WAIT)
      .toBe('Saved test.toml; the previous one is test.toml.bak');
    expect(readFileSync(configFile(), 'utf8')).toBe(fixed);
    expect(readFileSync(`${configFile()}.bak`, 'utf8')).toBe(original);
    expect(await note.count()).toBe(0);
    // The in-process test daemon cannot restart itself, and the page says so instead of offering it.
    await expect
      .poll(() => textOf(page.getByTestId('restart-notice')), WAIT)
      .toContain('restart Brim to use it');
    expect(await page.getByTestId('restart-notice').textContent()).toContain('cannot restart itself');
    expect(problemsOf(page).filter((p) => !p.includes('401'))).toEqual([]);
  });

  it('fits a 360 px phone without sideways scrolling, the inline error too', async () => {
    const page = await rig.page(PHONE);
    await logInTo(page, 'ada');
    const editor = page.getByTestId('config-text');
    await expect.poll(() => editor.inputValue(), WAIT).toContain('[virtual_printer]');
    await editor.fill('[serial]\nwindow = "eight"\n');
    await page.getByRole('button', { name: 'Check' }).click();
    await expect
      .poll(
        () =>
          page.getByTestId('config-problem-inline').evaluateAll((notes) => notes.map((n) => n.dataset.line)),
        WAIT,
      )
      .toEqual(['2']);
    const overflow = await page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: screenshotPath('settings-360.png'), fullPage: true });
  });
});

describe('settings for other roles', () => {
  it('shows an operator the presets but nothing an admin manages', async () => {
    const page = await rig.page(DESKTOP);
    await logInTo(page, 'otto');
    await page.locator('#presets').waitFor();
    await page.locator('tr[data-camera="Bed cam"]').waitFor();
    for (const id of ['#users', '#api-key', '#config-file'])
      expect(await page.locator(id).count(), id).toBe(0);
    expect(await page.getByRole('button', { name: /camera/i }).count()).toBe(0);
    expect(await page.getByTestId('admin-only').textContent()).toContain('managed by an admin');
  });

  it('shows a viewer no settings controls at all, only the per-browser theme', async () => {
    const page = await rig.page(DESKTOP);
    await logInTo(page, 'vera');
    await page.locator('tr[data-camera="Bed cam"]').waitFor();
    for (const id of ['#users', '#api-key', '#config-file', '#presets'])
      expect(await page.locator(id).count(), id).toBe(0);
    expect(await page.locator('main button').count()).toBe(0);
    expect(await page.locator('main input:not([name="theme"]), main select, main textarea').count()).toBe(0);
    await page.evaluate('window.scrollTo(0, 0)');
    await page.screenshot({ path: screenshotPath('settings-viewer-1280.png'), fullPage: true });
    expect(problemsOf(page).filter((p) => !p.includes('401'))).toEqual([]);
  });
});
