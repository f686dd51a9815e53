// The `webcam` component: Moonraker's webcam list, kept in the database's `webcams` namespace, so
// Mainsail, Fluidd and Home Assistant find stream and snapshot URLs where they look for them.
import { randomUUID } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { errors } from '../core/errors.ts';

const NAMESPACE = 'webcams';

export const webcamFields = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  location: Type.String({ default: 'printer' }),
  service: Type.String({ default: 'mjpegstreamer-adaptive' }),
  enabled: Type.Boolean({ default: true }),
  icon: Type.String({ default: 'mdiWebcam' }),
  target_fps: Type.Integer({ default: 15, minimum: 1, maximum: 120 }),
  target_fps_idle: Type.Integer({ default: 5, minimum: 1, maximum: 120 }),
  stream_url: Type.String({ default: '' }),
  snapshot_url: Type.String({ default: '' }),
  flip_horizontal: Type.Boolean({ default: false }),
  flip_vertical: Type.Boolean({ default: false }),
  rotation: Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)], {
    default: 0,
  }),
  aspect_ratio: Type.String({ default: '4:3' }),
  extra_data: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
});

export interface Webcam {
  name: string;
  location: string;
  service: string;
  enabled: boolean;
  icon: string;
  target_fps: number;
  target_fps_idle: number;
  stream_url: string;
  snapshot_url: string;
  flip_horizontal: boolean;
  flip_vertical: boolean;
  rotation: number;
  aspect_ratio: string;
  extra_data: Record<string, unknown>;
  source: 'database';
  uid: string;
}

export interface Webcams extends ComponentInstance {
  list(): Webcam[];
}

declare module '../core/component.ts' {
  interface ComponentMap {
    webcam: Webcams;
  }
}

export const webcamComponent = defineComponent({
  name: 'webcam',
  needs: ['database', 'server'],
  advertiseAs: 'webcam',
  create(host): Webcams {
    const database = host.lookup('database');
    const stored = (): Record<string, Webcam> => {
      try {
        return database.get(NAMESPACE) as unknown as Record<string, Webcam>;
      } catch {
        return {};
      }
    };
    const list = () => Object.values(stored()).sort((a, b) => a.name.localeCompare(b.name));
    const find = (uid?: string, name?: string): Webcam => {
      const found = list().find((w) => (uid && w.uid === uid) || (name && w.name === name));
      if (!found) throw errors.notFound(`Webcam not found: ${uid ?? name ?? '(no uid or name given)'}`);
      return found;
    };
    const changed = () => host.api.notify('notify_webcams_changed', [{ webcams: list() }]);

    host.api.register({
      path: '/server/webcams/list',
      verbs: ['GET'],
      role: 'viewer',
      description: 'Configured webcams',
      handler: () => ({ webcams: list() }),
    });
    host.api.register({
      path: '/server/webcams/get_item',
      verbs: ['GET'],
      role: 'viewer',
      params: Type.Object({ uid: Type.Optional(Type.String()), name: Type.Optional(Type.String()) }),
      description: 'One webcam by uid or name',
      handler: ({ uid, name }) => ({ webcam: find(uid, name) }),
    });
    host.api.register({
      path: '/server/webcams/post_item',
      verbs: ['POST'],
      role: 'admin',
      params: Type.Composite([webcamFields, Type.Object({ uid: Type.Optional(Type.String()) })]),
      description: 'Adds a webcam, or changes the one with the given uid',
      handler: (args) => {
        const uid = args.uid ?? list().find((w) => w.name === args.name)?.uid ?? randomUUID();
        const webcam: Webcam = { ...args, uid, source: 'database' } as Webcam;
        database.post(NAMESPACE, uid, webcam as never);
        changed();
        return { webcam };
      },
    });
    const remove = ({ uid, name }: { uid?: string; name?: string }) => {
      const webcam = find(uid, name);
      database.delete(NAMESPACE, webcam.uid);
      changed();
      return { webcam };
    };
    const selector = Type.Object({ uid: Type.Optional(Type.String()), name: Type.Optional(Type.String()) });
    host.api.register({
      path: '/server/webcams/delete_item',
      verbs: ['POST'],
      role: 'admin',
      params: selector,
      description: 'Removes a webcam by uid or name (Mainsail deletes by name)',
      handler: remove,
    });
    host.api.register({
      path: '/server/webcams/delete_item',
      verbs: ['DELETE'],
      role: 'admin',
      transports: ['http'],
      params: selector,
      handler: remove,
    });
    return { list };
  },
});
