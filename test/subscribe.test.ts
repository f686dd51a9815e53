import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComponentDefinition } from '../server/core/component.ts';
import { RpcClient, startTestDaemon, type TestDaemon } from './fixtures/daemon.ts';

// A test object whose fields the test changes at will; the printer's own objects follow the virtual printer.
const bed = { temperature: 21, target: 0, power: 0 };
const heaterBed: ComponentDefinition = {
  name: 'test_heater',
  create: () => ({ status: () => ({ ...bed }) }),
};

let brim: TestDaemon;
let client: RpcClient;

beforeAll(async () => {
  brim = await startTestDaemon({ components: [heaterBed] });
  client = await RpcClient.connect(brim.wsUrl);
});

afterAll(async () => {
  await client.close();
  await brim.stop();
});

describe('printer.objects over the websocket', () => {
  it('lists the objects that exist', async () => {
    const { objects } = (await client.call('printer.objects.list')).result as { objects: string[] };
    expect(objects).toEqual(
      expect.arrayContaining(['test_heater', 'webhooks', 'extruder', 'heater_bed', 'toolhead']),
    );
  });

  it('queries over HTTP with object names as query keys', async () => {
    const reply = await fetch(`${brim.url}/printer/objects/query?test_heater=temperature,target&ghost`);
    const body = (await reply.json()) as { result: { eventtime: number; status: unknown } };
    expect(body.result.status).toEqual({ test_heater: { temperature: 21, target: 0 } });
    expect(body.result.eventtime).toBeGreaterThan(0);
  });

  it('subscribes with the full state, then pushes only changed fields with a rising eventtime', async () => {
    const reply = await client.call('printer.objects.subscribe', { objects: { test_heater: null } });
    expect((reply.result as { status: unknown }).status).toEqual({
      test_heater: { temperature: 21, target: 0, power: 0 },
    });
    const since = client.notifications.length;
    bed.target = 60;
    const first = await client.waitForNotification('notify_status_update', 2000, since);
    expect(first.params?.[0]).toEqual({ test_heater: { target: 60 } });
    bed.temperature = 22.5;
    const next = client.notifications.length;
    const second = await client.waitForNotification('notify_status_update', 2000, next);
    expect(second.params?.[0]).toEqual({ test_heater: { temperature: 22.5 } });
    expect(second.params?.[1] as number).toBeGreaterThan(first.params?.[1] as number);
  });

  it('cancels the subscription with an empty object set', async () => {
    await client.call('printer.objects.subscribe', { objects: {} });
    const since = client.notifications.length;
    bed.power = 0.5;
    await new Promise((r) => setTimeout(r, 600));
    expect(client.notifications.slice(since).filter((n) => n.method === 'notify_status_update')).toEqual([]);
  });
});
