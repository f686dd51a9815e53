// One registration gives an HTTP route, a JSON-RPC method and an MQTT API entry.
import type { Readable } from 'node:stream';
import type { Static, TObject } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { errors } from '../core/errors.ts';

export type HttpVerb = 'GET' | 'POST' | 'DELETE';
export type Transport = 'http' | 'websocket' | 'mqtt';
/** The least role that may call an endpoint; enforced by the authorization component. */
export type Role = 'viewer' | 'operator' | 'admin';

/** A websocket client as handlers see it: for identify, subscriptions and per-connection notifications. */
export interface RpcConnection {
  readonly id: number;
  /** Set at the upgrade, and again by identify with a token or by access.login. */
  identity: CallerIdentity | null;
  notify(method: string, params?: unknown[]): void;
}

/** One part of a multipart/form-data body, in the order the client sent them. */
export type FormPart =
  | { kind: 'field'; name: string; value: string }
  /** Read `stream` to its end (or destroy it) before asking for the next part. */
  | { kind: 'file'; name: string; filename: string; stream: Readable };

/** Who is calling, as the authorization component established it. */
export interface CallerIdentity {
  username: string;
  role: Role;
  source: 'trusted' | 'api_key' | 'token' | 'oneshot';
}

/** What a transport can tell about a caller before any handler runs. */
export interface Credentials {
  remoteAddress: string;
  apiKey?: string;
  accessToken?: string;
  oneshotToken?: string;
}

/** Installed by the authorization component; without one every caller is trusted (Moonraker's rule). */
export interface Authenticator {
  identify(credentials: Credentials): CallerIdentity | null;
  /** Throws 401 or 403 when the caller may not use the endpoint. */
  check(endpoint: Endpoint, identity: CallerIdentity | null): void;
  corsAllowed(origin: string): boolean;
}

export interface RequestContext {
  transport: Transport;
  verb: HttpVerb;
  /** The websocket connection, or null over HTTP. */
  connection: RpcConnection | null;
  remoteAddress: string;
  /** HTTP only: `proto://host[:port]` as the client addressed the daemon, for Location headers. */
  origin?: string;
  /** HTTP only: the request's Range header, for downloads of part of a file. */
  range?: string;
  /** HTTP only, for endpoints declared `multipart: true` and called with a multipart body. */
  form?: AsyncIterable<FormPart>;
  /** The caller, when an authenticator is installed; null when it could not be identified. */
  identity?: CallerIdentity | null;
  /** Websocket only: makes a login stick to the connection. */
  authenticate?(identity: CallerIdentity): void;
}

/**
 * What an HTTP-only handler returns to choose its own status and headers, or to stream a body
 * (a Readable) such as a file download; anything else is sent as JSON.
 */
export class HttpReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {}
}

export interface EndpointSpec<S extends TObject> {
  path: string;
  verbs: readonly HttpVerb[];
  params?: S;
  role: Role;
  /** Default: every transport. */
  transports?: readonly Transport[];
  /** Override of the JSON-RPC name derived by Moonraker's rule. */
  rpcMethod?: string;
  /** Upload and OctoPrint replies are not wrapped in `{result}`. */
  unwrapped?: boolean;
  /** The body is multipart/form-data, handed over unparsed as `context.form` (uploads). */
  multipart?: boolean;
  description?: string;
  handler(args: Static<S>, context: RequestContext): unknown;
}

export interface Endpoint {
  path: string;
  verb: HttpVerb;
  rpcMethod: string | null;
  transports: readonly Transport[];
  role: Role;
  unwrapped: boolean;
  multipart: boolean;
  description: string;
  /** The params schema, for documentation and the table-driven bad-input test. */
  params: TObject | null;
  call(rawArgs: Record<string, unknown>, context: RequestContext): Promise<unknown>;
}

const ALL_TRANSPORTS: readonly Transport[] = ['http', 'websocket', 'mqtt'];

/**
 * Moonraker's rule: `/server/files/list` → `server.files.list`; a path served under several verbs
 * gets one method per verb with the verb before the last part (`server.database.get_item`).
 */
export function rpcMethodName(path: string, verb: HttpVerb, verbCount: number): string {
  const parts = path.replace(/^\//, '').split('/');
  if (verbCount > 1) parts[parts.length - 1] = `${verb.toLowerCase()}_${parts[parts.length - 1]}`;
  return parts.join('.');
}

type NotificationSink = (method: string, params: unknown[]) => void;

export class ApiRegistry {
  private readonly endpoints: Endpoint[] = [];
  private readonly byMethod = new Map<string, Endpoint>();
  private readonly sinks: NotificationSink[] = [];
  private frozen = false;
  private authenticator: Authenticator | null = null;

  register<S extends TObject>(spec: EndpointSpec<S>): void {
    if (this.frozen) throw new Error(`endpoint ${spec.path} registered after the HTTP server started`);
    const transports = spec.transports ?? ALL_TRANSPORTS;
    for (const verb of spec.verbs) {
      if (
        this.endpoints.some((e) => e.path === spec.path && e.verb === verb && e.transports.includes('http'))
      ) {
        if (transports.includes('http')) throw new Error(`${verb} ${spec.path} is registered twice`);
      }
      const rpc = transports.some((t) => t !== 'http')
        ? (spec.rpcMethod ?? rpcMethodName(spec.path, verb, spec.verbs.length))
        : null;
      const endpoint: Endpoint = {
        path: spec.path,
        verb,
        rpcMethod: rpc,
        transports,
        role: spec.role,
        unwrapped: spec.unwrapped ?? false,
        multipart: spec.multipart ?? false,
        description: spec.description ?? '',
        params: spec.params ?? null,
        call: async (rawArgs, context) => {
          // Before validation, so an unauthorised caller learns nothing about the arguments.
          this.authenticator?.check(endpoint, context.identity ?? null);
          const args = spec.params
            ? validateArgs(spec.params, rawArgs, context.transport === 'http')
            : rawArgs;
          return spec.handler(args as Static<S>, context);
        },
      };
      if (rpc) {
        if (this.byMethod.has(rpc)) throw new Error(`JSON-RPC method ${rpc} is registered twice`);
        this.byMethod.set(rpc, endpoint);
      }
      this.endpoints.push(endpoint);
    }
  }

  setAuthenticator(authenticator: Authenticator): void {
    this.authenticator = authenticator;
  }

  /** Who the credentials belong to; everyone is trusted when no authenticator is installed. */
  identify(credentials: Credentials): CallerIdentity | null {
    if (!this.authenticator) return { username: '_trusted_user', role: 'admin', source: 'trusted' };
    return this.authenticator.identify(credentials);
  }

  corsAllowed(origin: string): boolean {
    return this.authenticator?.corsAllowed(origin) ?? false;
  }

  all(): readonly Endpoint[] {
    return this.endpoints;
  }

  method(name: string): Endpoint | undefined {
    return this.byMethod.get(name);
  }

  /** Routes are fixed once fastify is listening; later registration is a programming error. */
  freeze(): void {
    this.frozen = true;
  }

  /** Sends a server→client notification (`notify_*`) to every transport that listens. */
  notify(method: string, params: unknown[] = []): void {
    for (const sink of this.sinks) sink(method, params);
  }

  addNotificationSink(sink: NotificationSink): () => void {
    this.sinks.push(sink);
    return () => {
      const index = this.sinks.indexOf(sink);
      if (index >= 0) this.sinks.splice(index, 1);
    };
  }
}

/**
 * Fills defaults, converts HTTP query strings to the schema's types, then checks; the first
 * problem becomes a 400 naming the argument, over HTTP and JSON-RPC alike (Moonraker's code).
 */
export function validateArgs<S extends TObject>(
  schema: S,
  raw: Record<string, unknown>,
  coerce: boolean,
): Static<S> {
  let value: unknown = Value.Default(schema, structuredClone(raw));
  if (coerce) value = Value.Convert(schema, value);
  const first = Value.Errors(schema, value).First();
  if (!first) return value as Static<S>;
  const name = first.path.replace(/^\//, '').replace(/\//g, '.') || 'params';
  if (first.value === undefined) throw errors.missingParam(name);
  throw errors.invalidParam(name, first.message.toLowerCase());
}
