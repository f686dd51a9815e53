import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrate } from '../../store/migrations.ts';
import { type MetadataRecord, MetadataStore } from './metadata-store.ts';

let db: Database.Database;
let store: MetadataStore;

beforeEach(() => {
  db = new Database(':memory:');
  migrate(db);
  store = new MetadataStore(db);
});

afterEach(() => db.close());

function record(path: string, size = 100, mtimeMs = 1_700_000_000_123.456): MetadataRecord {
  return {
    path,
    size,
    mtimeMs,
    metadata: { size, modified: mtimeMs / 1000, uuid: 'u', file_processors: [], slicer: 'Cura' },
    layers: [
      {
        index: 0,
        z: 0.2,
        height: 0.2,
        start_byte: 10,
        end_byte: 90,
        entry: { x: 0, y: 0, z: 0, e: 0, relative_xyz: false, relative_e: true },
      },
    ],
    objects: [{ name: 'cube 1', id: 'cube_1', ranges: [{ start: 20, end: 40 }] }],
    analysis: { estimated_time: 12.5, filament_total: 3, layer_source: 'hints', tools: [] },
    error: null,
  };
}

describe('stored metadata', () => {
  it('is fresh only for the exact size and mtime it was made for', () => {
    store.put(record('a.gcode'));
    expect(store.fresh('a.gcode', 100, 1_700_000_000_123.456)).toMatchObject({
      path: 'a.gcode',
      modified: 1_700_000_000.123456,
      metadata: { slicer: 'Cura', filename: 'a.gcode', job_id: null, print_start_time: null },
      layers: [{ start_byte: 10 }],
      objects: [{ id: 'cube_1' }],
      analysis: { estimated_time: 12.5 },
    });
    expect(store.fresh('a.gcode', 101, 1_700_000_000_123.456)).toBeNull();
    expect(store.fresh('a.gcode', 100, 1_700_000_000_124)).toBeNull();
  });

  it('keeps the last job across a rescan', () => {
    store.put(record('a.gcode'));
    store.recordJob('a.gcode', '0000FF', 1234.5);
    store.put(record('a.gcode', 200));
    expect(store.get('a.gcode')?.metadata).toMatchObject({
      job_id: '0000FF',
      print_start_time: 1234.5,
      size: 200,
    });
  });

  it('moves a file or a whole folder, replacing what was at the target', () => {
    store.put(record('dir/a.gcode'));
    store.put(record('dir/sub/b.gcode'));
    store.put(record('dirty.gcode'));
    store.put(record('other/a.gcode', 5));
    store.move('dir', 'other');
    expect(store.paths().sort()).toEqual(['dirty.gcode', 'other/a.gcode', 'other/sub/b.gcode']);
    expect(store.get('other/a.gcode')?.size).toBe(100);
    store.move('other/a.gcode', 'top.gcode');
    expect(store.get('top.gcode')?.metadata.filename).toBe('top.gcode');
  });

  it('deletes a folder without touching names that only start the same', () => {
    store.put(record('dir/a.gcode'));
    store.put(record('dirty.gcode'));
    store.deleteTree('dir');
    expect(store.paths()).toEqual(['dirty.gcode']);
  });
});
