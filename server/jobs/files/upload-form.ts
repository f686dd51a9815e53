// Reads an upload's multipart form: fields in any order, the `file` part streamed into a temporary
// file while its SHA-256 and "is this text?" are worked out on the way, never held in memory.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FormPart } from '../../api/registry.ts';
import { ApiError, errors } from '../../core/errors.ts';
import { isDiskFull, realFs, TempFile, type WriteFs } from './atomic-write.ts';

/** Moonraker's form parser knows only these fields; anything else is ignored. */
const FIELDS = ['root', 'path', 'checksum', 'print'] as const;
type FieldName = (typeof FIELDS)[number];

/** How much of the start of a file is checked for control characters that text never has. */
const TEXT_CHECK_BYTES = 65536;

export interface ReceivedFile {
  /** As the client named it (may carry folders: `sub/part.gcode`). */
  filename: string;
  temp: TempFile;
  size: number;
  sha256: string;
  /** Why the content is not text (a NUL byte, a control character), or null. */
  binary: string | null;
}

export interface ReceivedForm {
  fields: Partial<Record<FieldName, string>>;
  file: ReceivedFile | null;
}

/**
 * Consumes every part, even after a failure, so the client gets the reply instead of a reset
 * connection. `stagingTarget` names where the file is headed with the fields seen so far; the
 * temporary file goes beside it. On error nothing is left on disk.
 */
export async function readUploadForm(
  form: AsyncIterable<FormPart>,
  stagingTarget: (fields: ReceivedForm['fields']) => string,
  fs: WriteFs = realFs,
): Promise<ReceivedForm> {
  const fields: ReceivedForm['fields'] = {};
  let file: ReceivedFile | null = null;
  let failure: ApiError | null = null;
  try {
    for await (const part of form) {
      if (part.kind === 'field') {
        if ((FIELDS as readonly string[]).includes(part.name)) fields[part.name as FieldName] = part.value;
        continue;
      }
      if (part.name !== 'file' || file || failure) {
        await drain(part.stream);
        continue;
      }
      const received = await receiveFile(part.filename, part.stream, stagingTarget(fields), fs);
      if (received instanceof ApiError) failure = received;
      else file = received;
    }
  } catch (error) {
    await file?.temp.discard();
    throw failure ?? formError(error, file?.filename ?? null);
  }
  if (failure) {
    await file?.temp.discard();
    throw failure;
  }
  return { fields, file };
}

async function receiveFile(
  filename: string,
  stream: Readable,
  target: string,
  fs: WriteFs,
): Promise<ReceivedFile | ApiError> {
  const hash = createHash('sha256');
  let temp: TempFile | null = null;
  let failure: ApiError | null = null;
  let size = 0;
  let binary: string | null = null;
  try {
    temp = await TempFile.create(target, fs);
  } catch (error) {
    failure = writeError(error, filename, target);
  }
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (binary === null) binary = binaryReason(chunk, size);
      size += chunk.length;
      if (failure) continue;
      hash.update(chunk);
      try {
        await temp!.write(chunk);
      } catch (error) {
        failure = writeError(error, filename, target);
      }
    }
  } catch (error) {
    await temp?.discard();
    throw formError(error, filename, size);
  }
  if (failure) {
    await temp?.discard();
    return failure;
  }
  return { filename, temp: temp!, size, sha256: hash.digest('hex'), binary };
}

function binaryReason(chunk: Buffer, offset: number): string | null {
  const nul = chunk.indexOf(0);
  if (nul >= 0) return `a NUL byte at offset ${offset + nul}`;
  const end = Math.min(chunk.length, TEXT_CHECK_BYTES - offset);
  for (let i = 0; i < end; i++) {
    const byte = chunk[i]!;
    // Tab, line feed, vertical tab, form feed and carriage return are text; other C0 bytes are not.
    if (byte < 0x20 && (byte < 0x09 || byte > 0x0d)) {
      return `control byte 0x${byte.toString(16).padStart(2, '0')} at offset ${offset + i}`;
    }
  }
  return null;
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    // discarded
  }
}

function writeError(error: unknown, filename: string, target: string): ApiError {
  if (isDiskFull(error)) {
    return errors.insufficientStorage(
      `Upload of '${filename}' refused: no space left on the device; nothing was stored and existing files are unchanged`,
    );
  }
  return new ApiError(500, `Upload of '${filename}' failed writing beside ${target}: ${describe(error)}`);
}

/** The client went away, sent a broken form, or went over the size limit. */
function formError(error: unknown, filename: string | null, received?: number): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as { code?: string } | undefined)?.code;
  const what = filename ? `Upload of '${filename}'` : 'Upload';
  if (code === 'FST_REQ_FILE_TOO_LARGE') {
    return errors.payloadTooLarge(`${what} refused: the file is larger than the server's max_body_bytes`);
  }
  const after = received !== undefined ? ` after ${received} bytes` : '';
  return errors.badRequest(`${what} was cut short${after} (${describe(error)}); nothing was stored`);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
