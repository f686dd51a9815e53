import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOsRelease } from '../server/machine/system-info.ts';
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

describe('machine.system_info', () => {
  it('describes the real host in the shape Mainsail and Fluidd read', async () => {
    const { system_info: info } = (await client.call('machine.system_info')).result as {
      system_info: Record<string, Record<string, unknown>>;
    };
    expect(info.cpu_info).toMatchObject({
      cpu_count: expect.any(Number),
      total_memory: expect.any(Number),
      memory_units: 'kB',
    });
    expect((info.cpu_info?.cpu_count as number) > 0).toBe(true);
    expect(info.distribution).toMatchObject({ name: expect.any(String), id: expect.any(String) });
    expect(info.available_services).toEqual(['brim']);
    expect(info.service_state).toEqual({ brim: { active_state: 'active', sub_state: 'running' } });
    expect(info.provider).toBe('none');
    expect(info.virtualization).toMatchObject({ virt_type: expect.any(String) });
  });

  it('reads /etc/os-release', () => {
    expect(
      parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'),
    ).toEqual({
      PRETTY_NAME: 'Debian GNU/Linux 12 (bookworm)',
      ID: 'debian',
      VERSION_ID: '12',
    });
  });
});

describe('machine actions without a provider', () => {
  it('answers reboot and shutdown with a clear error instead of acting', async () => {
    expect((await client.call('machine.reboot')).error).toEqual({
      code: 400,
      message: 'Reboot is not available: [machine] provider = "none"',
    });
    expect((await client.call('machine.shutdown')).error?.code).toBe(400);
  });

  it('refuses a service that is not configured, and names it', async () => {
    expect((await client.call('machine.services.restart', { service: 'sshd' })).error).toEqual({
      code: 400,
      message: "Invalid argument 'service': sshd is not an available service",
    });
    expect((await client.call('machine.services.restart', { service: 'brim' })).error).toEqual({
      code: 400,
      message: 'Cannot restart brim: [machine] provider = "none"',
    });
  });
});
