// The `serial` component: owns the port through PrinterLink, connects on start, retries while the device
// is absent, reconnects after an unplug, and offers the emergency stop and restarts.
import { existsSync } from 'node:fs';
import { type Static, Type } from '@sinclair/typebox';
import { Counter, Gauge } from 'prom-client';
import type { TimerHandle } from '../core/clock.ts';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { type ByteDevice, deviceBinding } from './device-binding.ts';
import { DEFAULT_LINK_OPTIONS, type LinkListeners, type LinkState, PrinterLink } from './link.ts';
import { BindingTransport, type Transport, TtyTransport } from './transport.ts';

export const serialConfig = Type.Object({
  port: Type.String({
    default: 'virtual',
    minLength: 1,
    description:
      'Serial device of the printer, e.g. /dev/serial/by-id/usb-... or /dev/ttyUSB0; "virtual" runs the built-in virtual Marlin printer.',
  }),
  baudrate: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 1200, maximum: 4_000_000 })], {
    default: 'auto',
    description: 'Baud rate; "auto" tries 115200, then 250000.',
  }),
  rx_buffer_size: Type.Integer({
    default: 128,
    minimum: 32,
    maximum: 65536,
    description:
      "Firmware receive buffer in bytes (Marlin's RX_BUFFER_SIZE; 128 on AVR boards). Unacknowledged bytes never exceed it.",
  }),
  window: Type.Integer({
    default: 8,
    minimum: 1,
    maximum: 64,
    description: 'Most lines in flight at once; 1 is OctoPrint-style ping-pong for odd firmware.',
  }),
  resend_history: Type.Integer({
    default: 1000,
    minimum: 100,
    maximum: 100_000,
    description: 'Lines kept for resend requests; a request for an older line fails the job.',
  }),
  ok_timeout_s: Type.Number({
    default: 5,
    minimum: 1,
    maximum: 600,
    description: 'Silence (no ok, no busy) with lines in flight before Brim resynchronises with M105.',
  }),
  dead_timeout_s: Type.Number({
    default: 30,
    minimum: 5,
    maximum: 3600,
    description: 'No byte at all for this long while lines are in flight means the firmware is dead.',
  }),
  long_command_timeout_s: Type.Number({
    default: 900,
    minimum: 30,
    maximum: 86_400,
    description: 'How long G28, G29, M109... may stay silent on firmware without busy keepalive.',
  }),
  reconnect_interval_s: Type.Number({
    default: 2,
    minimum: 0.1,
    maximum: 600,
    description: 'Pause between connection attempts while the printer is absent or unplugged.',
  }),
});

export type SerialConfig = Static<typeof serialConfig>;

export const AUTO_BAUD_RATES = [115200, 250000] as const;

/** Provides the in-process device behind `port = "virtual"`; set by the virtual printer component. */
export type VirtualDeviceFactory = () => ByteDevice;

export interface SerialLink extends ComponentInstance {
  readonly link: PrinterLink;
  /** Adds a listener for replies, sent lines and state changes. */
  listen(listeners: LinkListeners): void;
  emergencyStop(): Promise<void>;
  /** Closes and reopens the port, redoing the handshake (Klipper's RESTART). */
  restart(): Promise<void>;
  /** Pulses DTR to reset the board, then reconnects (Klipper's FIRMWARE_RESTART). */
  firmwareRestart(): Promise<void>;
  useVirtualDevice(factory: VirtualDeviceFactory): void;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    serial: SerialLink;
  }
}

declare module '../core/events.ts' {
  interface EventMap {
    'serial:state_changed': { state: LinkState; message: string };
  }
}

export const serialComponent = defineComponent({
  name: 'serial',
  config: serialConfig,
  create(host): SerialLink {
    const config = host.config;
    const listeners: LinkListeners[] = [];
    const sentLines = new Counter({
      name: 'brim_serial_lines_sent_total',
      help: 'Lines written to the printer',
      registers: [host.metrics],
    });
    const stateGauge = new Gauge({
      name: 'brim_serial_ready',
      help: '1 while the printer link is ready',
      registers: [host.metrics],
    });
    const link = new PrinterLink(
      {
        ...DEFAULT_LINK_OPTIONS,
        rxBufferSize: config.rx_buffer_size,
        maxInFlight: config.window,
        historySize: config.resend_history,
        okTimeoutMs: config.ok_timeout_s * 1000,
        deadTimeoutMs: config.dead_timeout_s * 1000,
        longCommandTimeoutMs: config.long_command_timeout_s * 1000,
      },
      host.clock,
      host.log,
      {
        reply: (reply, answering) => {
          for (const l of listeners) l.reply?.(reply, answering);
        },
        sent: (wire, source) => {
          sentLines.inc();
          for (const l of listeners) l.sent?.(wire, source);
        },
        state: (state, message) => {
          stateGauge.set(state === 'ready' ? 1 : 0);
          host.log.info({ state, message }, 'printer link state');
          host.bus.emit('serial:state_changed', { state, message });
          for (const l of listeners) l.state?.(state, message);
          if (state === 'disconnected' || state === 'error') scheduleReconnect();
        },
      },
    );
    let virtualFactory: VirtualDeviceFactory | null = null;
    let virtualDevice: ByteDevice | null = null;
    let stopped = false;
    let connecting = false;
    let retry: TimerHandle | null = null;
    let lastAbsentWarning = '';

    const transportsToTry = (): Transport[] => {
      if (config.port === 'virtual') {
        if (!virtualFactory) throw new Error('port = "virtual" but no virtual printer is running');
        virtualDevice ??= virtualFactory();
        return [
          new BindingTransport(
            { path: 'virtual', baudRate: 250000 },
            deviceBinding('virtual', virtualDevice),
          ),
        ];
      }
      const rates = config.baudrate === 'auto' ? AUTO_BAUD_RATES : [config.baudrate];
      return rates.map((baudRate) => new TtyTransport({ path: config.port, baudRate }));
    };

    const connect = async (): Promise<void> => {
      if (connecting || stopped || link.state === 'ready' || link.state === 'connecting') return;
      connecting = true;
      try {
        // A link that failed still holds its port; let go of it before opening it again.
        if (link.state === 'error') await link.close();
        if (config.port !== 'virtual' && !existsSync(config.port)) {
          const message = `Printer not found at ${config.port}; retrying every ${config.reconnect_interval_s} s`;
          if (lastAbsentWarning !== message) host.log.warn(message);
          lastAbsentWarning = message;
          link.markUnavailable(message);
          scheduleReconnect();
          return;
        }
        lastAbsentWarning = '';
        for (const transport of transportsToTry()) {
          try {
            await link.connect(transport);
            return;
          } catch (error) {
            host.log.warn({ err: error, port: transport.description }, 'connection attempt failed');
            await link.close();
          }
        }
        scheduleReconnect();
      } finally {
        connecting = false;
      }
    };

    const scheduleReconnect = () => {
      if (stopped || retry) return;
      retry = host.clock.setTimeout(() => {
        retry = null;
        void connect();
      }, config.reconnect_interval_s * 1000);
    };

    const serial: SerialLink = {
      link,
      listen: (l) => {
        listeners.push(l);
      },
      emergencyStop: () => link.emergency('M112'),
      async restart() {
        await link.close();
        await connect();
      },
      async firmwareRestart() {
        if (link.state !== 'disconnected') await link.pulseDtr().catch(() => {});
        await link.close();
        await connect();
      },
      useVirtualDevice: (factory) => {
        virtualFactory = factory;
      },
      async start() {
        stopped = false;
        // Connecting may take seconds (a board that resets on open); start-up does not wait for it.
        void connect();
      },
      async stop() {
        stopped = true;
        retry?.cancel();
        retry = null;
        await link.close();
      },
      status: () => ({
        state: link.state,
        state_message: link.message,
        port: config.port,
        ...link.getStats(),
      }),
    };
    return serial;
  },
});
