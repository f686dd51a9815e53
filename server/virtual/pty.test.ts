// The virtual printer on a real pseudo-terminal: a host opens the device path and talks bytes.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as tty from 'node:tty';
import { afterEach, describe, expect, test } from 'vitest';
import { numberedLine } from '../../gcode/checksum.ts';
import { SystemClock } from '../core/clock.ts';
import { type PtyPrinter, startPtyPrinter } from './pty.ts';

/** The host end: the device opened the way a serial library does, read without blocking a thread. */
class HostPort {
  readonly lines: string[] = [];
  ended = false;
  private partial = '';
  private readonly fd: number;
  private readonly input: tty.ReadStream;
  private readonly waiters = new Set<() => void>();

  constructor(path: string) {
    this.fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_NOCTTY);
    this.input = new tty.ReadStream(this.fd);
    this.input.setRawMode(true);
    this.input.on('data', (chunk: Buffer) => {
      this.partial += chunk.toString('latin1');
      const parts = this.partial.split('\n');
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const w of this.waiters) w();
    });
    // When the pty's other side goes away the read fails with EIO: that is the "unplug".
    const gone = (): void => {
      this.ended = true;
      for (const w of this.waiters) w();
    };
    this.input.on('error', gone);
    this.input.on('end', gone);
  }

  write(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      fs.write(this.fd, text, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Resolves once `done()` holds, re-checked on every arriving line. */
  waitFor(done: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; last lines: ${this.lines.slice(-5).join(' | ')}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.input.destroy();
    try {
      fs.closeSync(this.fd);
    } catch {
      // The tty stream may already have closed it.
    }
  }
}

const started: PtyPrinter[] = [];
const hosts: HostPort[] = [];
afterEach(async () => {
  for (const h of hosts.splice(0)) h.close();
  for (const p of started.splice(0)) await p.close();
});

async function start(...args: Parameters<typeof startPtyPrinter>): Promise<PtyPrinter> {
  const p = await startPtyPrinter(...args);
  started.push(p);
  return p;
}

function connect(path: string): HostPort {
  const h = new HostPort(path);
  hosts.push(h);
  return h;
}

function socatChildren(): string[] {
  const out = execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes('socat'));
}

describe('virtual printer on a pty', () => {
  test('greets with start and answers M115 and M105 through the device path', async () => {
    const pty = await start();
    expect(fs.realpathSync(pty.devicePath)).toMatch(/^\/dev\/pts\/\d+$/);
    const host = connect(pty.devicePath);
    await host.waitFor(() => host.lines.includes('start'), 'the boot banner');
    await host.write('M115\nM105\n');
    await host.waitFor(() => host.lines.some((l) => l.startsWith('ok T:')), 'the M105 reply');
    expect(host.lines).toContain('Cap:EMERGENCY_PARSER:1');
    expect(host.lines.find((l) => l.startsWith('ok T:'))).toBe('ok T:22.00 /0.00 B:22.00 /0.00 @:0 B@:0');
  });

  test('streams 1,000 numbered lines through scripted faults and runs each exactly once', async () => {
    const pty = await start({
      printer: {
        // 20x time: the 3 s busy fault takes 150 ms of the test's time.
        clock: new SystemClock(20),
        faults: [
          { kind: 'resend', atLine: 120 },
          { kind: 'checksum', atLine: 300 },
          { kind: 'busy', atLine: 500, seconds: 3 },
        ],
      },
    });
    const host = connect(pty.devicePath);
    await host.waitFor(() => host.lines.includes('start'), 'the boot banner');
    const program = ['G28', 'M83', 'M302 S0'];
    while (program.length < 1000) program.push(`G1 X${(program.length % 150) + 10} E0.1 F6000`);

    // One line in flight; a resend request rewinds, and the ok after it answers the rejected line.
    let next = 1;
    let resendFrom: number | null = null;
    let seen = 0;
    const pump = (): boolean => {
      for (; seen < host.lines.length; seen++) {
        const line = host.lines[seen] as string;
        const resend = /^Resend: (\d+)/.exec(line);
        if (resend) resendFrom = Number(resend[1]);
        else if (line.startsWith('ok')) {
          if (resendFrom !== null) {
            next = resendFrom;
            resendFrom = null;
          }
          if (next > program.length) return true;
          void host.write(`${numberedLine(next, program[next - 1] as string)}\n`);
          next++;
        }
      }
      return false;
    };
    await host.write('M110 N0\n');
    await host.waitFor(pump, 'the end of the job', 60_000);

    const ran = pty.printer.executed.filter((e) => e.lineNumber !== null).map((e) => e.lineNumber);
    expect(ran).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(host.lines).toContain('Resend: 120');
    expect(host.lines).toContain('Error:checksum mismatch, Last Line: 299');
    expect(host.lines).toContain('echo:busy: processing');
  });

  test('an unplug makes the device vanish and a replug brings it back with a fresh banner', async () => {
    const pty = await start({ printer: { faults: [{ kind: 'unplug', atLine: 1, replugAfterS: 0.3 }] } });
    const host = connect(pty.devicePath);
    await host.waitFor(() => host.lines.includes('start'), 'the boot banner');
    await host.write(`M110 N0\n${numberedLine(1, 'G28')}\n`);
    await host.waitFor(() => host.ended, 'the port to fail');
    const back = Date.now() + 10_000;
    while (!fs.existsSync(pty.devicePath) && Date.now() < back) await new Promise((r) => setTimeout(r, 20));
    const again = connect(pty.devicePath);
    await again.waitFor(() => again.lines.includes('start'), 'the banner after replug');
    await again.write('M105\n');
    await again.waitFor(() => again.lines.some((l) => l.startsWith('ok T:')), 'M105 after replug');
  });

  test('opening the port resets the printer, as DTR does on an AVR board', async () => {
    const pty = await start();
    const first = connect(pty.devicePath);
    await first.waitFor(() => first.lines.includes('start'), 'the boot banner');
    await first.write('M220 S150\n');
    await first.waitFor(() => first.lines.some((l) => l.startsWith('ok')), 'the M220 ok');
    expect(pty.printer.state().feedratePercent).toBe(150);
    first.close();
    // The link switches to a fresh pty for the next connection; wait until the old one is gone.
    const until = Date.now() + 10_000;
    while (pty.connected && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    const second = connect(pty.devicePath);
    await second.waitFor(() => second.lines.includes('start'), 'the banner on reopen');
    expect(pty.printer.state().feedratePercent).toBe(100);
  });

  test('without reset on open the port behaves like native USB: no banner, state kept', async () => {
    const pty = await start({ resetOnOpen: false });
    const host = connect(pty.devicePath);
    await host.write('M110 N0\nM105\n');
    await host.waitFor(() => host.lines.some((l) => l.startsWith('ok T:')), 'the M105 reply');
    expect(host.lines).not.toContain('start');
    expect(pty.printer.stats.resets).toBe(0);
  });

  test('close kills socat and removes the device', async () => {
    const pty = await startPtyPrinter();
    const host = new HostPort(pty.devicePath);
    await host.waitFor(() => host.lines.includes('start'), 'the boot banner');
    host.close();
    expect(socatChildren().length).toBeGreaterThan(0);
    await pty.close();
    expect(fs.existsSync(pty.devicePath)).toBe(false);
    expect(socatChildren()).toEqual([]);
  });

  test('says how to get socat when it is missing', async () => {
    await expect(startPtyPrinter({ socat: '/nonexistent/socat' })).rejects.toThrow(/apt-get install socat/);
  });
});
