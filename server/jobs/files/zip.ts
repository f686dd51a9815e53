// A streaming ZIP writer for server.files.zip: each file is read once, deflated (or stored) as it is read,
// and its CRC and sizes follow it in a data descriptor, so a 100 MB G-code never sits in memory.
// Format facts from PKWARE's APPNOTE (local header, data descriptor, central directory, end record).
import { createReadStream } from 'node:fs';
import { constants, crc32, createDeflateRaw } from 'node:zlib';
import type { TempFile } from './atomic-write.ts';

export interface ZipEntry {
  /** The name inside the archive, `/`-separated, relative. */
  name: string;
  abs: string;
  mtime: Date;
}

/** Without ZIP64 records, sizes, offsets and the entry count must fit these. */
const MAX_32 = 0xffff_ffff;
const MAX_ENTRIES = 0xffff;
const METHOD_STORE = 0;
const METHOD_DEFLATE = 8;
/** Bit 3: sizes and CRC come after the data; bit 11: names are UTF-8. */
const FLAGS = 0x0008 | 0x0800;
const VERSION = 20;

/** MS-DOS date and time, the only timestamps a plain ZIP header holds (2-second steps, local time). */
function dosTime(date: Date): { time: number; date: number } {
  const year = Math.max(1980, date.getFullYear());
  return {
    time: (date.getHours() << 11) | (date.getMinutes() << 5) | Math.floor(date.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((date.getMonth() + 1) << 5) | date.getDate(),
  };
}

interface Written {
  name: Buffer;
  method: number;
  time: { time: number; date: number };
  crc: number;
  compressed: number;
  size: number;
  offset: number;
}

/** Writes `entries` as a ZIP archive into `out`; throws when it would need ZIP64 (4 GB or 65,535 files). */
export async function writeZip(
  out: TempFile,
  entries: readonly ZipEntry[],
  storeOnly: boolean,
): Promise<void> {
  if (entries.length > MAX_ENTRIES) throw new Error(`A zip holds at most ${MAX_ENTRIES} files`);
  const method = storeOnly ? METHOD_STORE : METHOD_DEFLATE;
  const written: Written[] = [];
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const time = dosTime(entry.mtime);
    const offset = out.size;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(VERSION, 4);
    local.writeUInt16LE(FLAGS, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(time.time, 10);
    local.writeUInt16LE(time.date, 12);
    // CRC and sizes (14..25) stay 0: the data descriptor carries them.
    local.writeUInt16LE(name.length, 26);
    await out.write(local);
    await out.write(name);

    let crc = 0;
    let size = 0;
    const start = out.size;
    const source = createReadStream(entry.abs);
    const count = (chunk: Buffer) => {
      crc = crc32(chunk, crc);
      size += chunk.length;
    };
    if (storeOnly) {
      for await (const chunk of source) {
        count(chunk as Buffer);
        await out.write(chunk as Buffer);
      }
    } else {
      const deflate = createDeflateRaw({ level: constants.Z_DEFAULT_COMPRESSION });
      source.on('data', (chunk) => count(chunk as Buffer));
      // pipe() does not pass a read error on: end the deflate stream with it, so the loop below throws.
      source.once('error', (error) => deflate.destroy(error));
      source.pipe(deflate);
      for await (const chunk of deflate) await out.write(chunk as Buffer);
    }
    const compressed = out.size - start;
    if (size > MAX_32 || compressed > MAX_32 || out.size > MAX_32)
      throw new Error(`${entry.name} makes the zip larger than 4 GB, which needs ZIP64`);

    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(crc >>> 0, 4);
    descriptor.writeUInt32LE(compressed, 8);
    descriptor.writeUInt32LE(size, 12);
    await out.write(descriptor);
    written.push({ name, method, time, crc: crc >>> 0, compressed, size, offset });
  }

  const directoryStart = out.size;
  for (const w of written) {
    const header = Buffer.alloc(46);
    header.writeUInt32LE(0x02014b50, 0);
    header.writeUInt16LE((3 << 8) | VERSION, 4); // made by Unix, so the mode below is read
    header.writeUInt16LE(VERSION, 6);
    header.writeUInt16LE(FLAGS, 8);
    header.writeUInt16LE(w.method, 10);
    header.writeUInt16LE(w.time.time, 12);
    header.writeUInt16LE(w.time.date, 14);
    header.writeUInt32LE(w.crc, 16);
    header.writeUInt32LE(w.compressed, 20);
    header.writeUInt32LE(w.size, 24);
    header.writeUInt16LE(w.name.length, 28);
    header.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
    header.writeUInt32LE(w.offset, 42);
    await out.write(header);
    await out.write(w.name);
  }
  const directorySize = out.size - directoryStart;
  if (out.size > MAX_32) throw new Error('The zip would be larger than 4 GB, which needs ZIP64');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(written.length, 8);
  end.writeUInt16LE(written.length, 10);
  end.writeUInt32LE(directorySize, 12);
  end.writeUInt32LE(directoryStart, 16);
  await out.write(end);
}
