import { describe, expect, it } from 'vitest';
import { appendBounded } from './ring';

describe('appendBounded', () => {
  it('appends while under the bound and returns the same array for nothing added', () => {
    const a = [1, 2];
    expect(appendBounded(a, [3], 5)).toEqual([1, 2, 3]);
    expect(appendBounded(a, [], 5)).toBe(a);
  });
  it('keeps only the newest items', () => {
    expect(appendBounded([1, 2, 3, 4], [5, 6], 4)).toEqual([3, 4, 5, 6]);
    expect(appendBounded([1, 2], [3, 4, 5, 6, 7], 3)).toEqual([5, 6, 7]);
  });
  it('never mutates its input', () => {
    const a = Object.freeze([1, 2, 3]) as number[];
    expect(appendBounded(a, [4], 3)).toEqual([2, 3, 4]);
  });
});
