// The real Mainsail and Fluidd, unmodified, against Brim and its virtual printer, walked through as a new
// user would: connect, watch temperatures, heat, upload and print a file, pause, resume, cancel, find it in
// the history, use the console, and see no error anywhere.
//
// Opt-in, like the BRIM_TEST_PORT real-printer suite: CI cannot reach GitHub, where the clients live.
// scripts/try-clients.sh builds them from a checkout and runs this file with
//   BRIM_MAINSAIL_DIR=<mainsail>/dist BRIM_FLUIDD_DIR=<fluidd>/dist npx vitest run test/clients.test.ts
// The first run (Mainsail v2.18.2, Fluidd v1.37.4) found no break in Brim; test/clients-setup.test.ts
// checks, without the builds, the cross-origin set-up this relies on.
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientName, type ClientRig, startClientRig } from './clients/rig.ts';
import { eventually, queryObject } from './ui/browser.ts';

/** test/ui/screenshots/clients/ holds a few of these, copied there by hand after a run. */
const SCREENSHOTS = process.env.BRIM_CLIENT_SCREENSHOTS ?? join(tmpdir(), 'brim-client-screenshots');
/** A real slicer's file: heats to 60/200, then about ten minutes of moves on the virtual printer. */
const FIXTURE = 'prusa-2cubes.gcode';
const FIXTURE_TEXT = readFileSync(join(import.meta.dirname, '../gcode/fixtures', FIXTURE));
/** The virtual heaters are first-order models: about a minute to 60 C on the bed (thermal.ts). */
const HEAT_MS = 240_000;
const STATE_MS = 60_000;

async function printState(rig: ClientRig): Promise<string> {
  return String((await queryObject(rig.rpc, 'print_stats')).state);
}

function waitForPrintState(rig: ClientRig, state: string): Promise<string> {
  return eventually(
    () => printState(rig),
    (s) => s === state,
    STATE_MS,
  );
}

async function heated(rig: ClientRig): Promise<void> {
  await eventually(
    async () => ({
      bed: Number((await queryObject(rig.rpc, 'heater_bed')).temperature),
      hotend: Number((await queryObject(rig.rpc, 'extruder')).temperature),
    }),
    (t) => t.bed >= 59 && t.hotend >= 199,
    HEAT_MS,
  );
}

/** Past the start G-code's heat and home: the job is laying down filament. */
async function extruding(rig: ClientRig): Promise<void> {
  await eventually(
    async () => queryObject(rig.rpc, 'print_stats'),
    (stats) => Number(stats.filament_used) > 0 && Number(stats.print_duration) > 0,
    2 * STATE_MS,
  );
}

/**
 * The X field of the toolhead card during the print: its value (Mainsail: gcode_move.gcode_position, Fluidd:
 * toolhead.position) and the live position in its label (motion_report.live_position, `[ 110.71 ]`). The
 * fixture's cubes stand near X=110, so both leave 0.00 once the print lays down filament.
 */
async function showsPrintPosition(field: Locator): Promise<void> {
  const read = async () => ({
    value: Number(await field.locator('input').inputValue()),
    live: Number(/\[\s*(-?\d+\.\d+)\s*\]/.exec((await field.locator('label').textContent()) ?? '')?.[1]),
  });
  await expect.poll(read, { timeout: 20_000 }).toSatisfy(({ value, live }) => value > 50 && live > 50);
}

async function shot(page: Page, client: ClientName, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${client}-${name}.png`) });
}

async function historyJobs(rig: ClientRig): Promise<{ filename: string; status: string }[]> {
  const reply = await rig.rpc.call('server.history.list', { limit: 10 });
  return (reply.result as { jobs: { filename: string; status: string }[] }).jobs;
}

describe.runIf(Boolean(process.env.BRIM_MAINSAIL_DIR))('Mainsail against Brim', () => {
  let rig: ClientRig;
  const client: ClientName = 'mainsail';

  beforeAll(async () => {
    rig = await startClientRig(client, String(process.env.BRIM_MAINSAIL_DIR));
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const statusPanel = () => rig.page.locator('.status-panel');
  const statusButton = (color: 'warning' | 'success' | 'error') =>
    statusPanel().locator(`.panel-toolbar button.${color}--text`).first();

  it('connects and shows the virtual printer and its temperatures', { timeout: 60_000 }, async () => {
    const { page } = rig;
    await page.goto(rig.uiUrl);
    const temperatures = page.locator('.v-card', { hasText: 'Temperatures' }).first();
    await temperatures.locator('tr', { hasText: 'Heater Bed' }).waitFor({ timeout: 30_000 });
    await expect
      .poll(() => temperatures.locator('tr', { hasText: 'Extruder' }).textContent(), { timeout: 20_000 })
      .toMatch(/\d+\.\d\s*°C/);
    await statusPanel().waitFor({ timeout: 20_000 });
    expect(await statusPanel().textContent()).toMatch(/Standby/i);
    await shot(page, client, 'dashboard');
    expect(rig.problems).toEqual([]);
  });

  it('heats bed and hotend from the temperature panel', { timeout: HEAT_MS + 30_000 }, async () => {
    const { page } = rig;
    const temperatures = page.locator('.v-card', { hasText: 'Temperatures' }).first();
    for (const [row, target] of [
      ['Heater Bed', '60'],
      ['Extruder', '200'],
    ] as const) {
      const input = temperatures.locator('tr', { hasText: row }).locator('input').first();
      await input.fill(target);
      await input.press('Enter');
    }
    await eventually(
      async () => [
        (await queryObject(rig.rpc, 'heater_bed')).target,
        (await queryObject(rig.rpc, 'extruder')).target,
      ],
      ([bed, hotend]) => bed === 60 && hotend === 200,
      20_000,
    );
    await heated(rig);
    await shot(page, client, 'heated');
    expect(rig.problems).toEqual([]);
  });

  it('uploads and prints a file, pauses, resumes and cancels', { timeout: 6 * STATE_MS }, async () => {
    const { page } = rig;
    await page
      .locator('header input[type=file]')
      .setInputFiles({ name: FIXTURE, mimeType: 'text/x-gcode', buffer: FIXTURE_TEXT });
    await waitForPrintState(rig, 'printing');
    await expect.poll(() => statusPanel().textContent(), { timeout: 20_000 }).toMatch(/Printing/i);
    await expect.poll(() => statusPanel().textContent(), { timeout: 20_000 }).toContain('prusa-2cubes');
    await extruding(rig);
    const xField = page
      .locator('.v-text-field', { has: page.locator('.v-text-field__suffix', { hasText: /^X$/ }) })
      .first();
    await showsPrintPosition(xField);
    await shot(page, client, 'printing');

    await statusButton('warning').click();
    await waitForPrintState(rig, 'paused');
    await expect.poll(() => statusPanel().textContent(), { timeout: 20_000 }).toMatch(/Paused/i);
    await shot(page, client, 'paused');

    await statusButton('success').click();
    await waitForPrintState(rig, 'printing');
    await expect.poll(() => statusPanel().textContent(), { timeout: 20_000 }).toMatch(/Printing/i);

    // Mainsail offers Cancel only while paused unless its "display cancel" setting is on.
    await statusButton('warning').click();
    await waitForPrintState(rig, 'paused');
    await statusButton('error').click();
    await waitForPrintState(rig, 'cancelled');
    await expect.poll(() => statusPanel().textContent(), { timeout: 20_000 }).toMatch(/Cancelled/i);
    expect(rig.problems).toEqual([]);
  });

  it('lists the cancelled job in the history', { timeout: 60_000 }, async () => {
    const { page } = rig;
    expect((await historyJobs(rig))[0]).toMatchObject({ filename: FIXTURE, status: 'cancelled' });
    await page.locator('a[href="/history"]').first().click();
    const row = page.locator('tr', { hasText: FIXTURE }).first();
    await row.waitFor({ timeout: 20_000 });
    // The status is an icon whose tooltip names it.
    await row.locator('td span .v-icon').last().hover();
    await page.locator('.v-tooltip__content', { hasText: /^Cancelled$/ }).waitFor({ timeout: 20_000 });
    await shot(page, client, 'history');
    expect(rig.problems).toEqual([]);
  });

  it('sends a console command and shows the reply', { timeout: 60_000 }, async () => {
    const { page } = rig;
    await page.locator('a[href="/console"]').first().click();
    const input = page.locator('.v-main textarea, .v-main input[type=text]').first();
    await input.fill('M115');
    await input.press('Enter');
    await expect
      .poll(() => page.locator('.v-main').textContent(), { timeout: 20_000 })
      .toContain('FIRMWARE_NAME:Marlin');
    await shot(page, client, 'console');
    expect(rig.problems).toEqual([]);
  });

  it('shows no error toast or notification', async () => {
    const { page } = rig;
    expect(await page.locator('.v-toast__item--error').count()).toBe(0);
    expect(rig.problems).toEqual([]);
  });
});

describe.runIf(Boolean(process.env.BRIM_FLUIDD_DIR))('Fluidd against Brim', () => {
  let rig: ClientRig;
  const client: ClientName = 'fluidd';

  beforeAll(async () => {
    rig = await startClientRig(client, String(process.env.BRIM_FLUIDD_DIR));
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
  });

  const thermals = () => rig.page.locator('.v-card', { hasText: 'Thermals' }).first();
  const button = (name: string) => rig.page.locator('main').getByRole('button', { name, exact: true });

  it('connects and shows the virtual printer and its temperatures', { timeout: 60_000 }, async () => {
    const { page } = rig;
    await page.goto(rig.uiUrl);
    await thermals().locator('tr', { hasText: 'Heater Bed' }).waitFor({ timeout: 30_000 });
    await expect
      .poll(() => thermals().locator('tr', { hasText: 'Extruder' }).textContent(), { timeout: 20_000 })
      .toMatch(/\d+\.\d\s*°C/);
    await shot(page, client, 'dashboard');
    expect(rig.problems).toEqual([]);
  });

  it('heats bed and hotend from the thermals card', { timeout: HEAT_MS + 30_000 }, async () => {
    const { page } = rig;
    for (const [row, target] of [
      ['Heater Bed', '60'],
      ['Extruder', '200'],
    ] as const) {
      const input = thermals().locator('tr', { hasText: row }).locator('input').first();
      await input.fill(target);
      await input.press('Enter');
    }
    await eventually(
      async () => [
        (await queryObject(rig.rpc, 'heater_bed')).target,
        (await queryObject(rig.rpc, 'extruder')).target,
      ],
      ([bed, hotend]) => bed === 60 && hotend === 200,
      20_000,
    );
    await heated(rig);
    await shot(page, client, 'heated');
    expect(rig.problems).toEqual([]);
  });

  it('uploads and prints a file, pauses, resumes and cancels', { timeout: 6 * STATE_MS }, async () => {
    const { page } = rig;
    await page
      .locator('header input[type=file]')
      .setInputFiles({ name: FIXTURE, mimeType: 'text/x-gcode', buffer: FIXTURE_TEXT });
    await waitForPrintState(rig, 'printing');
    await button('Pause').waitFor({ timeout: 20_000 });
    await extruding(rig);
    await showsPrintPosition(
      page.locator('.v-text-field', { has: page.locator('label', { hasText: /^X \[/ }) }).first(),
    );
    await shot(page, client, 'printing');

    await button('Pause').click();
    await waitForPrintState(rig, 'paused');
    await button('Resume').waitFor({ timeout: 20_000 });
    await shot(page, client, 'paused');

    await button('Resume').click();
    await waitForPrintState(rig, 'printing');
    await button('Pause').waitFor({ timeout: 20_000 });

    await button('Cancel').click();
    // Fluidd asks before cancelling.
    await page
      .locator('.v-dialog--active')
      .getByRole('button', { name: /yes|ok|confirm/i })
      .click();
    await waitForPrintState(rig, 'cancelled');
    expect(rig.problems).toEqual([]);
  });

  it('lists the cancelled job in the history', { timeout: 60_000 }, async () => {
    const { page } = rig;
    expect((await historyJobs(rig))[0]).toMatchObject({ filename: FIXTURE, status: 'cancelled' });
    await page.goto(`${rig.uiUrl}/#/history`);
    const row = page.locator('tr', { hasText: FIXTURE }).first();
    await row.waitFor({ timeout: 20_000 });
    // The status is an icon whose tooltip names it.
    await row.locator('.v-icon').first().hover();
    await page.locator('.v-tooltip__content', { hasText: /^Cancelled$/ }).waitFor({ timeout: 20_000 });
    await shot(page, client, 'history');
    expect(rig.problems).toEqual([]);
  });

  it('sends a console command and shows the reply', { timeout: 60_000 }, async () => {
    const { page } = rig;
    await page.goto(`${rig.uiUrl}/#/console`);
    const input = page.locator('main textarea').first();
    await input.waitFor({ timeout: 20_000 });
    await input.fill('M115');
    await input.press('Enter');
    await expect
      .poll(() => page.locator('main').textContent(), { timeout: 20_000 })
      .toContain('FIRMWARE_NAME:Marlin');
    await shot(page, client, 'console');
    expect(rig.problems).toEqual([]);
  });

  it('shows no error toast or notification', async () => {
    const { page } = rig;
    expect(await page.locator('.v-snack--active .error, .v-snack--active.error').count()).toBe(0);
    expect(rig.problems).toEqual([]);
  });
});
