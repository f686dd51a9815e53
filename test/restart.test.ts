import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RpcClient, startTestDaemon, tempDataDir } from './fixtures/daemon.ts';

describe('database across restarts', () => {
  it('keeps database items when the daemon stops and starts again on the same data folder', async () => {
    const dataDir = tempDataDir();
    try {
      const first = await startTestDaemon({ dataDir });
      const client = await RpcClient.connect(first.wsUrl);
      await client.call('server.database.post_item', {
        namespace: 'mainsail',
        key: 'view.theme',
        value: 'dark',
      });
      await client.close();
      await first.stop({ keepData: true });

      const second = await startTestDaemon({ dataDir });
      const again = await RpcClient.connect(second.wsUrl);
      const reply = await again.call('server.database.get_item', { namespace: 'mainsail', key: 'view' });
      expect(reply.result).toEqual({ namespace: 'mainsail', key: 'view', value: { theme: 'dark' } });
      await again.close();
      await second.stop({ keepData: true });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
