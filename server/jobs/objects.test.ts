import { describe, expect, it } from 'vitest';
import { parseLine } from '../../gcode/line.ts';
import { ObjectRegistry, objectEventOf } from './objects.ts';

const event = (text: string) => {
  const parsed = parseLine(text);
  if (!parsed.ok) throw new Error(parsed.error.message);
  return objectEventOf(parsed.line);
};

describe('object labels', () => {
  it("reads Klipper's EXCLUDE_OBJECT commands with upper-cased names, centre and polygon", () => {
    expect(event('EXCLUDE_OBJECT_DEFINE NAME=part_1 CENTER=10,20 POLYGON=[[9,19],[11,19],[11,21]]')).toEqual({
      kind: 'define',
      style: 'exclude_object',
      object: {
        name: 'PART_1',
        center: [10, 20],
        polygon: [
          [9, 19],
          [11, 19],
          [11, 21],
        ],
      },
    });
    expect(event('EXCLUDE_OBJECT_START NAME=part_1')).toEqual({
      kind: 'start',
      style: 'exclude_object',
      name: 'PART_1',
    });
    expect(event('EXCLUDE_OBJECT_END NAME=part_1')).toEqual({ kind: 'end', style: 'exclude_object' });
  });

  it("reads PrusaSlicer, Bambu/Orca, Cura, ideaMaker and M486 labels under the file manager's ids", () => {
    expect(event('; printing object cube.stl id:0 copy 0')).toMatchObject({
      kind: 'start',
      name: 'CUBE_STL_ID_0_COPY_0',
    });
    expect(event('; stop printing object cube.stl id:0 copy 0')).toMatchObject({
      kind: 'end',
      style: 'label',
    });
    expect(event('; start printing object, unique label id: 15')).toMatchObject({
      kind: 'start',
      style: 'label_id',
      name: '15',
    });
    expect(event('; stop printing object, unique label id: 15')).toMatchObject({
      kind: 'end',
      style: 'label_id',
    });
    expect(event(';MESH:Cube (1).stl')).toMatchObject({ kind: 'start', style: 'mesh', name: 'CUBE_1_STL' });
    expect(event(';MESH:NONMESH')).toMatchObject({ kind: 'end', style: 'mesh' });
    expect(event(';LAYER:3')).toMatchObject({ kind: 'end', style: 'mesh' });
    expect(event(';PRINTING: left gear')).toMatchObject({
      kind: 'start',
      style: 'printing',
      name: 'LEFT_GEAR',
    });
    expect(event(';PRINTING_ID: -1')).toMatchObject({ kind: 'end', style: 'printing' });
    expect(event('M486 S2')).toEqual({ kind: 'start', style: 'm486', name: 'M486_2' });
    expect(event('M486 S-1')).toEqual({ kind: 'end', style: 'm486' });
    expect(event('G1 X1 ; printing object later')).toBeNull();
    expect(event('; some other comment')).toBeNull();
  });

  it('follows the first labelling style a file uses and ignores the others', () => {
    const registry = new ObjectRegistry();
    expect(registry.accepts(event('EXCLUDE_OBJECT_START NAME=a')!)).toBe(true);
    expect(registry.accepts(event('; printing object a')!)).toBe(false);
    expect(registry.accepts(event('EXCLUDE_OBJECT_END')!)).toBe(true);
  });

  it('excludes and re-includes by name whatever the case the UI sends', () => {
    const registry = new ObjectRegistry();
    registry.define({ name: 'PART_1' });
    registry.see('PART_2');
    registry.exclude('part_2');
    registry.exclude('PART_2');
    expect(registry.excludedNames()).toEqual(['PART_2']);
    expect(registry.isExcluded('PART_2')).toBe(true);
    expect(registry.isExcluded(null)).toBe(false);
    registry.include('Part_2');
    expect(registry.excludedNames()).toEqual([]);
    expect(registry.objects()).toEqual([{ name: 'PART_1' }, { name: 'PART_2' }]);
  });
});
