import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.ts';
import { type ComponentDefinition, defineComponent } from './component.ts';
import { ConfigError, StartupError } from './errors.ts';
import { dependencyOrder, Kernel } from './host.ts';
import { dataPaths } from './paths.ts';

const silent = pino({ level: 'silent' });

function kernelWith(definitions: ComponentDefinition[], raw: Record<string, Record<string, unknown>> = {}) {
  return new Kernel({
    definitions,
    config: { file: 'brim.toml', raw },
    paths: dataPaths('/nonexistent'),
    clock: new ManualClock(),
    log: silent,
  });
}

function recorder(
  events: string[],
  name: string,
  needs: string[] = [],
  extra: Partial<ComponentDefinition> = {},
) {
  return {
    name,
    needs,
    create: () => {
      events.push(`create ${name}`);
      return {
        start: () => {
          events.push(`start ${name}`);
        },
        stop: () => {
          events.push(`stop ${name}`);
        },
      };
    },
    ...extra,
  } as ComponentDefinition;
}

describe('components enabled by their config table', () => {
  const broker = Type.Object({ address: Type.String({ default: 'localhost' }) });

  it('runs one only when its table is written in the file', async () => {
    const events: string[] = [];
    const definition = recorder(events, 'mqtt', [], { enabledByTable: true, config: broker, optional: true });
    const without = kernelWith([recorder(events, 'store'), definition]);
    await without.start();
    await without.stop();
    expect(events).toEqual(['create store', 'start store', 'stop store']);
    events.length = 0;
    const withTable = kernelWith([definition], { mqtt: {} });
    await withTable.start();
    await withTable.stop();
    expect(events).toEqual(['create mqtt', 'start mqtt', 'stop mqtt']);
  });

  it('refuses a component that needs one that is off, naming the missing table', () => {
    const events: string[] = [];
    expect(() =>
      kernelWith([
        recorder(events, 'mqtt', [], { enabledByTable: true }),
        recorder(events, 'bed_light', ['mqtt']),
      ]),
    ).toThrow(new ConfigError(['component "bed_light" needs "mqtt", which runs only with a [mqtt] table']));
  });

  it('stops start-up on a config problem found at create, even for an optional component', async () => {
    const events: string[] = [];
    const kernel = kernelWith([
      recorder(events, 'store'),
      {
        name: 'mqtt',
        needs: ['store'],
        optional: true,
        create: () => {
          throw new ConfigError(['brim.toml [mqtt]: key "password_file": cannot read /x (ENOENT)']);
        },
      },
    ]);
    await expect(kernel.start()).rejects.toThrow('brim.toml [mqtt]: key "password_file"');
    expect(kernel.runtime.phase()).toBe('stopped');
  });
});

describe('component lifecycle', () => {
  it('creates all, starts in dependency order and stops in reverse', async () => {
    const events: string[] = [];
    const kernel = kernelWith([
      recorder(events, 'api', ['store']),
      recorder(events, 'history', ['api', 'store']),
      recorder(events, 'store'),
    ]);
    await kernel.start();
    expect(kernel.runtime.phase()).toBe('running');
    await kernel.stop();
    expect(events).toEqual([
      'create store',
      'create api',
      'create history',
      'start store',
      'start api',
      'start history',
      'stop history',
      'stop api',
      'stop store',
    ]);
  });

  it('lists a failed optional component and everything that needs it, and runs the rest', async () => {
    const events: string[] = [];
    const kernel = kernelWith([
      recorder(events, 'store'),
      {
        name: 'camera',
        optional: true,
        create: () => ({
          start: () => {
            throw new Error('no /dev/video0');
          },
        }),
      },
      recorder(events, 'timelapse', ['camera'], { optional: true }),
    ]);
    await kernel.start();
    expect(kernel.runtime.started()).toEqual(['store']);
    expect(kernel.runtime.failed()).toEqual([
      { name: 'camera', reason: 'no /dev/video0' },
      { name: 'timelapse', reason: 'needs "camera", which failed' },
    ]);
    expect(kernel.runtime.warnings().join('\n')).toContain('Component "camera" failed: no /dev/video0');
    await kernel.stop();
    expect(events).toContain('stop store');
    expect(events).not.toContain('start timelapse');
  });

  it('refuses to start when a core component fails, and stops what had started', async () => {
    const events: string[] = [];
    const kernel = kernelWith([
      recorder(events, 'store'),
      {
        name: 'server',
        needs: ['store'],
        create: () => ({
          start: () => {
            throw new Error('port 7125 in use');
          },
        }),
      },
    ]);
    const failure = await kernel.start().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StartupError);
    expect((failure as Error).message).toBe('component "server" failed to start: port 7125 in use');
    expect(events).toEqual(['create store', 'start store', 'stop store']);
  });

  it('gives each component its own validated config table with defaults', async () => {
    let seen: unknown;
    const kernel = kernelWith(
      [
        defineComponent({
          name: 'serial',
          config: Type.Object({
            baudrate: Type.Integer({ default: 115200 }),
            port: Type.String({ default: 'auto' }),
          }),
          create: (host) => {
            seen = host.config;
            return {};
          },
        }) as ComponentDefinition,
      ],
      { serial: { baudrate: 250000 } },
    );
    await kernel.start();
    expect(seen).toEqual({ baudrate: 250000, port: 'auto' });
    await kernel.stop();
  });

  it('registers a component with status() as a printer object under its name', async () => {
    const kernel = kernelWith([
      { name: 'heater_bed', create: () => ({ status: () => ({ temperature: 21.5 }) }) },
    ]);
    await kernel.start();
    expect(kernel.status.query({ heater_bed: null }).status).toEqual({ heater_bed: { temperature: 21.5 } });
    await kernel.stop();
    expect(kernel.status.names()).toEqual([]);
  });

  it('refuses a lookup of a component not declared in needs', async () => {
    let error: unknown;
    const kernel = kernelWith([
      recorder([], 'store'),
      {
        name: 'sneaky',
        create: (host) => {
          try {
            host.lookup('store');
          } catch (e) {
            error = e;
          }
          return {};
        },
      },
    ]);
    await kernel.start();
    expect(String(error)).toContain('sneaky looks up "store" without declaring it in needs');
    await kernel.stop();
  });

  it('names the cycle when components need each other', () => {
    expect(() =>
      dependencyOrder([
        { name: 'a', needs: ['b'], create: () => ({}) },
        { name: 'b', needs: ['a'], create: () => ({}) },
      ]),
    ).toThrow('components need each other in a cycle: a → b → a');
  });

  it('names a need that does not exist', () => {
    expect(() => dependencyOrder([{ name: 'a', needs: ['ghost'], create: () => ({}) }])).toThrow(
      'component "a" needs "ghost", which does not exist',
    );
  });
});
