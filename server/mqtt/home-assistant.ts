// Home Assistant MQTT discovery: the printer as one device with temperature and job sensors and buttons.
import type { ApiRegistry } from '../api/registry.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { describeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { StatusFields, StatusStore } from '../core/status-store.ts';
import type { MqttLink, QoS } from './link.ts';
import { MQTT_CALLER } from './moonraker.ts';

/** Moonraker's print_stats states, the options of the enum sensor. */
export const PRINT_STATES = ['standby', 'printing', 'paused', 'complete', 'cancelled', 'error'] as const;

/** Button key → the JSON-RPC method it calls, so a press runs exactly what the API runs. */
export const BUTTONS: Readonly<Record<string, { name: string; method: string; icon: string }>> = {
  pause: { name: 'Pause print', method: 'printer.print.pause', icon: 'mdi:pause' },
  resume: { name: 'Resume print', method: 'printer.print.resume', icon: 'mdi:play' },
  cancel: { name: 'Cancel print', method: 'printer.print.cancel', icon: 'mdi:stop' },
  emergency_stop: { name: 'Emergency stop', method: 'printer.emergency_stop', icon: 'mdi:alert-octagon' },
};

/** HA's recorder stores every state change; temperatures need not be fresher than this. */
const TEMPERATURE_MIN_INTERVAL_S = 5;
const TEMPERATURE_STEP_C = 0.5;
/** While printing, elapsed and remaining time tick on; refresh them this often. */
const JOB_REFRESH_S = 10;
/** HA's advice: wait a random moment after its birth message, so a restart does not flood the broker. */
const BIRTH_DELAY_MAX_MS = 1000;

interface Temperatures {
  [heater: string]: { temperature: number; target: number };
}

export interface JobState {
  state: string;
  filename: string;
  /** Percent, one decimal. */
  progress: number;
  print_duration: number;
  time_remaining: number | null;
  /** ISO 8601 with a time zone; HA shows "unknown" for a timestamp without one. */
  eta: string | null;
  /** `webhooks.state`: `ready` once the firmware answers. */
  printer: string;
}

export interface HomeAssistantOptions {
  instanceName: string;
  nodeId: string;
  discoveryPrefix: string;
  qos: QoS;
}

export class HomeAssistant {
  private timer: TimerHandle | null = null;
  private publishedHeaters = '';
  private lastTemperatures: Temperatures | null = null;
  private lastTemperatureAt = Number.NEGATIVE_INFINITY;
  private lastJob: JobState | null = null;
  private lastJobAt = Number.NEGATIVE_INFINITY;
  readonly temperatureTopic: string;
  readonly jobTopic: string;
  readonly birthTopic: string;

  constructor(
    private readonly link: MqttLink,
    private readonly store: StatusStore,
    private readonly api: ApiRegistry,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: HomeAssistantOptions,
  ) {
    const base = `${options.instanceName}/brim`;
    this.temperatureTopic = `${base}/state/temperatures`;
    this.jobTopic = `${base}/state/job`;
    this.birthTopic = `${options.discoveryPrefix}/status`;
  }

  start(): void {
    this.link.onConnect(() => this.announce());
    this.link.handle(this.birthTopic, 0, (payload, packet) => {
      // A retained birth replays on every subscribe; the connect handler has announced already.
      if (packet.retain || payload.toString('utf8') !== 'online') return;
      this.clock.setTimeout(() => this.announce(), Math.random() * BIRTH_DELAY_MAX_MS);
    });
    for (const [key, button] of Object.entries(BUTTONS)) {
      this.link.handle(this.commandTopic(key), 1, (payload, packet) => {
        // A stale retained "cancel" must never fire after a reboot.
        if (packet.retain) {
          this.log.warn(`ignored a retained command on ${this.commandTopic(key)}`);
          return;
        }
        if (payload.toString('utf8') !== 'PRESS') return;
        this.press(key, button.method);
      });
    }
    this.timer = this.clock.setInterval(() => this.tick(), 1000);
  }

  stop(): void {
    this.timer?.cancel();
  }

  commandTopic(key: string): string {
    return `${this.options.instanceName}/brim/cmd/${key}`;
  }

  /** Discovery, then the states it refers to (HA asks for states again after discovery). */
  announce(): void {
    for (const [topic, config] of this.discoveryConfigs()) {
      this.link.publish(topic, JSON.stringify(config), { qos: 1, retain: true });
    }
    this.publishTemperatures(this.temperatures());
    this.publishJob(this.jobState());
  }

  /** Topic → config of every entity, one retained message each (works with every HA version). */
  discoveryConfigs(): [string, Record<string, unknown>][] {
    const { nodeId, discoveryPrefix } = this.options;
    const heaters = this.heaterNames();
    this.publishedHeaters = heaters.join(',');
    const mcu = this.store.get('mcu');
    const device = {
      identifiers: [`brim_${nodeId}`],
      name: this.options.instanceName,
      manufacturer: 'Brim',
      model: 'Marlin printer',
      ...(typeof mcu?.mcu_version === 'string' && mcu.mcu_version !== ''
        ? { sw_version: mcu.mcu_version }
        : {}),
    };
    const shared = {
      availability: [
        {
          topic: this.link.statusTopic,
          value_template: '{{ value_json.server }}',
          payload_available: 'online',
          payload_not_available: 'offline',
        },
      ],
      device,
      origin: { name: 'Brim' },
      qos: this.options.qos,
    };
    const entities: [string, string, Record<string, unknown>][] = [];
    for (const heater of heaters) {
      const label = heaterLabel(heater);
      const key = heater.replace(/^heater_generic /, '').replace(/[^a-zA-Z0-9_-]/g, '_');
      const value = (field: string) => `{{ value_json[${JSON.stringify(heater)}].${field} }}`;
      const temperature = {
        device_class: 'temperature',
        unit_of_measurement: '°C',
        state_class: 'measurement',
        suggested_display_precision: 1,
        state_topic: this.temperatureTopic,
      };
      entities.push([
        'sensor',
        `${key}_temperature`,
        { ...temperature, name: `${label} temperature`, value_template: value('temperature') },
      ]);
      entities.push([
        'sensor',
        `${key}_target`,
        { ...temperature, name: `${label} target`, value_template: value('target') },
      ]);
    }
    const job = { state_topic: this.jobTopic };
    entities.push([
      'sensor',
      'print_state',
      {
        ...job,
        name: 'Print state',
        device_class: 'enum',
        options: [...PRINT_STATES],
        value_template: '{{ value_json.state }}',
      },
    ]);
    entities.push([
      'sensor',
      'progress',
      {
        ...job,
        name: 'Progress',
        unit_of_measurement: '%',
        state_class: 'measurement',
        value_template: '{{ value_json.progress }}',
      },
    ]);
    entities.push([
      'sensor',
      'filename',
      { ...job, name: 'File', icon: 'mdi:file', value_template: '{{ value_json.filename }}' },
    ]);
    entities.push([
      'sensor',
      'print_duration',
      {
        ...job,
        name: 'Print duration',
        device_class: 'duration',
        unit_of_measurement: 's',
        value_template: '{{ value_json.print_duration }}',
      },
    ]);
    entities.push([
      'sensor',
      'time_remaining',
      {
        ...job,
        name: 'Time remaining',
        device_class: 'duration',
        unit_of_measurement: 's',
        value_template: '{{ value_json.time_remaining }}',
      },
    ]);
    entities.push([
      'sensor',
      'eta',
      { ...job, name: 'Finish time', device_class: 'timestamp', value_template: '{{ value_json.eta }}' },
    ]);
    entities.push([
      'binary_sensor',
      'printer_connected',
      {
        ...job,
        name: 'Printer connected',
        device_class: 'connectivity',
        entity_category: 'diagnostic',
        value_template: "{{ 'ON' if value_json.printer == 'ready' else 'OFF' }}",
      },
    ]);
    for (const [key, button] of Object.entries(BUTTONS)) {
      entities.push([
        'button',
        key,
        {
          name: button.name,
          icon: button.icon,
          command_topic: this.commandTopic(key),
          payload_press: 'PRESS',
        },
      ]);
    }
    return entities.map(([platform, key, config]) => {
      const uniqueId = `brim_${nodeId}_${key}`;
      const payload = {
        ...config,
        ...shared,
        // Button presses must arrive: HA publishes commands with the QoS given here.
        ...(platform === 'button' ? { qos: 1 } : {}),
        unique_id: uniqueId,
        // object_id is deprecated for default_entity_id (which carries the domain); older HA reads only the former.
        object_id: uniqueId,
        default_entity_id: `${platform}.${uniqueId}`,
      };
      return [`${discoveryPrefix}/${platform}/${nodeId}/${key}/config`, payload];
    });
  }

  temperatures(): Temperatures {
    const out: Temperatures = {};
    for (const heater of this.heaterNames()) {
      const fields = this.store.get(heater);
      out[heater] = {
        temperature: round(numberOf(fields?.temperature), 1),
        target: round(numberOf(fields?.target), 1),
      };
    }
    return out;
  }

  jobState(): JobState {
    const stats = this.store.get('print_stats');
    const webhooks = this.store.get('webhooks');
    const card = this.store.get('virtual_sdcard');
    const state = typeof stats?.state === 'string' ? stats.state : 'standby';
    const fraction = numberOf(card?.progress);
    const printDuration = numberOf(stats?.print_duration);
    const active = state === 'printing' || state === 'paused';
    // The same estimate Mainsail calls "file": elapsed printing time scaled by the file progress.
    const remaining = active && fraction > 0 ? (printDuration * (1 - fraction)) / fraction : null;
    return {
      state,
      filename: typeof stats?.filename === 'string' ? stats.filename : '',
      progress: round(fraction * 100, 1),
      print_duration: Math.round(printDuration),
      time_remaining: remaining === null ? null : Math.round(remaining),
      eta: remaining === null ? null : new Date(this.clock.wallMs() + remaining * 1000).toISOString(),
      printer: typeof webhooks?.state === 'string' ? webhooks.state : 'disconnected',
    };
  }

  private tick(): void {
    if (!this.link.connected) return;
    // A chamber or a second hotend can appear once the firmware has reported it.
    if (this.heaterNames().join(',') !== this.publishedHeaters) {
      this.announce();
      return;
    }
    const now = this.clock.now();
    const temperatures = this.temperatures();
    if (now - this.lastTemperatureAt >= TEMPERATURE_MIN_INTERVAL_S && this.moved(temperatures)) {
      this.publishTemperatures(temperatures);
    }
    const job = this.jobState();
    const last = this.lastJob;
    const changed =
      !last ||
      last.state !== job.state ||
      last.filename !== job.filename ||
      last.progress !== job.progress ||
      last.printer !== job.printer;
    if (changed || (job.state === 'printing' && now - this.lastJobAt >= JOB_REFRESH_S)) this.publishJob(job);
  }

  private moved(temperatures: Temperatures): boolean {
    const last = this.lastTemperatures;
    if (!last) return true;
    return Object.entries(temperatures).some(([heater, now]) => {
      const before = last[heater];
      return (
        !before ||
        before.target !== now.target ||
        Math.abs(before.temperature - now.temperature) >= TEMPERATURE_STEP_C
      );
    });
  }

  private publishTemperatures(temperatures: Temperatures): void {
    this.lastTemperatures = temperatures;
    this.lastTemperatureAt = this.clock.now();
    this.link.publish(this.temperatureTopic, JSON.stringify(temperatures), {
      qos: this.options.qos,
      retain: true,
    });
  }

  private publishJob(job: JobState): void {
    this.lastJob = job;
    this.lastJobAt = this.clock.now();
    this.link.publish(this.jobTopic, JSON.stringify(job), { qos: this.options.qos, retain: true });
  }

  private press(key: string, method: string): void {
    const endpoint = this.api.method(method);
    if (!endpoint) {
      this.log.warn(`Home Assistant pressed "${key}", but ${method} is not available`);
      return;
    }
    this.log.info(`Home Assistant pressed "${key}"`);
    endpoint
      .call(
        {},
        {
          transport: 'mqtt',
          verb: endpoint.verb,
          connection: null,
          remoteAddress: 'mqtt',
          identity: MQTT_CALLER,
        },
      )
      .catch((error: unknown) => this.log.warn(`Home Assistant "${key}" failed: ${describeError(error)}`));
  }

  private heaterNames(): string[] {
    const list = (this.store.get('heaters') as StatusFields | undefined)?.available_heaters;
    if (Array.isArray(list) && list.length > 0) return list.filter((h): h is string => typeof h === 'string');
    // Before the firmware has answered: the heaters every Marlin printer has.
    return ['extruder', 'heater_bed'];
  }
}

function heaterLabel(heater: string): string {
  if (heater === 'extruder') return 'Nozzle';
  const tool = /^extruder(\d+)$/.exec(heater);
  if (tool) return `Nozzle ${Number(tool[1]) + 1}`;
  if (heater === 'heater_bed') return 'Bed';
  const name = heater.replace(/^heater_generic /, '');
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function numberOf(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
