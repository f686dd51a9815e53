import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient, startTestDaemon, type TestDaemon, tempDataDir } from '../../test/fixtures/daemon.ts';

let brim: TestDaemon | null = null;
afterEach(async () => {
  await brim?.stop();
  brim = null;
});

function writePlugin(dataDir: string, name: string, source: string): void {
  mkdirSync(join(dataDir, 'plugins', name), { recursive: true });
  writeFileSync(join(dataDir, 'plugins', name, 'index.js'), source);
}

describe('plugins in the data folder', () => {
  it('loads a plugin named by its [plugins.<name>] table, gives it its table and the same Host handles', async () => {
    const dataDir = tempDataDir();
    writePlugin(
      dataDir,
      'greeter',
      `export default ({ Type }) => ({
        name: 'greeter',
        config: Type.Object({ greeting: Type.String({ default: 'hello', description: 'What to say' }) }),
        create(host) {
          host.api.register({ path: '/server/greeter/say', verbs: ['GET'], role: 'viewer',
            handler: () => ({ said: host.config.greeting }) });
          return {};
        },
      });`,
    );
    brim = await startTestDaemon({ dataDir, configToml: '[plugins.greeter]\ngreeting = "ahoy"\n' });
    const reply = await fetch(`${brim.url}/server/greeter/say`);
    expect(await reply.json()).toEqual({ result: { said: 'ahoy' } });
  });

  it('validates a plugin table against the plugin schema', async () => {
    const dataDir = tempDataDir();
    writePlugin(
      dataDir,
      'strict',
      `export default ({ Type }) => ({ name: 'strict', config: Type.Object({ pin: Type.Integer({ default: 1 }) }), create: () => ({}) });`,
    );
    await expect(startTestDaemon({ dataDir, configToml: '[plugins.strict]\npni = 3\n' })).rejects.toThrow(
      'test.toml [plugins.strict]: unknown key "pni" (did you mean "pin"?)',
    );
  });

  it('lists a plugin that fails to start in failed_components and warnings, and runs the rest', async () => {
    const dataDir = tempDataDir();
    writePlugin(
      dataDir,
      'broken',
      `export default { name: 'broken', create() { return { start() { throw new Error('no lamp on GPIO 17'); } }; } };`,
    );
    brim = await startTestDaemon({ dataDir, configToml: '[plugins.broken]\n[plugins.missing]\n' });
    const client = await RpcClient.connect(brim.wsUrl);
    const info = (await client.call('server.info')).result as {
      failed_components: string[];
      warnings: string[];
    };
    await client.close();
    // "missing" fails while components are created, "broken" later when they start.
    expect(info.failed_components).toEqual(['missing', 'broken']);
    expect(info.warnings[0]).toMatch(/^Component "missing" failed: create: plugin "missing" not found in /);
    expect(info.warnings[1]).toBe('Component "broken" failed: no lamp on GPIO 17');
    expect((await fetch(`${brim.url}/readyz`)).status).toBe(200);
  });

  it('reports a plugin whose module throws on import', async () => {
    const dataDir = tempDataDir();
    writePlugin(dataDir, 'throws', `throw new Error('syntax of doom');`);
    brim = await startTestDaemon({ dataDir, configToml: '[plugins.throws]\n' });
    const info = (await (await fetch(`${brim.url}/server/info`)).json()) as {
      result: { warnings: string[] };
    };
    expect(info.result.warnings[0]).toContain('syntax of doom');
  });
});
