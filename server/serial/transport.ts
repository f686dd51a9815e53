// The byte pipe to the firmware. Real ports (USB serial devices, ptys) are TtyTransport: serialport opens,
// locks and configures the tty, and the bytes flow through a libuv stream on the event loop. The built-in
// virtual printer is BindingTransport: serialport's stream over an in-process binding.
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import * as tty from 'node:tty';
import type { BindingInterface, BindingPortInterface } from '@serialport/bindings-interface';
import { SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';

export interface Transport {
  readonly description: string;
  open(): Promise<void>;
  /** Resolves once the bytes are handed to the OS; the link writes one line at a time. */
  write(text: string): Promise<void>;
  close(): Promise<void>;
  /** A DTR pulse resets most USB-serial boards (Arduino-style auto-reset). */
  pulseDtr(): Promise<void>;
  onData(listener: (chunk: Buffer) => void): void;
  /** `unexpected` is true when the device went away (USB unplugged), false after our own close(). */
  onClose(listener: (unexpected: boolean, error?: Error) => void): void;
}

export interface TransportOptions {
  path: string;
  baudRate: number;
}

type CloseListener = (unexpected: boolean, error?: Error) => void;

/** Listener lists and DTR pulse timing shared by both transports. */
abstract class BaseTransport implements Transport {
  protected readonly dataListeners: ((chunk: Buffer) => void)[] = [];
  protected readonly closeListeners: CloseListener[] = [];

  constructor(protected readonly options: TransportOptions) {}

  get description(): string {
    return `${this.options.path} @ ${this.options.baudRate}`;
  }

  abstract open(): Promise<void>;
  abstract write(text: string): Promise<void>;
  abstract close(): Promise<void>;
  protected abstract setDtr(dtr: boolean): Promise<void>;

  async pulseDtr(): Promise<void> {
    await this.setDtr(false);
    await new Promise((r) => setTimeout(r, 100));
    await this.setDtr(true);
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListeners.push(listener);
  }

  onClose(listener: CloseListener): void {
    this.closeListeners.push(listener);
  }

  protected emitData(chunk: Buffer): void {
    for (const listener of this.dataListeners) listener(chunk);
  }

  protected emitClose(unexpected: boolean, error?: Error): void {
    for (const listener of this.closeListeners) listener(unexpected, error);
  }
}

/**
 * A tty device (USB serial, pty) read and written on the event loop. serialport's own read loop costs a
 * thread-pool `fs.read` per wake-up and an `fs.write` per burst, most of the host's CPU per line; a libuv
 * stream reads on epoll readiness and writes with a direct `write(2)`. Linux only (/dev/fd, /proc).
 *
 * Two descriptors. serialport opens the first (termios, its flock, DTR, and the last close, which drops
 * DTR with hupcl). The data goes through `tty.ReadStream` (net.Socket refuses tty fds) on a second:
 * libuv's uv_tty_init reopens a tty by name, dup2()s the new descriptor over the one it was given and
 * makes it non-blocking without touching other openers. Given serialport's, that would close it and
 * drop its lock; given a spare one, the spare is left as a duplicate for us to close.
 */
export class TtyTransport extends BaseTransport {
  private port: (BindingPortInterface & { fd: number | null }) | null = null;
  private stream: tty.ReadStream | null = null;
  private closing = false;
  /** Settles close(): resolved once both descriptors are closed. */
  private released: Promise<void> = Promise.resolve();

  async open(): Promise<void> {
    const { path, baudRate } = this.options;
    const port = await SerialPort.binding.open({ path, baudRate });
    if (!('fd' in port) || typeof port.fd !== 'number') {
      await port.close();
      throw new Error(`${path}: this platform's serial binding gives no file descriptor to stream on`);
    }
    let stream: tty.ReadStream;
    try {
      stream = streamOnTty(port.fd);
    } catch (error) {
      await port.close();
      throw error;
    }
    this.port = port;
    this.stream = stream;
    this.closing = false;
    stream.on('data', (chunk: Buffer) => this.emitData(chunk));
    // A pulled USB cable or a pty whose other side closed ends the read (EOF or EIO).
    let failure: Error | undefined;
    stream.on('error', (error) => {
      failure = error;
    });
    stream.on('end', () => stream.destroy());
    this.released = new Promise((resolve) => {
      stream.on('close', () => {
        this.stream = null;
        this.port = null;
        // The data descriptor is closed; now serialport's, which drops DTR (hupcl) and the lock.
        void port
          .close()
          .catch(() => {})
          .then(() => {
            resolve();
            this.emitClose(!this.closing, this.closing ? undefined : failure);
          });
      });
    });
  }

  write(text: string): Promise<void> {
    const stream = this.stream;
    if (!stream || stream.destroyed) return Promise.reject(new Error(`${this.options.path} is not open`));
    return new Promise((resolve, reject) => {
      stream.write(text, 'latin1', (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): Promise<void> {
    const stream = this.stream;
    if (!stream) return Promise.resolve();
    this.closing = true;
    stream.destroy();
    return this.released;
  }

  protected async setDtr(dtr: boolean): Promise<void> {
    const port = this.port;
    if (!port) throw new Error(`${this.options.path} is not open`);
    await port.set({ dtr });
  }
}

/** A libuv stream on its own descriptor of the tty that `fd` (serialport's) has open. */
function streamOnTty(fd: number): tty.ReadStream {
  // /dev/fd/N opens the device again: a new open file description. O_NOCTTY, or a daemon without a
  // controlling terminal would get this one, and SIGHUP when it is unplugged. Blocking on purpose: see below.
  const spare = openSync(`/dev/fd/${fd}`, constants.O_RDWR | constants.O_NOCTTY);
  let stream: tty.ReadStream;
  try {
    stream = new tty.ReadStream(spare);
  } catch (error) {
    closeSync(spare);
    throw error;
  }
  // libuv set O_NONBLOCK on the description it reopened, which `spare` now duplicates. Still blocking
  // means it could not reopen the tty and would write blocking on the event loop instead; refuse that.
  const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${spare}`, 'utf8'))?.[1];
  if (flags === undefined || (Number.parseInt(flags, 8) & constants.O_NONBLOCK) === 0) {
    stream.destroy();
    throw new Error(`/dev/fd/${fd}: libuv could not reopen this tty to read it without blocking`);
  }
  closeSync(spare);
  return stream;
}

/** serialport's stream over a custom binding: the in-process device behind `port = "virtual"`. */
export class BindingTransport extends BaseTransport {
  private port: SerialPortStream | null = null;
  private closing = false;

  constructor(
    options: TransportOptions,
    private readonly binding: BindingInterface,
  ) {
    super(options);
  }

  open(): Promise<void> {
    const { path, baudRate } = this.options;
    const port = new SerialPortStream({ path, baudRate, binding: this.binding, autoOpen: false });
    this.closing = false;
    return new Promise((resolve, reject) => {
      port.open((error) => {
        if (error) return reject(error);
        this.port = port;
        port.on('data', (chunk: Buffer) => this.emitData(chunk));
        port.on('close', (error?: Error) => {
          this.port = null;
          this.emitClose(!this.closing, error ?? undefined);
        });
        port.on('error', () => {
          // Reported through 'close'; an unhandled 'error' would crash the daemon.
        });
        resolve();
      });
    });
  }

  write(text: string): Promise<void> {
    const port = this.port;
    if (!port) return Promise.reject(new Error(`${this.options.path} is not open`));
    return new Promise((resolve, reject) => {
      port.write(text, 'ascii', (error) => (error ? reject(error) : resolve()));
    });
  }

  close(): Promise<void> {
    const port = this.port;
    if (!port) return Promise.resolve();
    this.closing = true;
    return new Promise((resolve) => port.close(() => resolve()));
  }

  protected setDtr(dtr: boolean): Promise<void> {
    const port = this.port;
    if (!port) return Promise.reject(new Error(`${this.options.path} is not open`));
    return new Promise<void>((resolve, reject) => port.set({ dtr }, (e) => (e ? reject(e) : resolve())));
  }
}
