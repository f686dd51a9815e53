import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDataDir } from './fixtures/daemon.ts';
import { buildServer, freePort, spawnDaemon, waitForOk } from './fixtures/process.ts';

let dataDir = '';

beforeAll(() => {
  buildServer();
  dataDir = tempDataDir();
});

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

describe('the daemon process', () => {
  it('creates the data folder, serves /server/info, and exits 0 on SIGTERM releasing the port', async () => {
    const port = await freePort();
    const data = join(dataDir, 'fresh');
    const daemon = spawnDaemon(['--data', data, '--port', String(port)]);
    try {
      await waitForOk(`http://127.0.0.1:${port}/readyz`);
      const info = (await (await fetch(`http://127.0.0.1:${port}/server/info`)).json()) as { result: object };
      expect(info.result).toHaveProperty('klippy_state');
      for (const folder of ['config', 'gcodes', 'logs', 'database'])
        expect(existsSync(join(data, folder))).toBe(true);
      expect(existsSync(join(data, 'logs', 'brim.log'))).toBe(true);
      const stoppedAt = Date.now();
      daemon.child.kill('SIGTERM');
      const exit = await daemon.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(Date.now() - stoppedAt).toBeLessThan(5000);
      expect(await portIsFree(port)).toBe(true);
    } finally {
      daemon.child.kill('SIGKILL');
    }
  });

  it('restarts itself on server.restart and rolls its log over on request', async () => {
    const port = await freePort();
    const data = join(dataDir, 'restart');
    const daemon = spawnDaemon(['--data', data, '--port', String(port)]);
    const url = `http://127.0.0.1:${port}`;
    const post = (path: string) => fetch(`${url}${path}`, { method: 'POST' }).then((r) => r.json());
    try {
      await waitForOk(`${url}/readyz`);
      expect(await post('/server/logs/rollover')).toEqual({ result: { rolled_over: ['brim'], failed: {} } });
      expect(existsSync(join(data, 'logs', 'brim.log.1'))).toBe(true);
      const before = (await (await fetch(`${url}/machine/proc_stats`)).json()) as { result: object };
      expect(before.result).toBeDefined();
      expect(await post('/server/restart')).toEqual({ result: 'ok' });
      // The same process stops every component and starts them again on the same port.
      await new Promise((r) => setTimeout(r, 300));
      await waitForOk(`${url}/readyz`);
      expect(daemon.child.exitCode).toBeNull();
      expect(readFileSync(join(data, 'logs', 'brim.log'), 'utf8')).toContain('restart requested');
    } finally {
      daemon.child.kill('SIGKILL');
    }
  });

  it('stops start-up on an unknown config key, naming file, table and key with a suggestion', async () => {
    const config = join(dataDir, 'typo.toml');
    writeFileSync(config, '[server]\nprot = 7125\n');
    const daemon = spawnDaemon(['--data', dataDir, '--config', config]);
    const exit = await daemon.exited;
    expect(exit.code).toBe(1);
    expect(daemon.stderr()).toContain('typo.toml [server]: unknown key "prot" (did you mean "port"?)');
  });

  it('stops start-up on broken TOML with the line and column', async () => {
    const config = join(dataDir, 'broken.toml');
    writeFileSync(config, '[server]\nport = 7125\n[logging\n');
    const daemon = spawnDaemon(['--data', dataDir, '--config', config]);
    expect((await daemon.exited).code).toBe(1);
    expect(daemon.stderr()).toMatch(/broken\.toml:3:\d+: TOML syntax error/);
  });

  it('stops when the port is taken, saying which component failed and why', async () => {
    const port = await freePort();
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '0.0.0.0', resolve));
    try {
      const daemon = spawnDaemon(['--data', dataDir, '--port', String(port)]);
      expect((await daemon.exited).code).toBe(1);
      expect(daemon.stderr()).toMatch(/component "server" failed to start: .*EADDRINUSE/);
    } finally {
      blocker.close();
    }
  });

  it('lists its flags with --help and rejects unknown ones', async () => {
    const help = spawnDaemon(['--help']);
    expect((await help.exited).code).toBe(0);
    for (const flag of ['--config FILE', '--data DIR', '--port N', '--help'])
      expect(help.stdout()).toContain(flag);
    const bad = spawnDaemon(['--prot', '1']);
    expect((await bad.exited).code).toBe(2);
    expect(bad.stderr()).toContain("Unknown option '--prot'");
  });
});
