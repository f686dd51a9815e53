// Atomic file writes: a temporary file in the target's folder, fsync, rename, fsync the folder, so a
// crash or a power cut leaves either the old file or the new one, never half of either.
import { randomBytes } from 'node:crypto';
import { copyFile, type FileHandle, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TEMP_PREFIX } from './roots.ts';

/** The file-system calls atomic writes make; tests swap in one that fails like a full disk does. */
export interface WriteFs {
  open(path: string, flags: string): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string): Promise<void>;
  copyFile(from: string, to: string): Promise<void>;
}

export const realFs: WriteFs = {
  open: (path, flags) => open(path, flags, 0o644),
  rename,
  rm: (path) => rm(path, { force: true }),
  copyFile,
};

export function tempPathBeside(target: string): string {
  return join(dirname(target), `${TEMP_PREFIX}${randomBytes(6).toString('hex')}-${basename(target)}`);
}

/** A temporary file being filled; `commit` puts it in place, `discard` removes it. */
export class TempFile {
  private closed = false;
  size = 0;

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly fs: WriteFs,
  ) {}

  /** Creates the temporary file beside `target` (the same folder keeps the rename atomic). */
  static async create(target: string, fs: WriteFs = realFs): Promise<TempFile> {
    const path = tempPathBeside(target);
    return new TempFile(path, await fs.open(path, 'wx'), fs);
  }

  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await this.handle.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
    this.size += chunk.length;
  }

  /** fsync, close, then rename over `target` and fsync its folder so the rename itself is durable. */
  async commit(target: string): Promise<void> {
    await this.close();
    try {
      await this.fs.rename(this.path, target);
    } catch (error) {
      await this.fs.rm(this.path);
      throw error;
    }
    await syncDir(dirname(target), this.fs);
  }

  /** Flushes and closes without moving the file, so others can read it whole (a .ufp to unpack). */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.handle.sync();
    this.closed = true;
    await this.handle.close();
  }

  async discard(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.handle.close().catch(() => undefined);
    }
    await this.fs.rm(this.path).catch(() => undefined);
  }
}

export async function syncDir(dir: string, fs: WriteFs = realFs): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `data` to `target` atomically. */
export async function writeFileAtomic(target: string, data: Uint8Array, fs: WriteFs = realFs): Promise<void> {
  const temp = await TempFile.create(target, fs);
  try {
    await temp.write(data);
    await temp.commit(target);
  } catch (error) {
    await temp.discard();
    throw error;
  }
}

/** Copies `source` over `target` atomically (a copy is a write: the old target survives a crash). */
export async function copyFileAtomic(source: string, target: string, fs: WriteFs = realFs): Promise<void> {
  const path = tempPathBeside(target);
  try {
    await fs.copyFile(source, path);
    const handle = await fs.open(path, 'r+');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(path, target);
  } catch (error) {
    await fs.rm(path).catch(() => undefined);
    throw error;
  }
  await syncDir(dirname(target), fs);
}

/** ENOSPC and EDQUOT: the disk (or the user's quota) is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}
