// A serialport binding over an in-process byte device, so the built-in virtual printer runs behind the
// same Transport interface as a USB printer (BindingTransport) without needing a pseudo-terminal.
import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  PortStatus,
  SetOptions,
} from '@serialport/bindings-interface';

/** Anything that takes bytes and answers with bytes, like a printer's USB-serial chip. */
export interface ByteDevice {
  write(data: Buffer): void;
  /** Returns a function that removes the listener. */
  onData(listener: (data: Buffer) => void): () => void;
  /** DTR dropping resets Arduino-style boards. */
  setDtr?(high: boolean): void;
  /** Called when a host opens the port; an Arduino-style board resets here (DTR). */
  opened?(): void;
  /** False while the device is unplugged; opening it then fails as a missing USB device would. */
  isPresent?(): boolean;
  /** Called when the device goes away, like a USB cable pulled out. Returns an unsubscribe function. */
  onUnplug?(listener: () => void): () => void;
}

class CanceledError extends Error {
  readonly canceled = true;
}

class DevicePort implements BindingPortInterface {
  isOpen = true;
  private readonly received: Buffer[] = [];
  private waitingRead: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private readonly detach: () => void;
  private readonly detachUnplug: () => void;
  private unplugged = false;

  constructor(
    private readonly device: ByteDevice,
    readonly openOptions: Required<OpenOptions>,
  ) {
    this.detach = device.onData((data) => {
      this.received.push(Buffer.from(data));
      this.waitingRead?.resolve();
      this.waitingRead = null;
    });
    // A non-canceled read error is how serialport learns the device is gone (it then emits close).
    this.detachUnplug =
      device.onUnplug?.(() => {
        this.unplugged = true;
        this.waitingRead?.reject(new Error('device unplugged'));
        this.waitingRead = null;
      }) ?? (() => {});
  }

  async close(): Promise<void> {
    this.isOpen = false;
    this.detach();
    this.detachUnplug();
    this.waitingRead?.reject(new CanceledError('port closed'));
    this.waitingRead = null;
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    while (this.received.length === 0) {
      if (!this.isOpen) throw new CanceledError('port closed');
      if (this.unplugged) throw new Error('device unplugged');
      await new Promise<void>((resolve, reject) => {
        this.waitingRead = { resolve, reject };
      });
    }
    let bytesRead = 0;
    while (bytesRead < length && this.received.length > 0) {
      const head = this.received[0]!;
      const take = Math.min(head.length, length - bytesRead);
      head.copy(buffer, offset + bytesRead, 0, take);
      bytesRead += take;
      if (take === head.length) this.received.shift();
      else this.received[0] = head.subarray(take);
    }
    return { buffer, bytesRead };
  }

  async write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) throw new CanceledError('port closed');
    if (this.unplugged) throw new Error('device unplugged');
    this.device.write(Buffer.from(buffer));
  }

  async update(): Promise<void> {}

  async set(options: SetOptions): Promise<void> {
    if (options.dtr !== undefined) this.device.setDtr?.(options.dtr);
  }

  async get(): Promise<PortStatus> {
    return { cts: true, dsr: true, dcd: true };
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    return { baudRate: this.openOptions.baudRate };
  }

  async flush(): Promise<void> {
    this.received.length = 0;
  }

  async drain(): Promise<void> {}
}

/** A binding that knows one device under one path. */
export function deviceBinding(path: string, device: ByteDevice): BindingInterface {
  return {
    async list(): Promise<PortInfo[]> {
      return [
        {
          path,
          manufacturer: 'Brim',
          serialNumber: undefined,
          pnpId: undefined,
          locationId: undefined,
          productId: undefined,
          vendorId: undefined,
        },
      ];
    },
    async open(options: OpenOptions): Promise<BindingPortInterface> {
      if (options.path !== path || device.isPresent?.() === false) {
        throw new Error(`Error: No such file or directory, cannot open ${options.path}`);
      }
      const full: Required<OpenOptions> = {
        dataBits: 8,
        lock: true,
        stopBits: 1,
        parity: 'none',
        rtscts: false,
        xon: false,
        xoff: false,
        xany: false,
        hupcl: true,
        ...options,
      };
      const port = new DevicePort(device, full);
      device.opened?.();
      return port;
    },
  };
}
