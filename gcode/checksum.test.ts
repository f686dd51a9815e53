import { describe, expect, it } from 'vitest';
import { checksum, numberedLine } from './checksum.ts';

describe('checksum', () => {
  it('matches the checksum Marlin computes for M110 N0', () => {
    // Known value: printf 'N0 M110 N0' | xor of bytes = 125
    expect(checksum('N0 M110 N0')).toBe(125);
  });
  it('numbers a command and appends its checksum', () => {
    expect(numberedLine(1, 'G28')).toBe(`N1 G28*${checksum('N1 G28')}`);
  });
});
