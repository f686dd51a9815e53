import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedEncodings, defaultUiDir, registerUiRoutes } from './static-ui.ts';

const HTML = '<!doctype html><title>Brim</title><div id="app"></div>';
const JS = `console.log(${JSON.stringify('x'.repeat(2000))});`;
const ASSET = '/assets/main-3B562TPZ.js';

let dir: string;
let app: FastifyInstance;

/** An app shaped like the daemon's: JSON 404s, an API route, then the UI routes. */
async function appFor(uiDir: string): Promise<FastifyInstance> {
  const instance = Fastify();
  instance.setNotFoundHandler((request, reply) => {
    reply.code(404).send({ error: { code: 404, message: `Not Found: ${request.method} ${request.url}` } });
  });
  instance.get('/server/info', async () => ({ result: { ok: true } }));
  instance.get('/server/files/:root/*', async () => 'file download');
  instance.get('/websocket', async () => 'websocket');
  registerUiRoutes(instance, uiDir);
  await instance.ready();
  return instance;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'brim-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), HTML);
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, `.${ASSET}`), JS);
  writeFileSync(join(dir, `.${ASSET}.gz`), gzipSync(JS));
  writeFileSync(join(dir, `.${ASSET}.br`), brotliCompressSync(JS));
  writeFileSync(join(dir, '.secret'), 'hidden');
  app = await appFor(dir);
});

afterAll(async () => {
  await app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('registerUiRoutes', () => {
  it('serves index.html at / with no-cache', async () => {
    const res = await app.inject({ url: '/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.body).toBe(HTML);
  });

  it('answers a repeated index request with 304 when the ETag matches', async () => {
    const first = await app.inject({ url: '/' });
    const etag = String(first.headers.etag);
    const again = await app.inject({ url: '/', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('sends hashed assets brotli-compressed with a one-year immutable cache when the client takes br', async () => {
    const res = await app.inject({ url: ASSET, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('br');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(res.headers.vary).toBe('Accept-Encoding');
    expect(res.rawPayload.equals(brotliCompressSync(JS))).toBe(true);
    expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
  });

  it('falls back to gzip when brotli is refused, and to the plain file when neither is accepted', async () => {
    const gz = await app.inject({ url: ASSET, headers: { 'accept-encoding': 'br;q=0, gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.rawPayload.equals(gzipSync(JS))).toBe(true);
    const plain = await app.inject({ url: ASSET, headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(JS);
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await app.inject({ method: 'HEAD', url: ASSET, headers: { 'accept-encoding': 'gzip' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body).toBe('');
  });

  it('serves unhashed files with no-cache', async () => {
    const res = await app.inject({ url: '/favicon.svg' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/svg+xml');
    expect(res.headers['cache-control']).toBe('no-cache');
  });

  it('answers page paths a browser navigates to with index.html (SPA fallback)', async () => {
    for (const url of ['/files', '/console', '/jobs/history?x=1']) {
      const res = await app.inject({ url, headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      expect(res.statusCode, url).toBe(200);
      expect(res.body, url).toBe(HTML);
    }
  });

  it('gives unknown paths the JSON 404 when the client does not ask for HTML', async () => {
    const res = await app.inject({ url: '/files', headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 404, message: 'Not Found: GET /files' } });
  });

  it('never shadows the API, even for a browser asking for HTML', async () => {
    const html = { accept: 'text/html' };
    expect((await app.inject({ url: '/server/info', headers: html })).json()).toEqual({
      result: { ok: true },
    });
    expect((await app.inject({ url: '/server/files/gcodes/a.gcode', headers: html })).body).toBe(
      'file download',
    );
    expect((await app.inject({ url: '/websocket', headers: html })).body).toBe('websocket');
    for (const url of [
      '/server/nope',
      '/printer/nope',
      '/machine',
      '/access/x',
      '/api/version',
      '/healthz',
      '/metrics',
    ]) {
      const res = await app.inject({ url, headers: html });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toContain('application/json');
    }
  });

  it('does not answer a missing asset with index.html', async () => {
    const res = await app.inject({ url: '/assets/main-AAAAAAAA.js', headers: { accept: 'text/html' } });
    expect(res.statusCode).toBe(404);
  });

  it('serves nothing outside the folder, no dotfiles and no compressed variants by name', async () => {
    for (const url of [
      '/../package.json',
      '/%2e%2e/package.json',
      '/assets/..%2f..%2fpackage.json',
      '/.secret',
      `${ASSET}.br`,
    ]) {
      const res = await app.inject({ url, headers: { accept: 'application/json' } });
      expect(res.statusCode, url).toBe(404);
      expect(res.body, url).not.toContain('hidden');
    }
  });

  it('says the UI is not built when the folder is empty, without failing the app', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'brim-ui-empty-'));
    const other = await appFor(empty);
    try {
      const res = await other.inject({ url: '/' });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build');
      expect((await other.inject({ url: '/server/info' })).statusCode).toBe(200);
    } finally {
      await other.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('acceptedEncodings', () => {
  it('reads q-values and the wildcard', () => {
    expect([...acceptedEncodings('gzip, br;q=0')]).toEqual(['gzip']);
    expect(acceptedEncodings('*').has('br')).toBe(true);
    expect(acceptedEncodings(undefined).size).toBe(0);
  });
});

describe('defaultUiDir', () => {
  it('finds the repository dist/ui when running from source', () => {
    expect(defaultUiDir()).toBe(join(import.meta.dirname, '../../dist/ui'));
  });
});
