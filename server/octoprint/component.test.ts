// The component against stand-ins for the printer, the file manager, webcams and a job runner, so every
// branch (busy, queue, no runner, failed start) is reached without a real print.
import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type FormPart, HttpReply, type RequestContext } from '../api/registry.ts';
import type { Webcams } from '../camera/webcams.ts';
import { ManualClock } from '../core/clock.ts';
import { type ComponentDefinition, defineComponent } from '../core/component.ts';
import { ApiError, errors } from '../core/errors.ts';
import { Kernel } from '../core/host.ts';
import { dataPaths } from '../core/paths.ts';
import type { FileManager, UploadOptions } from '../jobs/files/file-manager.ts';
import type { Printer } from '../printer/printer.ts';
import { octoprintCompatComponent } from './component.ts';

interface World {
  webhooks: string;
  printState: string;
  filename: string;
  files: Set<string>;
  started: string[];
  queued: unknown[];
  runnerCalls: string[];
  scripts: string[];
  startError: ApiError | null;
  uploads: { fields: Record<string, string>; filename: string; options: UploadOptions }[];
  uploadError: ApiError | null;
}

let kernel: Kernel | null = null;

afterEach(async () => {
  await kernel?.stop();
  kernel = null;
});

async function setup(
  options: { runner?: boolean; queue?: boolean; config?: Record<string, unknown> } = {},
): Promise<{ world: World; call: (verb: 'GET' | 'POST', path: string, args?: object) => Promise<unknown> }> {
  const world: World = {
    webhooks: 'ready',
    printState: 'standby',
    filename: '',
    files: new Set(['a.gcode', 'sub/b.gcode']),
    started: [],
    queued: [],
    runnerCalls: [],
    scripts: [],
    startError: null,
    uploads: [],
    uploadError: null,
  };
  const printer = defineComponent({
    name: 'printer',
    create(host) {
      host.status.register('heaters', { status: () => ({ available_heaters: ['extruder', 'heater_bed'] }) });
      host.status.register('extruder', { status: () => ({ temperature: 21.456, target: 0 }) });
      host.status.register('heater_bed', { status: () => ({ temperature: 20, target: 0 }) });
      return {
        webhooksState: () => world.webhooks,
        runScript: async (script: string) => {
          world.scripts.push(`start ${script}`);
          await new Promise((r) => setTimeout(r, 20));
          world.scripts.push(`end ${script}`);
          if (script === 'BAD') throw errors.badRequest('Unknown command: "BAD"');
        },
      } as unknown as Printer;
    },
  });
  const fileManager = defineComponent({
    name: 'file_manager',
    create() {
      return {
        resolveGcode: (path: string) => {
          if (path.includes('..')) throw errors.badRequest(`Invalid file '${path}'`);
          if (!world.files.has(path)) throw errors.notFound(`File does not exist: gcodes/${path}`);
          return `/data/gcodes/${path}`;
        },
        getMetadata: async (path: string) =>
          world.files.has(path)
            ? { path, size: 10, modified: 1, metadata: { estimated_time: 60 }, analysis: null }
            : null,
        upload: async (form: AsyncIterable<FormPart>, uploadOptions: UploadOptions) => {
          const fields: Record<string, string> = {};
          let filename = '';
          for await (const part of form) {
            if (part.kind === 'field') fields[part.name] = part.value;
            else {
              filename = part.filename;
              for await (const _ of part.stream) {
                // drained
              }
            }
          }
          world.uploads.push({ fields, filename, options: uploadOptions });
          if (world.uploadError) throw world.uploadError;
          const path = fields.path ? `${fields.path}/${filename}` : filename;
          world.files.add(path);
          return {
            item: { root: 'gcodes', path, modified: 1, size: 4, permissions: 'rw' },
            print_started: fields.print === 'true',
            print_queued: false,
            action: 'create_file',
            location: `${uploadOptions.origin}${uploadOptions.locationPrefix}/gcodes/${path}`,
          };
        },
      } as unknown as FileManager;
    },
  });
  const webcam = defineComponent({
    name: 'webcam',
    create: () => ({ list: () => [] }) as unknown as Webcams,
  });
  const runner = defineComponent({
    name: 'fake_runner',
    create(host) {
      host.status.register('print_stats', {
        status: () => ({
          filename: world.filename,
          state: world.printState,
          total_duration: 10,
          print_duration: 5,
        }),
      });
      host.status.register('virtual_sdcard', { status: () => ({ progress: 0.5, file_position: 5 }) });
      host.api.register({
        path: '/printer/print/start',
        verbs: ['POST'],
        role: 'operator',
        params: Type.Object({ filename: Type.String() }),
        handler: ({ filename }) => {
          if (world.startError) throw world.startError;
          if (world.printState === 'printing') throw errors.badRequest('already printing');
          world.started.push(filename);
          world.filename = filename;
          world.printState = 'printing';
          return 'ok';
        },
      });
      for (const [name, from, to] of [
        ['pause', 'printing', 'paused'],
        ['resume', 'paused', 'printing'],
        ['cancel', null, 'cancelled'],
      ] as const) {
        host.api.register({
          path: `/printer/print/${name}`,
          verbs: ['POST'],
          role: 'operator',
          handler: () => {
            if (from && world.printState !== from) throw errors.badRequest(`Cannot ${name}`);
            world.runnerCalls.push(name);
            world.printState = to;
            return 'ok';
          },
        });
      }
      return {};
    },
  });
  const queue = defineComponent({
    name: 'job_queue',
    create(host) {
      host.api.register({
        path: '/server/job_queue/job',
        verbs: ['POST', 'DELETE'],
        role: 'operator',
        handler: (args) => {
          world.queued.push(args);
          return { queued_jobs: [] };
        },
      });
      return {};
    },
  });
  const definitions = [printer, fileManager, webcam, octoprintCompatComponent] as ComponentDefinition[];
  if (options.runner !== false) definitions.push(runner as ComponentDefinition);
  if (options.queue) definitions.push(queue as ComponentDefinition);
  kernel = new Kernel({
    definitions,
    config: { file: null, raw: { octoprint_compat: options.config ?? {} } },
    paths: dataPaths('/nonexistent'),
    clock: new ManualClock(),
    log: pino({ level: 'silent' }),
  });
  await kernel.start();
  const api = kernel.api;
  const call = async (verb: 'GET' | 'POST', path: string, args: object = {}) => {
    const endpoint = api.all().find((e) => e.path === path && e.verb === verb);
    if (!endpoint) throw new Error(`no ${verb} ${path}`);
    const context: RequestContext = {
      transport: 'http',
      verb,
      connection: null,
      remoteAddress: '192.168.1.20',
      origin: 'http://brim.local:7125',
      identity: { username: '_api_key', role: 'admin', source: 'api_key' },
    };
    if ('form' in args) context.form = (args as { form: AsyncIterable<FormPart> }).form;
    return endpoint.call(args as Record<string, unknown>, context);
  };
  return { world, call };
}

const SELECT = '/api/files/moonraker/:root/*';

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    const result = await promise;
    return result instanceof HttpReply ? result.status : 200;
  } catch (error) {
    if (error instanceof ApiError) return error.status;
    throw error;
  }
}

async function failure(promise: Promise<unknown>): Promise<{ status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, message: error.message };
    throw error;
  }
  throw new Error('expected an error');
}

async function* form(parts: (FormPart | { file: string; content: string })[]): AsyncGenerator<FormPart> {
  for (const part of parts) {
    if ('file' in part) {
      yield {
        kind: 'file',
        name: 'file',
        filename: part.file,
        stream: Readable.from([Buffer.from(part.content)]),
      };
    } else yield part;
  }
}

const field = (name: string, value: string): FormPart => ({ kind: 'field', name, value });

describe('select at the Location URL', () => {
  it('starts the print when the printer is free, and answers 204 with no body', async () => {
    const { world, call } = await setup();
    const reply = await call('POST', SELECT, {
      root: 'gcodes',
      '*': 'sub/b.gcode',
      command: 'select',
      print: true,
    });
    expect(reply).toBeInstanceOf(HttpReply);
    expect(reply).toMatchObject({ status: 204, body: undefined });
    expect(world.started).toEqual(['sub/b.gcode']);
  });

  it('accepts print as a form string, and the OctoPrint URL of the file too', async () => {
    const { world, call } = await setup();
    expect(
      await status(call('POST', '/api/files/local/*', { '*': 'a.gcode', command: 'select', print: 'true' })),
    ).toBe(204);
    expect(world.started).toEqual(['a.gcode']);
  });

  it('answers 409 Conflict while printing or paused, and starts nothing', async () => {
    const { world, call } = await setup({ queue: true });
    for (const busy of ['printing', 'paused']) {
      world.printState = busy;
      expect(
        await failure(
          call('POST', SELECT, { root: 'gcodes', '*': 'a.gcode', command: 'select', print: true }),
        ),
      ).toEqual({ status: 409, message: 'Conflict' });
    }
    expect(world.started).toEqual([]);
    expect(world.queued).toEqual([]);
  });

  it('queues the file instead when queue_when_busy is set and a job queue runs', async () => {
    const { world, call } = await setup({ queue: true, config: { queue_when_busy: true } });
    world.printState = 'printing';
    expect(
      await status(call('POST', SELECT, { root: 'gcodes', '*': 'a.gcode', command: 'select', print: true })),
    ).toBe(204);
    expect(world.queued).toEqual([{ filenames: ['a.gcode'] }]);
  });

  it('still answers 409 with queue_when_busy when there is no job queue', async () => {
    const { world, call } = await setup({ config: { queue_when_busy: true } });
    world.printState = 'printing';
    expect(
      await status(call('POST', SELECT, { root: 'gcodes', '*': 'a.gcode', command: 'select', print: true })),
    ).toBe(409);
  });

  it('says why a start failed, and that printing needs a job runner', async () => {
    const { world, call } = await setup();
    world.startError = errors.badRequest('Printer not ready (connecting)');
    expect(
      await failure(call('POST', SELECT, { root: 'gcodes', '*': 'a.gcode', command: 'select', print: true })),
    ).toEqual({ status: 409, message: 'Conflict: Printer not ready (connecting)' });
    await kernel?.stop();
    const bare = await setup({ runner: false });
    expect(
      await failure(
        bare.call('POST', SELECT, { root: 'gcodes', '*': 'a.gcode', command: 'select', print: true }),
      ),
    ).toEqual({ status: 409, message: 'Conflict: no job runner is installed' });
  });

  it('refuses missing files, other roots, bad paths and other commands before touching the printer', async () => {
    const { world, call } = await setup();
    const select = (root: string, path: string, command = 'select') =>
      failure(call('POST', SELECT, { root, '*': path, command, print: true }));
    expect(await select('gcodes', 'nope.gcode')).toEqual({
      status: 404,
      message: 'File does not exist: gcodes/nope.gcode',
    });
    expect(await select('config', 'a.gcode')).toEqual({
      status: 400,
      message: "File must be located in the 'gcodes' root",
    });
    expect((await select('gcodes', '../../etc/passwd')).status).toBe(400);
    expect(await select('gcodes', 'a.gcode', 'copy')).toEqual({
      status: 400,
      message: 'Unsupported Command: copy',
    });
    expect(world.started).toEqual([]);
  });
});

describe('selection and job commands', () => {
  it('remembers a select without print, shows it in /api/job and prints it on start', async () => {
    const { world, call } = await setup();
    expect(
      await status(call('POST', SELECT, { root: 'gcodes', '*': 'sub/b.gcode', command: 'select' })),
    ).toBe(204);
    expect(world.started).toEqual([]);
    const job = (await call('GET', '/api/job')) as { job: { file: { name: string } }; state: string };
    expect(job.job.file.name).toBe('b.gcode');
    expect(job.state).toBe('Operational');
    expect(await status(call('POST', '/api/job', { command: 'start' }))).toBe(204);
    expect(world.started).toEqual(['sub/b.gcode']);
    expect(await failure(call('POST', '/api/job', { command: 'start' }))).toEqual({
      status: 409,
      message: 'Conflict',
    });
  });

  it('keeps the selection over an older job, and gives way to a job started elsewhere', async () => {
    const { world, call } = await setup();
    world.filename = 'a.gcode';
    world.printState = 'complete';
    await call('POST', SELECT, { root: 'gcodes', '*': 'sub/b.gcode', command: 'select' });
    const name = async () =>
      ((await call('GET', '/api/job')) as { job: { file: { path: string } } }).job.file.path;
    expect(await name()).toBe('sub/b.gcode');
    expect(await name()).toBe('sub/b.gcode');
    world.filename = 'c.gcode';
    world.printState = 'complete';
    expect(await name()).toBe('c.gcode');
    expect(kernel!.instance('octoprint_compat').selectedFile()).toBeNull();
  });

  it('forgets the selection when the file is deleted or moved away', async () => {
    const { call } = await setup();
    await call('POST', SELECT, { root: 'gcodes', '*': 'sub/b.gcode', command: 'select' });
    kernel!.bus.emit('file_manager:filelist_changed', {
      action: 'delete_dir',
      item: { root: 'gcodes', path: 'sub', modified: 0, size: 0, permissions: '' },
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(kernel!.instance('octoprint_compat').selectedFile()).toBeNull();
    expect(await failure(call('POST', '/api/job', { command: 'start' }))).toEqual({
      status: 409,
      message: 'No file is selected',
    });
  });

  it('maps pause, resume and toggle onto the runner, and refuses them without a job', async () => {
    const { world, call } = await setup();
    expect(await failure(call('POST', '/api/job', { command: 'pause' }))).toEqual({
      status: 409,
      message: 'No job is running',
    });
    world.printState = 'printing';
    world.filename = 'a.gcode';
    await call('POST', '/api/job', { command: 'pause', action: 'resume' });
    expect(world.runnerCalls).toEqual([]);
    await call('POST', '/api/job', { command: 'pause' });
    expect(world.printState).toBe('paused');
    await call('POST', '/api/job', { command: 'pause', action: 'pause' });
    await call('POST', '/api/job', { command: 'pause' });
    expect(world.runnerCalls).toEqual(['pause', 'resume']);
    expect(await status(call('POST', '/api/job', { command: 'pause', action: 'sideways' }))).toBe(400);
    expect(await status(call('POST', '/api/job', { command: 'cancel' }))).toBe(204);
    expect(world.runnerCalls).toEqual(['pause', 'resume', 'cancel']);
    expect(await failure(call('POST', '/api/job', { command: 'restart' }))).toEqual({
      status: 400,
      message: 'Unsupported Command: restart',
    });
  });

  it('reports the running job from print_stats and virtual_sdcard', async () => {
    const { world, call } = await setup();
    world.printState = 'printing';
    world.filename = 'a.gcode';
    expect(await call('GET', '/api/job')).toMatchObject({
      job: { file: { name: 'a.gcode', size: 10 }, estimatedPrintTime: 60 },
      progress: {
        completion: 50,
        filepos: 5,
        printTime: 10,
        printTimeLeft: 55,
        printTimeLeftOrigin: 'analysis',
      },
      state: 'Printing',
    });
  });
});

describe('uploads', () => {
  it('keeps them in gcodes, normalises print, notes select and points Location at the select route', async () => {
    const { world, call } = await setup();
    const reply = (await call('POST', '/api/files/local', {
      form: form([
        field('root', 'config'),
        field('path', 'cura'),
        field('select', 'yes'),
        { file: 'x.gcode', content: 'G28\n' },
      ]),
    })) as HttpReply;
    expect(world.uploads[0]).toEqual({
      fields: { path: 'cura', select: 'yes' },
      filename: 'x.gcode',
      options: { origin: 'http://brim.local:7125', locationPrefix: '/api/files/moonraker' },
    });
    expect(reply.status).toBe(201);
    expect(reply.headers).toEqual({
      location: 'http://brim.local:7125/api/files/moonraker/gcodes/cura/x.gcode',
    });
    expect(reply.body).toMatchObject({ effectiveSelect: true, effectivePrint: false, done: true });
    expect(kernel!.instance('octoprint_compat').selectedFile()).toBe('cura/x.gcode');

    await call('POST', '/api/files/local', {
      form: form([field('print', 'Yes'), { file: 'y.gcode', content: 'G28\n' }]),
    });
    expect(world.uploads[1]!.fields).toEqual({ print: 'true' });
    await call('POST', '/api/files/local', {
      form: form([field('print', 'nope'), { file: 'z.gcode', content: 'G28\n' }]),
    });
    expect(world.uploads[2]!.fields).toEqual({ print: 'false' });
  });

  it("answers the file manager's refusal as plain text, with its status", async () => {
    const { world, call } = await setup();
    world.uploadError = errors.badRequest(
      'Upload refused: gcodes/x.gcode is not G-code (a NUL byte at offset 3)',
    );
    const reply = (await call('POST', '/api/files/local', {
      form: form([{ file: 'x.gcode', content: 'x' }]),
    })) as HttpReply;
    expect(reply).toMatchObject({
      status: 400,
      body: 'Upload refused: gcodes/x.gcode is not G-code (a NUL byte at offset 3)',
      headers: { 'content-type': 'text/plain' },
    });
    expect(await failure(call('POST', '/api/files/local'))).toEqual({
      status: 400,
      message: 'An upload must be a multipart/form-data body',
    });
  });
});

describe('printer', () => {
  it('reports Offline and safemode while the link connects, Operational once ready', async () => {
    const { world, call } = await setup();
    world.webhooks = 'startup';
    expect(await call('GET', '/api/server')).toEqual({ server: '1.5.0', safemode: 'settings' });
    expect(await call('GET', '/api/printer')).toMatchObject({
      state: { text: 'Offline', flags: { operational: false, closedOrError: true } },
      temperature: {
        tool0: { actual: 21.46, target: 0, offset: 0 },
        bed: { actual: 20, target: 0, offset: 0 },
      },
    });
    world.webhooks = 'ready';
    expect(await call('GET', '/api/server')).toEqual({ server: '1.5.0', safemode: null });
    expect(((await call('GET', '/api/printer')) as { state: { text: string } }).state.text).toBe(
      'Operational',
    );
  });

  it('runs /api/printer/command lines in order without waiting for them, and survives a failing one', async () => {
    const { world, call } = await setup();
    expect(await status(call('POST', '/api/printer/command', { commands: ['M104 S200', 'BAD'] }))).toBe(204);
    expect(await status(call('POST', '/api/printer/command', { command: 'G28' }))).toBe(204);
    expect(world.scripts).toEqual(['start M104 S200']);
    await new Promise((r) => setTimeout(r, 150));
    expect(world.scripts).toEqual([
      'start M104 S200',
      'end M104 S200',
      'start BAD',
      'end BAD',
      'start G28',
      'end G28',
    ]);
    expect(await failure(call('POST', '/api/printer/command', {}))).toEqual({
      status: 400,
      message: 'No commands given',
    });
    world.webhooks = 'shutdown';
    expect(await failure(call('POST', '/api/printer/command', { command: 'G28' }))).toEqual({
      status: 409,
      message: 'Printer is not operational',
    });
  });

  it('declares operator for everything that changes something, viewer for the rest', async () => {
    await setup();
    const roles = Object.fromEntries(
      kernel!.api
        .all()
        .filter((e) => e.path.startsWith('/api/'))
        .map((e) => [`${e.verb} ${e.path}`, e.role]),
    );
    expect(roles).toEqual({
      'GET /api/version': 'viewer',
      'GET /api/server': 'viewer',
      'POST /api/login': 'viewer',
      'GET /api/currentuser': 'viewer',
      'GET /api/settings': 'viewer',
      'GET /api/printerprofiles': 'viewer',
      'GET /api/printer': 'viewer',
      'POST /api/printer/command': 'operator',
      'GET /api/job': 'viewer',
      'POST /api/job': 'operator',
      'POST /api/files/local': 'operator',
      'POST /api/files/moonraker/:root/*': 'operator',
      'POST /api/files/local/*': 'operator',
    });
    expect(kernel!.api.all().filter((e) => e.path.startsWith('/api/') && e.rpcMethod !== null)).toEqual([]);
    expect(kernel!.runtime.advertised()).toContain('octoprint_compat');
  });
});
