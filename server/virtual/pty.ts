// Puts a VirtualMarlin behind a real pseudo-terminal, so a host opens it like a USB serial device.

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualMarlin, type VirtualMarlinOptions } from './marlin.ts';

export interface PtyPrinterOptions {
  /**
   * Full path of the device link the host opens. Default: `ttyVirtualMarlin` in a fresh
   * temporary folder, removed again by close().
   */
  readonly devicePath?: string;
  /** The printer to expose, or options to build one (which close() then also closes). */
  readonly printer?: VirtualMarlin | VirtualMarlinOptions;
  /**
   * Reset the printer each time a host opens the port, as the DTR line does on boards with a
   * USB-serial chip (most AVR printers). Off behaves like native USB: no reset, no banner.
   * Default true.
   */
  readonly resetOnOpen?: boolean;
  /** socat binary. Default `socat` from PATH. */
  readonly socat?: string;
  /** How long socat may take to create a pty. Default 5000 ms. */
  readonly startTimeoutMs?: number;
  /** Told when the device cannot be brought back after a disconnect or replug. Default: a process warning. */
  readonly onError?: (err: Error) => void;
}

export interface PtyPrinter {
  /** What the host opens: a symlink to the current /dev/pts/N. */
  readonly devicePath: string;
  readonly printer: VirtualMarlin;
  /** Whether a host has the device open now. */
  readonly connected: boolean;
  /** Kills socat, removes the link and, if it made them, the printer and the temp folder. */
  close(): Promise<void>;
}

/**
 * One pty, relayed by socat to our stdin/stdout pipes, for one host connection. socat's
 * `wait-slave` holds the relay until the host opens the pty, which is how we see the open,
 * and it exits when the host closes it. Pipes rather than a second pty on our side: reading a
 * tty through node:fs blocks a libuv worker thread, and if this process dies socat sees EOF on
 * its stdin and exits instead of leaving a stale device behind.
 */
class SocatPty {
  readonly opened: Promise<void>;
  /** Resolves when the host closed the pty or socat is gone. */
  readonly ended: Promise<void>;
  private readonly exited: Promise<void>;
  private stderr = '';

  private constructor(
    readonly child: ChildProcessWithoutNullStreams,
    readonly ptsPath: string,
    stderrSoFar: string,
  ) {
    this.stderr = stderrSoFar;
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    let markOpened: () => void = () => {};
    let markEnded: () => void = () => {};
    this.opened = new Promise((resolve) => {
      markOpened = resolve;
    });
    this.ended = new Promise((resolve) => {
      markEnded = resolve;
    });
    const scan = (): void => {
      if (this.stderr.includes('starting data transfer loop')) markOpened();
      // EIO on the master is how a pty says its last slave fd was closed.
      if (/ is at EOF|Input\/output error/.test(this.stderr)) markEnded();
    };
    child.stderr.on('data', (d: string) => {
      // socat -d -d is chatty; keep only the tail, but always drain the pipe.
      this.stderr = (this.stderr + d).slice(-4000);
      scan();
    });
    child.once('exit', () => markEnded());
    scan();
  }

  static async spawn(socat: string, timeoutMs: number): Promise<SocatPty> {
    const child = spawn(
      socat,
      ['-d', '-d', '-t', '0.05', 'pty,raw,echo=0,wait-slave,pty-interval=0.01', 'stdio'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    // Writes racing an exit would otherwise crash the process with EPIPE; spawn failures are
    // reported through the promise below instead of as an unhandled 'error'.
    child.stdin.on('error', () => {});
    child.on('error', () => {});
    child.stderr.setEncoding('utf8');
    let stderr = '';
    const ptsPath = await new Promise<string>((resolve, reject) => {
      const settle = (): void => {
        clearTimeout(timer);
        child.stderr.off('data', onData);
        child.off('error', onError);
        child.off('exit', onExit);
      };
      const fail = (why: string): void => {
        settle();
        child.kill('SIGKILL');
        reject(new Error(`virtual printer: socat could not create a pty: ${why}`));
      };
      const onError = (err: NodeJS.ErrnoException): void =>
        fail(
          err.code === 'ENOENT' ? `'${socat}' not found (install it: apt-get install socat)` : err.message,
        );
      const onExit = (code: number | null): void => fail(`socat exited with ${code}\n${stderr}`);
      const onData = (d: string): void => {
        stderr += d;
        const m = /PTY is (\S+)/.exec(stderr);
        if (!m) return;
        settle();
        resolve(m[1] as string);
      };
      const timer = setTimeout(() => fail(`no pty after ${timeoutMs} ms\n${stderr}`), timeoutMs);
      child.on('error', onError);
      child.on('exit', onExit);
      child.stderr.on('data', onData);
    });
    return new SocatPty(child, ptsPath, stderr);
  }

  /** SIGTERM, SIGKILL if it lingers; resolves once its pipes closed. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
      await this.exited;
      clearTimeout(timer);
    } else {
      await this.exited;
    }
  }
}

export async function startPtyPrinter(options: PtyPrinterOptions = {}): Promise<PtyPrinter> {
  const socat = options.socat ?? 'socat';
  const timeoutMs = options.startTimeoutMs ?? 5000;
  const resetOnOpen = options.resetOnOpen ?? true;
  const ownsPrinter = !(options.printer instanceof VirtualMarlin);
  const ownDir = options.devicePath === undefined ? await mkdtemp(join(tmpdir(), 'brim-virtual-')) : null;
  const devicePath = options.devicePath ?? join(ownDir as string, 'ttyVirtualMarlin');
  const printer =
    options.printer instanceof VirtualMarlin ? options.printer : new VirtualMarlin(options.printer ?? {});
  const report = (err: unknown): void => {
    const error = err instanceof Error ? err : new Error(String(err));
    if (options.onError) options.onError(error);
    else process.emitWarning(error);
  };

  /** The pty a host has open, and a spare one waiting for the next open. */
  let active: SocatPty | null = null;
  let standby: SocatPty | null = null;
  let unplugged = false;
  let closed = false;
  let pendingOut: Buffer[] = [];
  let flushQueued = false;
  let linkSeq = 0;
  /** Link changes and spawns run one at a time, in order. */
  let chain: Promise<void> = Promise.resolve();
  const serial = (step: () => Promise<void>): Promise<void> => {
    chain = chain.then(step).catch(report);
    return chain;
  };

  // Output is coalesced per turn of the event loop: one write per burst instead of per line.
  // With no host connected it is lost, like bytes a board sends to a closed port.
  const flush = (): void => {
    flushQueued = false;
    const out = pendingOut;
    pendingOut = [];
    if (active && out.length > 0) active.child.stdin.write(Buffer.concat(out));
  };

  /** Re-points the device link atomically, so a host never sees it missing between connections. */
  const pointLinkAt = async (target: string): Promise<void> => {
    const tmp = `${devicePath}.${process.pid}.${linkSeq++}.tmp`;
    await symlink(target, tmp);
    await rename(tmp, devicePath);
  };

  /** Makes sure a spare pty exists, and points the link at it while no host is connected. */
  const offerStandby = async (): Promise<void> => {
    if (closed || unplugged) return;
    if (!standby) {
      const pty = await SocatPty.spawn(socat, timeoutMs);
      if (closed || unplugged) {
        await pty.stop();
        return;
      }
      standby = pty;
      void pty.opened.then(() => serial(() => activate(pty)));
    }
    if (!active) await pointLinkAt(standby.ptsPath);
  };

  const activate = async (pty: SocatPty): Promise<void> => {
    if (pty !== standby || closed || unplugged) return;
    standby = null;
    active = pty;
    // DTR goes active on open and reboots an AVR board; the host then sees a fresh banner.
    if (resetOnOpen) printer.reset();
    // Bytes the host wrote before this point wait in the pipe until we listen.
    pty.child.stdout.on('data', (chunk: Buffer) => {
      if (active === pty && !printer.write(chunk)) pty.child.stdout.pause();
    });
    void pty.ended.then(() => serial(() => deactivate(pty)));
    // The next connection's pty is made now, so the link can switch over without a gap.
    await offerStandby();
  };

  const deactivate = async (pty: SocatPty): Promise<void> => {
    if (active !== pty) return;
    // Point the link at the spare first: a host that reconnects as soon as it sees the close must not
    // find the link still naming the pty that just went away.
    if (standby) await pointLinkAt(standby.ptsPath);
    active = null;
    pendingOut = [];
    await pty.stop();
    await offerStandby();
  };

  const unsubscribe = [
    printer.onData((chunk) => {
      if (!active) return;
      pendingOut.push(chunk);
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
    }),
    printer.on('drain', () => {
      active?.child.stdout.resume();
    }),
    // The device vanishes: the host sees its port fail, as when a USB cable is pulled.
    printer.on('unplug', () => {
      unplugged = true;
      void serial(async () => {
        const gone = [active, standby];
        active = null;
        standby = null;
        pendingOut = [];
        await rm(devicePath, { force: true });
        await Promise.all(gone.map((p) => p?.stop()));
      });
    }),
    printer.on('replug', () => {
      unplugged = false;
      void serial(offerStandby);
    }),
  ];

  try {
    await rm(devicePath, { force: true });
    await offerStandby();
  } catch (err) {
    for (const off of unsubscribe) off();
    // offerStandby() may have spawned one before the link failed (TS cannot see closure writes).
    await (standby as SocatPty | null)?.stop();
    if (ownsPrinter) printer.close();
    if (ownDir) await rm(ownDir, { recursive: true, force: true });
    throw err;
  }

  return {
    devicePath,
    printer,
    get connected() {
      return active !== null;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const off of unsubscribe) off();
      await chain;
      const all = [active, standby];
      active = null;
      standby = null;
      await Promise.all(all.map((p) => p?.stop()));
      if (ownsPrinter) printer.close();
      await rm(devicePath, { force: true });
      if (ownDir) await rm(ownDir, { recursive: true, force: true });
    },
  };
}
