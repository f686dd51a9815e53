// Runs a virtual Marlin on a pseudo-terminal so any serial terminal or host can be pointed at it.

import { parseArgs } from 'node:util';
import { SystemClock } from '../core/clock.ts';
import type { VirtualFault, VirtualMarlinOptions } from './marlin.ts';
import { startPtyPrinter } from './pty.ts';

const USAGE = `Usage: brim-virtual-printer [options]

  --link <path>         device path to create (default: a temp folder)
  --faults <json>       scripted faults, e.g. '[{"kind":"resend","atLine":120}]'
  --rx-buffer <bytes>   RX_BUFFER_SIZE (default 128)
  --bufsize <n>         command queue slots (default 4)
  --native-usb          hold bytes back when the RX buffer is full instead of dropping them
  --no-advanced-ok      plain "ok" instead of "ok N.. P.. B.."
  --no-emergency-parser handle M108/M112/M410 only from the queue
  --boot-ms <ms>        bootloader time after a reset (default 0)
  --speed <factor>      run firmware time faster than the wall clock (default 1)
  --move-time-scale <f> factor on how long moves take; 0 makes them instant (default 1)
  --trace               print every executed command on stderr
  --help
`;

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`--${name}: expected a non-negative number, got "${value}"`);
  return n;
}

function faults(json: string | undefined): VirtualFault[] {
  if (json === undefined) return [];
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error('--faults: expected a JSON array of fault objects');
  return parsed as VirtualFault[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      link: { type: 'string' },
      faults: { type: 'string' },
      'rx-buffer': { type: 'string' },
      bufsize: { type: 'string' },
      'native-usb': { type: 'boolean' },
      'no-advanced-ok': { type: 'boolean' },
      'no-emergency-parser': { type: 'boolean' },
      'boot-ms': { type: 'string' },
      speed: { type: 'string' },
      'move-time-scale': { type: 'string' },
      trace: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const options: VirtualMarlinOptions = {
    clock: new SystemClock(number('speed', values.speed) ?? 1),
    rxBufferSize: number('rx-buffer', values['rx-buffer']),
    bufsize: number('bufsize', values.bufsize),
    rxOverflow: values['native-usb'] ? 'block' : 'drop',
    advancedOk: !values['no-advanced-ok'],
    emergencyParser: !values['no-emergency-parser'],
    bootMs: number('boot-ms', values['boot-ms']),
    moveTimeScale: number('move-time-scale', values['move-time-scale']),
    faults: faults(values.faults),
  };
  const pty = await startPtyPrinter({ devicePath: values.link, printer: options });
  if (values.trace) {
    pty.printer.on('executed', (e) => {
      process.stderr.write(`${e.atMs.toFixed(0).padStart(8)} ms  ${e.lineNumber ?? '-'}  ${e.command}\n`);
    });
  }
  process.stdout.write(`virtual Marlin on ${pty.devicePath} (Ctrl-C to stop)\n`);
  const stop = (): void => {
    void pty.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
