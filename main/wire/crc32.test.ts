import { describe, it, expect } from 'vitest';
import * as zlib from 'node:zlib';
import vectors from '../../test/fixtures/test-vectors.json';
import { crc32, crc32Update } from './crc32';
import { ascii, prng, randomBytes, randomInt } from './testkit';

/** Bit-at-a-time reference CRC-32/IEEE. */
function slowCrc(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32', () => {
  it('reproduces the check value of the vector file', () => {
    const v = vectors.vectors.crc32_check;
    expect(crc32(ascii(v.input_ascii)).toString(16).padStart(8, '0')).toBe(v.crc32_ieee_hex);
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926);
  });

  it('is 0 for empty input and unsigned for every result', () => {
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toBe(0xffffffff);
  });

  it('matches a bitwise reference on random data of every length 0..300', () => {
    const rand = prng(1);
    for (let n = 0; n <= 300; n++) {
      const b = randomBytes(rand, n);
      expect(crc32(b)).toBe(slowCrc(b));
    }
  });

  it('matches node:zlib crc32 when available', () => {
    const z = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
    if (z === undefined) return;
    const b = randomBytes(prng(2), 100_003);
    expect(crc32(b)).toBe(z(b));
  });

  it('honours start/end and can be continued with crc32Update', () => {
    const rand = prng(3);
    const b = randomBytes(rand, 200);
    for (let i = 0; i < 200; i++) {
      const s = randomInt(rand, 200);
      const e = s + randomInt(rand, 200 - s);
      expect(crc32(b, s, e)).toBe(slowCrc(b.subarray(s, e)));
      const m = s + randomInt(rand, e - s);
      const joined = (crc32Update(crc32Update(0xffffffff, b, s, m), b, m, e) ^ 0xffffffff) >>> 0;
      expect(joined).toBe(crc32(b, s, e));
    }
  });

  it('rejects a bad range', () => {
    expect(() => crc32(new Uint8Array(4), 0, 5)).toThrow(RangeError);
    expect(() => crc32(new Uint8Array(4), 3, 2)).toThrow(RangeError);
  });
});
