// The `octoprint_compat` component: the part of OctoPrint's REST API that slicers use to send a file
// to a printer (PrusaSlicer, SuperSlicer, OrcaSlicer "OctoPrint" host type, Cura's OctoPrint plugin).
import { type Static, Type } from '@sinclair/typebox';
import { type FormPart, HttpReply, type RequestContext } from '../api/registry.ts';
import { MOONRAKER_VERSION } from '../api/server-endpoints.ts';
import { type ComponentInstance, defineComponent } from '../core/component.ts';
import { ApiError, errors } from '../core/errors.ts';
import {
  isTruthy,
  jobReply,
  printerProfilesReply,
  printerReply,
  printerState,
  settingsReply,
  temperatures,
  userReply,
  versionReply,
} from './replies.ts';

export const octoprintCompatConfig = Type.Object({
  queue_when_busy: Type.Boolean({
    default: false,
    description:
      'When an OctoPrint client asks to print a file that cannot start now (a print runs, the printer is not ready), add it to the job queue instead of answering 409 Conflict.',
  }),
  enable_ufp: Type.Boolean({
    default: true,
    description:
      "Tell Cura's OctoPrint plugin that .ufp uploads are understood, so it sends the G-code with its thumbnail.",
  }),
});

export type OctoprintCompatConfig = Static<typeof octoprintCompatConfig>;

export interface OctoprintCompat extends ComponentInstance {
  /** The file an OctoPrint client selected without printing it (gcodes-relative), or null. */
  selectedFile(): string | null;
}

declare module '../core/component.ts' {
  interface ComponentMap {
    octoprint_compat: OctoprintCompat;
  }
}

/** Where the upload's Location header points; a `select` command POSTed there starts the print. */
export const LOCATION_PREFIX = '/api/files/moonraker';

const HTTP_ONLY = { transports: ['http'] as const, unwrapped: true };
const NO_CONTENT = () => new HttpReply(204, undefined);

export const octoprintCompatComponent = defineComponent({
  name: 'octoprint_compat',
  needs: ['printer', 'file_manager', 'webcam'],
  advertiseAs: 'octoprint_compat',
  config: octoprintCompatConfig,
  create(host): OctoprintCompat {
    const printer = host.lookup('printer');
    const files = host.lookup('file_manager');
    const webcams = host.lookup('webcam');
    const api = host.api;
    let selected: string | null = null;
    /** print_stats.filename at the last look: a job started from elsewhere replaces the selection. */
    let lastJobFile = '';
    /** /api/printer/command lines run in order, without holding the reply while a heater warms up. */
    let commandChain: Promise<void> = Promise.resolve();

    const printStats = () => host.status.get('print_stats');
    const jobFileNow = () => {
      const name = printStats()?.filename;
      return typeof name === 'string' ? name : '';
    };
    /** Selecting notes which job print_stats shows now, so only a later job replaces the selection. */
    const choose = (path: string) => {
      selected = path;
      lastJobFile = jobFileNow();
    };
    const state = () => printerState(printer.webhooksState(), printStats()?.state as string | undefined);
    const heaters = (): string[] => {
      const list = host.status.get('heaters')?.available_heaters;
      return Array.isArray(list) ? list.map(String) : [];
    };

    host.bus.on('file_manager:filelist_changed', host.name, ({ action, item, source_item }) => {
      if (selected === null || item.root !== 'gcodes') return;
      const gone = action === 'move_file' || action === 'move_dir' ? source_item?.path : item.path;
      if (action.startsWith('delete') || action.startsWith('move')) {
        if (gone !== undefined && (gone === selected || selected.startsWith(`${gone}/`))) selected = null;
      }
    });

    /** Starts a print through the job runner now, or says with 409 why it cannot. */
    const startNow = async (path: string, context: RequestContext): Promise<void> => {
      const start = api.method('printer.print.start');
      if (!start) throw errors.conflict('Conflict: no job runner is installed');
      const current = printStats()?.state;
      if (current === 'printing' || current === 'paused') throw errors.conflict('Conflict');
      try {
        await start.call({ filename: path }, context);
      } catch (error) {
        if (error instanceof ApiError && error.status < 500)
          throw errors.conflict(`Conflict: ${error.message}`);
        throw error;
      }
      selected = null;
    };

    /** Moonraker's rule: a print that cannot start is queued when configured so, else refused with 409. */
    const printOrQueue = async (path: string, context: RequestContext): Promise<void> => {
      try {
        await startNow(path, context);
      } catch (error) {
        const queue = host.config.queue_when_busy ? api.method('server.job_queue.post_job') : undefined;
        if (!queue || !(error instanceof ApiError) || error.status !== 409) throw error;
        await queue.call({ filenames: [path] }, context);
        host.log.info({ path, reason: error.message }, 'OctoPrint select-and-print queued the file');
      }
    };

    const select = async (path: string, print: boolean, context: RequestContext) => {
      files.resolveGcode(path);
      if (print) await printOrQueue(path, context);
      else choose(path);
      return NO_CONTENT();
    };

    api.register({
      path: '/api/version',
      verbs: ['GET'],
      role: 'viewer',
      ...HTTP_ONLY,
      description: 'OctoPrint: server and API version; the slicers check `api` and the "OctoPrint" text',
      handler: () => versionReply(MOONRAKER_VERSION),
    });

    api.register({
      path: '/api/server',
      verbs: ['GET'],
      role: 'viewer',
      ...HTTP_ONLY,
      description: 'OctoPrint: server version, and safemode "settings" while the printer is not ready',
      handler: () => ({
        server: versionReply(MOONRAKER_VERSION).server,
        safemode: printer.webhooksState() === 'ready' ? null : 'settings',
      }),
    });

    api.register({
      path: '/api/login',
      verbs: ['POST'],
      role: 'viewer',
      params: Type.Object({ passive: Type.Optional(Type.Unknown()) }),
      ...HTTP_ONLY,
      description: 'OctoPrint: the caller as a user (Cura sends {passive: true}); no session is opened',
      handler: (_args, context) => userReply(identityOf(context)),
    });

    api.register({
      path: '/api/currentuser',
      verbs: ['GET'],
      role: 'viewer',
      ...HTTP_ONLY,
      description: 'OctoPrint: the caller as a user',
      handler: (_args, context) => userReply(identityOf(context)),
    });

    api.register({
      path: '/api/settings',
      verbs: ['GET'],
      role: 'viewer',
      ...HTTP_ONLY,
      description: 'OctoPrint: features, plugins (UFP uploads) and the first webcam, as Cura reads them',
      handler: () => settingsReply(webcams.list(), host.config.enable_ufp),
    });

    api.register({
      path: '/api/printerprofiles',
      verbs: ['GET'],
      role: 'viewer',
      ...HTTP_ONLY,
      description: 'OctoPrint: one `_default` printer profile with the volume and heaters',
      handler: () => {
        const table = host.runtime.config().printer ?? {};
        const mcu = host.status.get('mcu')?.mcu_constants as Record<string, unknown> | undefined;
        const machine = typeof mcu?.MCU === 'string' && mcu.MCU !== 'marlin' ? mcu.MCU : '';
        return printerProfilesReply({
          heaters: heaters(),
          kinematics: String(table.kinematics ?? 'cartesian'),
          axisMinimum: numbers(table.axis_minimum, [0, 0, 0]),
          axisMaximum: numbers(table.axis_maximum, [220, 220, 250]),
          model: machine,
        });
      },
    });

    api.register({
      path: '/api/printer',
      verbs: ['GET'],
      role: 'viewer',
      params: Type.Object({ exclude: Type.Optional(Type.String()) }),
      ...HTTP_ONLY,
      description: 'OctoPrint: temperatures (tool0, bed) and the state text and flags',
      handler: ({ exclude }) => {
        const temps = temperatures(heaters(), (name) => host.status.get(name));
        return printerReply(
          state(),
          temps,
          (exclude ?? '').split(',').map((s) => s.trim()),
        );
      },
    });

    api.register({
      path: '/api/printer/command',
      verbs: ['POST'],
      role: 'operator',
      params: Type.Object({
        commands: Type.Optional(Type.Array(Type.String({ maxLength: 10_000 }), { maxItems: 1000 })),
        command: Type.Optional(Type.String({ maxLength: 10_000 })),
      }),
      ...HTTP_ONLY,
      description: 'OctoPrint: runs G-code lines (commands list or command); answers at once with 204',
      handler: ({ commands, command }) => {
        const lines = [...(commands ?? []), ...(command !== undefined ? [command] : [])];
        if (lines.length === 0) throw errors.badRequest('No commands given');
        if (printer.webhooksState() !== 'ready') throw errors.conflict('Printer is not operational');
        for (const line of lines) {
          commandChain = commandChain.then(() =>
            printer.runScript(line, 'api').catch((error: unknown) => {
              host.log.warn({ err: error, line }, 'OctoPrint command failed');
            }),
          );
        }
        return NO_CONTENT();
      },
    });

    api.register({
      path: '/api/job',
      verbs: ['GET'],
      role: 'viewer',
      ...HTTP_ONLY,
      description: 'OctoPrint: the current job (file, estimate) and its progress, as Cura polls it',
      handler: async () => {
        const stats = printStats();
        const now = state();
        const jobFile = jobFileNow();
        if (jobFile !== lastJobFile) {
          lastJobFile = jobFile;
          if (jobFile !== '') selected = null;
        }
        const active = now === 'Printing' || now === 'Paused';
        const file = active ? jobFile || null : (selected ?? (jobFile || null));
        const stored = file ? await files.getMetadata(file).catch(() => null) : null;
        const meta = stored?.metadata;
        return jobReply({
          state: now,
          printStats: stats,
          sdcard: host.status.get('virtual_sdcard'),
          file,
          facts: stored
            ? {
                size: stored.size,
                modified: stored.modified,
                estimated_time: meta?.estimated_time ?? stored.analysis?.estimated_time,
                filament_total: meta?.filament_total ?? stored.analysis?.filament_total,
              }
            : null,
        });
      },
    });

    api.register({
      path: '/api/job',
      verbs: ['POST'],
      role: 'operator',
      params: Type.Object({ command: Type.String(), action: Type.Optional(Type.String()) }),
      ...HTTP_ONLY,
      description:
        'OctoPrint: start the selected file, pause/resume (action pause, resume, toggle) or cancel',
      handler: async ({ command, action }, context) => {
        const current = String(printStats()?.state ?? '');
        const busy = current === 'printing' || current === 'paused';
        const run = async (method: string) => {
          const endpoint = api.method(method);
          if (!endpoint) throw errors.conflict('Conflict: no job runner is installed');
          try {
            await endpoint.call({}, context);
          } catch (error) {
            if (error instanceof ApiError && error.status === 400) throw errors.conflict(error.message);
            throw error;
          }
        };
        switch (command) {
          case 'start': {
            if (busy) throw errors.conflict('Conflict');
            if (!selected) throw errors.conflict('No file is selected');
            files.resolveGcode(selected);
            await startNow(selected, context);
            return NO_CONTENT();
          }
          case 'cancel':
            if (!busy) throw errors.conflict('No job is running');
            await run('printer.print.cancel');
            return NO_CONTENT();
          case 'pause': {
            const wanted = action ?? 'toggle';
            if (!['pause', 'resume', 'toggle'].includes(wanted))
              throw errors.badRequest(`Unknown pause action: ${wanted}`);
            if (!busy) throw errors.conflict('No job is running');
            if (current === 'printing' && wanted !== 'resume') await run('printer.print.pause');
            else if (current === 'paused' && wanted !== 'pause') await run('printer.print.resume');
            return NO_CONTENT();
          }
          default:
            throw errors.badRequest(`Unsupported Command: ${command}`);
        }
      },
    });

    api.register({
      path: '/api/files/local',
      verbs: ['POST'],
      role: 'operator',
      multipart: true,
      ...HTTP_ONLY,
      description:
        'OctoPrint upload to gcodes: file, path, print ("true"), select; 201 with a Location header for `select`',
      handler: async (_args, context) => {
        if (!context.form) throw errors.badRequest('An upload must be a multipart/form-data body');
        const seen = { select: false, print: false };
        const origin = context.origin ?? '';
        try {
          const { location, ...body } = await files.upload(octoprintForm(context.form, seen), {
            origin,
            locationPrefix: LOCATION_PREFIX,
          });
          if (seen.select && !seen.print) choose(body.item.path);
          const name = body.item.path.split('/').pop() ?? body.item.path;
          const encoded = body.item.path.split('/').map(encodeURIComponent).join('/');
          return new HttpReply(
            201,
            {
              ...body,
              done: true,
              files: {
                local: {
                  name,
                  path: body.item.path,
                  origin: 'local',
                  refs: { resource: location, download: `${origin}/server/files/gcodes/${encoded}` },
                },
              },
              effectiveSelect: (seen.select && !seen.print) || body.print_started,
              effectivePrint: body.print_started,
            },
            { location },
          );
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          // Cura's plugin shows an upload error's text only when it comes as text/plain.
          host.log.warn({ status: error.status }, `OctoPrint upload refused: ${error.message}`);
          return new HttpReply(error.status, error.message, { 'content-type': 'text/plain' });
        }
      },
    });

    const selectFields = {
      '*': Type.String(),
      command: Type.String(),
      print: Type.Optional(Type.Boolean()),
    };
    api.register({
      path: `${LOCATION_PREFIX}/:root/*`,
      verbs: ['POST'],
      role: 'operator',
      params: Type.Object({ root: Type.String(), ...selectFields }),
      ...HTTP_ONLY,
      description: 'OctoPrint: {command: "select", print: true} at an upload’s Location starts the print',
      handler: async ({ root, '*': path, command, print }, context) => {
        if (command !== 'select') throw errors.badRequest(`Unsupported Command: ${command}`);
        if (root !== 'gcodes') throw errors.badRequest("File must be located in the 'gcodes' root");
        return select(path, print ?? false, context);
      },
    });
    api.register({
      path: '/api/files/local/*',
      verbs: ['POST'],
      role: 'operator',
      params: Type.Object(selectFields),
      ...HTTP_ONLY,
      description: 'OctoPrint: {command: "select", print} on a file of the gcodes root, by its OctoPrint URL',
      handler: async ({ '*': path, command, print }, context) => {
        if (command !== 'select') throw errors.badRequest(`Unsupported Command: ${command}`);
        return select(path, print ?? false, context);
      },
    });

    return {
      selectedFile: () => selected,
    };
  },
});

function identityOf(context: RequestContext) {
  return (
    context.identity ?? { username: '_trusted_user', role: 'admin' as const, source: 'trusted' as const }
  );
}

function numbers(value: unknown, fallback: number[]): number[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'number') ? (value as number[]) : fallback;
}

/**
 * The upload form as the file manager reads it: OctoPrint's "local" storage is the gcodes root (a `root`
 * field is dropped), `print` accepts OctoPrint's truthy spellings, and `select` is noted on the way.
 */
async function* octoprintForm(
  form: AsyncIterable<FormPart>,
  seen: { select: boolean; print: boolean },
): AsyncGenerator<FormPart> {
  for await (const part of form) {
    if (part.kind === 'file') {
      yield part;
      continue;
    }
    if (part.name === 'root') continue;
    if (part.name === 'select') seen.select = isTruthy(part.value);
    if (part.name === 'print') {
      seen.print = isTruthy(part.value);
      yield { kind: 'field', name: 'print', value: seen.print ? 'true' : 'false' };
      continue;
    }
    yield part;
  }
}
