// Presents a VirtualMarlin as a serial byte device: opening the port resets it as DTR resets an AVR board.
import type { ByteDevice } from '../serial/device-binding.ts';
import type { VirtualMarlin } from './marlin.ts';

export function marlinDevice(
  printer: VirtualMarlin,
  options: { resetOnOpen: boolean } = { resetOnOpen: true },
): ByteDevice {
  return {
    write: (data) => {
      printer.write(data);
    },
    onData: (listener) => printer.onData(listener),
    setDtr: (high) => {
      if (!high) printer.reset();
    },
    opened: () => {
      if (options.resetOnOpen) printer.reset();
    },
    isPresent: () => !printer.state().unplugged,
    onUnplug: (listener) => printer.on('unplug', () => listener()),
  };
}
