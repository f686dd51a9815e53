// The one connection to the daemon: identify, subscribe to the printer objects, fan notifications out to
// the state modules, and the link state behind the stale banner.
import { computed, effect, signal } from '@preact/signals';
import {
  accessToken,
  authState,
  isUnauthorized,
  type Role,
  refreshToken,
  sessionExpired,
  storeTokens,
  tokenExpiry,
  user,
} from '../state/auth.ts';
import {
  applyDelta,
  applySnapshot,
  LAZY_OBJECTS,
  type ObjectStatus,
  objectNames,
  watchedLazy,
} from '../state/printer.ts';
import { httpBase, websocketUrl } from './endpoint.ts';
import { type LinkState, RpcClient } from './rpc.ts';

declare const BRIM_VERSION: string;

export const linkState = signal<LinkState>('connecting');
/** When the next reconnect attempt starts (ms since epoch), while closed. */
export const retryAt = signal<number | null>(null);
export const linkError = signal('');
/** True once the first connection opened: before that the banner says "connecting", not "lost". */
export const everConnected = signal(false);
export const connected = computed(() => linkState.value === 'open');
/** Whether this connection is past identify and login, so reads are allowed. */
export const sessionReady = signal(false);
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
    if (state !== 'open') {
      subscribed.value = false;
      sessionReady.value = false;
    }
  },
  onServerError: (error) => {
    if (isUnauthorized(error) && !AUTH_METHODS.has(error.method)) void unauthorized();
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
  if (sessionReady.peek()) fn();
  return () => connectHooks.delete(fn);
}

/** Answers that mean "wrong credentials" here, not "the session expired". */
const AUTH_METHODS = new Set(['access.login', 'access.refresh_jwt', 'server.connection.identify']);

let refreshTimer: ReturnType<typeof setTimeout> | null = null;

/** Refreshes the access token a minute before it expires. */
function scheduleRefresh(token: string | null): void {
  if (refreshTimer) clearTimeout(refreshTimer);
  refreshTimer = null;
  const expires = token ? tokenExpiry(token) : null;
  if (expires === null) return;
  refreshTimer = setTimeout(() => void refreshAccess(), Math.max(5000, expires - Date.now() - 60_000));
}

/** A new access token for the stored refresh token, over HTTP so it works while the socket is down. */
export async function refreshAccess(): Promise<string | null> {
  const refresh = refreshToken.peek();
  if (!refresh) return null;
  try {
    const answer = await fetch(`${httpBase}/access/refresh_jwt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refresh }),
    });
    if (answer.status === 401) {
      // Expired, or revoked by a logout elsewhere: the login page it is.
      storeTokens({ token: null, refresh_token: null });
      return null;
    }
    if (!answer.ok) return null;
    const body = (await answer.json()) as { result?: { token?: string } };
    const token = body.result?.token ?? null;
    storeTokens({ token });
    scheduleRefresh(token);
    return token;
  } catch {
    return null;
  }
}

let lastReauth = 0;

/** An Unauthorized answer on a session thought logged in: refresh and reconnect once, else log in. */
async function unauthorized(): Promise<void> {
  if (authState.peek() !== 'ready') return;
  const again = Date.now() - lastReauth < 10_000;
  lastReauth = Date.now();
  if (!again && (await refreshAccess())) {
    reconnect();
    return;
  }
  user.value = null;
  sessionExpired.value = true;
  authState.value = 'login';
}

function reconnect(): void {
  rpc.stop();
  rpc.start();
}

async function identify(): Promise<void> {
  const hello = {
    client_name: 'Brim',
    version: typeof BRIM_VERSION === 'string' ? BRIM_VERSION : 'dev',
    type: 'web',
    url: 'https://github.com/brim',
  };
  let token = accessToken.peek();
  if (refreshToken.peek() && (!token || (tokenExpiry(token) ?? 0) < Date.now() + 10_000)) {
    token = await refreshAccess();
  }
  try {
    // The access token authenticates this socket, after a reconnect too.
    await rpc.call('server.connection.identify', token ? { ...hello, access_token: token } : hello);
  } catch (error) {
    if (token && isUnauthorized(error)) {
      storeTokens({ token: null });
      await rpc.call('server.connection.identify', hello).catch(() => {});
    }
    // Otherwise identify is courtesy (it names us in server.info); failing it must not keep the UI dark.
  }
}

async function loadUser(): Promise<void> {
  try {
    const answer = await rpc.query<{ username: string; role: Role }>('access.get_user');
    user.value = { username: answer.username, role: answer.role };
  } catch {
    user.value = null;
  }
}

async function initialise(): Promise<void> {
  await identify();
  let loginRequired = false;
  try {
    loginRequired = (await rpc.query<{ login_required?: boolean }>('access.info')).login_required === true;
  } catch {
    // A daemon without the authorization component: nothing to log in to.
  }
  if (loginRequired) {
    // A reconnect that finds the login gone (expired or revoked while the socket was down).
    if (authState.peek() === 'ready') sessionExpired.value = true;
    user.value = null;
    authState.value = 'login';
    return;
  }
  await loadUser();
  await enter();
}

/** Logs in over the socket (which makes this connection logged in), then loads the app. */
export async function login(username: string, password: string): Promise<void> {
  const answer = await rpc.call<{ token: string; refresh_token: string }>('access.login', {
    username,
    password,
  });
  storeTokens({ token: answer.token, refresh_token: answer.refresh_token });
  scheduleRefresh(answer.token);
  await loadUser();
  await enter();
}

/** Revokes the tokens, forgets them and starts a fresh connection (a login page unless trusted). */
export async function logout(): Promise<void> {
  await rpc.call('access.logout').catch(() => {});
  storeTokens({ token: null, refresh_token: null });
  scheduleRefresh(null);
  user.value = null;
  sessionExpired.value = false;
  authState.value = 'unknown';
  reconnect();
}

async function enter(): Promise<void> {
  authState.value = 'ready';
  sessionReady.value = true;
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
  if (sessionReady.peek()) void subscribe();
});

export function startSession(): void {
  rpc.start();
  // A laptop waking up or a phone coming back to the tab should not wait out the backoff.
  addEventListener('online', () => rpc.retryNow());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') rpc.retryNow();
  });
}
