import { describe, expect, it } from 'vitest';
import { seqAdd, seqAfter, seqAfterEq, seqBefore, seqBeforeEq, seqDiff } from './seq';

describe('32-bit wrapping sequence arithmetic', () => {
  it('adds with wrap', () => {
    expect(seqAdd(0xffffffff, 1)).toBe(0);
    expect(seqAdd(0xfffffff0, 0x20)).toBe(0x10);
    expect(seqAdd(5, -10)).toBe(0xfffffffb);
    expect(seqAdd(1, 4096)).toBe(4097);
  });

  it('signed difference across the wrap', () => {
    expect(seqDiff(0x10, 0xfffffff0)).toBe(0x20);
    expect(seqDiff(0xfffffff0, 0x10)).toBe(-0x20);
    expect(seqDiff(7, 7)).toBe(0);
    expect(seqDiff(0x7fffffff, 0)).toBe(0x7fffffff);
  });

  const table: [number, number, boolean][] = [
    [1, 0, true],
    [0, 1, false],
    [0, 0xffffffff, true],
    [0xffffffff, 0, false],
    [0x10, 0xfffffff0, true],
    [0x80000000 - 1, 0, true],
    [5, 5, false],
  ];
  for (const [a, b, after] of table) {
    it(`after(${a.toString(16)}, ${b.toString(16)}) = ${after}`, () => {
      expect(seqAfter(a, b)).toBe(after);
      expect(seqBefore(b, a)).toBe(after);
      expect(seqAfterEq(a, b)).toBe(after || a === b);
      expect(seqBeforeEq(b, a)).toBe(after || a === b);
    });
  }
});
