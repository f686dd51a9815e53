// The config file editor's endpoints against a whole daemon: what it shows, every refusal with line and
// message and nothing written, an atomic save with a backup, and a file created where none was.
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigFileState, ConfigSaveResult } from '../server/api/config-file-types.ts';
import { RpcClient, startTestDaemon, type TestDaemon, tempDataDir } from './fixtures/daemon.ts';

const ORIGINAL = '[virtual_printer]\nboot_ms = 0\n\n[server]\nhost = "127.0.0.1"\n';

let brim: TestDaemon;
let client: RpcClient;

beforeAll(async () => {
  brim = await startTestDaemon({ configToml: ORIGINAL });
  client = await RpcClient.connect(brim.wsUrl);
});

afterAll(async () => {
  await client?.close();
  await brim?.stop();
});

async function call<T>(method: string, params?: Record<string, unknown>): Promise<T> {
  const reply = await client.call(method, params);
  if (reply.error) throw new Error(`${method}: ${reply.error.code} ${reply.error.message}`);
  return reply.result as T;
}

const configPath = () => join(brim.dataDir, 'test.toml');

/** The file's bytes and modification time, to show a refused save touched nothing. */
function snapshot(path: string) {
  return {
    text: readFileSync(path, 'utf8'),
    mtimeMs: statSync(path).mtimeMs,
    files: readdirSync(brim.dataDir),
  };
}

describe('server.config.file', () => {
  it('shows the file the daemon started with, as it is on disk', async () => {
    const state = await call<ConfigFileState>('server.config.file');
    expect(state).toEqual({
      filename: configPath(),
      in_use: true,
      exists: true,
      text: ORIGINAL,
      template: null,
      restart_pending: false,
      can_restart: false,
    });
  });
});

describe('server.config.save', () => {
  it('refuses bad TOML with the line and column, and writes nothing', async () => {
    const before = snapshot(configPath());
    const result = await call<ConfigSaveResult>('server.config.save', {
      text: '[server]\nhost = "127.0.0.1"\nport = \n',
    });
    expect(result).toEqual({
      saved: false,
      filename: configPath(),
      problems: [
        {
          message: expect.stringMatching(/^.*test\.toml:3:\d+: TOML syntax error: .+/),
          line: 3,
          column: expect.any(Number),
        },
      ],
    });
    expect(snapshot(configPath())).toEqual(before);
  });

  it('refuses an unknown key with a suggestion, and a wrong type, each on its own line', async () => {
    const before = snapshot(configPath());
    const text = [
      '[virtual_printer]',
      'boot_ms = 0',
      '',
      '[server]',
      'host = "127.0.0.1"',
      'prot = 7125',
      '',
      '[serial]',
      'window = "eight"',
    ].join('\n');
    const result = await call<ConfigSaveResult>('server.config.save', { text });
    expect(result.saved).toBe(false);
    expect(result.saved === false && result.problems).toEqual([
      {
        message: 'test.toml [server]: unknown key "prot" (did you mean "port"?)',
        line: 6,
        column: 1,
      },
      {
        message: expect.stringMatching(
          /^test\.toml \[serial\]: key "window" must be an integer .*, got "eight"$/,
        ),
        line: 9,
        column: 1,
      },
    ]);
    expect(snapshot(configPath())).toEqual(before);
  });

  it('refuses an unknown table, naming the closest known one', async () => {
    const result = await call<ConfigSaveResult>('server.config.save', { text: '\n[sreial]\nwindow = 4\n' });
    expect(result).toMatchObject({
      saved: false,
      problems: [
        { message: 'test.toml [sreial]: unknown table (did you mean "serial"?)', line: 2, column: 1 },
      ],
    });
  });

  it('refuses what start-up would refuse beyond the schema: a broker URL of the wrong scheme', async () => {
    const before = snapshot(configPath());
    const result = await call<ConfigSaveResult>('server.config.save', {
      text: `${ORIGINAL}\n[mqtt]\naddress = "http://broker.local"\n`,
    });
    expect(result).toMatchObject({
      saved: false,
      problems: [{ message: expect.stringContaining('[mqtt]: key "address" has scheme "http"') }],
    });
    expect(snapshot(configPath())).toEqual(before);
  });

  it('checks without writing on a dry run', async () => {
    const before = snapshot(configPath());
    const result = await call<ConfigSaveResult>('server.config.save', {
      text: `${ORIGINAL}\n[serial]\nwindow = 4\n`,
      dry_run: true,
    });
    expect(result).toMatchObject({ saved: true, dry_run: true, backup: null });
    expect(snapshot(configPath())).toEqual(before);
  });

  it('writes a valid file in place, keeps the previous one as .bak, and leaves no temporary file', async () => {
    const next = `${ORIGINAL}\n[serial]\nwindow = 4\n`;
    // A path given by the client is ignored: the file is always the daemon's own.
    const elsewhere = join(brim.dataDir, 'elsewhere.toml');
    const result = await call<ConfigSaveResult>('server.config.save', { text: next, filename: elsewhere });
    expect(result).toEqual({
      saved: true,
      filename: configPath(),
      backup: `${configPath()}.bak`,
      dry_run: false,
      can_restart: false,
    });
    expect(readFileSync(configPath(), 'utf8')).toBe(next);
    expect(readFileSync(`${configPath()}.bak`, 'utf8')).toBe(ORIGINAL);
    expect(existsSync(elsewhere)).toBe(false);
    expect(readdirSync(brim.dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const state = await call<ConfigFileState>('server.config.file');
    expect(state).toMatchObject({ text: next, restart_pending: true });
  });

  it('refuses a text of the wrong type as a bad argument', async () => {
    const reply = await client.call('server.config.save', { text: 42 });
    expect(reply.error?.code).toBe(400);
    expect(reply.error?.message).toMatch(/text/);
  });

  it('says plainly when this daemon cannot restart itself', async () => {
    const reply = await client.call('server.restart');
    expect(reply.error).toEqual({ code: 503, message: 'This daemon cannot restart itself' });
  });
});

describe('a daemon started without a config file', () => {
  it('offers a template, creates the file at the data folder’s default path, and the next start reads it', async () => {
    const dataDir = tempDataDir();
    try {
      const first = await startTestDaemon({ dataDir });
      const rpc = await RpcClient.connect(first.wsUrl);
      const defaultPath = join(dataDir, 'config', 'brim.toml');
      const state = (await rpc.call('server.config.file')).result as ConfigFileState;
      expect(state).toMatchObject({ filename: defaultPath, in_use: false, exists: false, text: '' });
      expect(state.template).toContain('[server]');
      expect(state.template).toContain('# port = 7125');

      // The template is valid as it is; uncomment one key and change it.
      const text = (state.template ?? '').replace('# gcode_store_size = 1000', 'gcode_store_size = 321');
      expect(text).toContain('\ngcode_store_size = 321\n');
      const saved = (await rpc.call('server.config.save', { text })).result as ConfigSaveResult;
      expect(saved).toMatchObject({ saved: true, filename: defaultPath, backup: null });
      expect(readFileSync(defaultPath, 'utf8')).toBe(text);
      expect((await rpc.call('server.config.file')).result).toMatchObject({
        exists: true,
        in_use: false,
        template: null,
        restart_pending: true,
      });
      await rpc.close();
      await first.stop({ keepData: true });

      const second = await startTestDaemon({ dataDir });
      const again = await RpcClient.connect(second.wsUrl);
      const config = (await again.call('server.config')).result as {
        config: Record<string, Record<string, unknown>>;
      };
      expect(config.config.data_store?.gcode_store_size).toBe(321);
      expect((await again.call('server.config.file')).result).toMatchObject({
        filename: defaultPath,
        in_use: true,
        restart_pending: false,
      });
      await again.close();
      await second.stop({ keepData: true });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
