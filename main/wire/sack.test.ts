import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decodeSack, encodeSack, isSack, SACK_MAGIC } from './sack';
import { fromHex, toHex } from '../util/bytes';

const vectors = JSON.parse(readFileSync(new URL('../../test/fixtures/test-vectors.json', import.meta.url), 'utf8')) as {
  vectors: Record<string, { sack_payload_hex?: string }>;
};

describe('SACK payload (transport.md §6.2)', () => {
  it('matches the packet_ack_with_sack vector both ways', () => {
    const hex = vectors.vectors['packet_ack_with_sack']!.sack_payload_hex!;
    expect(toHex(encodeSack([{ left: 4097, right: 8193 }]))).toBe(hex);
    expect(decodeSack(fromHex(hex))).toEqual([{ left: 4097, right: 8193 }]);
  });

  it('round-trips 1..4 blocks including u32 extremes', () => {
    const all = [
      { left: 0, right: 1 },
      { left: 0xfffff000, right: 0xffffffff },
      { left: 5, right: 9000 },
      { left: 123456789, right: 223456789 },
    ];
    for (let n = 1; n <= 4; n++) {
      const enc = encodeSack(all.slice(0, n));
      expect(enc.length).toBe(5 + 8 * n);
      expect(Array.from(enc.subarray(0, 4))).toEqual(Array.from(SACK_MAGIC));
      expect(decodeSack(enc)).toEqual(all.slice(0, n));
    }
  });

  it('rejects encoding 0 or 5 blocks and out-of-range seqs', () => {
    expect(() => encodeSack([])).toThrow();
    expect(() => encodeSack(Array.from({ length: 5 }, () => ({ left: 1, right: 2 })))).toThrow();
    expect(() => encodeSack([{ left: -1, right: 2 }])).toThrow();
    expect(() => encodeSack([{ left: 1, right: 2 ** 32 }])).toThrow();
  });

  it('recognition rule: magic, count 1..4, enough bytes; otherwise data', () => {
    const ok = encodeSack([{ left: 1, right: 2 }]);
    expect(isSack(ok)).toBe(true);
    expect(decodeSack(ok.subarray(0, 12))).toBeUndefined(); // too short for n=1
    const zero = ok.slice();
    zero[4] = 0;
    expect(decodeSack(zero)).toBeUndefined();
    const five = new Uint8Array(5 + 40);
    five.set(SACK_MAGIC);
    five[4] = 5;
    expect(decodeSack(five)).toBeUndefined();
    const bad = ok.slice();
    bad[0] = 0x73; // 's'
    expect(decodeSack(bad)).toBeUndefined();
    expect(decodeSack(new Uint8Array(0))).toBeUndefined();
    // longer than needed is still SACK (reference quirk: such application data is swallowed)
    const longer = new Uint8Array(40);
    longer.set(ok);
    expect(decodeSack(longer)).toEqual([{ left: 1, right: 2 }]);
  });
});
