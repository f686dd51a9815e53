// The emergency parser's matching rules, quirks included, byte by byte.

import { describe, expect, test } from 'vitest';
import { type EmergencyCommand, EmergencyParser } from './emergency-parser.ts';

function feed(text: string, parser = new EmergencyParser()): EmergencyCommand[] {
  const out: EmergencyCommand[] = [];
  for (const byte of Buffer.from(text, 'latin1')) {
    const cmd = parser.feed(byte);
    if (cmd) out.push(cmd);
  }
  return out;
}

describe('emergency parser', () => {
  test('acts at the end of an M108, M112 or M410 line', () => {
    expect(feed('M108\nM112\nM410\n').map((c) => c.code)).toEqual(['M108', 'M112', 'M410']);
    expect(feed('M112')).toEqual([]);
  });

  test('skips a leading line number, so numbered lines with a checksum count', () => {
    expect(feed('N123 M112*33\n')).toEqual([{ code: 'M112' }]);
  });

  test('keeps a matched code armed to the end of the line, like Marlin', () => {
    expect(feed('M1120\n')).toEqual([{ code: 'M112' }]);
    expect(feed('M 108 S1\r')).toEqual([{ code: 'M108' }]);
  });

  test('ignores codes that only start the same way, and anything not at the start of the line', () => {
    expect(feed('M11\nM104 S0\nG1 M112\nM4100\n').map((c) => c.code)).toEqual(['M410']);
  });

  test('a line ending mid-code makes it miss the whole next line', () => {
    expect(feed('M1\nM112\nM112\n')).toEqual([{ code: 'M112' }]);
  });

  test('reads one digit of an M876 answer, and M524 only with media', () => {
    expect(feed('M876 S12\n')).toEqual([{ code: 'M876', response: 1 }]);
    expect(feed('M524\n')).toEqual([]);
    expect(feed('M524\n', new EmergencyParser({ media: true }))).toEqual([{ code: 'M524' }]);
    expect(feed('M876 S1\n', new EmergencyParser({ prompts: false }))).toEqual([]);
  });
});
