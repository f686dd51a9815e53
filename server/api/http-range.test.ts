import { describe, expect, it } from 'vitest';
import { parseRange } from './http-range.ts';

describe('parseRange', () => {
  it('reads start-end, start- and -suffix against the file size, clamping the end', () => {
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'partial', range: { start: 0, end: 9 } });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'partial', range: { start: 90, end: 99 } });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'partial', range: { start: 90, end: 99 } });
    expect(parseRange('bytes=-500', 100)).toEqual({ kind: 'partial', range: { start: 0, end: 99 } });
    expect(parseRange('bytes=50-5000', 100)).toEqual({ kind: 'partial', range: { start: 50, end: 99 } });
    expect(parseRange(' Bytes = 1-1 ', 100)).toEqual({ kind: 'partial', range: { start: 1, end: 1 } });
  });

  it('sends the whole file without a Range header, for other units and for several ranges', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'whole' });
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'whole' });
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'whole' });
  });

  it('refuses a range past the end, backwards, empty or malformed, saying which', () => {
    const reason = (header: string, size = 100) => {
      const outcome = parseRange(header, size);
      return outcome.kind === 'unsatisfiable' ? outcome.reason : `not refused: ${JSON.stringify(outcome)}`;
    };
    expect(reason('bytes=100-')).toBe("Range 'bytes=100-' starts at or past the end of the file (100 bytes)");
    expect(reason('bytes=9-3')).toBe("Range 'bytes=9-3' ends before it starts");
    expect(reason('bytes=-0')).toBe("Range 'bytes=-0' asks for the last 0 bytes");
    expect(reason('bytes=-5', 0)).toBe("Range 'bytes=-5': the file is empty");
    expect(reason('bytes=a-b')).toBe("Range 'bytes=a-b': 'a-b' is not start-end, start- or -suffix");
    expect(reason('bytes=-')).toBe("Range 'bytes=-': '-' is not start-end, start- or -suffix");
    expect(reason('0-5')).toBe("Range '0-5' is not of the form bytes=start-end");
  });
});
