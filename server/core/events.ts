// The one typed event map and the bus that carries facts between components.
import type { Logger } from './logger.ts';

/**
 * Every event Brim emits, `component:snake_case_past_tense` → payload. Components add their own
 * through declaration merging (`declare module '../core/events.ts' { interface EventMap { ... } }`).
 */
export interface EventMap {
  'host:ready': { startedComponents: string[] };
  'host:stopping': Record<string, never>;
  'component:failed': { name: string; error: string };
  'websocket:connection_opened': { connectionId: number };
  'websocket:connection_closed': { connectionId: number };
}

export type EventName = keyof EventMap;
type Listener<E extends EventName> = (payload: EventMap[E]) => void | Promise<void>;

interface Registration {
  event: EventName;
  owner: string;
  fn: (payload: never) => void | Promise<void>;
}

export class Bus {
  private readonly listeners: Registration[] = [];

  constructor(private readonly log: Logger) {}

  on<E extends EventName>(event: E, owner: string, fn: Listener<E>): void {
    this.listeners.push({ event, owner, fn: fn as Registration['fn'] });
  }

  /** Removes every listener the owner registered, so a stopped component hears nothing more. */
  off(owner: string): void {
    for (let i = this.listeners.length - 1; i >= 0; i--) {
      if (this.listeners[i]!.owner === owner) this.listeners.splice(i, 1);
    }
  }

  /** Delivers on a later tick and never waits; one listener's error cannot reach another or the emitter. */
  emit<E extends EventName>(event: E, payload: EventMap[E]): void {
    const targets = this.listeners.filter((l) => l.event === event);
    if (targets.length === 0) return;
    queueMicrotask(() => {
      for (const listener of targets) this.deliver(listener, event, payload);
    });
  }

  listenerCount(event: EventName): number {
    return this.listeners.filter((l) => l.event === event).length;
  }

  private deliver<E extends EventName>(listener: Registration, event: E, payload: EventMap[E]): void {
    const report = (error: unknown) =>
      this.log.error(
        { err: error, event, owner: listener.owner },
        `listener of ${event} in ${listener.owner} failed`,
      );
    try {
      const result = (listener.fn as Listener<E>)(payload);
      if (result instanceof Promise) result.catch(report);
    } catch (error) {
      report(error);
    }
  }
}
