import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDataDir } from './fixtures/daemon.ts';
import { buildServer, freePort, spawnDaemon, waitForOk } from './fixtures/process.ts';

// systemd itself cannot run here, so a small Python program stands in for its notify socket
// (Node has no unix datagram sockets); the daemon and systemd-notify are the real ones.
const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    print(s.recv(4096).decode().replace("\\n", " "), flush=True)
`;

let dataDir = '';
let listener: ChildProcess;
let received = '';

beforeAll(async () => {
  buildServer();
  dataDir = tempDataDir();
  listener = spawn('python3', ['-c', LISTENER, join(dataDir, 'notify.sock')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) =>
    listener.stdout?.on('data', (chunk) => {
      received += chunk;
      if (received.includes('listening')) resolve();
    }),
  );
});

afterAll(() => {
  listener.kill();
  rmSync(dataDir, { recursive: true, force: true });
});

async function waitFor(text: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!received.includes(text)) {
    if (Date.now() > deadline) throw new Error(`systemd never heard ${text}; got: ${received}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('systemd notification', () => {
  it('reports READY=1 once listening, feeds the watchdog, and says STOPPING=1 on SIGTERM', async () => {
    const port = await freePort();
    const daemon = spawnDaemon(['--data', join(dataDir, 'data'), '--port', String(port)], {
      ...process.env,
      NOTIFY_SOCKET: join(dataDir, 'notify.sock'),
      WATCHDOG_USEC: '400000',
    });
    try {
      await waitForOk(`http://127.0.0.1:${port}/readyz`);
      await waitFor('READY=1');
      expect(received).toContain(`MAINPID=${daemon.child.pid}`);
      await waitFor('WATCHDOG=1');
      daemon.child.kill('SIGTERM');
      expect((await daemon.exited).code).toBe(0);
      await waitFor('STOPPING=1');
    } finally {
      daemon.child.kill('SIGKILL');
    }
  });
});
