// Klipper-style named status objects, polled and diffed every 250 ms for every subscriber at once.
import type { Clock, TimerHandle } from './clock.ts';

export type StatusFields = Record<string, unknown>;

/** A printer object: a pure function of time that builds a fresh object on each call. */
export interface StatusSource {
  status(eventtime: number): StatusFields;
}

/** Object name → field list, or null for every field (what Mainsail and Fluidd send). */
export type StatusQuery = Record<string, readonly string[] | null>;

export interface StatusSnapshot {
  eventtime: number;
  status: Record<string, StatusFields>;
}

export type DeltaListener = (delta: Record<string, StatusFields>, eventtime: number) => void;

interface Subscription {
  query: StatusQuery;
  /** Per object, per field: the JSON last sent, so only real changes go out. */
  sent: Map<string, Map<string, string>>;
  onDelta: DeltaListener;
}

export const STATUS_INTERVAL_MS = 250;

export class StatusStore {
  private readonly sources = new Map<string, StatusSource>();
  private readonly subscriptions = new Set<Subscription>();
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly onListenerError: (error: unknown) => void = () => {},
  ) {}

  register(name: string, source: StatusSource): void {
    if (this.sources.has(name)) throw new Error(`status object "${name}" is already registered`);
    this.sources.set(name, source);
  }

  unregister(name: string): void {
    this.sources.delete(name);
  }

  names(): string[] {
    return [...this.sources.keys()];
  }

  has(name: string): boolean {
    return this.sources.has(name);
  }

  /** One object's fields now, or undefined if no such object. */
  get(name: string): StatusFields | undefined {
    return this.sources.get(name)?.status(this.clock.now());
  }

  /** Unknown objects and fields are left out silently, as Moonraker does. */
  query(query: StatusQuery): StatusSnapshot {
    const eventtime = this.clock.now();
    const status: Record<string, StatusFields> = {};
    for (const [name, fields] of Object.entries(query)) {
      const source = this.sources.get(name);
      if (source) status[name] = pick(source.status(eventtime), fields);
    }
    return { eventtime, status };
  }

  /** Returns the full snapshot now; afterwards `onDelta` gets only changed fields, at most every 250 ms. */
  subscribe(
    query: StatusQuery,
    onDelta: DeltaListener,
  ): { snapshot: StatusSnapshot; unsubscribe: () => void } {
    const snapshot = this.query(query);
    const subscription: Subscription = { query, sent: new Map(), onDelta };
    for (const [name, fields] of Object.entries(snapshot.status))
      subscription.sent.set(name, serialize(fields));
    this.subscriptions.add(subscription);
    this.timer ??= this.clock.setInterval(() => this.poll(), STATUS_INTERVAL_MS);
    return {
      snapshot,
      unsubscribe: () => {
        this.subscriptions.delete(subscription);
        if (this.subscriptions.size === 0) this.stopPolling();
      },
    };
  }

  subscriberCount(): number {
    return this.subscriptions.size;
  }

  stopPolling(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  /** Each object's status is computed once per tick, however many subscribers want it. */
  poll(): void {
    const eventtime = this.clock.now();
    const current = new Map<string, Map<string, string>>();
    const statusOf = (name: string): Map<string, string> | undefined => {
      if (!current.has(name)) {
        const source = this.sources.get(name);
        if (source) current.set(name, serialize(source.status(eventtime)));
      }
      return current.get(name);
    };
    for (const subscription of this.subscriptions) {
      const delta: Record<string, StatusFields> = {};
      for (const [name, fields] of Object.entries(subscription.query)) {
        const now = statusOf(name);
        if (!now) continue;
        let sent = subscription.sent.get(name);
        if (!sent) {
          sent = new Map();
          subscription.sent.set(name, sent);
        }
        for (const [field, json] of now) {
          if (fields && !fields.includes(field)) continue;
          if (sent.get(field) === json) continue;
          sent.set(field, json);
          const changed = delta[name] ?? {};
          changed[field] = JSON.parse(json);
          delta[name] = changed;
        }
      }
      if (Object.keys(delta).length === 0) continue;
      try {
        subscription.onDelta(delta, eventtime);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}

function pick(status: StatusFields, fields: readonly string[] | null): StatusFields {
  if (!fields) return status;
  const out: StatusFields = {};
  for (const field of fields) if (field in status) out[field] = status[field];
  return out;
}

function serialize(fields: StatusFields): Map<string, string> {
  const out = new Map<string, string>();
  for (const [field, value] of Object.entries(fields)) out.set(field, JSON.stringify(value ?? null));
  return out;
}
