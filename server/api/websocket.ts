// The /websocket endpoint: one Connection per client, JSON-RPC in, results and notifications out.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { RPC_INVALID_REQUEST } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { JsonRpcDispatcher } from './jsonrpc.ts';
import type { CallerIdentity, RpcConnection } from './registry.ts';

export interface ClientIdentity {
  client_name: string;
  version: string;
  type: string;
  url: string;
}

export class Connection implements RpcConnection {
  client: ClientIdentity | null = null;
  identity: CallerIdentity | null = null;
  /** Cancels the current printer.objects.subscribe; a new subscribe replaces the old one. */
  unsubscribe: (() => void) | null = null;
  readonly openedAt = Date.now();

  constructor(
    readonly id: number,
    private readonly socket: WebSocket,
    readonly remoteAddress: string,
  ) {}

  notify(method: string, params: unknown[] = []): void {
    this.send({ jsonrpc: '2.0', method, params });
  }

  send(message: unknown): void {
    this.sendRaw(JSON.stringify(message));
  }

  sendRaw(frame: string): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(frame);
  }

  close(): void {
    this.socket.close(1001, 'server shutting down');
  }
}

export interface WebsocketOptions {
  /** Larger frames are answered with an error and the connection stays open. */
  maxMessageBytes: number;
  /** Who opened the socket, from the upgrade request (Moonraker authenticates there first). */
  identify(request: FastifyRequest): CallerIdentity | null;
  onOpen(connection: Connection): void;
  onClose(connection: Connection): void;
}

export class WebsocketHub {
  readonly connections = new Map<number, Connection>();
  private nextId = Math.floor(Math.random() * 1e6) * 1000;

  constructor(
    private readonly dispatcher: JsonRpcDispatcher,
    private readonly log: Logger,
    private readonly options: WebsocketOptions,
  ) {}

  route(app: FastifyInstance): void {
    app.get('/websocket', { websocket: true }, (socket, request) => {
      this.nextId += 1;
      const connection = new Connection(this.nextId, socket, request.ip);
      connection.identity = this.options.identify(request);
      this.connections.set(connection.id, connection);
      this.options.onOpen(connection);
      socket.on('message', (data, isBinary) => {
        const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).length;
        if (size > this.options.maxMessageBytes) {
          connection.send({
            jsonrpc: '2.0',
            error: {
              code: RPC_INVALID_REQUEST,
              message: `Request too large: ${size} bytes, the limit is ${this.options.maxMessageBytes}`,
            },
            id: null,
          });
          return;
        }
        const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
        this.dispatcher
          .handleText(text, {
            connection,
            remoteAddress: connection.remoteAddress,
            identity: connection.identity,
          })
          .then((reply) => {
            if (reply !== null) connection.send(reply);
          })
          .catch((error: unknown) => this.log.error({ err: error }, 'websocket message failed'));
      });
      socket.on('close', () => {
        connection.unsubscribe?.();
        this.connections.delete(connection.id);
        this.options.onClose(connection);
      });
      socket.on('error', (error) =>
        this.log.warn({ err: error, connection: connection.id }, 'websocket error'),
      );
    });
  }

  broadcast(method: string, params: unknown[]): void {
    const frame = JSON.stringify({ jsonrpc: '2.0', method, params });
    for (const connection of this.connections.values()) connection.sendRaw(frame);
  }

  closeAll(): void {
    for (const connection of this.connections.values()) connection.close();
  }
}
