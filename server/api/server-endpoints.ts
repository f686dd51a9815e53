// server.info, server.config and the per-connection endpoints every client calls first.
import { Type } from '@sinclair/typebox';
import type { Host } from '../core/component.ts';
import type { ConfigSchemas } from '../core/config.ts';
import { errors } from '../core/errors.ts';
import type { HttpServer } from './server.ts';
import type { Connection, WebsocketHub } from './websocket.ts';

/** Mainsail compares this with v0.8.0-306 and Fluidd with v0.8.0-309 by semver. */
export const MOONRAKER_VERSION = 'v0.9.3-1-gbrim';
export const API_VERSION: [number, number, number] = [1, 5, 0];

const HIDDEN = '********';

/** The tables with every key whose schema says `secret: true` (and is set) replaced by asterisks. */
function withoutSecrets(
  tables: Record<string, Record<string, unknown>>,
  schemas: ConfigSchemas,
): Record<string, Record<string, unknown>> {
  const result: Record<string, Record<string, unknown>> = {};
  for (const [table, values] of Object.entries(tables)) {
    const properties = schemas.get(table)?.properties ?? {};
    result[table] = Object.fromEntries(
      Object.entries(values).map(([key, value]) => {
        const secret = (properties[key] as { secret?: unknown } | undefined)?.secret === true;
        return [key, secret && value !== '' ? HIDDEN : value];
      }),
    );
  }
  return result;
}

export function registerServerEndpoints(host: Host, hub: WebsocketHub, server: () => HttpServer): void {
  host.api.register({
    path: '/server/info',
    verbs: ['GET'],
    role: 'viewer',
    description: 'Daemon state, components and warnings',
    handler: async (_args, context) => {
      // The printer link publishes `webhooks`; without it there is no firmware to talk to.
      const webhooks = host.status.get('webhooks');
      // The file manager owns the roots; asking its endpoint keeps this file free of its internals.
      const roots = (await host.api.method('server.files.roots')?.call({}, context)) as
        | { name: string }[]
        | undefined;
      const state = typeof webhooks?.state === 'string' ? webhooks.state : 'disconnected';
      return {
        klippy_connected: webhooks !== undefined,
        klippy_state: state,
        components: host.runtime.advertised(),
        failed_components: host.runtime.failed().map((f) => f.name),
        registered_directories: roots?.map((r) => r.name) ?? [],
        warnings: host.runtime.warnings(),
        websocket_count: server().websocketCount(),
        moonraker_version: MOONRAKER_VERSION,
        missing_klippy_requirements: [],
        api_version: API_VERSION,
        api_version_string: API_VERSION.join('.'),
      };
    },
  });

  host.api.register({
    path: '/server/config',
    verbs: ['GET'],
    role: 'viewer',
    description: 'The validated configuration, one table per component',
    handler: (_args, context) => {
      const file = host.runtime.configFile();
      const raw = host.runtime.rawConfig();
      // Only an admin (or a daemon without authorization) reads secrets such as the broker password.
      const hide = context.identity !== undefined && context.identity?.role !== 'admin';
      const shown = (tables: Record<string, Record<string, unknown>>) =>
        hide ? withoutSecrets(tables, host.runtime.configSchemas()) : tables;
      return {
        config: shown(host.runtime.config()),
        orig: shown(raw),
        files: file ? [{ filename: file, sections: Object.keys(raw) }] : [],
      };
    },
  });

  host.api.register({
    path: '/server/connection/identify',
    verbs: ['POST'],
    role: 'viewer',
    transports: ['websocket'],
    params: Type.Object({
      client_name: Type.String(),
      version: Type.String(),
      type: Type.String(),
      url: Type.String(),
      access_token: Type.Optional(Type.String()),
      api_key: Type.Optional(Type.String()),
    }),
    description: 'Names the client behind a websocket connection',
    handler: (args, context) => {
      const connection = hub.connections.get(context.connection?.id ?? -1) as Connection | undefined;
      if (!connection) throw errors.badRequest('identify is only available on a websocket connection');
      if (connection.client) throw errors.badRequest(`Connection ${connection.id} already identified`);
      // A token or key given here authenticates the socket, as Moonraker allows.
      if (args.access_token !== undefined || args.api_key !== undefined) {
        const identity = host.api.identify({
          remoteAddress: connection.remoteAddress,
          accessToken: args.access_token,
          apiKey: args.api_key,
        });
        if (!identity) throw errors.unauthorized();
        connection.identity = identity;
      }
      connection.client = {
        client_name: args.client_name,
        version: args.version,
        type: args.type,
        url: args.url,
      };
      host.log.info(
        { connection: connection.id, client: args.client_name, version: args.version },
        'client identified',
      );
      return { connection_id: connection.id };
    },
  });

  host.api.register({
    path: '/server/restart',
    verbs: ['POST'],
    role: 'admin',
    description: 'Stops every component and starts them again with the config read anew',
    handler: () => {
      if (!host.runtime.canRestart()) throw errors.unavailable('This daemon cannot restart itself');
      // Answer first: the restart closes this very connection.
      host.clock.setTimeout(() => host.runtime.requestRestart(), 50);
      return 'ok';
    },
  });

  host.api.register({
    path: '/server/logs/rollover',
    verbs: ['POST'],
    role: 'admin',
    params: Type.Object({ application: Type.Optional(Type.String()) }),
    description: 'Starts a fresh log file',
    handler: ({ application }) => {
      if (application !== undefined && application !== 'brim' && application !== 'moonraker') {
        return { rolled_over: [], failed: { [application]: 'Unknown application' } };
      }
      return { rolled_over: host.runtime.rolloverLogs(), failed: {} };
    },
  });

  host.api.register({
    path: '/server/websocket/id',
    verbs: ['GET'],
    role: 'viewer',
    transports: ['websocket'],
    description: 'Deprecated by Moonraker, still called by moonraker-api (Home Assistant)',
    handler: (_args, context) => {
      if (!context.connection)
        throw errors.badRequest('websocket id is only available on a websocket connection');
      return { websocket_id: context.connection.id };
    },
  });
}
