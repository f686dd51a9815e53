// The bundle-size check (as Mainsail runs on pull requests): fails when what loads before first paint
// grows past issue 7's budget, or when the preview's three.js leaks into it.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUiInto, type UiSizes } from './browser.ts';

const BUDGET_GZIP_BYTES = 120_000;

let dir: string;
let sizes: UiSizes;

beforeAll(async () => {
  ({ dir, sizes } = await buildUiInto());
}, 60_000);

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('UI bundle', () => {
  it(`loads at most ${BUDGET_GZIP_BYTES / 1000} KB gzip before first paint`, () => {
    const detail = sizes.first_paint.files.map((f) => `${f.path} ${f.gzip} B`).join(', ');
    expect(sizes.first_paint.gzip, `first paint: ${detail}`).toBeLessThanOrEqual(BUDGET_GZIP_BYTES);
    expect(sizes.budget_gzip).toBe(BUDGET_GZIP_BYTES);
  });

  it('keeps the preview (three.js and its worker) out of first paint', () => {
    const first = new Set(sizes.first_paint.files.map((f) => f.path));
    expect(sizes.preview.files.length).toBeGreaterThan(0);
    for (const file of sizes.preview.files) expect(first.has(file.path), file.path).toBe(false);
    const firstPaintCode = sizes.first_paint.files
      .filter((f) => f.path.endsWith('.js'))
      .map((f) => readFileSync(join(dir, f.path), 'utf8'))
      .join('\n');
    expect(firstPaintCode).not.toContain('WebGLRenderer');
  });

  it('names every asset by its content hash, with .br and .gz beside each text file', () => {
    const assets = readdirSync(join(dir, 'assets')).filter((f) => !f.endsWith('.br') && !f.endsWith('.gz'));
    expect(assets.length).toBeGreaterThan(2);
    for (const file of assets) {
      expect(file).toMatch(/^[a-z-]+-[A-Z0-9]{8}\.(js|css)$/);
      if (readFileSync(join(dir, 'assets', file)).length > 200) {
        expect(existsSync(join(dir, 'assets', `${file}.br`)), `${file}.br`).toBe(true);
        expect(existsSync(join(dir, 'assets', `${file}.gz`)), `${file}.gz`).toBe(true);
      }
    }
    expect(existsSync(join(dir, 'index.html.gz'))).toBe(true);
  });

  it('references only files that exist, with no CDN, web font or icon font', () => {
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    for (const match of html.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const url = match[1]!;
      expect(url.startsWith('/'), url).toBe(true);
      expect(existsSync(join(dir, url)), url).toBe(true);
    }
    const css = sizes.first_paint.files
      .filter((f) => f.path.endsWith('.css'))
      .map((f) => readFileSync(join(dir, f.path), 'utf8'))
      .join('\n');
    expect(css).not.toMatch(/@font-face|@import|url\(\s*["']?https?:/);
  });
});
