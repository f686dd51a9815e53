import { describe, expect, it } from 'vitest';
import { checksum, numberedLine } from './checksum.ts';
import { type GcodeLine, type LineError, parseLine, stripForWire } from './line.ts';

function ok(raw: string): GcodeLine {
  const result = parseLine(raw);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(raw)} to parse: ${result.error.message}`);
  return result.line;
}

function error(raw: string): LineError {
  const result = parseLine(raw);
  if (result.ok) throw new Error(`expected ${JSON.stringify(raw)} to fail`);
  return result.error;
}

describe('parseLine', () => {
  it('parses a move with numeric parameters', () => {
    expect(ok('G1 X10 Y-2.5 E.4 F3000')).toEqual({
      raw: 'G1 X10 Y-2.5 E.4 F3000',
      command: 'G1',
      params: { X: 10, Y: -2.5, E: 0.4, F: 3000 },
      extended: false,
    });
  });

  it('reads the line number and a valid checksum of a numbered line', () => {
    const wire = numberedLine(123, 'G1 X1');
    const line = ok(wire);
    expect(line.lineNumber).toBe(123);
    expect(line.command).toBe('G1');
    expect(line.params).toEqual({ X: 1 });
    expect(line.checksum).toBe(checksum('N123 G1 X1'));
    expect(line.checksumValid).toBe(true);
  });

  it('flags a checksum that does not match the bytes before the star', () => {
    const line = ok('N123 G1 X1*45');
    expect(line.checksum).toBe(45);
    expect(line.checksumValid).toBe(checksum('N123 G1 X1') === 45);
    expect(ok('N1 G28*0').checksumValid).toBe(false);
  });

  it('keeps a numbered line without checksum for the firmware to reject', () => {
    const line = ok('N7 M105');
    expect(line.lineNumber).toBe(7);
    expect(line.checksum).toBeUndefined();
    expect(line.checksumValid).toBeUndefined();
  });

  it('treats N after the command as a parameter, as in M110 N0', () => {
    expect(ok('M110 N0')).toMatchObject({ command: 'M110', params: { N: 0 } });
    expect(ok('N0 M110 N0*125')).toMatchObject({ lineNumber: 0, params: { N: 0 }, checksumValid: true });
  });

  it('collects semicolon and parenthesis comments', () => {
    expect(ok('G1 X1 ; move right')).toMatchObject({
      command: 'G1',
      params: { X: 1 },
      comment: 'move right',
    });
    expect(ok('G1 (fast) X1 (really) ; done')).toMatchObject({
      params: { X: 1 },
      comment: 'fast really done',
    });
    expect(ok('(header) G28')).toMatchObject({ command: 'G28', comment: 'header' });
  });

  it('returns a line without command for blank and comment-only lines', () => {
    expect(ok('')).toEqual({ raw: '', params: {}, extended: false });
    expect(ok('   \r\n')).toEqual({ raw: '   \r\n', params: {}, extended: false });
    expect(ok(';LAYER:2')).toEqual({ raw: ';LAYER:2', params: {}, comment: 'LAYER:2', extended: false });
    expect(ok('(just a note)').command).toBeUndefined();
  });

  it('upper-cases lowercase commands and parameter letters', () => {
    expect(ok('g1 x10 y20')).toMatchObject({ command: 'G1', params: { X: 10, Y: 20 } });
    expect(ok('n5 m105')).toMatchObject({ lineNumber: 5, command: 'M105' });
  });

  it('normalises leading zeros and keeps subcodes', () => {
    expect(ok('G01 X1').command).toBe('G1');
    expect(ok('M00').command).toBe('M0');
    expect(ok('G29.1 Z0.2')).toMatchObject({ command: 'G29.1', params: { Z: 0.2 } });
    expect(ok('M862.3 P "MK3S" ; printer model check')).toMatchObject({
      command: 'M862.3',
      params: { P: 'MK3S' },
    });
  });

  it('splits words written without spaces', () => {
    expect(ok('G1X10Y20E0.5')).toMatchObject({ command: 'G1', params: { X: 10, Y: 20, E: 0.5 } });
  });

  it('keeps flags and non-numeric values', () => {
    expect(ok('G28 X Y')).toMatchObject({ command: 'G28', params: { X: '', Y: '' } });
    expect(ok('M552 S1 P192.168.1.5')).toMatchObject({ params: { S: 1, P: '192.168.1.5' } });
    expect(ok('T1')).toMatchObject({ command: 'T1', params: {} });
    expect(ok('M104 T1 S210')).toMatchObject({ command: 'M104', params: { T: 1, S: 210 } });
  });

  it('reads RepRapFirmware quoted strings with doubled quotes', () => {
    expect(ok('M587 S"my ""home"" net" P"secret;1"')).toMatchObject({
      command: 'M587',
      params: { S: 'my "home" net', P: 'secret;1' },
    });
  });

  it('keeps the whole argument of M117 and M23', () => {
    expect(ok('M117 Hello world')).toMatchObject({ command: 'M117', text: 'Hello world', params: {} });
    expect(ok('M117 Layer (1/10) X5')).toMatchObject({ text: 'Layer (1/10) X5' });
    expect(ok('M23 file.gcode')).toMatchObject({ command: 'M23', text: 'file.gcode' });
    expect(ok('M117 Hi ; comment')).toMatchObject({ text: 'Hi', comment: 'comment' });
    expect(ok('M117')).toMatchObject({ command: 'M117', text: '' });
  });

  it('separates the checksum from a string argument', () => {
    const wire = numberedLine(9, 'M117 50% done*ish');
    expect(ok(wire)).toMatchObject({ lineNumber: 9, text: '50% done*ish', checksumValid: true });
  });

  it('parses Klipper-style extended commands with KEY=VALUE parameters', () => {
    expect(ok('SET_PRINT_STATS_INFO TOTAL_LAYER=120 CURRENT_LAYER=1')).toEqual({
      raw: 'SET_PRINT_STATS_INFO TOTAL_LAYER=120 CURRENT_LAYER=1',
      command: 'SET_PRINT_STATS_INFO',
      params: { TOTAL_LAYER: '120', CURRENT_LAYER: '1' },
      extended: true,
    });
    expect(ok('EXCLUDE_OBJECT_DEFINE NAME=part_007 CENTER=10.5,20 POLYGON=[[1,2],[3,4]]').params).toEqual({
      NAME: 'part_007',
      CENTER: '10.5,20',
      POLYGON: '[[1,2],[3,4]]',
    });
    expect(ok('exclude_object name=part_1 ; skip it')).toMatchObject({
      command: 'EXCLUDE_OBJECT',
      params: { NAME: 'part_1' },
      comment: 'skip it',
    });
    expect(ok('PAUSE')).toMatchObject({ command: 'PAUSE', params: {}, extended: true });
  });

  it('unquotes shell-style values in extended commands', () => {
    expect(ok(`RESPOND MSG="hello world" PREFIX='a b'`).params).toEqual({
      MSG: 'hello world',
      PREFIX: 'a b',
    });
  });

  it('reports malformed input with what and the column', () => {
    expect(error('G1 X1 (unclosed')).toMatchObject({
      column: 7,
      message: "unclosed '(' comment starting at column 7",
    });
    expect(error('G1 X1*abc')).toMatchObject({ column: 7, message: "expected digits after '*' at column 7" });
    expect(error('N5 G1 X1*12 Y2')).toMatchObject({ column: 13 });
    expect(error('G1 10')).toMatchObject({
      column: 4,
      message: "unexpected '1', expected a parameter letter at column 4",
    });
    expect(error('#comment')).toMatchObject({ column: 1 });
    expect(error('G X1')).toMatchObject({ column: 2, message: "expected a number after 'G' at column 2" });
    expect(error('SET_LED RED')).toMatchObject({
      column: 12,
      message: "expected '=' after parameter name 'RED' at column 12",
    });
    expect(error('RESPOND MSG="hi')).toMatchObject({
      column: 13,
      message: 'unterminated string starting at column 13',
    });
    expect(error('M587 S"open')).toMatchObject({ column: 7 });
  });
});

describe('stripForWire', () => {
  it('drops comments and surrounding blanks', () => {
    expect(stripForWire('  G1 X1 Y2 ; move\r\n')).toBe('G1 X1 Y2');
    expect(stripForWire('G1 (fast) X1')).toBe('G1 X1');
  });

  it('collapses runs of blanks to save RX buffer bytes', () => {
    expect(stripForWire('G1\tX1     Y2')).toBe('G1 X1 Y2');
  });

  it('returns an empty string when there is nothing to send', () => {
    expect(stripForWire('')).toBe('');
    expect(stripForWire('   ')).toBe('');
    expect(stripForWire('; only a comment')).toBe('');
    expect(stripForWire('(only a comment)')).toBe('');
  });

  it('removes an existing line number and checksum', () => {
    expect(stripForWire('N123 G1 X1*45')).toBe('G1 X1');
    expect(stripForWire(numberedLine(4, 'M117 Hello  world'))).toBe('M117 Hello  world');
  });

  it('keeps the spacing and case of a string argument', () => {
    expect(stripForWire('M117 Hello   World (1/3) ; c')).toBe('M117 Hello   World (1/3)');
  });

  it('keeps quoted text intact', () => {
    expect(stripForWire('M587 S"a  b;c" P"x"')).toBe('M587 S"a  b;c" P"x"');
    expect(stripForWire("RESPOND MSG='a  b' # note")).toBe("RESPOND MSG='a  b'");
  });

  it('treats an unclosed parenthesis comment as running to the end, like Marlin', () => {
    expect(stripForWire('G28 (home')).toBe('G28');
  });
});
