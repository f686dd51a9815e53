// File roots and the one place request paths become disk paths, so nothing escapes a root.
import { realpathSync, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { dirname, extname, join, sep } from 'node:path';
import { ApiError, errors } from '../../core/errors.ts';

export type RootName = 'gcodes' | 'config' | 'logs';
export type Permissions = 'rw' | 'r' | '';

export interface Root {
  name: RootName;
  /** Absolute path of the folder on disk. */
  path: string;
  writable: boolean;
}

/** Only these appear in the gcodes root's server.files.list (Moonraker's VALID_GCODE_EXTS). */
export const GCODE_EXTENSIONS: readonly string[] = ['.gcode', '.g', '.gco', '.ufp', '.nc'];

/** Thumbnails live in `<gcode dir>/.thumbs`, as Moonraker writes them and Mainsail fetches them. */
export const THUMBS_DIR = '.thumbs';

/** Temporary files of atomic writes sit beside their target under this prefix; nobody else sees them. */
export const TEMP_PREFIX = '.brim-tmp-';

/** A folder name longer than this is refused by ext4 and most other file systems. */
const MAX_NAME_BYTES = 255;

export function isGcodeName(path: string): boolean {
  return GCODE_EXTENSIONS.includes(extname(path).toLowerCase());
}

export function isTempName(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** A path resolved against its root: `rel` uses `/` and never has `.`, `..` or empty parts. */
export interface ResolvedPath {
  root: Root;
  /** Relative to the root; '' is the root itself. */
  rel: string;
  abs: string;
}

export class Roots {
  private readonly byName: Map<string, Root>;
  private readonly realRoots = new Map<string, string>();

  constructor(readonly list: readonly Root[]) {
    this.byName = new Map(list.map((r) => [r.name, r]));
  }

  get(name: string): Root | undefined {
    return this.byName.get(name);
  }

  permissions(root: Root): Permissions {
    return root.writable ? 'rw' : 'r';
  }

  /** `gcodes/sub/a.gcode` (a leading `/` is allowed, as Moonraker allows it) → root and relative path. */
  parse(requestPath: string): ResolvedPath {
    checkCharacters(requestPath);
    const trimmed = requestPath.replace(/^\/+/, '');
    const slash = trimmed.indexOf('/');
    const rootName = slash < 0 ? trimmed : trimmed.slice(0, slash);
    const root = this.byName.get(rootName);
    if (!root) {
      throw errors.badRequest(
        `Invalid path '${requestPath}': '${rootName}' is not a root (roots: ${[...this.byName.keys()].join(', ')})`,
      );
    }
    // `gcodes//a` is `gcodes/a`: the part after the root is relative to it whatever its slashes.
    return this.within(root, slash < 0 ? '' : trimmed.slice(slash + 1).replace(/^\/+/, ''), requestPath);
  }

  /** A path relative to one root (`server.files.metadata` names files relative to gcodes). */
  within(root: Root, relative: string, shown = `${root.name}/${relative}`): ResolvedPath {
    checkCharacters(relative, shown);
    if (relative.startsWith('/')) {
      throw errors.badRequest(`Invalid path '${shown}': absolute paths are not allowed`);
    }
    const parts: string[] = [];
    for (const part of relative.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') throw errors.badRequest(`Invalid path '${shown}': '..' is not allowed`);
      if (Buffer.byteLength(part) > MAX_NAME_BYTES) {
        throw errors.badRequest(`Invalid path '${shown}': a name is longer than ${MAX_NAME_BYTES} bytes`);
      }
      if (isTempName(part)) {
        throw errors.badRequest(`Invalid path '${shown}': names starting with ${TEMP_PREFIX} are reserved`);
      }
      parts.push(part);
    }
    const rel = parts.join('/');
    return { root, rel, abs: rel === '' ? root.path : join(root.path, ...parts) };
  }

  /**
   * Refuses a path that a symlink leads out of its root. Checks the deepest part that exists, so
   * it also covers files about to be created inside a linked folder.
   */
  async ensureInside(target: ResolvedPath): Promise<void> {
    const realRoot = await this.realRoot(target.root);
    let probe = target.abs;
    for (;;) {
      try {
        const real = await realpath(probe);
        if (!isInside(real, realRoot)) throw escapes(target);
        return;
      } catch (error) {
        if (error instanceof ApiError) throw error;
        if (!isMissing(error) || probe === target.root.path) return;
        probe = dirname(probe);
      }
    }
  }

  /** The synchronous twin of ensureInside, for callers that cannot wait (the job runner's resolve). */
  ensureInsideSync(target: ResolvedPath): void {
    const realRoot = realpathSync(target.root.path);
    let probe = target.abs;
    for (;;) {
      try {
        if (!isInside(realpathSync(probe), realRoot)) throw escapes(target);
        return;
      } catch (error) {
        if (error instanceof ApiError) throw error;
        if (!isMissing(error) || probe === target.root.path) return;
        probe = dirname(probe);
      }
    }
  }

  /** Whether a symlink found while walking a folder points inside its root (others are skipped). */
  async linkStaysInside(root: Root, abs: string): Promise<boolean> {
    try {
      return isInside(await realpath(abs), await this.realRoot(root));
    } catch {
      return false;
    }
  }

  private async realRoot(root: Root): Promise<string> {
    let real = this.realRoots.get(root.name);
    if (!real) {
      real = await realpath(root.path);
      this.realRoots.set(root.name, real);
    }
    return real;
  }
}

/** Control characters (NUL and newlines included) and backslashes have no place in a file name. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: this is the control-character filter
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;

function checkCharacters(path: string, shown = path): void {
  const match = FORBIDDEN.exec(path);
  if (!match) return;
  const char = match[0];
  const name = char === '\u0000' ? 'NUL' : char === '\\' ? 'a backslash' : `control character 0x${hex(char)}`;
  throw errors.badRequest(`Invalid path '${printable(shown)}': it contains ${name}`);
}

function hex(char: string): string {
  return char.charCodeAt(0).toString(16).padStart(2, '0');
}

/** Shows a path in an error message without the control characters that made it invalid. */
export function printable(path: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: this is the control-character filter
  return path.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${hex(c)}`);
}

function isInside(real: string, realRoot: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
}

function escapes(target: ResolvedPath): ApiError {
  return errors.badRequest(
    `Invalid path '${target.root.name}/${target.rel}': a symlink leads outside the ${target.root.name} root`,
  );
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Whether a file exists as a regular file (following links), synchronously. */
export function isFileSync(abs: string): boolean {
  try {
    return statSync(abs).isFile();
  } catch {
    return false;
  }
}
