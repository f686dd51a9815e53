// Prometheus gauges for the printer, read from the model and the link when /metrics is scraped.
import { Gauge, type Registry } from 'prom-client';
import type { StatusFields } from '../core/status-store.ts';
import type { LinkStats } from '../serial/link.ts';
import type { PrinterModel } from './model.ts';

/** print_stats states in a fixed order, so a dashboard can map the number back. */
export const JOB_STATES = ['standby', 'printing', 'paused', 'complete', 'cancelled', 'error'] as const;

export function registerPrinterMetrics(
  registry: Registry,
  model: PrinterModel,
  linkStats: () => LinkStats,
  printStats: () => StatusFields | undefined,
  progress: () => number | undefined,
): void {
  const heaters = () => [
    ...model.extruders.map((h, i) => ({ name: model.extruderName(i), heater: h })),
    { name: 'heater_bed', heater: model.bed },
    ...(model.chamber ? [{ name: 'heater_generic chamber', heater: model.chamber }] : []),
  ];
  new Gauge({
    name: 'brim_heater_temperature_celsius',
    help: 'Heater temperature',
    labelNames: ['heater'],
    registers: [registry],
    collect() {
      for (const { name, heater } of heaters()) this.set({ heater: name }, heater.temperature);
    },
  });
  new Gauge({
    name: 'brim_heater_target_celsius',
    help: 'Heater target temperature',
    labelNames: ['heater'],
    registers: [registry],
    collect() {
      for (const { name, heater } of heaters()) this.set({ heater: name }, heater.target);
    },
  });
  new Gauge({
    name: 'brim_job_state',
    help: `print_stats state as a number: ${JOB_STATES.map((s, i) => `${i}=${s}`).join(', ')}`,
    registers: [registry],
    collect() {
      const state = printStats()?.state;
      this.set(JOB_STATES.indexOf((state ?? 'standby') as (typeof JOB_STATES)[number]));
    },
  });
  new Gauge({
    name: 'brim_job_progress_ratio',
    help: 'Progress of the current job, 0 to 1',
    registers: [registry],
    collect() {
      this.set(progress() ?? 0);
    },
  });
  const counters: [string, string, keyof LinkStats][] = [
    ['brim_serial_resend_requests', 'Resend requests from the firmware since start', 'resendRequests'],
    [
      'brim_serial_link_errors',
      'Checksum and line-number errors the firmware reported since start',
      'linkErrors',
    ],
    ['brim_serial_lines_in_flight', 'Lines sent and not yet acknowledged', 'inFlight'],
    ['brim_serial_lines_queued', 'Lines waiting to be sent', 'queued'],
  ];
  for (const [name, help, field] of counters) {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(Number(linkStats()[field]));
      },
    });
  }
}
