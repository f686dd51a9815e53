// Reads a G-code file line by line with exact byte offsets and bounded memory, from any starting offset.
import { type FileHandle, open } from 'node:fs/promises';

export interface FileLine {
  /** The line without its line ending, decoded as UTF-8. */
  text: string;
  /** Byte offset of the line's first byte. */
  start: number;
  /** Byte offset just after the line's newline (or the end of file). */
  end: number;
}

const CHUNK_BYTES = 64 * 1024;
/** A "line" longer than this is not G-code; refusing it keeps memory bounded. */
export const MAX_LINE_BYTES = 1024 * 1024;
const NEWLINE = 0x0a;
const CR = 0x0d;

export class LineReader {
  private buffer = Buffer.alloc(0);
  /** File offset of buffer[0]. */
  private bufferStart: number;
  private readOffset: number;
  private eof = false;
  private closed = false;

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    start: number,
  ) {
    this.bufferStart = start;
    this.readOffset = start;
  }

  static async open(path: string, start = 0): Promise<LineReader> {
    return new LineReader(await open(path, 'r'), path, start);
  }

  /** The next line, or null at the end of the file. */
  async next(): Promise<FileLine | null> {
    for (;;) {
      const newline = this.buffer.indexOf(NEWLINE);
      const length = newline >= 0 ? newline : this.buffer.length;
      if (length > MAX_LINE_BYTES) {
        throw new Error(
          `${this.path}: the line at byte ${this.bufferStart} is longer than ${MAX_LINE_BYTES} bytes`,
        );
      }
      if (newline >= 0) return this.take(newline + 1, newline);
      if (this.eof) {
        if (this.buffer.length === 0) return null;
        return this.take(this.buffer.length, this.buffer.length);
      }
      await this.fill();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }

  private take(consumed: number, contentEnd: number): FileLine {
    let end = contentEnd;
    if (end > 0 && this.buffer[end - 1] === CR) end--;
    const line: FileLine = {
      text: this.buffer.toString('utf8', 0, end),
      start: this.bufferStart,
      end: this.bufferStart + consumed,
    };
    this.buffer = this.buffer.subarray(consumed);
    this.bufferStart += consumed;
    return line;
  }

  private async fill(): Promise<void> {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    const { bytesRead } = await this.handle.read(chunk, 0, CHUNK_BYTES, this.readOffset);
    if (bytesRead === 0) {
      this.eof = true;
      return;
    }
    this.readOffset += bytesRead;
    // Copy so the consumed part of the old buffer can be collected.
    this.buffer = Buffer.concat([this.buffer, chunk.subarray(0, bytesRead)]);
  }
}
