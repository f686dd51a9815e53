// pino to the console and to a size-rotated file in the data folder, without a transport worker thread.
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { pino } from 'pino';

export type Logger = pino.Logger;

export interface LogOptions {
  level: string;
  /** Path of the active log file, or null for console only. */
  file: string | null;
  maxBytes: number;
  keepFiles: number;
  console: boolean;
}

/** Appends synchronously (a crash loses no line) and rotates brim.log → brim.log.1 … brim.log.N. */
export class RotatingFile {
  private fd: number;
  private size: number;

  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
    private readonly keepFiles: number,
  ) {
    this.fd = openSync(path, 'a');
    this.size = fstatSync(this.fd).size;
  }

  write(chunk: string): boolean {
    const bytes = Buffer.byteLength(chunk);
    if (this.size > 0 && this.size + bytes > this.maxBytes) this.rotate();
    writeSync(this.fd, chunk);
    this.size += bytes;
    return true;
  }

  rotate(): void {
    closeSync(this.fd);
    const oldest = `${this.path}.${this.keepFiles}`;
    if (existsSync(oldest)) rmSync(oldest);
    for (let i = this.keepFiles - 1; i >= 1; i--) {
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    if (this.keepFiles > 0) renameSync(this.path, `${this.path}.1`);
    else rmSync(this.path);
    this.fd = openSync(this.path, 'a');
    this.size = 0;
  }

  close(): void {
    closeSync(this.fd);
  }
}

export interface RootLogger {
  log: Logger;
  file: RotatingFile | null;
  close(): void;
}

export function createLogger(options: LogOptions): RootLogger {
  const streams: pino.StreamEntry[] = [];
  if (options.console) streams.push({ stream: process.stdout, level: options.level as pino.Level });
  const file = options.file ? new RotatingFile(options.file, options.maxBytes, options.keepFiles) : null;
  if (file) streams.push({ stream: file, level: options.level as pino.Level });
  const log = pino({ level: options.level, base: { pid: process.pid } }, pino.multistream(streams));
  return { log, file, close: () => file?.close() };
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
