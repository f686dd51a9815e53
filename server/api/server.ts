// The `server` component: fastify on one port with the registry's routes, /websocket and the probes.
import multipartPlugin from '@fastify/multipart';
import websocketPlugin from '@fastify/websocket';
import { type Static, Type } from '@sinclair/typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { Counter, collectDefaultMetrics, Gauge } from 'prom-client';
import { type ComponentInstance, defineComponent, type Host } from '../core/component.ts';
import { ApiError } from '../core/errors.ts';
import { parseQueryArgs } from './http-args.ts';
import { JsonRpcDispatcher } from './jsonrpc.ts';
import { registerPrinterObjectEndpoints } from './printer-objects.ts';
import {
  type ApiRegistry,
  type Credentials,
  type Endpoint,
  type FormPart,
  HttpReply,
  type RequestContext,
} from './registry.ts';
import { registerServerEndpoints } from './server-endpoints.ts';
import { defaultUiDir, registerUiRoutes } from './static-ui.ts';
import { WebsocketHub } from './websocket.ts';

export const serverConfig = Type.Object({
  host: Type.String({
    default: '0.0.0.0',
    description: 'Address to listen on; 0.0.0.0 for every interface.',
  }),
  port: Type.Integer({
    default: 7125,
    minimum: 0,
    maximum: 65535,
    description:
      "TCP port for the API, websocket and UI. 7125 is Moonraker's, so slicer presets work unchanged.",
  }),
  max_websocket_message_bytes: Type.Integer({
    default: 1_048_576,
    minimum: 1024,
    maximum: 67_108_864,
    description:
      'Largest websocket frame accepted; a larger one is answered with an error, the connection stays.',
  }),
  max_body_bytes: Type.Integer({
    default: 1_073_741_824,
    minimum: 1024,
    description: 'Largest HTTP request body (uploads included).',
  }),
});

export type ServerConfig = Static<typeof serverConfig>;

export interface HttpServer extends ComponentInstance {
  readonly app: FastifyInstance;
  /** The port actually bound (differs from config when it is 0). */
  port(): number;
  websocketCount(): number;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    server: HttpServer;
  }
}

export const serverComponent = defineComponent({
  name: 'server',
  needs: ['store'],
  config: serverConfig,
  create(host): HttpServer {
    const app = Fastify({ logger: false, bodyLimit: host.config.max_body_bytes, trustProxy: false });
    const dispatcher = new JsonRpcDispatcher(host.api, host.log);
    const websocketGauge = new Gauge({
      name: 'brim_websocket_clients',
      help: 'Open websocket connections',
      registers: [host.metrics],
    });
    const hub = new WebsocketHub(dispatcher, host.log, {
      maxMessageBytes: host.config.max_websocket_message_bytes,
      identify: (request) => host.api.identify(credentialsOf(request)),
      onOpen: (connection) => {
        websocketGauge.inc();
        host.bus.emit('websocket:connection_opened', { connectionId: connection.id });
      },
      onClose: (connection) => {
        websocketGauge.dec();
        host.bus.emit('websocket:connection_closed', { connectionId: connection.id });
      },
    });
    let removeSink: (() => void) | null = null;
    const instance: HttpServer = {
      app,
      port: () => {
        const address = app.server.address();
        return typeof address === 'object' && address ? address.port : host.config.port;
      },
      websocketCount: () => hub.connections.size,
      async start() {
        collectDefaultMetrics({ register: host.metrics });
        await buildApp(app, host, hub, dispatcher);
        removeSink = host.api.addNotificationSink((method, params) => hub.broadcast(method, params));
        await app.listen({ host: host.config.host, port: host.config.port });
        host.log.info(`listening on ${host.config.host}:${instance.port()}`);
      },
      async stop() {
        removeSink?.();
        hub.closeAll();
        await app.close();
      },
    };
    registerServerEndpoints(host, hub, () => instance);
    registerPrinterObjectEndpoints(host, hub);
    return instance;
  },
});

async function buildApp(
  app: FastifyInstance,
  host: Host<ServerConfig>,
  hub: WebsocketHub,
  dispatcher: JsonRpcDispatcher,
): Promise<void> {
  const requests = new Counter({
    name: 'brim_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'],
    registers: [host.metrics],
  });
  // Browsers on other origins (cors_domains): Mainsail's first POST /server/database/item is preflighted.
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (typeof origin !== 'string' || !host.api.corsAllowed(origin)) return;
    reply.header('Access-Control-Allow-Origin', origin);
    reply.header('Vary', 'Origin');
    reply.header('Access-Control-Allow-Credentials', 'true');
    // The preview reads a ranged download's total size to notice a file changed since its analysis.
    reply.header('Access-Control-Expose-Headers', 'Content-Range');
    if (request.method === 'OPTIONS') {
      reply
        .header('Access-Control-Allow-Methods', 'GET, POST, DELETE, OPTIONS')
        .header('Access-Control-Allow-Headers', 'Content-Type, Authorization, X-Api-Key, X-Access-Token')
        .header('Access-Control-Max-Age', '600')
        .code(204)
        .send();
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({
      route: request.routeOptions.url ?? 'not_found',
      method: request.method,
      status: String(reply.statusCode),
    });
  });
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
  // Mainsail parses every error body, 404s included, as JSON.
  app.setNotFoundHandler((request, reply) => {
    sendError(reply, new ApiError(404, `Not Found: ${request.method} ${request.url.split('?')[0]}`));
  });
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) host.log.error({ err: error }, 'HTTP request failed');
    sendError(reply, new ApiError(status, error.message));
  });

  // Only endpoints declared `multipart` read these bodies (as a stream); JSON bodies are untouched.
  // preservePath: a filename may carry folders (Moonraker allows `sub/part.gcode`); the file manager
  // checks them like any other path instead of having busboy silently cut them off.
  await app.register(multipartPlugin, {
    preservePath: true,
    limits: { fileSize: host.config.max_body_bytes },
  });
  await app.register(websocketPlugin, {
    // ws closes the socket above maxPayload; keep that well above our own limit, which answers instead.
    options: { maxPayload: host.config.max_websocket_message_bytes * 4 },
  });
  hub.route(app);
  registerUiRoutes(app, defaultUiDir());

  app.get('/healthz', async () => ({ status: 'alive' }));
  app.get('/readyz', async (_request, reply) => {
    const runtime = host.runtime;
    const ready = runtime.phase() === 'running';
    const body = {
      ready,
      phase: runtime.phase(),
      started_components: runtime.started(),
      failed_components: runtime.failed(),
      reasons: ready
        ? []
        : [`daemon is ${runtime.phase()}; started so far: ${runtime.started().join(', ') || 'none'}`],
    };
    reply.code(ready ? 200 : 503).send(body);
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type(host.metrics.contentType).send(await host.metrics.metrics());
  });
  app.post('/server/jsonrpc', async (request, reply) => {
    const text = typeof request.body === 'string' ? request.body : JSON.stringify(request.body ?? null);
    reply.send(
      await dispatcher.handleText(text, {
        connection: null,
        remoteAddress: request.ip,
        identity: host.api.identify(credentialsOf(request)),
      }),
    );
  });

  for (const endpoint of host.api.all()) {
    if (endpoint.transports.includes('http')) addRoute(app, endpoint, host.api);
  }
  host.api.freeze();
}

/** Moonraker's places for credentials: one-shot `?token=`, `X-Api-Key`, a bearer or `X-Access-Token` JWT. */
function credentialsOf(request: FastifyRequest): Credentials {
  const query = request.query as Record<string, unknown>;
  const header = (name: string) => {
    const value = request.headers[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const bearer = /^Bearer\s+(\S+)$/i.exec(header('authorization') ?? '')?.[1];
  return {
    remoteAddress: request.ip,
    apiKey: header('x-api-key'),
    accessToken:
      bearer ??
      header('x-access-token') ??
      (typeof query.access_token === 'string' ? query.access_token : undefined),
    oneshotToken: typeof query.token === 'string' ? query.token : undefined,
  };
}

function addRoute(app: FastifyInstance, endpoint: Endpoint, api: ApiRegistry): void {
  app.route({
    method: endpoint.verb,
    url: endpoint.path,
    handler: async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const body = isRecord(request.body) ? request.body : {};
        const params = isRecord(request.params) ? request.params : {};
        const args = { ...parseQueryArgs(request.query as Record<string, unknown>), ...body, ...params };
        const context: RequestContext = {
          transport: 'http',
          verb: endpoint.verb,
          connection: null,
          remoteAddress: request.ip,
          origin: `${request.protocol}://${request.host}`,
          identity: api.identify(credentialsOf(request)),
        };
        if (typeof request.headers.range === 'string') context.range = request.headers.range;
        if (endpoint.multipart && request.isMultipart()) context.form = formParts(request);
        const result = await endpoint.call(args, context);
        // Returning the reply tells fastify a streamed body is still on its way.
        if (result instanceof HttpReply)
          return reply.code(result.status).headers(result.headers).send(result.body);
        reply.send(endpoint.unwrapped ? result : { result });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        sendError(reply, error);
      }
    },
  });
}

async function* formParts(request: FastifyRequest): AsyncGenerator<FormPart> {
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      yield { kind: 'file', name: part.fieldname, filename: part.filename, stream: part.file };
    } else {
      yield { kind: 'field', name: part.fieldname, value: String(part.value ?? '') };
    }
  }
}

function sendError(reply: FastifyReply, error: ApiError): void {
  reply
    .code(error.status)
    .type('application/json')
    .send({ error: { code: error.status, message: error.message, traceback: '' } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
