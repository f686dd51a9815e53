import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { appendFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodePng } from '../gcode/thumbnails.ts';
import { fileManagerComponent } from '../server/jobs/files/component.ts';
import type { FileListChange } from '../server/jobs/files/file-manager.ts';
import {
  RpcClient,
  type RpcMessage,
  startTestDaemon,
  type TestDaemon,
  tempDataDir,
} from './fixtures/daemon.ts';
import { zip } from './fixtures/zip.ts';

const FIXTURES = join(import.meta.dirname, '..', 'gcode', 'fixtures');
const PRUSA = readFileSync(join(FIXTURES, 'prusa-2cubes.gcode'));
const QOI = readFileSync(join(FIXTURES, 'prusa-qoi.gcode'));
const CURA = readFileSync(join(FIXTURES, 'cura-2cubes.gcode'));

let brim: TestDaemon;
let client: RpcClient;
let gcodes: string;
let config: string;

beforeAll(async () => {
  brim = await startTestDaemon({ components: [fileManagerComponent] });
  client = await RpcClient.connect(brim.wsUrl);
  gcodes = join(brim.dataDir, 'gcodes');
  config = join(brim.dataDir, 'config');
});

afterAll(async () => {
  await client.close();
  await brim.stop();
});

async function http(path: string, init?: RequestInit) {
  const response = await fetch(`${brim.url}${path}`, init);
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.json() : Buffer.from(await response.arrayBuffer());
  // biome-ignore lint/suspicious/noExplicitAny: tests read deep into Moonraker's JSON replies
  return { status: response.status, body: body as any, headers: response.headers };
}

function upload(
  filename: string,
  content: Uint8Array | string,
  fields: Record<string, string> = {},
): ReturnType<typeof http> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append('file', new Blob([content]), filename);
  return http('/server/files/upload', { method: 'POST', body: form });
}

function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

// biome-ignore lint/suspicious/noExplicitAny: tests read deep into Moonraker's JSON replies
async function rpc(method: string, params?: Record<string, unknown>): Promise<any> {
  const reply = await client.call(method, params);
  if (reply.error) throw new Error(`${method}: ${reply.error.code} ${reply.error.message}`);
  return reply.result;
}

/** Notifications of file changes received since `since`, after waiting `settleMs` for stragglers. */
async function changesSince(since: number, settleMs = 700): Promise<FileListChange[]> {
  await new Promise((r) => setTimeout(r, settleMs));
  return client.notifications
    .slice(since)
    .filter((n) => n.method === 'notify_filelist_changed')
    .map((n) => n.params?.[0] as FileListChange);
}

async function waitForChange(
  since: number,
  match: (c: FileListChange) => boolean,
  timeoutMs = 5000,
): Promise<FileListChange> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = client.notifications
      .slice(since)
      .filter((n: RpcMessage) => n.method === 'notify_filelist_changed')
      .map((n) => n.params?.[0] as FileListChange)
      .find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error('no matching notify_filelist_changed');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lets changes other tests made behind the daemon's back be reported before counting our own. */
function quiet(): Promise<void> {
  return new Promise((r) => setTimeout(r, 700));
}

function leftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((name) => name.split('/').some((part) => part.startsWith('.brim-tmp-')));
}

describe('roots', () => {
  it('advertises file_manager and lists the gcodes, config and logs roots in server.info', async () => {
    const info = await rpc('server.info');
    expect(info.components).toContain('file_manager');
    expect(info.registered_directories).toEqual(['gcodes', 'config', 'logs']);
  });

  it('reports each root with its folder and permissions', async () => {
    expect(await rpc('server.files.roots')).toEqual([
      { name: 'gcodes', path: gcodes, permissions: 'rw' },
      { name: 'config', path: config, permissions: 'rw' },
      { name: 'logs', path: join(brim.dataDir, 'logs'), permissions: 'r' },
    ]);
  });

  it("answers Mainsail's theme request for a missing file with a JSON 404", async () => {
    const reply = await http('/server/files/config/.theme/default.json');
    expect(reply.status).toBe(404);
    expect(reply.body).toEqual({
      error: { code: 404, message: 'File does not exist: config/.theme/default.json', traceback: '' },
    });
  });

  it('serves a file from the config root as JSON when it is JSON', async () => {
    await mkdir(join(config, '.theme'), { recursive: true });
    await writeFile(join(config, '.theme', 'default.json'), '{"logo":"x"}');
    const reply = await http('/server/files/config/.theme/default.json');
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({ logo: 'x' });
  });
});

function gcodeChanges(changes: FileListChange[]): FileListChange[] {
  return changes.filter((c) => c.item.root === 'gcodes');
}

describe('uploads', () => {
  it('stores an upload and replies 201 with Location and an unwrapped body', async () => {
    const since = client.notifications.length;
    const reply = await upload('cubes.gcode', PRUSA, { checksum: sha256(PRUSA) });
    expect(reply.status).toBe(201);
    expect(reply.headers.get('location')).toBe(`${brim.url}/server/files/gcodes/cubes.gcode`);
    expect(reply.body).toEqual({
      item: {
        path: 'cubes.gcode',
        root: 'gcodes',
        modified: expect.any(Number),
        size: PRUSA.length,
        permissions: 'rw',
      },
      print_started: false,
      print_queued: false,
      action: 'create_file',
    });
    expect(readFileSync(join(gcodes, 'cubes.gcode')).equals(PRUSA)).toBe(true);
    expect(leftovers(gcodes)).toEqual([]);
    expect(gcodeChanges(await changesSince(since))).toEqual([
      { action: 'create_file', item: reply.body.item },
    ]);
  });

  it('has the metadata ready when the upload returns', async () => {
    const metadata = await rpc('server.files.metadata', { filename: 'cubes.gcode' });
    expect(metadata).toMatchObject({
      filename: 'cubes.gcode',
      size: PRUSA.length,
      slicer: 'PrusaSlicer',
      slicer_version: '2.5.0',
      file_processors: [],
      job_id: null,
      print_start_time: null,
      uuid: expect.any(String),
    });
    expect(metadata.estimated_time).toBeGreaterThan(0);
    expect(metadata.layer_height).toBe(0.2);
    expect(metadata.filament_total).toBeGreaterThan(0);
  });

  it('creates the folders named by path and reports them', async () => {
    const since = client.notifications.length;
    const reply = await upload('part.gcode', CURA, { path: 'cura/week1' });
    expect(reply.status).toBe(201);
    expect(reply.body.item.path).toBe('cura/week1/part.gcode');
    expect(reply.headers.get('location')).toBe(`${brim.url}/server/files/gcodes/cura/week1/part.gcode`);
    const changes = gcodeChanges(await changesSince(since));
    expect(changes.map((c) => [c.action, c.item.path])).toEqual([
      ['create_dir', 'cura'],
      ['create_dir', 'cura/week1'],
      ['create_file', 'cura/week1/part.gcode'],
    ]);
  });

  it('uploads into the config root when root says so', async () => {
    const reply = await upload('printer.cfg', '[printer]\n', { root: 'config' });
    expect(reply.status).toBe(201);
    expect(reply.body.item).toMatchObject({ root: 'config', path: 'printer.cfg' });
    expect(await readFile(join(config, 'printer.cfg'), 'utf8')).toBe('[printer]\n');
  });

  it('replaces an existing file in one step', async () => {
    const first = '; first\nG1 X1\n';
    const second = '; second\nG1 X2\n';
    await upload('replace.gcode', first);
    const since = client.notifications.length;
    expect((await upload('replace.gcode', second)).status).toBe(201);
    expect(await readFile(join(gcodes, 'replace.gcode'), 'utf8')).toBe(second);
    expect(gcodeChanges(await changesSince(since)).map((c) => c.action)).toEqual(['create_file']);
  });

  it('refuses a checksum mismatch with 422 and stores nothing', async () => {
    const reply = await upload('bad-sum.gcode', PRUSA, { checksum: sha256('something else') });
    expect(reply.status).toBe(422);
    expect(reply.body.error.message).toMatch(
      /^File checksum mismatch: expected [0-9a-f]{64}, calculated [0-9a-f]{64}/,
    );
    expect(existsSync(join(gcodes, 'bad-sum.gcode'))).toBe(false);
    expect(leftovers(gcodes)).toEqual([]);
  });

  it('checks a checksum sent after the file part too', async () => {
    const form = new FormData();
    form.append('file', new Blob([PRUSA]), 'late-sum.gcode');
    form.append('checksum', sha256('nope'));
    const reply = await http('/server/files/upload', { method: 'POST', body: form });
    expect(reply.status).toBe(422);
    expect(existsSync(join(gcodes, 'late-sum.gcode'))).toBe(false);
  });

  it('refuses binary data as G-code, naming the file', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    const reply = await upload('photo.gcode', png);
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toBe(
      'Upload refused: gcodes/photo.gcode is not G-code (a NUL byte at offset 8); nothing was stored',
    );
    expect(existsSync(join(gcodes, 'photo.gcode'))).toBe(false);
    expect(leftovers(gcodes)).toEqual([]);
  });

  it('refuses G-code with a NUL deep inside', async () => {
    const text = Buffer.concat([
      Buffer.from('G1 X1\n'.repeat(20_000)),
      Buffer.from([0]),
      Buffer.from('G1 X2\n'),
    ]);
    const reply = await upload('nul.gcode', text);
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toContain(`a NUL byte at offset ${20_000 * 6}`);
  });

  it('keeps binary files that are not G-code, such as an image in config', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    expect((await upload('logo.png', png, { root: 'config' })).status).toBe(201);
  });

  it('refuses uploads to the read-only logs root', async () => {
    const reply = await upload('x.log', 'x', { root: 'logs' });
    expect(reply.status).toBe(403);
    expect(reply.body.error.message).toBe("Root 'logs' is read-only; upload to gcodes or config");
  });

  it('refuses paths that leave the root', async () => {
    for (const [fields, filename, message] of [
      [{ path: '../..' }, 'evil.gcode', "Invalid path 'gcodes/../../evil.gcode': '..' is not allowed"],
      [{}, '../evil.gcode', "Invalid path 'gcodes/../evil.gcode': '..' is not allowed"],
      [
        { path: 'a/../../b' },
        'evil.gcode',
        "Invalid path 'gcodes/a/../../b/evil.gcode': '..' is not allowed",
      ],
    ] as const) {
      const reply = await upload(filename, 'G1 X1\n', fields);
      expect(reply.status).toBe(400);
      expect(reply.body.error.message).toBe(message);
    }
    expect(existsSync(join(brim.dataDir, 'evil.gcode'))).toBe(false);
  });

  it('refuses names with control characters or backslashes', async () => {
    const reply = await upload('a\\b.gcode', 'G1 X1\n');
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toBe("Invalid path 'gcodes/a\\b.gcode': it contains a backslash");
    const tab = await upload('tab.gcode', 'G1\n', { path: 'x\ty' });
    expect(tab.status).toBe(400);
    expect(tab.body.error.message).toBe(
      "Invalid path 'gcodes/x\\x09y/tab.gcode': it contains control character 0x09",
    );
  });

  it('refuses a form without a file part', async () => {
    const form = new FormData();
    form.append('root', 'gcodes');
    const reply = await http('/server/files/upload', { method: 'POST', body: form });
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toBe("No file in the upload form (expected a part named 'file')");
  });

  it('refuses a body that is not multipart', async () => {
    const reply = await http('/server/files/upload', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toBe('An upload must be a multipart/form-data body');
  });

  it('refuses a form that ends before its closing boundary, storing nothing', async () => {
    const boundary = 'brimboundary';
    const body = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="short.gcode"\r\n\r\nG1 X1\nG1 X2\n`;
    const reply = await http('/server/files/upload', {
      method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
    });
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toMatch(/^Upload of 'short.gcode' was cut short after \d+ bytes/);
    expect(existsSync(join(gcodes, 'short.gcode'))).toBe(false);
    expect(leftovers(gcodes)).toEqual([]);
  });

  it('stores nothing when the client goes away mid-upload, and keeps serving', async () => {
    const boundary = 'brimboundary';
    const head = `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="gone.gcode"\r\n\r\n`;
    const url = new URL(`${brim.url}/server/files/upload`);
    await new Promise<void>((resolve) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(head.length + 10_000_000),
        },
      });
      req.on('error', () => resolve());
      req.write(head);
      req.write('G1 X1\n'.repeat(50_000), () => {
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 100);
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(join(gcodes, 'gone.gcode'))).toBe(false);
    expect(leftovers(gcodes)).toEqual([]);
    expect((await rpc('server.info')).components).toContain('file_manager');
  });
});

describe('thumbnails', () => {
  it('writes embedded PNG thumbnails to .thumbs and lists them in metadata', async () => {
    const metadata = await rpc('server.files.metadata', { filename: 'cubes.gcode' });
    expect(metadata.thumbnails).toEqual([
      { width: 32, height: 32, size: expect.any(Number), relative_path: '.thumbs/cubes-32x32.png' },
      { width: 96, height: 96, size: expect.any(Number), relative_path: '.thumbs/cubes-96x96.png' },
    ]);
    const image = await http('/server/files/gcodes/.thumbs/cubes-96x96.png?timestamp=1');
    expect(image.status).toBe(200);
    expect(image.headers.get('content-type')).toBe('image/png');
    expect((image.body as Buffer).subarray(1, 4).toString()).toBe('PNG');
    expect((image.body as Buffer).length).toBe(metadata.thumbnails[1].size);
  });

  it('converts QOI thumbnails to PNG', async () => {
    await upload('qoi.gcode', QOI, { path: 'sub' });
    const thumbs = await rpc('server.files.thumbnails', { filename: 'sub/qoi.gcode' });
    expect(thumbs.map((t: { thumbnail_path: string }) => t.thumbnail_path)).toContain(
      'sub/.thumbs/qoi-64x48.png',
    );
    const image = await http('/server/files/gcodes/sub/.thumbs/qoi-64x48.png');
    expect(image.status).toBe(200);
    expect((image.body as Buffer).subarray(1, 4).toString()).toBe('PNG');
    expect((image.body as Buffer).readUInt32BE(16)).toBe(64);
    expect((image.body as Buffer).readUInt32BE(20)).toBe(48);
  });
});

describe('listings', () => {
  it('lists only G-code files in the gcodes root, with paths below it', async () => {
    await writeFile(join(gcodes, 'notes.txt'), 'not G-code');
    const list = (await rpc('server.files.list', { root: 'gcodes' })) as { path: string }[];
    const paths = list.map((f) => f.path);
    expect(paths).toContain('cubes.gcode');
    expect(paths).toContain('cura/week1/part.gcode');
    expect(paths).not.toContain('notes.txt');
    expect(paths.some((p) => p.includes('.thumbs'))).toBe(false);
    expect(list.find((f) => f.path === 'cubes.gcode')).toEqual({
      path: 'cubes.gcode',
      modified: expect.any(Number),
      size: PRUSA.length,
      permissions: 'rw',
    });
  });

  it('lists every file in config and marks logs read-only', async () => {
    const configFiles = (await rpc('server.files.list', { root: 'config' })) as { path: string }[];
    expect(configFiles.map((f) => f.path)).toEqual(
      expect.arrayContaining(['printer.cfg', '.theme/default.json']),
    );
    const logs = (await rpc('server.files.list', { root: 'logs' })) as {
      path: string;
      permissions: string;
    }[];
    expect(logs.find((f) => f.path === 'brim.log')?.permissions).toBe('r');
  });

  it('answers server.files.list over HTTP with gcodes as the default root', async () => {
    const reply = await http('/server/files/list');
    expect(reply.status).toBe(200);
    expect(reply.body.result.map((f: { path: string }) => f.path)).toContain('cubes.gcode');
  });

  it('describes one folder with disk usage and root info', async () => {
    const listing = await rpc('server.files.get_directory', { path: 'gcodes' });
    expect(listing.root_info).toEqual({ name: 'gcodes', permissions: 'rw' });
    expect(listing.disk_usage.total).toBeGreaterThan(0);
    expect(listing.disk_usage.free).toBeGreaterThan(0);
    expect(listing.dirs).toEqual(
      expect.arrayContaining([
        { dirname: 'cura', modified: expect.any(Number), size: expect.any(Number), permissions: 'rw' },
      ]),
    );
    expect(listing.files).toEqual(
      expect.arrayContaining([
        { filename: 'notes.txt', modified: expect.any(Number), size: 10, permissions: 'rw' },
        { filename: 'cubes.gcode', modified: expect.any(Number), size: PRUSA.length, permissions: 'rw' },
      ]),
    );
  });

  it('merges metadata into G-code entries when extended, keeping the bare filename', async () => {
    const reply = await http('/server/files/directory?path=gcodes&extended=true');
    const entry = reply.body.result.files.find((f: { filename: string }) => f.filename === 'cubes.gcode');
    expect(entry).toMatchObject({ filename: 'cubes.gcode', slicer: 'PrusaSlicer', size: PRUSA.length });
    const sub = await rpc('server.files.get_directory', { path: 'gcodes/cura/week1', extended: true });
    expect(sub.files[0]).toMatchObject({ filename: 'part.gcode', slicer: 'Cura' });
  });

  it('refuses a folder that leaves the root and answers a missing one with 404', async () => {
    const outside = await client.call('server.files.get_directory', { path: 'gcodes/../../' });
    expect(outside.error).toEqual({
      code: 400,
      message: "Invalid path 'gcodes/../../': '..' is not allowed",
    });
    const missing = await client.call('server.files.get_directory', { path: 'gcodes/nope' });
    expect(missing.error).toEqual({ code: -32601, message: 'Directory does not exist: gcodes/nope' });
    const root = await client.call('server.files.get_directory', { path: 'etc/passwd' });
    expect(root.error?.message).toBe(
      "Invalid path 'etc/passwd': 'etc' is not a root (roots: gcodes, config, logs)",
    );
  });
});

describe('metadata', () => {
  it('answers an unknown file with 404 "Metadata not available"', async () => {
    const reply = await http('/server/files/metadata?filename=missing.gcode');
    expect(reply.status).toBe(404);
    expect(reply.body.error.message).toBe('Metadata not available for <missing.gcode>');
    const overWs = await client.call('server.files.metadata', { filename: 'missing.gcode' });
    expect(overWs.error).toEqual({ code: -32601, message: 'Metadata not available for <missing.gcode>' });
  });

  it('refuses absolute paths and NUL in file names', async () => {
    const absolute = await client.call('server.files.metadata', { filename: '/etc/passwd' });
    expect(absolute.error).toEqual({
      code: 400,
      message: "Invalid path '/etc/passwd': absolute paths are not allowed",
    });
    const nul = await client.call('server.files.metadata', { filename: 'a\u0000.gcode' });
    expect(nul.error).toEqual({ code: 400, message: "Invalid path 'a\\x00.gcode': it contains NUL" });
  });

  it('analyses a file copied in by another program when asked', async () => {
    await writeFile(join(gcodes, 'copied.gcode'), CURA);
    const metadata = await rpc('server.files.metadata', { filename: 'copied.gcode' });
    expect(metadata).toMatchObject({ slicer: 'Cura', size: CURA.length, filename: 'copied.gcode' });
  });

  it('rescans a file when it changes and on metascan', async () => {
    await writeFile(
      join(gcodes, 'changing.gcode'),
      '; generated by PrusaSlicer 2.7.0 on x\nG1 Z0.2\nG1 X1 E1\n',
    );
    const first = await rpc('server.files.metadata', { filename: 'changing.gcode' });
    expect(first.slicer_version).toBe('2.7.0');
    await writeFile(
      join(gcodes, 'changing.gcode'),
      '; generated by PrusaSlicer 2.8.1 on x\nG1 Z0.2\nG1 X1 E1\n',
    );
    const second = await rpc('server.files.metadata', { filename: 'changing.gcode' });
    expect(second.slicer_version).toBe('2.8.1');
    expect(second.uuid).not.toBe(first.uuid);
    const rescanned = await rpc('server.files.metascan', { filename: 'changing.gcode' });
    expect(rescanned.uuid).not.toBe(second.uuid);
    expect(rescanned.slicer_version).toBe('2.8.1');
  });

  it('still analyses a file from an unknown slicer with long lines and odd comments', async () => {
    const odd = [
      '; made by hand (no slicer)',
      `; ${'x'.repeat(5000)}`,
      'G28 ; home (all) ;; twice',
      'M104 S210',
      'M140 S60',
      'G1 Z0.3 F600',
      'G1 X10 Y10 E1 F1200 ; first layer',
      'G1 Z0.5',
      'G1 X20 Y10 E2',
      `G1 X30 ; ${'é'.repeat(800)}`,
    ].join('\n');
    await writeFile(join(gcodes, 'odd.gcode'), odd);
    const metadata = await rpc('server.files.metadata', { filename: 'odd.gcode' });
    expect(metadata.slicer).toBeUndefined();
    expect(metadata.first_layer_height).toBe(0.3);
    expect(metadata.object_height).toBe(0.5);
    const layers = await rpc('server.files.layers', { filename: 'odd.gcode' });
    expect(layers.layer_count).toBe(2);
    expect(layers.layers[0]).toMatchObject({ index: 0, z: 0.3 });
  });

  it('gives the layer index and objects with byte ranges for previews and exclusion', async () => {
    const layers = await rpc('server.files.layers', { filename: 'cubes.gcode' });
    expect(layers.filename).toBe('cubes.gcode');
    expect(layers.layer_count).toBeGreaterThan(10);
    const first = layers.layers[0];
    const second = layers.layers[1];
    expect(first.end_byte).toBe(second.start_byte);
    const text = PRUSA.subarray(first.start_byte, first.end_byte).toString();
    expect(text).toContain('G1');
    expect(layers.objects.length).toBe(2);
    expect(layers.objects[0]).toMatchObject({ name: expect.any(String), id: expect.any(String) });
    expect(layers.objects[0].ranges.length).toBeGreaterThan(0);
  });
});

function fileManager() {
  return brim.daemon.kernel.instance('file_manager');
}

describe('file operations', () => {
  it('creates and deletes folders, reporting each once', async () => {
    await quiet();
    const since = client.notifications.length;
    const created = await rpc('server.files.post_directory', { path: 'gcodes/new_dir' });
    expect(created).toEqual({
      item: { path: 'new_dir', root: 'gcodes', modified: expect.any(Number), size: 4096, permissions: 'rw' },
      action: 'create_dir',
    });
    const deleted = await rpc('server.files.delete_directory', { path: 'gcodes/new_dir' });
    expect(deleted).toEqual({
      item: { path: 'new_dir', root: 'gcodes', modified: 0, size: 0, permissions: '' },
      action: 'delete_dir',
    });
    expect(await changesSince(since)).toEqual([created, deleted]);
  });

  it('creates a folder over HTTP and refuses one whose parent is missing', async () => {
    const reply = await http('/server/files/directory', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'gcodes/http_dir' }),
    });
    expect(reply.status).toBe(200);
    expect(reply.body.result.action).toBe('create_dir');
    const orphan = await client.call('server.files.post_directory', { path: 'gcodes/no/such/parent' });
    expect(orphan.error?.message).toBe(
      'Cannot create gcodes/no/such/parent: its parent folder does not exist',
    );
  });

  it('keeps a folder with contents unless forced', async () => {
    await rpc('server.files.post_directory', { path: 'gcodes/full' });
    await upload('inside.gcode', 'G1 X1\n', { path: 'full' });
    const refused = await client.call('server.files.delete_directory', { path: 'gcodes/full' });
    expect(refused.error).toEqual({
      code: 400,
      message: 'Directory gcodes/full is not empty; delete with force to remove its contents',
    });
    const since = client.notifications.length;
    await rpc('server.files.delete_directory', { path: 'gcodes/full', force: true });
    expect(existsSync(join(gcodes, 'full'))).toBe(false);
    expect((await changesSince(since)).map((c) => [c.action, c.item.path])).toEqual([['delete_dir', 'full']]);
    const root = await client.call('server.files.delete_directory', { path: 'gcodes', force: true });
    expect(root.error?.message).toBe('Cannot delete root directory gcodes');
  });

  it('moves a file with its metadata and thumbnails, and reports the source', async () => {
    await upload('mover.gcode', PRUSA);
    const before = await rpc('server.files.metadata', { filename: 'mover.gcode' });
    const since = client.notifications.length;
    const moved = await rpc('server.files.move', {
      source: 'gcodes/mover.gcode',
      dest: 'gcodes/cura/renamed.gcode',
    });
    expect(moved).toEqual({
      action: 'move_file',
      item: {
        root: 'gcodes',
        path: 'cura/renamed.gcode',
        modified: expect.any(Number),
        size: PRUSA.length,
        permissions: 'rw',
      },
      source_item: { root: 'gcodes', path: 'mover.gcode' },
    });
    expect(await changesSince(since)).toEqual([moved]);
    const after = await rpc('server.files.metadata', { filename: 'cura/renamed.gcode' });
    expect(after.uuid).toBe(before.uuid);
    expect(after.filename).toBe('cura/renamed.gcode');
    for (const thumb of after.thumbnails ?? []) {
      expect(thumb.relative_path).toMatch(/^\.thumbs\/renamed-/);
      expect(existsSync(join(gcodes, 'cura', thumb.relative_path))).toBe(true);
    }
    const gone = await client.call('server.files.metadata', { filename: 'mover.gcode' });
    expect(gone.error?.code).toBe(-32601);
  });

  it('moves a file into an existing folder given as the destination', async () => {
    await upload('into.gcode', 'G1 X1\n');
    const moved = await rpc('server.files.move', { source: 'gcodes/into.gcode', dest: 'gcodes/cura' });
    expect(moved.item.path).toBe('cura/into.gcode');
  });

  it('moves a folder and everything in it', async () => {
    await upload('deep.gcode', CURA, { path: 'tree/branch' });
    const moved = await rpc('server.files.move', { source: 'gcodes/tree', dest: 'gcodes/forest' });
    expect(moved).toMatchObject({
      action: 'move_dir',
      item: { path: 'forest' },
      source_item: { path: 'tree' },
    });
    const metadata = await rpc('server.files.metadata', { filename: 'forest/branch/deep.gcode' });
    expect(metadata.slicer).toBe('Cura');
  });

  it('copies a file and reports create_file, then modify_file when it overwrites', async () => {
    const since = client.notifications.length;
    const copied = await rpc('server.files.copy', {
      source: 'gcodes/cubes.gcode',
      dest: 'gcodes/copy.gcode',
    });
    expect(copied).toEqual({
      action: 'create_file',
      item: {
        root: 'gcodes',
        path: 'copy.gcode',
        modified: expect.any(Number),
        size: PRUSA.length,
        permissions: 'rw',
      },
    });
    const again = await rpc('server.files.copy', {
      source: 'gcodes/cura/week1/part.gcode',
      dest: 'gcodes/copy.gcode',
    });
    expect(again.action).toBe('modify_file');
    expect(await changesSince(since)).toEqual([copied, again]);
    expect((await rpc('server.files.metadata', { filename: 'copy.gcode' })).slicer).toBe('Cura');
    expect(leftovers(gcodes)).toEqual([]);
  });

  it('copies a folder', async () => {
    const copied = await rpc('server.files.copy', { source: 'gcodes/forest', dest: 'gcodes/forest2' });
    expect(copied.action).toBe('create_dir');
    expect(existsSync(join(gcodes, 'forest2', 'branch', 'deep.gcode'))).toBe(true);
  });

  it('refuses to move into a read-only root, or a folder into itself', async () => {
    const logs = await client.call('server.files.move', {
      source: 'gcodes/copy.gcode',
      dest: 'logs/copy.gcode',
    });
    expect(logs.error).toEqual({
      code: 403,
      message: 'Cannot move to logs/copy.gcode: the logs root is read-only',
    });
    const itself = await client.call('server.files.move', {
      source: 'gcodes/forest',
      dest: 'gcodes/forest/inner',
    });
    expect(itself.error?.message).toBe('Cannot move gcodes/forest into itself (gcodes/forest/inner)');
  });

  it('deletes a file over JSON-RPC and over HTTP DELETE', async () => {
    await upload('doomed.gcode', PRUSA);
    const since = client.notifications.length;
    const deleted = await rpc('server.files.delete_file', { path: 'gcodes/doomed.gcode' });
    expect(deleted).toEqual({
      item: { root: 'gcodes', path: 'doomed.gcode', modified: 0, size: 0, permissions: '' },
      action: 'delete_file',
    });
    expect(readdirSync(gcodes, { recursive: true }).some((n) => String(n).includes('doomed-'))).toBe(false);
    await upload('doomed2.gcode', 'G1\n');
    const overHttp = await http('/server/files/gcodes/doomed2.gcode', { method: 'DELETE' });
    expect(overHttp.status).toBe(200);
    expect(overHttp.body.result.action).toBe('delete_file');
    expect((await changesSince(since)).map((c) => [c.action, c.item.path])).toEqual([
      ['delete_file', 'doomed.gcode'],
      ['create_file', 'doomed2.gcode'],
      ['delete_file', 'doomed2.gcode'],
    ]);
    const missing = await http('/server/files/gcodes/doomed2.gcode', { method: 'DELETE' });
    expect(missing.status).toBe(404);
    const logs = await http('/server/files/logs/brim.log', { method: 'DELETE' });
    expect(logs.status).toBe(403);
  });

  it('serves one byte range of a file with 206 and Content-Range, and the whole file with Accept-Ranges', async () => {
    await upload('ranged.gcode', PRUSA);
    const whole = await http('/server/files/gcodes/ranged.gcode');
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    const part = await http('/server/files/gcodes/ranged.gcode', { headers: { range: 'bytes=100-199' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${PRUSA.length}`);
    expect(part.headers.get('content-length')).toBe('100');
    expect((part.body as Buffer).equals(PRUSA.subarray(100, 200))).toBe(true);
    const tail = await http('/server/files/gcodes/ranged.gcode', { headers: { range: 'bytes=-50' } });
    expect(tail.status).toBe(206);
    expect((tail.body as Buffer).equals(PRUSA.subarray(PRUSA.length - 50))).toBe(true);
    const open = await http('/server/files/gcodes/ranged.gcode', {
      headers: { range: `bytes=${PRUSA.length - 10}-` },
    });
    expect((open.body as Buffer).equals(PRUSA.subarray(PRUSA.length - 10))).toBe(true);
  });

  it('answers 416 with the file size and the reason for a range it cannot serve', async () => {
    await upload('ranged.gcode', PRUSA);
    const size = PRUSA.length;
    for (const [range, message] of [
      [`bytes=${size}-`, `Range 'bytes=${size}-' starts at or past the end of the file (${size} bytes)`],
      ['bytes=50-10', "Range 'bytes=50-10' ends before it starts"],
      ['bytes=x-y', "Range 'bytes=x-y': 'x-y' is not start-end, start- or -suffix"],
    ] as const) {
      const reply = await http('/server/files/gcodes/ranged.gcode', { headers: { range } });
      expect(reply.status).toBe(416);
      expect(reply.headers.get('content-range')).toBe(`bytes */${size}`);
      expect(reply.body.error.message).toBe(`gcodes/ranged.gcode: ${message}`);
    }
  });

  it('refuses a download path that escapes the root', async () => {
    const reply = await http('/server/files/gcodes/..%2F..%2Fetc%2Fpasswd');
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toBe("Invalid path 'gcodes/../../etc/passwd': '..' is not allowed");
  });
});

describe('zip archives', () => {
  /** What Python's zipfile (an independent reader) finds in an archive: names, CRC check, contents. */
  function readZip(path: string): { bad: string | null; files: Record<string, string>; methods: number[] } {
    const script = [
      'import json, sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1])',
      'print(json.dumps({"bad": z.testzip(), "methods": [i.compress_type for i in z.infolist()],',
      '  "files": {i.filename: z.read(i).decode("latin-1") for i in z.infolist()}}))',
    ].join('\n');
    return JSON.parse(execFileSync('python3', ['-c', script, path], { encoding: 'utf8' }));
  }

  it('zips files and folders from several roots, deflated, and a reader finds them whole', async () => {
    await rpc('server.files.post_directory', { path: 'gcodes/zip_me' });
    await upload('a.gcode', PRUSA, { path: 'zip_me' });
    await upload('b.gcode', 'G28\nG1 X10\n', { path: 'zip_me' });
    await writeFile(join(config, 'zip-notes.txt'), 'notes ü\n');
    const since = client.notifications.length;
    const result = await rpc('server.files.zip', {
      items: ['gcodes/zip_me', 'config/zip-notes.txt'],
      dest: 'config/bundle.zip',
    });
    expect(result).toEqual({
      destination: {
        root: 'config',
        path: 'bundle.zip',
        modified: expect.any(Number),
        size: expect.any(Number),
        permissions: 'rw',
      },
      action: 'zip_files',
    });
    const archive = readZip(join(config, 'bundle.zip'));
    expect(archive.bad).toBe(null);
    // Everything in the folder, the thumbnails Brim extracted too, as Moonraker zips a folder.
    const thumbs = Object.keys(archive.files).filter((name) => name.startsWith('gcodes/zip_me/.thumbs/'));
    expect(thumbs.length).toBeGreaterThan(0);
    expect(Object.keys(archive.files)).toEqual([
      ...thumbs,
      'gcodes/zip_me/a.gcode',
      'gcodes/zip_me/b.gcode',
      'config/zip-notes.txt',
    ]);
    expect(new Set(archive.methods)).toEqual(new Set([8]));
    expect(Buffer.from(archive.files['gcodes/zip_me/a.gcode'] ?? '', 'latin1').equals(PRUSA)).toBe(true);
    expect(Buffer.from(archive.files['config/zip-notes.txt'] ?? '', 'latin1').toString()).toBe('notes ü\n');
    // Deflated: the sliced G-code shrinks.
    expect(result.destination.size).toBeLessThan(PRUSA.length / 2);
    const changes = await changesSince(since);
    expect(changes.filter((c) => c.item.path === 'bundle.zip').map((c) => c.action)).toEqual(['create_file']);
    expect(readdirSync(config).filter((f) => f.startsWith('.brim-tmp-'))).toEqual([]);
  });

  it('stores without compressing on store_only, and names the archive by the time without dest', async () => {
    const result = await rpc('server.files.zip', { items: ['gcodes/zip_me/b.gcode'], store_only: true });
    expect(result.destination.path).toMatch(/^collection-\d{8}-\d{6}\.zip$/);
    const archive = readZip(join(config, result.destination.path));
    expect(archive).toEqual({ bad: null, methods: [0], files: { 'gcodes/zip_me/b.gcode': 'G28\nG1 X10\n' } });
  });

  it('refuses a missing item, a path out of the roots, a read-only root and no items, writing nothing', async () => {
    const before = readdirSync(config).sort();
    const missing = await client.call('server.files.zip', {
      items: ['gcodes/nope.gcode'],
      dest: 'config/x.zip',
    });
    expect(missing.error).toEqual({ code: -32601, message: 'File gcodes/nope.gcode does not exist' });
    const traversal = await client.call('server.files.zip', {
      items: ['gcodes/../../etc'],
      dest: 'config/x.zip',
    });
    expect(traversal.error).toEqual({
      code: 400,
      message: "Invalid path 'gcodes/../../etc': '..' is not allowed",
    });
    const readOnly = await client.call('server.files.zip', { items: ['gcodes/zip_me'], dest: 'logs/x.zip' });
    expect(readOnly.error?.message).toMatch(/Cannot zip to logs\/x\.zip: the logs root is read-only/);
    const none = await client.call('server.files.zip', { items: [], dest: 'config/x.zip' });
    expect(none.error?.code).toBe(400);
    expect(readdirSync(config).sort()).toEqual(before);
  });
});

describe('symlinks', () => {
  it('leaves out links that lead outside the root and refuses to follow them', async () => {
    const outside = join(brim.dataDir, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret.gcode'), 'G1 X1\n');
    await symlink(outside, join(gcodes, 'escape'));
    await symlink(join(outside, 'secret.gcode'), join(gcodes, 'secret-link.gcode'));
    const list = (await rpc('server.files.list')) as { path: string }[];
    expect(list.some((f) => f.path.includes('secret'))).toBe(false);
    const download = await http('/server/files/gcodes/escape/secret.gcode');
    expect(download.status).toBe(400);
    expect(download.body.error.message).toBe(
      "Invalid path 'gcodes/escape/secret.gcode': a symlink leads outside the gcodes root",
    );
    const viaUpload = await upload('planted.gcode', 'G1\n', { path: 'escape' });
    expect(viaUpload.status).toBe(400);
    expect(existsSync(join(outside, 'planted.gcode'))).toBe(false);
    const metadata = await client.call('server.files.metadata', { filename: 'secret-link.gcode' });
    expect(metadata.error?.code).toBe(400);
    expect(() => fileManager().resolveGcode('secret-link.gcode')).toThrow(
      /a symlink leads outside the gcodes root/,
    );
  });

  it('follows links that stay inside the root', async () => {
    await symlink(join(gcodes, 'cubes.gcode'), join(gcodes, 'alias.gcode'));
    const download = await http('/server/files/gcodes/alias.gcode');
    expect(download.status).toBe(200);
    expect((download.body as Buffer).length).toBe(PRUSA.length);
  });
});

describe('the file being printed', () => {
  beforeEach(() => fileManager().setActiveFile(null));
  afterAll(() => fileManager().setActiveFile(null));

  it('refuses to overwrite, delete or move it while it is active', async () => {
    await upload('active.gcode', PRUSA);
    fileManager().setActiveFile('active.gcode');
    const overwrite = await upload('active.gcode', CURA);
    expect(overwrite.status).toBe(403);
    expect(overwrite.body.error.message).toBe('File is loaded, upload not permitted: gcodes/active.gcode');
    expect(readFileSync(join(gcodes, 'active.gcode')).equals(PRUSA)).toBe(true);
    const del = await client.call('server.files.delete_file', { path: 'gcodes/active.gcode' });
    expect(del.error).toEqual({
      code: 403,
      message: 'File currently in use: gcodes/active.gcode is being printed',
    });
    const move = await client.call('server.files.move', {
      source: 'gcodes/active.gcode',
      dest: 'gcodes/x.gcode',
    });
    expect(move.error?.code).toBe(403);
    const over = await client.call('server.files.copy', {
      source: 'gcodes/cubes.gcode',
      dest: 'gcodes/active.gcode',
    });
    expect(over.error?.code).toBe(403);
    fileManager().setActiveFile(null);
    expect((await upload('active.gcode', CURA)).status).toBe(201);
  });

  it('refuses to delete or move a folder holding it', async () => {
    await upload('nested.gcode', 'G1\n', { path: 'busy' });
    fileManager().setActiveFile('busy/nested.gcode');
    const del = await client.call('server.files.delete_directory', { path: 'gcodes/busy', force: true });
    expect(del.error).toEqual({
      code: 403,
      message: 'File currently in use: gcodes/busy/nested.gcode is being printed',
    });
    const move = await client.call('server.files.move', { source: 'gcodes/busy', dest: 'gcodes/idle' });
    expect(move.error?.code).toBe(403);
    expect(existsSync(join(gcodes, 'busy', 'nested.gcode'))).toBe(true);
  });

  it('resolves a G-code path for the job runner, naming the path in errors', () => {
    expect(fileManager().resolveGcode('cubes.gcode')).toBe(join(gcodes, 'cubes.gcode'));
    expect(() => fileManager().resolveGcode('nope.gcode')).toThrow('File does not exist: gcodes/nope.gcode');
    expect(() => fileManager().resolveGcode('../x.gcode')).toThrow(
      "Invalid path '../x.gcode': '..' is not allowed",
    );
    expect(() => fileManager().resolveGcode('notes.txt')).toThrow(
      "Invalid file 'notes.txt': not a G-code file name",
    );
  });

  it('gives the job runner metadata with the layer index and objects', async () => {
    const stored = await fileManager().getMetadata('cubes.gcode');
    expect(stored).toMatchObject({ path: 'cubes.gcode', size: PRUSA.length, error: null });
    expect(stored!.layers.length).toBeGreaterThan(0);
    expect(stored!.objects.length).toBe(2);
    expect(stored!.analysis?.estimated_time).toBeGreaterThan(0);
    expect(await fileManager().getMetadata('nope.gcode')).toBeNull();
  });

  it('reports the last job in metadata once history records it', async () => {
    fileManager().recordJob('cubes.gcode', '00000A', 1_700_000_000.5);
    const metadata = await rpc('server.files.metadata', { filename: 'cubes.gcode' });
    expect(metadata).toMatchObject({ job_id: '00000A', print_start_time: 1_700_000_000.5 });
  });
});

describe('print after upload', () => {
  it('calls the job runner with the uploaded path when print is "true"', async () => {
    const requested: string[] = [];
    fileManager().onPrintRequested(async (path) => {
      requested.push(path);
      return { started: true, queued: false };
    });
    const reply = await upload('go.gcode', PRUSA, { print: 'true', path: 'jobs' });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ print_started: true, print_queued: false, action: 'create_file' });
    expect(requested).toEqual(['jobs/go.gcode']);
    const notPrinted = await upload('stay.gcode', PRUSA, { print: 'True' });
    expect(notPrinted.body.print_started).toBe(false);
    expect(requested).toEqual(['jobs/go.gcode']);
  });

  it('keeps the file and reports print_started false when the start fails', async () => {
    fileManager().onPrintRequested(async () => {
      throw new Error('printer busy');
    });
    const reply = await upload('busy.gcode', PRUSA, { print: 'true' });
    expect(reply.status).toBe(201);
    expect(reply.body).toMatchObject({ print_started: false, print_queued: false });
    expect(existsSync(join(gcodes, 'busy.gcode'))).toBe(true);
  });
});

describe('changes by other programs', () => {
  it('reports a file copied in, after its metadata is ready', async () => {
    const since = client.notifications.length;
    await writeFile(join(gcodes, 'scp.gcode'), PRUSA);
    const change = await waitForChange(since, (c) => c.item.path === 'scp.gcode');
    expect(change).toEqual({
      action: 'create_file',
      item: {
        root: 'gcodes',
        path: 'scp.gcode',
        modified: expect.any(Number),
        size: PRUSA.length,
        permissions: 'rw',
      },
    });
    const metadata = await client.call('server.files.metadata', { filename: 'scp.gcode' });
    expect((metadata.result as { slicer: string }).slicer).toBe('PrusaSlicer');
    expect((await changesSince(since)).filter((c) => c.item.path === 'scp.gcode')).toHaveLength(1);
  });

  it('reports a change, a rename and a delete', async () => {
    let since = client.notifications.length;
    await appendFile(join(gcodes, 'scp.gcode'), 'G1 X1\n');
    expect(await waitForChange(since, (c) => c.item.path === 'scp.gcode')).toMatchObject({
      action: 'modify_file',
      item: { size: PRUSA.length + 6 },
    });
    since = client.notifications.length;
    await rename(join(gcodes, 'scp.gcode'), join(gcodes, 'scp-renamed.gcode'));
    expect(await waitForChange(since, (c) => c.item.path === 'scp-renamed.gcode')).toEqual({
      action: 'move_file',
      item: expect.objectContaining({ root: 'gcodes', path: 'scp-renamed.gcode' }),
      source_item: { root: 'gcodes', path: 'scp.gcode' },
    });
    expect((await rpc('server.files.metadata', { filename: 'scp-renamed.gcode' })).slicer).toBe(
      'PrusaSlicer',
    );
    since = client.notifications.length;
    await rm(join(gcodes, 'scp-renamed.gcode'));
    expect(await waitForChange(since, (c) => c.item.path === 'scp-renamed.gcode')).toEqual({
      action: 'delete_file',
      item: { root: 'gcodes', path: 'scp-renamed.gcode', modified: 0, size: 0, permissions: '' },
    });
  });

  it('reports folders made and removed, and files in the config root', async () => {
    const since = client.notifications.length;
    await mkdir(join(gcodes, 'usb'));
    await waitForChange(since, (c) => c.action === 'create_dir' && c.item.path === 'usb');
    await writeFile(join(gcodes, 'usb', 'a.gcode'), 'G1 X1\n');
    await waitForChange(since, (c) => c.action === 'create_file' && c.item.path === 'usb/a.gcode');
    await rm(join(gcodes, 'usb'), { recursive: true });
    await waitForChange(since, (c) => c.action === 'delete_dir' && c.item.path === 'usb');
    await writeFile(join(config, 'macros.cfg'), '[gcode_macro X]\n');
    await waitForChange(since, (c) => c.item.root === 'config' && c.item.path === 'macros.cfg');
    const changes = (await changesSince(since)).map((c) => `${c.action} ${c.item.root}/${c.item.path}`);
    expect(changes).toEqual([
      'create_dir gcodes/usb',
      'create_file gcodes/usb/a.gcode',
      'delete_dir gcodes/usb',
      'create_file config/macros.cfg',
    ]);
  });
});

describe('analysis off the main loop', () => {
  it('keeps answering requests while a large file is analysed', async () => {
    const layer = (z: number) =>
      `;LAYER_CHANGE\n;Z:${z.toFixed(1)}\nG1 Z${z.toFixed(1)}\n${'G1 X10.123 Y20.456 E0.0321\nG1 X30.789 Y40.012 E0.0321\n'.repeat(2000)}`;
    const chunks: string[] = ['M83 ; relative E\n'];
    for (let i = 1; i <= 200; i++) chunks.push(layer(i * 0.2));
    await writeFile(join(gcodes, 'big.gcode'), chunks.join(''));
    let scanned = false;
    const scan = rpc('server.files.metascan', { filename: 'big.gcode' }).then((m) => {
      scanned = true;
      return m;
    });
    let answeredWhileScanning = 0;
    while (!scanned) {
      await rpc('server.info');
      if (!scanned) answeredWhileScanning++;
    }
    const metadata = await scan;
    expect(metadata.layer_count).toBe(200);
    expect(answeredWhileScanning).toBeGreaterThan(0);
  });
});

/** Mounting a tiny tmpfs needs root (CI containers have it); elsewhere the full-disk test is skipped. */
function canMountTmpfs(): boolean {
  const probe = tempDataDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

describe.skipIf(!canMountTmpfs())('a full disk', () => {
  let small: TestDaemon;
  let dataDir: string;
  let smallGcodes: string;

  beforeAll(async () => {
    dataDir = tempDataDir();
    smallGcodes = join(dataDir, 'gcodes');
    mkdirSync(smallGcodes);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', smallGcodes]);
    small = await startTestDaemon({ dataDir, components: [fileManagerComponent] });
  });

  afterAll(async () => {
    await small?.stop({ keepData: true });
    execFileSync('umount', [smallGcodes]);
    rmSync(dataDir, { recursive: true, force: true });
  });

  function uploadTo(filename: string, content: string) {
    const form = new FormData();
    form.append('file', new Blob([content]), filename);
    return fetch(`${small.url}/server/files/upload`, { method: 'POST', body: form });
  }

  it('refuses an upload that does not fit and keeps the existing file', async () => {
    const original = 'G1 X1\n'.repeat(1000);
    expect((await uploadTo('keep.gcode', original)).status).toBe(201);
    const tooBig = 'G1 X2\n'.repeat(100_000);
    const reply = await uploadTo('keep.gcode', tooBig);
    expect(reply.status).toBe(507);
    expect(((await reply.json()) as { error: { message: string } }).error.message).toBe(
      "Upload of 'keep.gcode' refused: no space left on the device; nothing was stored and existing files are unchanged",
    );
    expect(await readFile(join(smallGcodes, 'keep.gcode'), 'utf8')).toBe(original);
    expect(leftovers(smallGcodes)).toEqual([]);
    const fresh = await uploadTo('new.gcode', tooBig);
    expect(fresh.status).toBe(507);
    expect(existsSync(join(smallGcodes, 'new.gcode'))).toBe(false);
    expect((await fetch(`${small.url}/server/info`)).status).toBe(200);
  });
});

describe('UFP packages', () => {
  it('stores the G-code inside a .ufp as .gcode, with the package thumbnail', async () => {
    const gcode = Buffer.from(';FLAVOR:Marlin\nM83\nG1 Z0.2\nG1 X10 Y10 E1\nG1 Z0.4\nG1 X20 E1\n');
    const rgba = new Uint8Array(64 * 64 * 4).fill(200);
    const png = Buffer.from(encodePng(64, 64, rgba, (raw) => deflateSync(raw)));
    const pkg = zip([
      { name: '3D/model.gcode', data: gcode, deflate: true },
      { name: 'Metadata/thumbnail.png', data: png },
    ]);
    const since = client.notifications.length;
    const reply = await upload('pkg.ufp', pkg);
    expect(reply.status).toBe(201);
    expect(reply.body.item).toMatchObject({ path: 'pkg.gcode', size: gcode.length });
    expect(readFileSync(join(gcodes, 'pkg.gcode')).equals(gcode)).toBe(true);
    expect(existsSync(join(gcodes, 'pkg.ufp'))).toBe(false);
    const metadata = await rpc('server.files.metadata', { filename: 'pkg.gcode' });
    expect(metadata.thumbnails).toEqual([
      { width: 64, height: 64, size: png.length, relative_path: '.thumbs/pkg.png' },
      { width: 32, height: 32, size: expect.any(Number), relative_path: '.thumbs/pkg-32x32.png' },
    ]);
    expect(metadata.layer_count).toBe(2);
    expect(gcodeChanges(await changesSince(since)).map((c) => [c.action, c.item.path])).toEqual([
      ['create_file', 'pkg.gcode'],
    ]);
    expect(leftovers(gcodes)).toEqual([]);
  });

  it('refuses a .ufp that is not a package, storing nothing', async () => {
    const reply = await upload('broken.ufp', 'G1 X1\n');
    expect(reply.status).toBe(400);
    expect(reply.body.error.message).toBe(
      'Upload refused: gcodes/broken.ufp is not a readable UFP package (not a zip archive (no end of central directory))',
    );
    expect(existsSync(join(gcodes, 'broken.gcode'))).toBe(false);
    expect(leftovers(gcodes)).toEqual([]);
  });
});

describe('after a crash', () => {
  it('finds the old file whole and removes the half-written temporary file', async () => {
    const dataDir = tempDataDir();
    mkdirSync(join(dataDir, 'gcodes', '.thumbs'), { recursive: true });
    await writeFile(join(dataDir, 'gcodes', 'part.gcode'), 'G1 X1\n');
    // What a power cut during an upload of part.gcode leaves: the temporary file beside the old one.
    await writeFile(join(dataDir, 'gcodes', '.brim-tmp-0123456789ab-part.gcode'), 'G1 X2\nG1 X');
    await writeFile(join(dataDir, 'gcodes', '.thumbs', '.brim-tmp-ba9876543210-part-32x32.png'), 'x');
    const again = await startTestDaemon({ dataDir, components: [fileManagerComponent] });
    try {
      expect(await readFile(join(dataDir, 'gcodes', 'part.gcode'), 'utf8')).toBe('G1 X1\n');
      expect(leftovers(join(dataDir, 'gcodes'))).toEqual([]);
      const list = (await (await fetch(`${again.url}/server/files/list`)).json()) as {
        result: { path: string }[];
      };
      expect(list.result.map((f) => f.path)).toEqual(['part.gcode']);
    } finally {
      await again.stop();
    }
  });
});
