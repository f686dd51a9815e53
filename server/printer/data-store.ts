// The `data_store` component: temperature and G-code histories, sized as Moonraker's [data_store] is,
// so Mainsail and KlipperScreen can size their charts from server.config.
import { Type } from '@sinclair/typebox';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { type GcodeEntry, Ring, TemperatureStore } from './stores.ts';

export interface DataStore extends ComponentInstance {
  temperatures: TemperatureStore;
  gcode: Ring<GcodeEntry>;
  recordGcode(message: string, type: GcodeEntry['type']): void;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    data_store: DataStore;
  }
}

export const dataStoreConfig = Type.Object({
  temperature_store_size: Type.Integer({
    default: 1200,
    minimum: 1,
    maximum: 86_400,
    description: 'Temperature samples kept per sensor, one a second (1200 = 20 minutes).',
  }),
  gcode_store_size: Type.Integer({
    default: 1000,
    minimum: 1,
    maximum: 100_000,
    description: 'Console lines (commands and responses) kept for server.gcode_store.',
  }),
});

export const dataStoreComponent = defineComponent({
  name: 'data_store',
  needs: ['server'],
  advertiseAs: 'data_store',
  config: dataStoreConfig,
  create(host): DataStore {
    const store: DataStore = {
      temperatures: new TemperatureStore(host.config.temperature_store_size),
      gcode: new Ring(host.config.gcode_store_size),
      recordGcode: (message, type) => store.gcode.push({ message, time: host.clock.wallMs() / 1000, type }),
    };
    host.api.register({
      path: '/server/temperature_store',
      verbs: ['GET'],
      role: 'viewer',
      params: Type.Object({ include_monitors: Type.Optional(Type.Boolean()) }),
      description: 'One sample a second per heater: temperatures, targets and powers, oldest first',
      handler: () => store.temperatures.toJSON(),
    });
    host.api.register({
      path: '/server/gcode_store',
      verbs: ['GET'],
      role: 'viewer',
      params: Type.Object({ count: Type.Optional(Type.Integer({ minimum: 1 })) }),
      description: 'The newest console lines, oldest first',
      handler: ({ count }) => ({ gcode_store: store.gcode.last(count) }),
    });
    return store;
  },
});
