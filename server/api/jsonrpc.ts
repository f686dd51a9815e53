// JSON-RPC 2.0 dispatch over the registry: parse, validate, call, and translate errors per Moonraker.
import {
  ApiError,
  RPC_INVALID_PARAMS,
  RPC_INVALID_REQUEST,
  RPC_METHOD_NOT_FOUND,
  RPC_PARSE_ERROR,
} from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { ApiRegistry, CallerIdentity, RpcConnection, Transport } from './registry.ts';

/** Who sent a frame: a websocket connection, or a POST /server/jsonrpc request with its own identity. */
export interface RpcCaller {
  connection: RpcConnection | null;
  remoteAddress: string;
  identity: CallerIdentity | null;
  /** The transport that carried the frame; POST /server/jsonrpc counts as websocket, as in Moonraker. */
  transport?: Exclude<Transport, 'http'>;
}

type RpcId = string | number | null;

export interface RpcResponse {
  jsonrpc: '2.0';
  id: RpcId;
  result?: unknown;
  error?: { code: number; message: string };
}

function failure(id: RpcId, code: number, message: string): RpcResponse {
  return { jsonrpc: '2.0', error: { code, message }, id };
}

export class JsonRpcDispatcher {
  constructor(
    private readonly api: ApiRegistry,
    private readonly log: Logger,
  ) {}

  /** Answers one text frame; null when it held only notifications (nothing to send back). */
  async handleText(text: string, caller: RpcCaller): Promise<RpcResponse | RpcResponse[] | null> {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return failure(null, RPC_PARSE_ERROR, 'Parse error');
    }
    if (Array.isArray(message)) {
      // Mainsail's emitBatch sends arrays and expects an array back.
      if (message.length === 0) return failure(null, RPC_INVALID_REQUEST, 'Invalid Request');
      const replies = await Promise.all(message.map((m) => this.handleRequest(m, caller)));
      const answered = replies.filter((r): r is RpcResponse => r !== null);
      return answered.length > 0 ? answered : null;
    }
    return this.handleRequest(message, caller);
  }

  async handleRequest(request: unknown, caller: RpcCaller): Promise<RpcResponse | null> {
    const { connection, remoteAddress } = caller;
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return failure(null, RPC_INVALID_REQUEST, 'Invalid Request');
    }
    const { jsonrpc, method, params, id } = request as Record<string, unknown>;
    const rpcId: RpcId = typeof id === 'string' || typeof id === 'number' ? id : null;
    const isNotification = !('id' in request);
    if (jsonrpc !== '2.0' || typeof method !== 'string') {
      return failure(rpcId, RPC_INVALID_REQUEST, 'Invalid Request');
    }
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
      return failure(rpcId, RPC_INVALID_PARAMS, 'Invalid params: params must be an object');
    }
    const transport = caller.transport ?? 'websocket';
    const endpoint = this.api.method(method);
    // POST /server/jsonrpc (no connection, no transport named) may reach every method.
    const restricted = connection !== null || caller.transport !== undefined;
    if (!endpoint || (restricted && !endpoint.transports.includes(transport))) {
      return isNotification ? null : failure(rpcId, RPC_METHOD_NOT_FOUND, `Method not found: ${method}`);
    }
    try {
      const result = await endpoint.call((params as Record<string, unknown>) ?? {}, {
        transport,
        verb: endpoint.verb,
        connection,
        remoteAddress,
        identity: connection ? connection.identity : caller.identity,
        authenticate: connection
          ? (identity) => {
              connection.identity = identity;
            }
          : undefined,
      });
      return isNotification ? null : { jsonrpc: '2.0', result, id: rpcId };
    } catch (error) {
      if (isNotification) return null;
      if (error instanceof ApiError) return failure(rpcId, error.jsonRpcCode, error.message);
      this.log.error({ err: error, method }, `JSON-RPC method ${method} failed`);
      return failure(rpcId, 500, error instanceof Error ? error.message : String(error));
    }
  }
}
