// printer.objects.list/query/subscribe over the StatusStore, as Klipper answers them through Moonraker.
import { Type } from '@sinclair/typebox';
import type { Host } from '../core/component.ts';
import { errors } from '../core/errors.ts';
import type { StatusQuery } from '../core/status-store.ts';
import { objectsFromQuery } from './http-args.ts';
import type { Connection, WebsocketHub } from './websocket.ts';

const objectsParam = Type.Record(Type.String(), Type.Union([Type.Null(), Type.Array(Type.String())]));

export function registerPrinterObjectEndpoints(host: Host, hub: WebsocketHub): void {
  host.api.register({
    path: '/printer/objects/list',
    verbs: ['GET'],
    role: 'viewer',
    description: 'Names of every printer object',
    handler: () => ({ objects: host.status.names() }),
  });

  const queryParams = Type.Object({ objects: Type.Optional(objectsParam) });
  const query = (args: { objects?: StatusQuery } & Record<string, unknown>) => {
    // GET /printer/objects/query?extruder&toolhead=position names objects as query keys.
    const { objects, ...rest } = args;
    return host.status.query(objects ?? objectsFromQuery(rest));
  };
  host.api.register({
    path: '/printer/objects/query',
    verbs: ['GET'],
    role: 'viewer',
    params: queryParams,
    description: 'Current fields of the named objects; unknown objects and fields are left out',
    handler: query,
  });
  host.api.register({
    path: '/printer/objects/query',
    verbs: ['POST'],
    role: 'viewer',
    transports: ['http'],
    params: queryParams,
    handler: query,
  });

  host.api.register({
    path: '/printer/objects/subscribe',
    verbs: ['POST'],
    role: 'viewer',
    transports: ['websocket'],
    params: Type.Object({ objects: Type.Optional(objectsParam) }),
    description: 'Full state now, then notify_status_update with changed fields every 250 ms at most',
    handler: (args, context) => {
      const connection = hub.connections.get(context.connection?.id ?? -1) as Connection | undefined;
      if (!connection) throw errors.badRequest('subscribe is only available on a websocket connection');
      connection.unsubscribe?.();
      connection.unsubscribe = null;
      const objects = args.objects ?? {};
      if (Object.keys(objects).length === 0) return host.status.query({});
      const subscription = host.status.subscribe(objects, (delta, eventtime) =>
        connection.notify('notify_status_update', [delta, eventtime]),
      );
      connection.unsubscribe = subscription.unsubscribe;
      return subscription.snapshot;
    },
  });
}
