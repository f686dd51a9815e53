// The JSON-RPC 2.0 websocket client: reconnects with backoff, and never loses or repeats a command silently.
//
// Reads (`retry: true`) wait for a connection and are sent again after a reconnect: repeating them is
// harmless. Everything else (G-code, print start, deletes) is sent at most once: while disconnected it
// fails at once, and if the connection drops before the answer it fails saying the outcome is unknown.

export type LinkState = 'connecting' | 'open' | 'closed';

export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly method: string,
  ) {
    super(message);
    this.name = 'RpcError';
  }
}

/** Codes the client itself uses; the server's are HTTP-like (400, 404) or JSON-RPC's (-32601...). */
export const NOT_CONNECTED = -1;
export const CONNECTION_LOST = -2;
export const TIMED_OUT = -3;
/** JSON-RPC's "no such method": the daemon runs without that component. */
export const METHOD_NOT_FOUND = -32601;

export interface CallOptions {
  /** Safe to send again: waits for a connection and is resent after a reconnect. */
  retry?: boolean;
  /** Fails with TIMED_OUT after this long; default none for commands (M109 can wait minutes). */
  timeoutMs?: number;
}

/** The part of the browser's WebSocket the client uses (the `ws` package offers the same in Node). */
export interface SocketLike {
  readyState: number;
  onopen: ((event: unknown) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface RpcClientOptions {
  url: () => string;
  createSocket?: (url: string) => SocketLike;
  onState?: (state: LinkState, detail: { attempt: number; retryAt: number | null; error: string }) => void;
  /** Runs on every (re)connection before queued reads go out, e.g. to identify and subscribe. */
  onOpen?: () => void;
  onNotification?: (method: string, params: unknown[]) => void;
  /** Sees every error the server answers with (before the caller does), e.g. to notice "Unauthorized". */
  onServerError?: (error: RpcError) => void;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** After this long without any frame the client pings; no answer within `pingTimeoutMs` → reconnect. */
  heartbeatMs?: number;
  pingTimeoutMs?: number;
  random?: () => number;
}

interface Pending {
  id: number;
  method: string;
  params: Record<string, unknown> | undefined;
  retry: boolean;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | null;
}

const OPEN = 1;

export class RpcClient {
  private socket: SocketLike | null = null;
  private state: LinkState = 'closed';
  private nextId = 1;
  /** Sent, waiting for the answer. */
  private readonly inFlight = new Map<number, Pending>();
  /** Reads waiting for a connection. */
  private outbox: Pending[] = [];
  private attempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private lastFrameAt = 0;
  private pinging = false;
  private stopped = true;
  private lastError = '';

  constructor(private readonly options: RpcClientOptions) {}

  get linkState(): LinkState {
    return this.state;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.open();
  }

  /** Closes for good: pending calls fail, nothing reconnects. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      detach(socket);
      socket.close(1000, 'client stopped');
    }
    this.failInFlight(true);
    for (const pending of this.outbox.splice(0)) this.settle(pending, notConnected(pending.method));
    this.setState('closed', null);
  }

  /** Skips the rest of the backoff wait (the stale banner's "Retry now", the page becoming visible). */
  retryNow(): void {
    if (this.stopped || this.state !== 'closed') return;
    this.attempt = 0;
    this.open();
  }

  call<T = unknown>(method: string, params?: Record<string, unknown>, options: CallOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const pending: Pending = {
        id: 0,
        method,
        params,
        retry: options.retry ?? false,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer: null,
      };
      if (options.timeoutMs !== undefined) {
        pending.timer = setTimeout(() => {
          this.inFlight.delete(pending.id);
          this.outbox = this.outbox.filter((p) => p !== pending);
          reject(
            new RpcError(TIMED_OUT, `${method}: no answer from Brim within ${options.timeoutMs} ms`, method),
          );
        }, options.timeoutMs);
      }
      if (this.state === 'open') this.send(pending);
      else if (pending.retry) this.outbox.push(pending);
      else this.settle(pending, notConnected(method));
    });
  }

  /** A read: waits for a connection, resent after a reconnect, fails after 30 s. */
  query<T = unknown>(method: string, params?: Record<string, unknown>): Promise<T> {
    return this.call<T>(method, params, { retry: true, timeoutMs: 30_000 });
  }

  private open(): void {
    this.clearReconnect();
    let socket: SocketLike;
    const url = this.options.url();
    this.setState('connecting', null);
    try {
      socket = this.options.createSocket
        ? this.options.createSocket(url)
        : (new WebSocket(url) as unknown as SocketLike);
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      this.lastError = '';
      this.lastFrameAt = Date.now();
      this.setState('open', null);
      this.startHeartbeat();
      this.options.onOpen?.();
      for (const pending of this.outbox.splice(0)) this.send(pending);
    };
    socket.onmessage = (event) => {
      if (this.socket !== socket) return;
      this.lastFrameAt = Date.now();
      this.receive(String(event.data));
    };
    socket.onerror = () => {
      if (this.socket === socket) this.lastError = `cannot reach ${url}`;
    };
    socket.onclose = () => {
      if (this.socket === socket) this.dropped();
    };
  }

  /** The socket is gone (closed by either side, or declared dead by the heartbeat). */
  private dropped(): void {
    const socket = this.socket;
    this.socket = null;
    if (socket) detach(socket);
    this.stopHeartbeat();
    this.failInFlight(false);
    if (this.stopped) return;
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const initial = this.options.initialDelayMs ?? 500;
    const max = this.options.maxDelayMs ?? 10_000;
    const jitter = 0.75 + (this.options.random ?? Math.random)() * 0.5;
    const delay = Math.min(max, initial * 2 ** this.attempt) * jitter;
    this.attempt += 1;
    const retryAt = Date.now() + delay;
    this.setState('closed', retryAt);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.open();
    }, delay);
  }

  /** Commands fail with "outcome unknown"; reads go back to the outbox (or fail when stopping). */
  private failInFlight(stopping: boolean): void {
    const pending = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const p of pending) {
      if (p.retry && !stopping) this.outbox.push(p);
      else
        this.settle(
          p,
          new RpcError(
            CONNECTION_LOST,
            `The connection to Brim dropped before ${p.method} was answered; it may or may not have run`,
            p.method,
          ),
        );
    }
  }

  private send(pending: Pending): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) {
      if (pending.retry) this.outbox.push(pending);
      else this.settle(pending, notConnected(pending.method));
      return;
    }
    pending.id = this.nextId++;
    this.inFlight.set(pending.id, pending);
    const message: Record<string, unknown> = { jsonrpc: '2.0', method: pending.method, id: pending.id };
    if (pending.params !== undefined) message.params = pending.params;
    socket.send(JSON.stringify(message));
  }

  private receive(text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    for (const item of Array.isArray(message) ? message : [message]) {
      if (typeof item !== 'object' || item === null) continue;
      const frame = item as {
        id?: unknown;
        method?: unknown;
        params?: unknown;
        result?: unknown;
        error?: unknown;
      };
      if (typeof frame.method === 'string' && frame.id === undefined) {
        this.options.onNotification?.(frame.method, Array.isArray(frame.params) ? frame.params : []);
        continue;
      }
      if (typeof frame.id !== 'number') continue;
      const pending = this.inFlight.get(frame.id);
      if (!pending) continue;
      this.inFlight.delete(frame.id);
      if (frame.error) {
        const error = frame.error as { code?: unknown; message?: unknown };
        const rpcError = new RpcError(
          typeof error.code === 'number' ? error.code : 0,
          typeof error.message === 'string' ? error.message : 'Unknown error',
          pending.method,
        );
        this.options.onServerError?.(rpcError);
        this.settle(pending, rpcError);
      } else {
        this.settle(pending, null, frame.result);
      }
    }
  }

  private settle(pending: Pending, error: Error | null, result?: unknown): void {
    if (pending.timer) clearTimeout(pending.timer);
    if (error) pending.reject(error);
    else pending.resolve(result);
  }

  private startHeartbeat(): void {
    const heartbeat = this.options.heartbeatMs ?? 15_000;
    this.stopHeartbeat();
    this.heartbeatTimer = setInterval(
      () => {
        if (this.state !== 'open' || this.pinging || Date.now() - this.lastFrameAt < heartbeat) return;
        this.pinging = true;
        const socket = this.socket;
        this.call('server.info', undefined, { timeoutMs: this.options.pingTimeoutMs ?? 5000 })
          .catch((error: unknown) => {
            // No answer: the link is dead even if the browser has not noticed (Wi-Fi gone, laptop lid).
            if (error instanceof RpcError && error.code === TIMED_OUT && this.socket === socket) {
              this.lastError = 'Brim stopped answering';
              this.dropped();
              socket?.close(4000, 'heartbeat timeout');
            }
          })
          .finally(() => {
            this.pinging = false;
          });
      },
      Math.max(250, heartbeat / 3),
    );
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
    this.pinging = false;
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private clearTimers(): void {
    this.clearReconnect();
    this.stopHeartbeat();
  }

  private setState(state: LinkState, retryAt: number | null): void {
    this.state = state;
    this.options.onState?.(state, { attempt: this.attempt, retryAt, error: this.lastError });
  }
}

function notConnected(method: string): RpcError {
  return new RpcError(NOT_CONNECTED, `Not connected to Brim: ${method} was not sent`, method);
}

function detach(socket: SocketLike): void {
  socket.onopen = null;
  socket.onclose = null;
  socket.onerror = null;
  socket.onmessage = null;
}
