// The UI's JSON-RPC client against a real daemon, through a pass-through that can cut the connection.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import {
  CONNECTION_LOST,
  type LinkState,
  NOT_CONNECTED,
  RpcClient,
  RpcError,
  type SocketLike,
} from '../../ui/api/rpc.ts';
import { startTestDaemon, RpcClient as TestClient, type TestDaemon } from '../fixtures/daemon.ts';
import { startUiServer, type UiServer } from './ui-server.ts';

let daemon: TestDaemon;
let server: UiServer;
let emptyDir: string;
let probe: TestClient;
const clients: RpcClient[] = [];

beforeAll(async () => {
  daemon = await startTestDaemon({ configToml: '[virtual_printer]\nboot_ms = 0\n' });
  emptyDir = mkdtempSync(join(tmpdir(), 'brim-ui-empty-'));
  server = await startUiServer({ dir: emptyDir, apiPort: Number(new URL(daemon.url).port) });
  probe = await TestClient.connect(daemon.wsUrl);
});

afterEach(() => {
  for (const client of clients.splice(0)) client.stop();
  server.online();
});

afterAll(async () => {
  await probe.close();
  await server.close();
  await daemon.stop();
  rmSync(emptyDir, { recursive: true, force: true });
});

function client(options: { url?: string; heartbeatMs?: number; pingTimeoutMs?: number } = {}) {
  const states: LinkState[] = [];
  let opens = 0;
  const notifications: string[] = [];
  const rpc = new RpcClient({
    url: () => options.url ?? `${server.url.replace('http', 'ws')}/websocket`,
    createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
    onState: (state) => states.push(state),
    onOpen: () => {
      opens++;
    },
    onNotification: (method) => notifications.push(method),
    initialDelayMs: 50,
    maxDelayMs: 200,
    heartbeatMs: options.heartbeatMs ?? 60_000,
    pingTimeoutMs: options.pingTimeoutMs,
  });
  clients.push(rpc);
  rpc.start();
  return { rpc, states, opens: () => opens, notifications };
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function commandCount(script: string): Promise<number> {
  const reply = await probe.call('server.gcode_store', { count: 1000 });
  const store = (reply.result as { gcode_store: { message: string; type: string }[] }).gcode_store;
  return store.filter((e) => e.type === 'command' && e.message === script).length;
}

describe('RpcClient', () => {
  it('answers calls, passes notifications on, and reports the server error message', async () => {
    const { rpc, notifications } = client();
    const info = await rpc.query<{ klippy_state: string }>('server.info');
    expect(info.klippy_state).toBe('ready');
    await until(() => notifications.includes('notify_proc_stat_update'));
    const failure = await rpc.call('printer.gcode.script', { script: 'NOPE_NOT_A_COMMAND' }).catch((e) => e);
    expect(failure).toBeInstanceOf(RpcError);
    expect((failure as RpcError).message).toBe('Unknown command: "NOPE_NOT_A_COMMAND"');
  });

  it('reconnects with backoff after the connection drops and runs onOpen again', async () => {
    const { rpc, states, opens } = client();
    await until(() => rpc.linkState === 'open');
    server.offline();
    await until(() => rpc.linkState === 'closed');
    // Refused attempts keep it closed, retrying.
    await new Promise((r) => setTimeout(r, 400));
    expect(states.filter((s) => s === 'connecting').length).toBeGreaterThan(2);
    server.online();
    await until(() => rpc.linkState === 'open');
    expect(opens()).toBe(2);
  });

  it('refuses a command while disconnected instead of queueing it for later', async () => {
    const { rpc } = client();
    await until(() => rpc.linkState === 'open');
    server.offline();
    await until(() => rpc.linkState === 'closed');
    const refused = await rpc.call('printer.gcode.script', { script: 'M117 offline' }).catch((e) => e);
    expect(refused).toBeInstanceOf(RpcError);
    expect((refused as RpcError).code).toBe(NOT_CONNECTED);
    server.online();
    await until(() => rpc.linkState === 'open');
    await new Promise((r) => setTimeout(r, 300));
    expect(await commandCount('M117 offline')).toBe(0);
  });

  it('fails a command in flight when the link drops, and never sends it again', async () => {
    const { rpc } = client();
    await until(() => rpc.linkState === 'open');
    const script = 'G4 P1200';
    const before = await commandCount(script);
    const pending = rpc.call('printer.gcode.script', { script }).catch((e) => e);
    // Long enough for the frame to reach the daemon, well before the dwell ends.
    await new Promise((r) => setTimeout(r, 200));
    server.offline();
    const outcome = await pending;
    expect(outcome).toBeInstanceOf(RpcError);
    expect((outcome as RpcError).code).toBe(CONNECTION_LOST);
    expect((outcome as RpcError).message).toContain('may or may not have run');
    server.online();
    await until(() => rpc.linkState === 'open');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await commandCount(script)).toBe(before + 1);
  });

  it('holds a read made while disconnected and sends it once connected', async () => {
    const { rpc } = client();
    await until(() => rpc.linkState === 'open');
    server.offline();
    await until(() => rpc.linkState === 'closed');
    const read = rpc.query<{ objects: string[] }>('printer.objects.list');
    setTimeout(() => server.online(), 150);
    const { objects } = await read;
    expect(objects).toContain('webhooks');
  });

  it('declares a silent connection dead after a ping goes unanswered, and reconnects', async () => {
    const silent = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => silent.once('listening', () => resolve()));
    let connections = 0;
    silent.on('connection', () => {
      connections++;
    });
    const address = silent.address() as { port: number };
    try {
      const { rpc, states } = client({
        url: `ws://127.0.0.1:${address.port}`,
        heartbeatMs: 300,
        pingTimeoutMs: 300,
      });
      await until(() => rpc.linkState === 'open');
      await until(() => states.includes('closed'), 3000);
      await until(() => connections >= 2, 3000);
    } finally {
      for (const c of silent.clients) c.terminate();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
