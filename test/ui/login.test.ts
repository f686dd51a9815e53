// Real Chromium against a daemon that trusts nobody: the login page, the server's refusal, roles (a viewer
// sees no controls, an operator does), staying logged in across a reload, and logging out.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP, problemsOf, startRig, type UiRig } from './browser.ts';

const PASSWORD = 'correct horse battery';
let rig: UiRig;

beforeAll(async () => {
  rig = await startRig({ configToml: '[authorization]\ntrusted_clients = []\n' });
  const auth = rig.daemon.daemon.kernel.instance('authorization');
  await auth.createUser('vera', PASSWORD, 'viewer');
  await auth.createUser('otto', PASSWORD, 'operator');
}, 60_000);

afterAll(async () => {
  await rig?.close();
});

async function logIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/** Controls that change the printer, one of each kind. */
async function controlCounts(page: Page): Promise<Record<string, number>> {
  return {
    estop: await page.getByTestId('emergency-stop').count(),
    home: await page.getByRole('button', { name: 'Home all axes' }).count(),
    heat: await page.getByLabel('Bed target °C').count(),
    console: await page.getByRole('button', { name: 'Send' }).count(),
  };
}

describe('login', () => {
  it('asks an untrusted browser to log in, and refuses a wrong password with the server’s message', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(rig.server.url);
    await page.getByTestId('login-page').waitFor();
    expect(await page.getByTestId('printer-state').count()).toBe(0);
    expect(await page.getByTestId('emergency-stop').count()).toBe(0);
    await expect.poll(() => page.getByRole('button', { name: 'Log in' }).isEnabled()).toBe(true);
    await logIn(page, 'vera', 'not the password');
    await expect.poll(() => page.getByTestId('login-error').textContent()).toBe('Unauthorized');
    expect(await page.getByTestId('login-page').count()).toBe(1);
  });

  it('shows a viewer the printer without any control, across a reload too', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(rig.server.url);
    await expect.poll(() => page.getByRole('button', { name: 'Log in' }).isEnabled()).toBe(true);
    await logIn(page, 'vera', PASSWORD);
    await expect.poll(() => page.getByTestId('printer-state').textContent()).toBe('Ready');
    await expect.poll(() => page.getByTestId('temp-extruder').textContent()).toMatch(/^\d+\.\d°$/);
    expect(await page.getByTestId('user-name').textContent()).toBe('vera');
    expect(await controlCounts(page)).toEqual({ estop: 0, home: 0, heat: 0, console: 0 });
    expect(await page.locator('main button.btn:not(.ghost)').count()).toBe(0);
    expect(await page.evaluate('localStorage.getItem("brim.refresh_token") !== null')).toBe(true);

    await page.getByRole('link', { name: 'Files' }).first().click();
    await page.locator('#files').waitFor();
    expect(await page.getByRole('button', { name: 'Upload', exact: true }).count()).toBe(0);
    expect(await page.getByTestId('upload-input').count()).toBe(0);

    // The refresh token outlives the page: a reload logs in again without the form.
    await page.goto(rig.server.url);
    await expect.poll(() => page.getByTestId('printer-state').textContent()).toBe('Ready');
    expect(await page.getByTestId('login-page').count()).toBe(0);
    expect(await controlCounts(page)).toEqual({ estop: 0, home: 0, heat: 0, console: 0 });

    await page.getByTestId('logout').click();
    await page.getByTestId('login-page').waitFor();
    expect(await page.evaluate('localStorage.getItem("brim.refresh_token")')).toBe(null);
    expect(problemsOf(page).filter((p) => !p.includes('401'))).toEqual([]);
  });

  it('shows an operator every control', async () => {
    const page = await rig.page(DESKTOP);
    await page.goto(rig.server.url);
    await expect.poll(() => page.getByRole('button', { name: 'Log in' }).isEnabled()).toBe(true);
    await logIn(page, 'otto', PASSWORD);
    await expect.poll(() => page.getByTestId('printer-state').textContent()).toBe('Ready');
    await expect.poll(() => controlCounts(page)).toEqual({ estop: 1, home: 1, heat: 1, console: 1 });
    await page.getByRole('link', { name: 'Files' }).first().click();
    await page.locator('#files').waitFor();
    expect(await page.getByRole('button', { name: 'Upload', exact: true }).count()).toBe(1);
    expect(problemsOf(page).filter((p) => !p.includes('401'))).toEqual([]);
  });

  it('covers the page with the login when the session runs out, and gives it back as it was', {
    timeout: 60_000,
  }, async () => {
    const auth = rig.daemon.daemon.kernel.instance('authorization');
    await auth.createUser('olga', PASSWORD, 'operator');
    const page = await rig.page(DESKTOP);
    await page.goto(`${rig.server.url}/console`);
    await expect.poll(() => page.getByRole('button', { name: 'Log in' }).isEnabled()).toBe(true);
    await logIn(page, 'olga', PASSWORD);
    const command = page.getByLabel('G-code command');
    await command.fill('M117 half typed');

    // A password change elsewhere revokes every token of hers; the socket then drops and comes back.
    const login = await fetch(`${rig.daemon.url}/access/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'olga', password: PASSWORD }),
    });
    const { token } = ((await login.json()) as { result: { token: string } }).result;
    const changed = await fetch(`${rig.daemon.url}/access/user/password`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ password: PASSWORD, new_password: `${PASSWORD} 2` }),
    });
    expect(changed.status).toBe(200);
    rig.server.offline();
    await expect.poll(() => page.getByTestId('stale-banner').count()).toBe(1);
    rig.server.online();

    await page.getByTestId('login-page').waitFor({ timeout: 20_000 });
    expect(await command.isVisible()).toBe(false);
    expect(new URL(page.url()).pathname).toBe('/console');
    await logIn(page, 'olga', `${PASSWORD} 2`);
    await expect.poll(() => command.isVisible()).toBe(true);
    expect(await command.inputValue()).toBe('M117 half typed');
    expect(await page.getByTestId('login-page').count()).toBe(0);
  });
});
