// The one connection to the daemon: identify, subscribe to the printer objects, fan notifications out to
// the state modules, and the link state behind the stale banner.
import { computed, effect, signal } from '@preact/signals';
import {
  applyDelta,
  applySnapshot,
  LAZY_OBJECTS,
  type ObjectStatus,
  objectNames,
  watchedLazy,
} from '../state/printer.ts';
import { websocketUrl } from './endpoint.ts';
import { type LinkState, RpcClient } from './rpc.ts';

declare const BRIM_VERSION: string;

export const linkState = signal<LinkState>('connecting');
/** When the next reconnect attempt starts (ms since epoch), while closed. */
export const retryAt = signal<number | null>(null);
export const linkError = signal('');
/** True once the first connection opened: before that the banner says "connecting", not "lost". */
export const everConnected = signal(false);
export const connected = computed(() => linkState.value === 'open');
/** Whether the printer objects are live (subscribed on the current connection). */
export const subscribed = signal(false);
/** What server.info said about the daemon on this connection. */
export const serverInfo = signal<{ components: string[]; warnings: string[]; klippy_state: string } | null>(
  null,
);

type Listener = (params: unknown[]) => void;
const listeners = new Map<string, Set<Listener>>();
const connectHooks = new Set<() => void>();

export const rpc = new RpcClient({
  url: () => websocketUrl,
  onState: (state, detail) => {
    linkState.value = state;
    retryAt.value = detail.retryAt;
    linkError.value = detail.error;
    if (state === 'open') everConnected.value = true;
    if (state !== 'open') subscribed.value = false;
  },
  onOpen: () => {
    void initialise();
  },
  onNotification: (method, params) => {
    if (method === 'notify_status_update') {
      const [delta] = params as [Record<string, ObjectStatus>];
      if (delta && typeof delta === 'object') applyDelta(delta);
    } else if (method === 'notify_klippy_ready') {
      void subscribe();
    }
    for (const listener of listeners.get(method) ?? []) listener(params);
  },
});

/** Calls `fn` with each notification's params until the returned function is called. */
export function onNotification(method: string, fn: Listener): () => void {
  let set = listeners.get(method);
  if (!set) {
    set = new Set();
    listeners.set(method, set);
  }
  set.add(fn);
  return () => set.delete(fn);
}

/** Runs on every (re)connection, after identify; state modules reload what they show from it. */
export function onConnected(fn: () => void): () => void {
  connectHooks.add(fn);
  if (connected.peek()) fn();
  return () => connectHooks.delete(fn);
}

async function initialise(): Promise<void> {
  try {
    await rpc.call('server.connection.identify', {
      client_name: 'Brim',
      version: typeof BRIM_VERSION === 'string' ? BRIM_VERSION : 'dev',
      type: 'web',
      url: 'https://github.com/brim',
    });
  } catch {
    // Identify is courtesy (it names us in server.info); failing it must not keep the UI dark.
  }
  try {
    serverInfo.value = await rpc.query('server.info');
  } catch {
    serverInfo.value = null;
  }
  for (const hook of connectHooks) hook();
  await subscribe();
}

let subscribing: Promise<void> | null = null;
let again = false;

/** (Re)subscribes to every printer object; lazy ones only while watched. Calls never overlap. */
export async function subscribe(): Promise<void> {
  if (subscribing) {
    again = true;
    return subscribing;
  }
  subscribing = (async () => {
    do {
      again = false;
      try {
        const { objects } = await rpc.query<{ objects: string[] }>('printer.objects.list');
        objectNames.value = objects;
        const watched = watchedLazy.peek();
        const query = Object.fromEntries(
          objects.filter((name) => !LAZY_OBJECTS.has(name) || watched.has(name)).map((name) => [name, null]),
        );
        const answer = await rpc.query<{ status: Record<string, ObjectStatus> }>(
          'printer.objects.subscribe',
          {
            objects: query,
          },
        );
        applySnapshot(answer.status);
        subscribed.value = true;
      } catch {
        subscribed.value = false;
      }
    } while (again);
  })();
  try {
    await subscribing;
  } finally {
    subscribing = null;
  }
}

let lastWatched = '';
effect(() => {
  const key = [...watchedLazy.value].sort().join(',');
  if (key === lastWatched) return;
  lastWatched = key;
  if (connected.peek()) void subscribe();
});

export function startSession(): void {
  rpc.start();
  // A laptop waking up or a phone coming back to the tab should not wait out the backoff.
  addEventListener('online', () => rpc.retryNow());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') rpc.retryNow();
  });
}
