// The `virtual_printer` component: the built-in virtual Marlin behind `[serial] port = "virtual"`.
import { Type } from '@sinclair/typebox';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { marlinDevice } from './device.ts';
import { VirtualMarlin } from './marlin.ts';

export const virtualPrinterConfig = Type.Object({
  rx_buffer_size: Type.Integer({
    default: 128,
    minimum: 32,
    maximum: 65536,
    description: 'Receive buffer of the virtual board in bytes (128 is an AVR board).',
  }),
  advanced_ok: Type.Boolean({ default: true, description: 'Answer with ADVANCED_OK (`ok N.. P.. B..`).' }),
  hotends: Type.Integer({ default: 1, minimum: 1, maximum: 8, description: 'Number of hotends.' }),
  boot_ms: Type.Integer({
    default: 1000,
    minimum: 0,
    maximum: 60_000,
    description: 'Time from reset to `start`; bytes sent meanwhile are lost, as in a bootloader.',
  }),
});

export interface VirtualPrinter extends ComponentInstance {
  /** The running virtual board, once the serial link has opened it (tests read its execution log). */
  printer(): VirtualMarlin | null;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    virtual_printer: VirtualPrinter;
  }
}

export const virtualPrinterComponent = defineComponent({
  name: 'virtual_printer',
  needs: ['serial'],
  config: virtualPrinterConfig,
  create(host): VirtualPrinter {
    let printer: VirtualMarlin | null = null;
    host.lookup('serial').useVirtualDevice(() => {
      printer = new VirtualMarlin({
        rxBufferSize: host.config.rx_buffer_size,
        advancedOk: host.config.advanced_ok,
        hotends: host.config.hotends,
        bootMs: host.config.boot_ms,
      });
      return marlinDevice(printer);
    });
    return {
      printer: () => printer,
      stop() {
        printer?.close();
      },
    };
  },
});
