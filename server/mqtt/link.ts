// The one broker connection: availability with a last will, reconnect with backoff, topic handlers.
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import { describeError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { MqttSettings } from './config.ts';

export type QoS = 0 | 1 | 2;

export type LinkState = 'connecting' | 'connected' | 'reconnecting' | 'stopped';

/** What server.mqtt.status reports; the Settings page shows it. */
export interface LinkStatus {
  state: LinkState;
  connected: boolean;
  broker: string;
  instance_name: string;
  client_id: string;
  /** The broker's or the network's last complaint, kept after a reconnect so a flaky link shows. */
  last_error: string | null;
  /** Unix seconds of the current connection, or null. */
  connected_since: number | null;
  /** Failed attempts since the last successful connection. */
  reconnect_attempts: number;
  next_retry_s: number | null;
}

export type MessageHandler = (payload: Buffer, packet: IPublishPacket, topic: string) => void;

/** mqtt.js retries at a fixed period; doubling it per failure spares a broker that is down. */
export const BACKOFF_MIN_MS = 1000;
export const BACKOFF_MAX_MS = 60_000;
/** Stopping must not hang on a broker that does not answer the last `offline`. */
const STOP_PUBLISH_TIMEOUT_MS = 2000;

export const ONLINE = JSON.stringify({ server: 'online' });
export const OFFLINE = JSON.stringify({ server: 'offline' });

export class MqttLink {
  private client: MqttClient | null = null;
  private state: LinkState = 'connecting';
  private lastError: string | null = null;
  private connectedSince: number | null = null;
  private attempts = 0;
  private retryDelayMs = BACKOFF_MIN_MS;
  private readonly handlers = new Map<string, { qos: QoS; handler: MessageHandler }>();
  private readonly connectListeners: (() => void)[] = [];
  private warnedAuth = false;
  /** Moonraker's availability topic, with the retained last will on it. */
  readonly statusTopic: string;

  constructor(
    private readonly settings: MqttSettings,
    private readonly log: Logger,
    private readonly warn: (message: string) => void,
  ) {
    this.statusTopic = `${settings.instanceName}/moonraker/status`;
  }

  /** Subscribes now or at the next connection; resubscribed after every reconnect. */
  handle(topic: string, qos: QoS, handler: MessageHandler): void {
    this.handlers.set(topic, { qos, handler });
    if (this.client?.connected) this.subscribe([topic]);
  }

  /** Runs after every (re)connection, once availability and subscriptions are sent. */
  onConnect(listener: () => void): void {
    this.connectListeners.push(listener);
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Dropped while offline: retained state topics carry the latest value, and a backlog helps no one. */
  publish(topic: string, payload: string, options: { qos: QoS; retain: boolean }): void {
    if (!this.client?.connected) return;
    this.client.publish(topic, payload, options, (error) => {
      if (error) this.log.warn({ err: error, topic }, 'MQTT publish failed');
    });
  }

  status(): LinkStatus {
    return {
      state: this.state,
      connected: this.connected,
      broker: this.settings.brokerUrl,
      instance_name: this.settings.instanceName,
      client_id: this.client?.options.clientId ?? this.settings.clientId ?? '',
      last_error: this.lastError,
      connected_since: this.connectedSince,
      reconnect_attempts: this.attempts,
      next_retry_s: this.state === 'reconnecting' ? this.retryDelayMs / 1000 : null,
    };
  }

  /** Never waits for the broker: a broker that is down at start must not hold up the daemon. */
  async start(): Promise<void> {
    // Loaded here so a daemon without [mqtt] never pays for the library.
    const { connect } = await import('mqtt');
    const options: IClientOptions = {
      protocolVersion: this.settings.protocolVersion,
      username: this.settings.username,
      password: this.settings.password,
      clientId: this.settings.clientId,
      reconnectPeriod: BACKOFF_MIN_MS,
      // A refused login is retried too (with backoff): the broker's user list may be fixed later.
      reconnectOnConnackError: true,
      queueQoSZero: false,
      will: { topic: this.statusTopic, payload: Buffer.from(OFFLINE), qos: 1, retain: true },
    };
    const client = connect(this.settings.url, options);
    this.client = client;
    client.on('connect', () => {
      this.state = 'connected';
      this.attempts = 0;
      this.connectedSince = Math.floor(Date.now() / 1000);
      client.options.reconnectPeriod = BACKOFF_MIN_MS;
      this.log.info(`connected to MQTT broker ${this.settings.brokerUrl}`);
      client.publish(this.statusTopic, ONLINE, { qos: 1, retain: true });
      this.subscribe([...this.handlers.keys()]);
      for (const listener of this.connectListeners) {
        try {
          listener();
        } catch (error) {
          this.log.error({ err: error }, 'MQTT connect listener failed');
        }
      }
    });
    client.on('message', (topic, payload, packet) => this.dispatch(topic, payload, packet));
    client.on('error', (error) => this.recordError(error));
    client.on('close', () => {
      if (this.state === 'stopped') return;
      if (this.state === 'connected') this.log.warn(`lost the MQTT broker ${this.settings.brokerUrl}`);
      this.connectedSince = null;
      this.attempts += 1;
      this.state = 'reconnecting';
      // mqtt.js has armed this retry already (its own close listener runs first); doubling the
      // period here sets the wait after the next failure.
      this.retryDelayMs = Number(client.options.reconnectPeriod);
      client.options.reconnectPeriod = Math.min(this.retryDelayMs * 2, BACKOFF_MAX_MS);
    });
  }

  /** Says `offline` itself (a clean disconnect sends no will), then closes. */
  async stop(): Promise<void> {
    const client = this.client;
    const wasConnected = this.connected;
    this.state = 'stopped';
    if (!client) return;
    let acknowledged = false;
    if (wasConnected) {
      const said = client.publishAsync(this.statusTopic, OFFLINE, { qos: 1, retain: true }).then(
        () => true,
        () => false,
      );
      const timeout = new Promise<boolean>((resolve) =>
        setTimeout(() => resolve(false), STOP_PUBLISH_TIMEOUT_MS).unref(),
      );
      acknowledged = await Promise.race([said, timeout]);
    }
    // A graceful end waits for unacknowledged messages, which a silent broker would never confirm.
    await client.endAsync(!acknowledged);
    this.client = null;
  }

  private subscribe(topics: string[]): void {
    if (!this.client || topics.length === 0) return;
    const map: Record<string, { qos: QoS }> = {};
    for (const topic of topics) map[topic] = { qos: this.handlers.get(topic)?.qos ?? 0 };
    this.client.subscribe(map, (error, granted) => {
      if (error) this.recordError(error);
      for (const grant of granted ?? []) {
        // 128 (0x80) is the broker refusing the subscription, e.g. an ACL.
        if (grant.qos === 128) this.recordError(new Error(`broker refused subscription to ${grant.topic}`));
      }
    });
  }

  private dispatch(topic: string, payload: Buffer, packet: IPublishPacket): void {
    const entry = this.handlers.get(topic);
    if (!entry) return;
    try {
      entry.handler(payload, packet, topic);
    } catch (error) {
      this.log.error({ err: error, topic }, 'MQTT message handler failed');
    }
  }

  private recordError(error: Error): void {
    const message = describeError(error);
    if (message !== this.lastError) this.log.warn(`MQTT broker ${this.settings.brokerUrl}: ${message}`);
    this.lastError = message;
    // A refused login will not fix itself; say so where the user looks (server.info warnings) once.
    if (!this.warnedAuth && /not authori[sz]ed|bad user ?name or password/i.test(message)) {
      this.warnedAuth = true;
      this.warn(`MQTT broker ${this.settings.brokerUrl} refused the login: ${message}`);
    }
  }
}
