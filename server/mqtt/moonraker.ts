// Moonraker's MQTT topics: JSON-RPC over {instance}/moonraker/api/*, and status objects on {instance}/klipper/*.
import { JsonRpcDispatcher, type RpcCaller } from '../api/jsonrpc.ts';
import type { ApiRegistry, CallerIdentity } from '../api/registry.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { RPC_PARSE_ERROR } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { StatusFields, StatusQuery, StatusStore } from '../core/status-store.ts';
import type { MqttLink, QoS } from './link.ts';

/**
 * The broker's own login is the access control here, as in Moonraker, which runs MQTT API requests
 * without a user; `enable_moonraker_api = false` closes the door.
 */
export const MQTT_CALLER: CallerIdentity = { username: '_mqtt', role: 'admin', source: 'trusted' };

/** Moonraker answers a repeated `mqtt_timestamp` with this code instead of running the request twice. */
export const RPC_DUPLICATE_REQUEST = -10000;
const REMEMBERED_TIMESTAMPS = 20;

/** Mainsail's keep-alive tick: a 1 Hz message every subscriber would pay for and nobody reads. */
const UNPUBLISHED_NOTIFICATIONS = new Set(['notify_proc_stat_update']);

export class MqttApi {
  private readonly dispatcher: JsonRpcDispatcher;
  private readonly seenTimestamps: unknown[] = [];
  readonly requestTopic: string;
  readonly responseTopic: string;
  readonly notificationTopic: string;
  private removeSink: (() => void) | null = null;

  constructor(
    private readonly api: ApiRegistry,
    private readonly link: MqttLink,
    private readonly log: Logger,
    instanceName: string,
    private readonly qos: QoS,
  ) {
    this.dispatcher = new JsonRpcDispatcher(api, log);
    this.requestTopic = `${instanceName}/moonraker/api/request`;
    this.responseTopic = `${instanceName}/moonraker/api/response`;
    this.notificationTopic = `${instanceName}/moonraker/api/notification`;
  }

  start(): void {
    this.link.handle(this.requestTopic, this.qos, (payload, packet) => {
      // A retained request would run again on every reconnect.
      if (packet.retain) {
        this.log.warn(`ignored a retained request on ${this.requestTopic}`);
        return;
      }
      this.answer(payload.toString('utf8')).catch((error: unknown) =>
        this.log.error({ err: error }, 'MQTT API request failed'),
      );
    });
    // Moonraker sends no notify_* over MQTT; Brim adds them on their own topic for MQTT-only clients.
    this.removeSink = this.api.addNotificationSink((method, params) => {
      if (UNPUBLISHED_NOTIFICATIONS.has(method)) return;
      this.link.publish(this.notificationTopic, JSON.stringify({ jsonrpc: '2.0', method, params }), {
        qos: this.qos,
        retain: false,
      });
    });
  }

  stop(): void {
    this.removeSink?.();
  }

  /** Every request gets a reply on the response topic, a parse error included. */
  async answer(text: string): Promise<void> {
    const caller: RpcCaller = {
      connection: null,
      remoteAddress: 'mqtt',
      identity: MQTT_CALLER,
      transport: 'mqtt',
    };
    let request: unknown;
    try {
      request = JSON.parse(text);
    } catch {
      this.reply({
        jsonrpc: '2.0',
        error: { code: RPC_PARSE_ERROR, message: `Parse error: ${text.slice(0, 80)}` },
        id: null,
      });
      return;
    }
    const duplicate = this.duplicateOf(request);
    if (duplicate) {
      this.reply(duplicate);
      return;
    }
    const response = Array.isArray(request)
      ? await this.dispatcher.handleText(text, caller)
      : await this.dispatcher.handleRequest(request, caller);
    if (response !== null) this.reply(response);
  }

  /** Moonraker's `mqtt_timestamp`: a client that republishes after a lost PUBACK must not pause twice. */
  private duplicateOf(request: unknown): object | null {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return null;
    const params = (request as { params?: unknown }).params;
    if (typeof params !== 'object' || params === null || !('mqtt_timestamp' in params)) return null;
    const { mqtt_timestamp: timestamp, ...rest } = params as Record<string, unknown>;
    (request as { params: unknown }).params = rest;
    if (this.seenTimestamps.includes(timestamp)) {
      const id = (request as { id?: unknown }).id ?? null;
      return {
        jsonrpc: '2.0',
        error: { code: RPC_DUPLICATE_REQUEST, message: 'Duplicate MQTT API request' },
        id,
      };
    }
    this.seenTimestamps.push(timestamp);
    if (this.seenTimestamps.length > REMEMBERED_TIMESTAMPS) this.seenTimestamps.shift();
    return null;
  }

  private reply(message: unknown): void {
    this.link.publish(this.responseTopic, JSON.stringify(message), { qos: this.qos, retain: false });
  }
}

/** Publishes `status_objects` as Moonraker does: changes on klipper/status, optionally each field retained. */
export class StatusPublisher {
  private unsubscribe: (() => void) | null = null;
  private pending: Record<string, StatusFields> = {};
  private pendingEventtime = 0;
  private timer: TimerHandle | null = null;
  private readonly statusTopic: string;
  private readonly statePrefix: string;

  constructor(
    private readonly store: StatusStore,
    private readonly clock: Clock,
    private readonly link: MqttLink,
    instanceName: string,
    private readonly options: {
      objects: Record<string, string[]>;
      intervalS: number;
      split: boolean;
      qos: QoS;
    },
  ) {
    this.statusTopic = `${instanceName}/klipper/status`;
    this.statePrefix = `${instanceName}/klipper/state`;
  }

  get enabled(): boolean {
    return Object.keys(this.options.objects).length > 0;
  }

  start(): void {
    if (!this.enabled) return;
    const query: StatusQuery = {};
    for (const [name, fields] of Object.entries(this.options.objects))
      query[name] = fields.length === 0 ? null : fields;
    const { unsubscribe } = this.store.subscribe(query, (delta, eventtime) => this.changed(delta, eventtime));
    this.unsubscribe = unsubscribe;
    // Every (re)connection starts with the whole picture, as Moonraker does when Klippy becomes ready.
    this.link.onConnect(() => {
      const snapshot = this.store.query(query);
      this.publish(snapshot.status, snapshot.eventtime);
    });
    if (this.options.intervalS > 0) {
      this.timer = this.clock.setInterval(() => this.flush(), this.options.intervalS * 1000);
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.timer?.cancel();
  }

  private changed(delta: Record<string, StatusFields>, eventtime: number): void {
    if (this.options.intervalS === 0) {
      this.publish(delta, eventtime);
      return;
    }
    for (const [name, fields] of Object.entries(delta))
      this.pending[name] = { ...this.pending[name], ...fields };
    this.pendingEventtime = eventtime;
  }

  private flush(): void {
    if (Object.keys(this.pending).length === 0) return;
    const status = this.pending;
    this.pending = {};
    this.publish(status, this.pendingEventtime);
  }

  private publish(status: Record<string, StatusFields>, eventtime: number): void {
    const { qos, split } = this.options;
    this.link.publish(this.statusTopic, JSON.stringify({ eventtime, status }), { qos, retain: false });
    if (!split) return;
    for (const [name, fields] of Object.entries(status)) {
      for (const [field, value] of Object.entries(fields)) {
        this.link.publish(`${this.statePrefix}/${name}/${field}`, JSON.stringify({ eventtime, value }), {
          qos,
          retain: true,
        });
      }
    }
  }
}
