// What the README's Mainsail and Fluidd set-up promises, checked without the client builds: the
// cors_domains patterns from Moonraker's and Fluidd's docs let a hosted UI in, uploads from another
// origin pass the browser's checks, and the websocket opens from another origin. The walkthrough with the
// real clients is test/clients.test.ts (opt-in); it found no break, so this file guards the set-up.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestDaemon, type TestDaemon } from './fixtures/daemon.ts';

// The list in Fluidd's docs/configuration.md, plus Mainsail's remote mode and a self-hosted UI's port.
const CORS = ['*.local', '*.lan', '*://localhost', '*://app.fluidd.xyz', 'http://my.mainsail.xyz'];

let brim: TestDaemon;

beforeAll(async () => {
  brim = await startTestDaemon({
    configToml: `[virtual_printer]\nboot_ms = 0\n[authorization]\ncors_domains = ${JSON.stringify(CORS)}\n`,
  });
});

afterAll(async () => {
  await brim?.stop();
});

const preflight = (path: string, origin: string, method: string) =>
  fetch(`${brim.url}${path}`, {
    method: 'OPTIONS',
    headers: {
      Origin: origin,
      'Access-Control-Request-Method': method,
      'Access-Control-Request-Headers': 'content-type',
    },
  });

describe('a UI on another origin', () => {
  it('is let in by the cors_domains patterns Moonraker and Fluidd document', async () => {
    for (const origin of [
      'http://app.fluidd.xyz',
      'https://app.fluidd.xyz',
      'http://my.mainsail.xyz',
      'http://fluidd.local',
      'http://mainsail.lan',
      'http://localhost',
    ]) {
      const answer = await preflight('/server/database/item', origin, 'POST');
      expect(answer.status, origin).toBe(204);
      expect(answer.headers.get('access-control-allow-origin'), origin).toBe(origin);
      expect(answer.headers.get('access-control-allow-methods')).toContain('POST');
      expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('content-type');
    }
    for (const origin of ['http://app.fluidd.xyz.evil.example', 'https://my.mainsail.xyz', 'http://evil']) {
      const answer = await fetch(`${brim.url}/server/info`, { headers: { Origin: origin } });
      expect(answer.headers.get('access-control-allow-origin'), origin).toBeNull();
    }
  });

  it("uploads and starts a print from Mainsail's remote mode, and reads the reply", async () => {
    const origin = 'http://my.mainsail.xyz';
    expect((await preflight('/server/files/upload', origin, 'POST')).status).toBe(204);
    const form = new FormData();
    form.append('file', new Blob(['G28\nG1 X10 Y10 F3000\n']), 'remote.gcode');
    form.append('print', 'false');
    const answer = await fetch(`${brim.url}/server/files/upload`, {
      method: 'POST',
      body: form,
      headers: { Origin: origin },
    });
    expect(answer.status).toBe(201);
    // Without this header the browser hides the reply from the page, and the UI reports a failed upload.
    expect(answer.headers.get('access-control-allow-origin')).toBe(origin);
    expect(await answer.json()).toMatchObject({ item: { root: 'gcodes', path: 'remote.gcode' } });
  });

  it('opens the websocket and identifies like Fluidd on app.fluidd.xyz', async () => {
    const socket = new WebSocket(brim.wsUrl, { origin: 'http://app.fluidd.xyz' });
    interface Reply {
      id?: number;
      result?: { connection_id: number };
      error?: unknown;
    }
    const reply = await new Promise<Reply>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () =>
        socket.send(
          JSON.stringify({
            jsonrpc: '2.0',
            method: 'server.connection.identify',
            params: {
              client_name: 'fluidd',
              version: '1.37.4',
              type: 'web',
              url: 'https://github.com/fluidd-core/fluidd',
            },
            id: 1,
          }),
        ),
      );
      socket.on('message', (data) => {
        const message = JSON.parse(data.toString()) as Reply;
        if (message.id === 1) resolve(message);
      });
    });
    socket.close();
    expect(reply.error).toBeUndefined();
    expect(typeof reply.result?.connection_id).toBe('number');
  });
});
