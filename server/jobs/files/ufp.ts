// Ultimaker Format Packages (.ufp, a zip): Moonraker stores the G-code inside as a .gcode file and
// the package's thumbnail as `.thumbs/<base>.png`; this reads just enough zip to do the same.
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';
import type { TempFile } from './atomic-write.ts';

export const UFP_GCODE = '3D/model.gcode';
export const UFP_THUMBNAIL = 'Metadata/thumbnail.png';

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
/** The end-of-central-directory record is 22 bytes plus a comment of up to 64 KiB. */
const EOCD_SEARCH = 22 + 0xffff;

interface Entry {
  name: string;
  method: number;
  compressedSize: number;
  localOffset: number;
}

export class UfpError extends Error {}

/** Streams one entry of the package into `into`; throws UfpError when the package is not readable. */
export async function extractEntry(zip: string, name: string, into: TempFile): Promise<boolean> {
  const handle = await open(zip, 'r');
  let entry: Entry | undefined;
  let start: number;
  try {
    entry = (await centralDirectory(handle)).find((e) => e.name.replace(/^\//, '') === name);
    if (!entry) return false;
    const local = await readAt(handle, entry.localOffset, 30);
    if (local.readUInt32LE(0) !== LOCAL) throw new UfpError(`${name} has no local header`);
    start = entry.localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  } finally {
    await handle.close();
  }
  if (entry.method !== 0 && entry.method !== 8) {
    throw new UfpError(`${name} uses compression method ${entry.method}, not stored or deflate`);
  }
  if (entry.compressedSize === 0) return true;
  const raw = createReadStream(zip, { start, end: start + entry.compressedSize - 1 });
  const data = entry.method === 8 ? raw.pipe(createInflateRaw()) : raw;
  try {
    for await (const chunk of data as AsyncIterable<Buffer>) await into.write(chunk);
  } catch (error) {
    raw.destroy();
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      throw new UfpError(`${name} does not inflate: ${(error as Error).message}`);
    }
    throw error;
  }
  return true;
}

async function centralDirectory(handle: FileHandle): Promise<Entry[]> {
  const { size } = await handle.stat();
  const tailLength = Math.min(size, EOCD_SEARCH);
  const tail = await readAt(handle, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new UfpError('not a zip archive (no end of central directory)');
  const count = tail.readUInt16LE(eocd + 10);
  const length = tail.readUInt32LE(eocd + 12);
  const offset = tail.readUInt32LE(eocd + 16);
  if (offset + length > size) throw new UfpError('the central directory lies outside the file');
  const directory = await readAt(handle, offset, length);
  const entries: Entry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL) {
      throw new UfpError('the central directory is damaged');
    }
    const nameLength = directory.readUInt16LE(at + 28);
    entries.push({
      name: directory.toString('utf8', at + 46, at + 46 + nameLength),
      method: directory.readUInt16LE(at + 10),
      compressedSize: directory.readUInt32LE(at + 20),
      localOffset: directory.readUInt32LE(at + 42),
    });
    at += 46 + nameLength + directory.readUInt16LE(at + 30) + directory.readUInt16LE(at + 32);
  }
  return entries;
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  if (bytesRead < length) throw new UfpError('the archive ends early');
  return buffer;
}
