// TtyTransport against the virtual printer on a real pty: the lock, the two descriptors, unplug.
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { type PtyPrinter, startPtyPrinter } from '../virtual/pty.ts';
import { TtyTransport } from './transport.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function printer(): Promise<PtyPrinter> {
  const pty = await startPtyPrinter({});
  cleanups.push(() => pty.close());
  return pty;
}

/** Opens a transport and collects what it reads and how it closed. */
async function open(path: string) {
  const transport = new TtyTransport({ path, baudRate: 115200 });
  let text = '';
  const closes: { unexpected: boolean; error?: Error }[] = [];
  transport.onData((chunk) => {
    text += chunk.toString('latin1');
  });
  transport.onClose((unexpected, error) => closes.push({ unexpected, error }));
  await transport.open();
  cleanups.push(() => transport.close());
  return { transport, text: () => text, closes };
}

async function until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Descriptors this process holds on `device` (a /dev/pts/N path). */
function fdsOn(device: string): number {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === device;
    } catch {
      return false; // closed while listing (readdir's own descriptor)
    }
  }).length;
}

describe('TtyTransport', () => {
  it('talks to the device, keeps it locked while open, and releases both descriptors on close', async () => {
    const pty = await printer();
    const a = await open(pty.devicePath);
    const device = realpathSync(pty.devicePath);
    // serialport's descriptor and the data one.
    expect(fdsOn(device)).toBe(2);
    await a.transport.write('M105\n');
    await until(() => a.text().includes('ok T:'), 'the M105 reply');
    // serialport's flock stays on its own descriptor, which libuv's reopen of the data one leaves alone.
    await expect(new TtyTransport({ path: pty.devicePath, baudRate: 115200 }).open()).rejects.toThrow(
      /lock/i,
    );

    await a.transport.close();
    expect(a.closes).toEqual([{ unexpected: false, error: undefined }]);
    await expect(a.transport.write('M105\n')).rejects.toThrow(/not open/);
    expect(fdsOn(device)).toBe(0);

    // Reconnecting works: the lock went with the close.
    await until(() => pty.connected === false, 'the pty to see the close');
    const b = await open(pty.devicePath);
    await b.transport.write('M105\n');
    await until(() => b.text().includes('ok T:'), 'the M105 reply on the second connection');
  });

  it('reports an unplug as an unexpected close and refuses writes after it', async () => {
    const pty = await printer();
    const a = await open(pty.devicePath);
    const device = realpathSync(pty.devicePath);
    await a.transport.write('M105\n');
    await until(() => a.text().includes('ok T:'), 'the M105 reply');

    pty.printer.unplug(60_000);
    await until(() => a.closes.length > 0, 'the close after the unplug');
    expect(a.closes).toHaveLength(1);
    expect(a.closes[0]!.unexpected).toBe(true);
    await expect(a.transport.write('M105\n')).rejects.toThrow(/not open/);
    expect(fdsOn(device)).toBe(0);
  });
});
