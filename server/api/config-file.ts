// The config file editor's endpoints: read the TOML file the daemon runs with, and save a new one only
// when start-up's own validator accepts it, written atomically with the previous file kept as a backup.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Type } from '@sinclair/typebox';
import { type ComponentInstance, defineComponent, type Host } from '../core/component.ts';
import { configTemplate } from '../core/config.ts';
import { ApiError, describeError } from '../core/errors.ts';
import { defaultConfigFile } from '../core/paths.ts';
import type { ConfigFileState, ConfigSaveResult } from './config-file-types.ts';

/** A config file is a few kilobytes; this only stops a runaway paste. */
export const MAX_CONFIG_BYTES = 1_048_576;

/** The file to edit; from the running daemon, never from a client. */
function targetFile(host: Host): string {
  return host.runtime.configFile() ?? defaultConfigFile(host.paths);
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ApiError(500, `Cannot read ${file}: ${describeError(error)}`);
  }
}

/**
 * Writes beside the file, flushes, copies the old one to `<file>.bak`, then renames over it: a crash
 * leaves either the old file or the new one, never half of one.
 */
function writeAtomically(file: string, text: string): string | null {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const previous = existsSync(file) ? statSync(file) : null;
  try {
    const fd = openSync(temporary, 'wx', previous ? previous.mode & 0o777 : 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const backup = previous ? `${file}.bak` : null;
    if (backup) copyFileSync(file, backup);
    renameSync(temporary, file);
    return backup;
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new ApiError(500, `Cannot write ${file}: ${describeError(error)}`);
  }
}

export const configFileComponent = defineComponent({
  name: 'config_file',
  create(host): ComponentInstance {
    const state = (): ConfigFileState => {
      const filename = targetFile(host);
      const inUse = host.runtime.configFile() !== null;
      const text = readText(filename);
      const running = inUse ? (host.runtime.configText() ?? '') : null;
      return {
        filename,
        in_use: inUse,
        exists: text !== null,
        text: text ?? '',
        template:
          text === null ? configTemplate(host.runtime.configSchemas(), host.runtime.optInTables()) : null,
        restart_pending: text !== running,
        can_restart: host.runtime.canRestart(),
      };
    };

    host.api.register({
      path: '/server/config/file',
      verbs: ['GET'],
      role: 'admin',
      description: 'The TOML config file the daemon reads at start-up, as it is on disk',
      handler: state,
    });

    host.api.register({
      path: '/server/config/save',
      verbs: ['POST'],
      role: 'admin',
      params: Type.Object({
        text: Type.String({ maxLength: MAX_CONFIG_BYTES }),
        dry_run: Type.Optional(Type.Boolean()),
      }),
      description:
        'Checks a new config file as start-up would; saves it (keeping <file>.bak) only when it is valid',
      handler: async ({ text, dry_run = false }): Promise<ConfigSaveResult> => {
        const filename = targetFile(host);
        const problems = await host.runtime.checkConfigText(text, filename);
        if (problems.length > 0) return { saved: false, filename, problems };
        if (dry_run)
          return { saved: true, filename, backup: null, dry_run, can_restart: host.runtime.canRestart() };
        await mkdir(dirname(filename), { recursive: true });
        const backup = writeAtomically(filename, text);
        host.log.info({ file: filename, backup }, 'config file saved');
        return { saved: true, filename, backup, dry_run, can_restart: host.runtime.canRestart() };
      },
    });
    return {};
  },
});
