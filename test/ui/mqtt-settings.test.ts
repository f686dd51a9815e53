// Real Chromium and a real mosquitto: the settings page shows the broker link's state as it changes,
// writes the config file's [mqtt] table through the daemon's validator (a bad address is refused with
// the daemon's words and nothing written), and says MQTT is off when no [mqtt] table is there.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, createBroker } from '../fixtures/mosquitto.ts';
import { DESKTOP, problemsOf, startRig, type UiRig } from './browser.ts';

const WAIT = { timeout: 20_000 };

let broker: Broker;
let rig: UiRig;

beforeAll(async () => {
  broker = await createBroker();
  rig = await startRig({
    configToml: `[mqtt]\naddress = "127.0.0.1"\nport = ${broker.port}\ninstance_name = "brimtest"\nstatus_interval = 1\n`,
  });
}, 60_000);

afterAll(async () => {
  await rig?.close();
  await broker?.dispose();
});

const configFile = () => join(rig.daemon.dataDir, 'test.toml');

/** The MQTT panel; the users panel beside it has its own Username and Password fields. */
async function openMqtt(page: Page): Promise<Locator> {
  await page.goto(`${rig.server.url}/settings`);
  const panel = page.locator('#mqtt');
  await panel.waitFor(WAIT);
  // The form is filled from server.config once that answers; type only after it has been.
  await expect.poll(() => panel.getByLabel('Port').inputValue(), WAIT).toBe(String(broker.port));
  return panel;
}

describe('MQTT settings', () => {
  it('shows the broker connected, then the error and the retry once the broker goes away', {
    timeout: 60_000,
  }, async () => {
    const page = await rig.page(DESKTOP);
    const panel = await openMqtt(page);
    const status = panel.getByTestId('mqtt-status');
    await expect
      .poll(() => status.textContent(), WAIT)
      .toContain(`Connected to mqtt://127.0.0.1:${broker.port}`);
    expect(await panel.getByLabel('Broker address').inputValue()).toBe('127.0.0.1');
    expect(await panel.getByLabel('Instance name').inputValue()).toBe('brimtest');

    await broker.stop();
    await expect.poll(() => status.textContent(), WAIT).toContain('Not connected');
    await expect
      .poll(() => panel.getByTestId('mqtt-error').textContent(), WAIT)
      .toMatch(/trying again in \d+ s/);
    await broker.start();
    await expect.poll(() => status.textContent(), { timeout: 90_000 }).toContain('Connected to');
    expect(problemsOf(page)).toEqual([]);
  });

  it('refuses an address the daemon would not start with, and writes nothing', {
    timeout: 40_000,
  }, async () => {
    const page = await rig.page(DESKTOP);
    const panel = await openMqtt(page);
    const before = readFileSync(configFile(), 'utf8');
    await panel.getByLabel('Broker address').fill('http://broker.local');
    await panel.getByRole('button', { name: 'Save to the config file' }).click();
    await expect
      .poll(() => page.locator('.toast.error').last().textContent(), WAIT)
      .toContain('scheme "http"');
    expect(readFileSync(configFile(), 'utf8')).toBe(before);

    await panel.getByLabel('Port').fill('0');
    expect(await panel.getByTestId('mqtt-problem').textContent()).toContain('port');
    expect(await panel.getByRole('button', { name: 'Save to the config file' }).isDisabled()).toBe(true);
  });

  it('writes the [mqtt] table, keeping the other tables and the keys it does not show', {
    timeout: 40_000,
  }, async () => {
    const page = await rig.page(DESKTOP);
    const panel = await openMqtt(page);
    const before = readFileSync(configFile(), 'utf8');
    await panel.getByLabel('Broker address').fill('broker.local');
    await panel.getByLabel('Username').fill('printer');
    await panel.getByLabel('Password', { exact: true }).fill('s3cret "quoted"');
    await panel.getByLabel('Home Assistant discovery').uncheck();
    await panel.getByRole('button', { name: 'Save to the config file' }).click();
    await panel.getByTestId('mqtt-saved').waitFor(WAIT);

    const after = readFileSync(configFile(), 'utf8');
    const table = after.slice(after.indexOf('[mqtt]'));
    expect(table).toContain('address = "broker.local"');
    expect(table).toContain(`port = ${broker.port}`);
    expect(table).toContain('username = "printer"');
    expect(table).toContain('password = "s3cret \\"quoted\\""');
    expect(table).toContain('enable_home_assistant = false');
    // Not on the form, so kept as written.
    expect(table).toContain('status_interval = 1');
    // Everything before [mqtt] is as it was.
    expect(after.slice(0, after.indexOf('[mqtt]'))).toBe(before.slice(0, before.indexOf('[mqtt]')));
    // The config file panel shows the file as it now is.
    await expect.poll(() => page.getByTestId('config-text').inputValue(), WAIT).toContain('broker.local');
    expect(problemsOf(page)).toEqual([]);
  });

  it('turns MQTT off by removing the table', async () => {
    const page = await rig.page(DESKTOP);
    const panel = await openMqtt(page);
    await panel.getByRole('button', { name: 'Turn off' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'OK' }).click();
    await panel.getByTestId('mqtt-saved').waitFor(WAIT);
    expect(readFileSync(configFile(), 'utf8')).not.toContain('[mqtt]');
  });
});

describe('MQTT settings without an [mqtt] table', () => {
  it('says MQTT is off', async () => {
    const plain = await startRig();
    try {
      const page = await plain.page(DESKTOP);
      await page.goto(`${plain.server.url}/settings`);
      await expect.poll(() => page.getByTestId('mqtt-status').textContent(), WAIT).toContain('MQTT is off');
    } finally {
      await plain.close();
    }
  }, 60_000);
});
