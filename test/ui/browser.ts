// Shared set-up of the browser tests: a fresh UI build, a daemon with the virtual printer, the UI server
// in front of it, and Debian's Chromium driven by playwright-core.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { RpcClient, startTestDaemon, type TestDaemon } from '../fixtures/daemon.ts';
import { startUiServer, type UiServer } from './ui-server.ts';

export const CHROMIUM = process.env.BRIM_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The sizes the UI is checked at: a small phone and a laptop. */
/**
 * Where a test's screenshot goes: $TMPDIR/brim-ui-screenshots, or BRIM_UI_SCREENSHOTS (set it to
 * test/ui/screenshots to refresh the ones the READMEs link to).
 */
export function screenshotPath(name: string): string {
  const dir = process.env.BRIM_UI_SCREENSHOTS ?? join(tmpdir(), 'brim-ui-screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, name);
}

export const PHONE = { width: 360, height: 760 };
export const DESKTOP = { width: 1280, height: 900 };

export interface UiSizes {
  budget_gzip: number;
  first_paint: { raw: number; gzip: number; brotli: number; files: { path: string; gzip: number }[] };
  preview: { raw: number; gzip: number; brotli: number; files: { path: string; gzip: number }[] };
  total: { raw: number; gzip: number; brotli: number; files: number };
}

interface BuildUiModule {
  buildUi(options: { outdir: string }): Promise<{ outdir: string; sizes: UiSizes }>;
  measureUi(dir: string): UiSizes;
  FIRST_PAINT_BUDGET_BYTES: number;
}

/** scripts/build-ui.mjs, loaded by URL (it is plain JavaScript without type declarations). */
export async function buildUiModule(): Promise<BuildUiModule> {
  const url = pathToFileURL(join(import.meta.dirname, '../../scripts/build-ui.mjs')).href;
  return (await import(url)) as BuildUiModule;
}

/** Builds the UI into a temporary folder; the caller removes it. */
export async function buildUiInto(): Promise<{ dir: string; sizes: UiSizes }> {
  const dir = mkdtempSync(join(tmpdir(), 'brim-ui-build-'));
  const { buildUi } = await buildUiModule();
  const { sizes } = await buildUi({ outdir: dir });
  return { dir, sizes };
}

export interface UiRig {
  daemon: TestDaemon;
  server: UiServer;
  browser: Browser;
  rpc: RpcClient;
  uiDir: string;
  page(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function startRig(
  options: {
    /** Appended to the daemon's config. */
    configToml?: string;
  } = {},
): Promise<UiRig> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set BRIM_CHROMIUM`);
  }
  const { dir } = await buildUiInto();
  const daemon = await startTestDaemon({
    configToml: `[virtual_printer]\nboot_ms = 0\n${options.configToml ?? ''}`,
  });
  const port = Number(new URL(daemon.url).port);
  const server = await startUiServer({ dir, apiPort: port });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const rpc = await RpcClient.connect(daemon.wsUrl);
  const pages: Page[] = [];
  return {
    daemon,
    server,
    browser,
    rpc,
    uiDir: dir,
    async page(viewport = DESKTOP) {
      const context = await browser.newContext({ viewport, colorScheme: 'dark' });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
      });
      (page as Page & { problems: string[] }).problems = problems;
      pages.push(page);
      return page;
    },
    async close() {
      for (const page of pages)
        await page
          .context()
          .close()
          .catch(() => {});
      await browser.close().catch(() => {});
      await rpc.close().catch(() => {});
      await server.close().catch(() => {});
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Errors the page logged (uncaught exceptions, console.error); a test expects none. */
export function problemsOf(page: Page): string[] {
  return (page as Page & { problems?: string[] }).problems ?? [];
}

/** Polls `read` until `accept` holds; fails with the last value seen. */
export async function eventually<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 8000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T;
  for (;;) {
    last = await read();
    if (accept(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function queryObject(rpc: RpcClient, name: string): Promise<Record<string, unknown>> {
  const reply = await rpc.call('printer.objects.query', { objects: { [name]: null } });
  const result = reply.result as { status: Record<string, Record<string, unknown>> };
  return result.status[name] ?? {};
}
