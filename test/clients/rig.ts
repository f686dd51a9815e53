// Set-up for trying the real Mainsail and Fluidd builds against Brim: a daemon on the virtual printer, the
// client's unmodified dist/ served from another origin (as app.mainsail.xyz or app.fluidd.xyz would be),
// and Debian's Chromium recording every error the page, its console or the JSON-RPC socket reports.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { registerUiRoutes } from '../../server/api/static-ui.ts';
import { RpcClient, startTestDaemon, type TestDaemon } from '../fixtures/daemon.ts';
import { CHROMIUM, CHROMIUM_ARGS, DESKTOP } from '../ui/browser.ts';

export type ClientName = 'mainsail' | 'fluidd';

export interface ClientRig {
  daemon: TestDaemon;
  rpc: RpcClient;
  browser: Browser;
  page: Page;
  /** Where the client's pages are served. */
  uiUrl: string;
  /** What went wrong so far: page errors, console errors, JSON-RPC errors, unexpected HTTP errors. */
  problems: string[];
  /** Every JSON-RPC method the page called, in order. */
  calls: string[];
  close(): Promise<void>;
}

/**
 * Requests that fail on purpose with Moonraker too: Mainsail reads its theme files from the config root on
 * first start and takes a JSON 404 to mean "no theme" (notes/moonraker-api.md §0.8). Chromium logs each
 * such 404 as a console error, so those lines are expected and left out.
 */
const EXPECTED_404 = [/\/server\/files\/config\/\.theme\/(default|maintenance)\.json/];
/** Fluidd asks for its namespace before creating it; it treats the 404 as an empty settings tree. */
const EXPECTED_RPC_ERRORS: { method: string; message: RegExp }[] = [
  { method: 'server.database.get_item', message: /^Namespace '(fluidd|mainsail|maintenance)' not found$/ },
];

/** Reads the build's own config.json and points it at Brim the way each client documents for users. */
function clientConfig(client: ClientName, dir: string, apiUrl: URL): string {
  const shipped = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  if (client === 'mainsail') {
    return JSON.stringify({ ...shipped, hostname: apiUrl.hostname, port: Number(apiUrl.port) });
  }
  return JSON.stringify({ ...shipped, endpoints: [apiUrl.origin] });
}

async function serveClient(client: ClientName, dir: string, apiUrl: URL): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  const config = clientConfig(client, dir, apiUrl);
  app.get('/config.json', async (_request, reply) => reply.type('application/json').send(config));
  registerUiRoutes(app, dir);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return app;
}

export async function startClientRig(client: ClientName, dir: string): Promise<ClientRig> {
  if (!existsSync(join(dir, 'index.html'))) {
    throw new Error(`${dir} holds no index.html: point BRIM_${client.toUpperCase()}_DIR at a built dist/`);
  }
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set BRIM_CHROMIUM`);
  }
  // The UI's origin differs from the API's only by port; cors_domains lets it in, as a user would set it.
  const daemon = await startTestDaemon({
    configToml: '[virtual_printer]\nboot_ms = 0\n[authorization]\ncors_domains = ["http://127.0.0.1:*"]\n',
  });
  const apiUrl = new URL(daemon.url);
  const ui = await serveClient(client, dir, apiUrl);
  const address = ui.server.address();
  const uiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const rpc = await RpcClient.connect(daemon.wsUrl);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: DESKTOP, colorScheme: 'dark' });
  const page = await context.newPage();
  const problems: string[] = [];
  const calls: string[] = [];
  const expected404 = (url: string) => EXPECTED_404.some((pattern) => pattern.test(url));

  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('response', (response) => {
    if (response.status() < 400) return;
    if (response.status() === 404 && expected404(response.url())) return;
    problems.push(`HTTP ${response.status()} ${response.request().method()} ${response.url()}`);
  });
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // Chromium's own line for an HTTP error; the response handler above has judged it already.
    if (/^Failed to load resource: the server responded with a status of/.test(message.text())) return;
    problems.push(`console error: ${message.text()}`);
  });
  let closing = false;
  page.on('websocket', (socket) => {
    const methods = new Map<unknown, string>();
    // A socket that drops while the page is open is a lost connection to the user.
    socket.on('close', () => {
      if (!closing) problems.push(`websocket closed: ${socket.url()}`);
    });
    socket.on('framesent', (frame) => {
      for (const request of framesOf(frame.payload)) {
        if (typeof request.method !== 'string') continue;
        calls.push(request.method);
        methods.set(request.id, request.method);
      }
    });
    socket.on('framereceived', (frame) => {
      for (const reply of framesOf(frame.payload)) {
        if (!reply.error) continue;
        const method = methods.get(reply.id) ?? '(unknown)';
        const message = String(reply.error.message);
        const allowed = EXPECTED_RPC_ERRORS.some((e) => e.method === method && e.message.test(message));
        if (!allowed) problems.push(`JSON-RPC error for ${method}: ${reply.error.code} ${message}`);
      }
    });
  });

  return {
    daemon,
    rpc,
    browser,
    page,
    uiUrl,
    problems,
    calls,
    async close() {
      closing = true;
      await context.close().catch(() => {});
      await browser.close().catch(() => {});
      await rpc.close().catch(() => {});
      await ui.close().catch(() => {});
      await daemon.stop();
    },
  };
}

interface Frame {
  id?: unknown;
  method?: unknown;
  error?: { code: unknown; message: unknown };
}

function framesOf(payload: string | Buffer): Frame[] {
  try {
    const parsed = JSON.parse(payload.toString()) as Frame | Frame[];
    return Array.isArray(parsed) ? parsed : [parsed];
  } catch {
    return [];
  }
}
