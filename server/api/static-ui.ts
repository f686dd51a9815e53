// Serves the built web UI (dist/ui) at `/`: hashed assets cached for a year, precompressed .br/.gz chosen
// by Accept-Encoding, and index.html for page paths (SPA fallback) without ever shadowing the API.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, posix, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Paths the UI never answers, so an unknown API path still gets the API's JSON 404. */
export const API_PREFIXES: readonly string[] = [
  '/server',
  '/printer',
  '/machine',
  '/access',
  '/api',
  '/websocket',
  '/healthz',
  '/readyz',
  '/metrics',
];

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';
/** esbuild's names: `main-3B562TPZ.js`, `chunk-HLUNHJ7Q.js` (build-ui.mjs puts only those in assets/). */
const HASHED_ASSET = /^\/assets\/[^/]+-[A-Z0-9]{8}\.[a-z0-9]+$/;

/**
 * Where `npm run build` puts the UI: dist/ui beside dist/server when running the bundle, or the
 * repository's dist/ui when running from source (tests, `startDaemon` in-process).
 */
export function defaultUiDir(): string {
  // This file is static-ui.ts under server/api/ from source, part of dist/server/main.js when bundled.
  const fromSource = import.meta.url.endsWith('.ts');
  return fileURLToPath(new URL(fromSource ? '../../dist/ui' : '../ui', import.meta.url));
}

export function isApiPath(path: string): boolean {
  return API_PREFIXES.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
}

/** Encodings the client accepts with q > 0, from Accept-Encoding. */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const accepted = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    accepted.add(name);
  }
  if (accepted.has('*')) {
    accepted.add('br');
    accepted.add('gzip');
  }
  return accepted;
}

interface Found {
  file: string;
  size: number;
  mtimeMs: number;
}

async function regularFile(path: string): Promise<Found | null> {
  try {
    const info = await stat(path);
    return info.isFile() ? { file: path, size: info.size, mtimeMs: info.mtimeMs } : null;
  } catch {
    return null;
  }
}

/**
 * Registers GET `/` and GET `/*` on `app` (fastify adds HEAD). Files are read from `dir` at request time,
 * so a rebuild is served without a restart; a missing build answers with a short page saying so.
 */
export function registerUiRoutes(app: FastifyInstance, dir: string): void {
  const root = resolve(dir);

  const send = async (request: FastifyRequest, reply: FastifyReply, urlPath: string, found: Found) => {
    const type = CONTENT_TYPES[extname(found.file)] ?? 'application/octet-stream';
    const hashed = HASHED_ASSET.test(urlPath);
    let chosen = found;
    let encoding: string | null = null;
    if (type.startsWith('text/') || type.includes('json') || type.includes('svg')) {
      reply.header('vary', 'Accept-Encoding');
      const accepted = acceptedEncodings(request.headers['accept-encoding']);
      for (const [name, suffix] of [
        ['br', '.br'],
        ['gzip', '.gz'],
      ] as const) {
        if (!accepted.has(name)) continue;
        const compressed = await regularFile(`${found.file}${suffix}`);
        if (compressed) {
          chosen = compressed;
          encoding = name;
          break;
        }
      }
    }
    // Weak validator from the original file, so the .br and .gz variants share it.
    const etag = `W/"${found.size.toString(16)}-${Math.floor(found.mtimeMs).toString(16)}"`;
    reply
      .header('content-type', type)
      .header('cache-control', hashed ? IMMUTABLE : 'no-cache')
      .header('x-content-type-options', 'nosniff')
      .header('etag', etag);
    if (!hashed && request.headers['if-none-match'] === etag) {
      return reply.code(304).send();
    }
    if (encoding) reply.header('content-encoding', encoding);
    reply.header('content-length', chosen.size);
    return reply.send(createReadStream(chosen.file));
  };

  const index = async (request: FastifyRequest, reply: FastifyReply) => {
    const found = await regularFile(join(root, 'index.html'));
    if (!found) {
      return reply
        .code(503)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(
          '<!doctype html><title>Brim</title><p>The web interface is not built. Run <code>npm run build</code>, ' +
            'or point Mainsail or Fluidd at this port.</p>',
        );
    }
    return send(request, reply, '/index.html', found);
  };

  app.get('/', index);
  app.get('/*', async (request, reply) => {
    const urlPath = request.url.split('?')[0] ?? '/';
    if (isApiPath(urlPath)) return reply.callNotFound();
    let decoded: string;
    try {
      decoded = decodeURIComponent(urlPath);
    } catch {
      return reply.callNotFound();
    }
    const normal = posix.normalize(decoded);
    const hidden = normal.split('/').some((part) => part.startsWith('.'));
    if (!decoded.includes('\0') && !hidden && !/\.(br|gz)$/.test(normal)) {
      const file = resolve(root, `.${normal}`);
      if (file.startsWith(root + sep)) {
        const found = await regularFile(file);
        if (found) return send(request, reply, normal, found);
      }
    }
    // A page path the browser navigates to (/files, /console): the app routes it itself.
    const accept = request.headers.accept ?? '';
    if (accept.includes('text/html') && !normal.startsWith('/assets/')) return index(request, reply);
    return reply.callNotFound();
  });
}
