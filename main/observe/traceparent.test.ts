import { describe, it, expect } from 'vitest';
import { formatTraceparent, parseTraceparent } from './traceparent';

const T = '4bf92f3577b34da6a3ce929d0e0e4736';
const S = '00f067aa0ba902b7';

describe('traceparent', () => {
  it('parses the W3C example and formats it back', () => {
    const v = `00-${T}-${S}-01`;
    expect(parseTraceparent(v)).toEqual({ traceId: T, spanId: S, flags: 1 });
    expect(formatTraceparent({ traceId: T, spanId: S, flags: 1 })).toBe(v);
    expect(formatTraceparent({ traceId: T, spanId: S })).toBe(v);
    expect(formatTraceparent({ traceId: T, spanId: S, flags: 0 })).toBe(`00-${T}-${S}-00`);
  });

  it('round-trips random ids and flags', () => {
    for (let i = 0; i < 200; i++) {
      const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
      const p = { traceId: '1' + hex(31), spanId: '2' + hex(15), flags: Math.floor(Math.random() * 256) };
      expect(parseTraceparent(formatTraceparent(p))).toEqual(p);
    }
  });

  it('accepts a future version with extra fields, not version 00 with extra fields', () => {
    expect(parseTraceparent(`cc-${T}-${S}-01-what-the-future-holds`)).toEqual({ traceId: T, spanId: S, flags: 1 });
    expect(parseTraceparent(`00-${T}-${S}-01-extra`)).toBeUndefined();
    expect(parseTraceparent(`cc-${T}-${S}-01x`)).toBeUndefined();
  });

  it.each([
    ['not a string', 42],
    ['undefined', undefined],
    ['null', null],
    ['object', { traceId: T }],
    ['empty', ''],
    ['version ff', `ff-${T}-${S}-01`],
    ['uppercase', `00-${T.toUpperCase()}-${S}-01`],
    ['zero trace id', `00-${'0'.repeat(32)}-${S}-01`],
    ['zero span id', `00-${T}-${'0'.repeat(16)}-01`],
    ['short trace id', `00-${T.slice(1)}-${S}-01`],
    ['long span id', `00-${T}-${S}0-01`],
    ['wrong separators', `00_${T}_${S}_01`],
    ['non-hex flags', `00-${T}-${S}-0g`],
    ['huge', `00-${T}-${S}-01` + '-x'.repeat(1_000_000)],
    ['unicode', `00-${T}-${S}-0١`],
  ])('ignores a hostile value: %s', (_, v) => {
    expect(() => parseTraceparent(v)).not.toThrow();
    expect(parseTraceparent(v)).toBeUndefined();
  });
});
