// The byte pipe to the firmware: serialport for USB devices and ptys, or serialport over a custom binding.
import type { BindingInterface } from '@serialport/bindings-interface';
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

export interface SerialTransportOptions {
  path: string;
  baudRate: number;
  /** Defaults to the platform binding; the virtual printer passes its own. */
  binding?: BindingInterface;
}

export class SerialTransport implements Transport {
  private port: SerialPortStream | null = null;
  private readonly dataListeners: ((chunk: Buffer) => void)[] = [];
  private readonly closeListeners: ((unexpected: boolean, error?: Error) => void)[] = [];
  private closing = false;

  constructor(private readonly options: SerialTransportOptions) {}

  get description(): string {
    return `${this.options.path} @ ${this.options.baudRate}`;
  }

  open(): Promise<void> {
    const { path, baudRate, binding } = this.options;
    const port = binding
      ? new SerialPortStream({ path, baudRate, binding, autoOpen: false })
      : new SerialPort({ path, baudRate, autoOpen: false });
    this.closing = false;
    return new Promise((resolve, reject) => {
      port.open((error) => {
        if (error) return reject(error);
        this.port = port;
        port.on('data', (chunk: Buffer) => {
          for (const listener of this.dataListeners) listener(chunk);
        });
        port.on('close', (error?: Error & { disconnected?: boolean }) => {
          this.port = null;
          const unexpected = !this.closing;
          for (const listener of this.closeListeners) listener(unexpected, error ?? undefined);
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

  async pulseDtr(): Promise<void> {
    const port = this.port;
    if (!port) throw new Error(`${this.options.path} is not open`);
    const set = (dtr: boolean) =>
      new Promise<void>((resolve, reject) => port.set({ dtr }, (e) => (e ? reject(e) : resolve())));
    await set(false);
    await new Promise((r) => setTimeout(r, 100));
    await set(true);
  }

  onData(listener: (chunk: Buffer) => void): void {
    this.dataListeners.push(listener);
  }

  onClose(listener: (unexpected: boolean, error?: Error) => void): void {
    this.closeListeners.push(listener);
  }
}
