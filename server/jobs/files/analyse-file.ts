// What the analysis worker does for one file: slicer metadata from its head and tail, thumbnails
// written to .thumbs, and Brim's own pass over the whole file (layers, objects, time, filament).
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { type Analysis, completeMetadata, createAnalyser } from '../../../gcode/analysis.ts';
import { extractMetadata, METADATA_READ_SIZE } from '../../../gcode/metadata.ts';
import { decodeQoi, encodePng, findThumbnails, type Thumbnail } from '../../../gcode/thumbnails.ts';
import { writeFileAtomic } from './atomic-write.ts';
import type { AnalysisSummary, GcodeObject, LayerRange, ThumbnailInfo } from './file-manager.ts';
import { decodePng, fitWithin, type RgbaImage } from './png.ts';
import { THUMBS_DIR } from './roots.ts';

/** The printer's limits the time estimate uses ([printer] max_velocity, max_accel, square_corner_velocity). */
export interface MotionLimits {
  maxVelocity: number;
  maxAccel: number;
  squareCornerVelocity: number;
}

export interface AnalysisRequest {
  file: string;
  size: number;
  /** `<gcode dir>/.thumbs`. */
  thumbsDir: string;
  /** The file name without its extension: thumbnails are `<base>-WxH.png`. */
  thumbBase: string;
  limits: MotionLimits;
}

export interface AnalysisOutput {
  /** Moonraker fields from the slicer's comments, completed by Brim's analysis where they are silent. */
  metadata: Record<string, unknown>;
  layers: LayerRange[];
  objects: GcodeObject[];
  summary: AnalysisSummary;
  thumbnails: ThumbnailInfo[];
}

/** Moonraker adds a miniature of this size when the slicer wrote none; file lists show it. */
const MINIATURE = 32;

/** Big enough that a 100 MB file is a hundred reads, small enough to stay far from the heap limit. */
const STREAM_CHUNK_BYTES = 1 << 20;

/** Reads the first and last METADATA_READ_SIZE bytes as Moonraker does; `tail` is '' for a small file. */
export async function readHeadTail(file: string, size: number): Promise<{ head: string; tail: string }> {
  const handle = await open(file, 'r');
  try {
    const headLength = Math.min(size, METADATA_READ_SIZE);
    const head = Buffer.alloc(headLength);
    await handle.read(head, 0, headLength, 0);
    if (size <= METADATA_READ_SIZE) return { head: head.toString('utf8'), tail: '' };
    const tailLength = Math.min(size, METADATA_READ_SIZE);
    const tail = Buffer.alloc(tailLength);
    await handle.read(tail, 0, tailLength, size - tailLength);
    return { head: head.toString('utf8'), tail: tail.toString('utf8') };
  } finally {
    await handle.close();
  }
}

export async function analyseFile(request: AnalysisRequest): Promise<AnalysisOutput> {
  const { head, tail } = await readHeadTail(request.file, request.size);
  const slicer = extractMetadata(head, tail, request.size);
  const thumbnails = await writeThumbnails(head, tail, request.thumbsDir, request.thumbBase);
  const analysis = await analyseStream(request.file, request.limits);
  return {
    metadata: clean(completeMetadata(slicer, analysis) as Record<string, unknown>),
    layers: analysis.layers.map((layer, index) => ({
      index,
      z: layer.z,
      height: layer.height,
      start_byte: layer.startByte,
      end_byte: layer.endByte,
      entry: {
        x: layer.entry.x,
        y: layer.entry.y,
        z: layer.entry.z,
        e: layer.entry.e,
        relative_xyz: layer.entry.relativeXyz,
        relative_e: layer.entry.relativeE,
      },
    })),
    objects: analysis.objects.map((object) => ({
      name: object.name,
      id: object.id,
      ...(object.center ? { center: object.center } : {}),
      ...(object.polygon ? { polygon: object.polygon } : {}),
      ranges: object.ranges.map((r) => ({ start: r.start, end: r.end })),
    })),
    summary: summarise(analysis),
    thumbnails,
  };
}

/**
 * Writes each embedded thumbnail to `<dir>/.thumbs/<base>-WxH.png` (QOI converted to PNG, JPG kept
 * as .jpg), plus a 32×32 miniature of the largest one when the slicer wrote no 32×32.
 */
async function writeThumbnails(
  head: string,
  tail: string,
  thumbsDir: string,
  base: string,
): Promise<ThumbnailInfo[]> {
  const found = findThumbnails(head);
  if (tail !== '') found.push(...findThumbnails(tail));
  const out: ThumbnailInfo[] = [];
  const images = new Map<ThumbnailInfo, Thumbnail>();
  for (const thumb of found) {
    let bytes: Uint8Array;
    let ext = 'png';
    try {
      if (thumb.format === 'qoi') {
        const image = decodeQoi(thumb.data);
        bytes = encodePng(image.width, image.height, image.rgba, (raw) => deflateSync(raw));
      } else {
        bytes = thumb.data;
        if (thumb.format === 'jpg') ext = 'jpg';
      }
    } catch {
      // A broken image is left out, as Moonraker leaves it out; the rest of the file still counts.
      continue;
    }
    const name = `${base}-${thumb.width}x${thumb.height}.${ext}`;
    if (out.some((t) => t.relative_path === `${THUMBS_DIR}/${name}`)) continue;
    await mkdir(thumbsDir, { recursive: true });
    await writeFileAtomic(join(thumbsDir, name), bytes);
    const info = {
      width: thumb.width,
      height: thumb.height,
      size: bytes.length,
      relative_path: `${THUMBS_DIR}/${name}`,
    };
    out.push(info);
    images.set(info, thumb);
  }
  if (out.length === 0) {
    const unpacked = await packageThumbnail(thumbsDir, base);
    if (unpacked) {
      out.push(unpacked.info);
      images.set(unpacked.info, unpacked.thumb);
    }
  }
  if (out.length > 0 && !out.some((t) => t.width === MINIATURE && t.height === MINIATURE)) {
    const miniature = await writeMiniature(out, images, thumbsDir, base);
    if (miniature) out.push(miniature);
  }
  return out;
}

/** The thumbnail a .ufp upload left as `.thumbs/<base>.png` (Moonraker's place for it). */
async function packageThumbnail(
  thumbsDir: string,
  base: string,
): Promise<{ info: ThumbnailInfo; thumb: Thumbnail } | null> {
  const data = await readFile(join(thumbsDir, `${base}.png`)).catch(() => null);
  const image = data ? decodePng(data) : null;
  if (!data || !image) return null;
  return {
    info: {
      width: image.width,
      height: image.height,
      size: data.length,
      relative_path: `${THUMBS_DIR}/${base}.png`,
    },
    thumb: { width: image.width, height: image.height, format: 'png', data },
  };
}

async function writeMiniature(
  written: ThumbnailInfo[],
  images: Map<ThumbnailInfo, Thumbnail>,
  thumbsDir: string,
  base: string,
): Promise<ThumbnailInfo | null> {
  const largest = [...written].sort((a, b) => b.width * b.height - a.width * a.height);
  for (const info of largest) {
    const thumb = images.get(info)!;
    let image: RgbaImage | null = null;
    try {
      if (thumb.format === 'qoi') {
        const decoded = decodeQoi(thumb.data);
        image = { width: decoded.width, height: decoded.height, data: decoded.rgba };
      } else if (thumb.format === 'png') image = decodePng(thumb.data);
    } catch {
      image = null;
    }
    // JPEG needs a decoder Brim does not carry; try the next largest.
    if (!image) continue;
    const small = fitWithin(image, MINIATURE);
    const bytes = encodePng(small.width, small.height, small.data, (raw) => deflateSync(raw));
    const name = `${base}-${MINIATURE}x${MINIATURE}.png`;
    await writeFileAtomic(join(thumbsDir, name), bytes);
    return {
      width: small.width,
      height: small.height,
      size: bytes.length,
      relative_path: `${THUMBS_DIR}/${name}`,
    };
  }
  return null;
}

/** Streams the whole file through Brim's analyser; the decoder keeps UTF-8 sequences whole across reads. */
async function analyseStream(file: string, limits: MotionLimits): Promise<Analysis> {
  const analyser = createAnalyser({
    maxVelocity: limits.maxVelocity,
    maxAccel: limits.maxAccel,
    squareCornerVelocity: limits.squareCornerVelocity,
  });
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: STREAM_CHUNK_BYTES });
  for await (const chunk of stream as AsyncIterable<string>) analyser.push(chunk);
  return analyser.finish();
}

function summarise(analysis: Analysis): AnalysisSummary {
  const box = analysis.bbox;
  return {
    estimated_time: Math.round(analysis.estimatedTimeS * 10) / 10,
    filament_total: Math.round(analysis.filamentTotalMm * 100) / 100,
    layer_source: analysis.layerSource,
    ...(analysis.objectLabels ? { object_labels: analysis.objectLabels } : {}),
    ...(box ? { bbox: { min: [box.minX, box.minY, box.minZ], max: [box.maxX, box.maxY, box.maxZ] } } : {}),
    tools: analysis.tools,
  };
}

/** Moonraker leaves out what it cannot parse: no null, NaN or infinite numbers reach clients. */
export function clean(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'number' && !Number.isFinite(value)) continue;
    out[key] = value;
  }
  return out;
}
