import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RpcClient, startReadyDaemon, type TestDaemon } from './fixtures/daemon.ts';

let brim: TestDaemon;
let client: RpcClient;

beforeAll(async () => {
  ({ brim, client } = await startReadyDaemon());
});

afterAll(async () => {
  await client.close();
  await brim.stop();
});

describe('webcams', () => {
  it('starts with none, as Mainsail needs an answer before it finishes initialising', async () => {
    expect((await client.call('server.webcams.list')).result).toEqual({ webcams: [] });
  });

  it('adds a webcam with defaults, finds it by name, and tells every client', async () => {
    const since = client.notifications.length;
    const added = await client.call('server.webcams.post_item', {
      name: 'Nozzle',
      stream_url: '/webcam/?action=stream',
    });
    const webcam = (added.result as { webcam: Record<string, unknown> }).webcam;
    expect(webcam).toMatchObject({
      name: 'Nozzle',
      service: 'mjpegstreamer-adaptive',
      stream_url: '/webcam/?action=stream',
      rotation: 0,
      source: 'database',
      uid: expect.any(String),
    });
    expect((await client.call('server.webcams.get_item', { name: 'Nozzle' })).result).toEqual({ webcam });
    const note = await client.waitForNotification('notify_webcams_changed', 2000, since);
    expect(note.params?.[0]).toEqual({ webcams: [webcam] });
  });

  it('refuses a bad rotation naming the argument, and deletes by name over HTTP', async () => {
    const bad = await client.call('server.webcams.post_item', { name: 'Side', rotation: 45 });
    expect(bad.error?.code).toBe(400);
    expect(bad.error?.message).toMatch(/^Invalid argument 'rotation'/);
    const removed = await fetch(`${brim.url}/server/webcams/delete_item?name=Nozzle`, { method: 'DELETE' });
    expect(removed.status).toBe(200);
    expect((await client.call('server.webcams.list')).result).toEqual({ webcams: [] });
    const missing = await client.call('server.webcams.get_item', { name: 'Nozzle' });
    expect(missing.error).toEqual({ code: -32601, message: 'Webcam not found: Nozzle' });
  });
});
