import { describe, it, expect } from 'vitest';
import vectors from '../test/fixtures/test-vectors.json';
import {
  addressKey,
  backboneAddress,
  broadcastAddress,
  decodeAddress,
  encodeAddress,
  formatAddress,
  formatSocketAddress,
  isBroadcast,
  makeAddress,
  parseAddress,
  parseSocketAddress,
} from './address';
import { PilotError } from './errors';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('address text and wire form', () => {
  const cases = vectors.vectors.address_text.filter((v): v is { network: number; node: number; text: string; bytes: string } => 'text' in v);

  it.each(cases)('$text round-trips', (v) => {
    const a = parseAddress(v.text);
    expect(a).toEqual({ network: v.network, node: v.node });
    expect(formatAddress(a)).toBe(v.text);
    expect(hex(encodeAddress(a))).toBe(v.bytes);
    expect(decodeAddress(Buffer.from(v.bytes, 'hex'))).toEqual(a);
  });

  it('parses lowercase hex and formats uppercase', () => {
    expect(formatAddress(parseAddress('0:0000.0000.000b'))).toBe('0:0000.0000.000B');
  });

  it('formats the seed examples', () => {
    expect(formatAddress(backboneAddress(7))).toBe('0:0000.0000.0007');
    expect(formatAddress(broadcastAddress(3))).toBe('3:0003.FFFF.FFFF');
    expect(isBroadcast(broadcastAddress(3))).toBe(true);
  });

  // The reference's parser rules (wire.md §1.1): the spec's own example is rejected.
  it.each([
    ['1:00A3.F291.0004', 'network mismatch'],
    ['0:0000.0000', 'three'],
    ['0:000.0000.0001', '4 hex'],
    ['0:0000.0000.00001', '4 hex'],
    ['0:0000.0000.000G', '4 hex'],
    ['0000.0000.0001', 'network prefix'],
    ['x:0000.0000.0001', 'decimal'],
    ['70000:1170.0000.0001', 'out of range'],
    ['-1:FFFF.0000.0001', 'decimal'],
    ['', 'network prefix'],
  ])('rejects %s', (text, why) => {
    expect(() => parseAddress(text)).toThrow(PilotError);
    expect(() => parseAddress(text)).toThrow(why);
  });

  it('rejects out-of-range components', () => {
    expect(() => makeAddress(65536, 1)).toThrow(/network id out of range/);
    expect(() => makeAddress(0, 2 ** 32)).toThrow(/node id out of range/);
    expect(() => makeAddress(0, 1.5)).toThrow(/node id out of range/);
  });

  it('rejects a short wire form', () => {
    expect(() => decodeAddress(new Uint8Array(5))).toThrow(expect.objectContaining({ code: 'short_buffer' }));
  });

  it('keys are unique per address', () => {
    expect(addressKey(makeAddress(1, 0))).not.toBe(addressKey(makeAddress(0, 1)));
    expect(addressKey(makeAddress(65535, 0xffffffff))).toBe(65535 * 2 ** 32 + 0xffffffff);
  });
});

describe('socket addresses', () => {
  it('splits at the last colon', () => {
    const s = parseSocketAddress('1:0001.F291.0004:80');
    expect(s).toEqual({ addr: { network: 1, node: 0xf2910004 }, port: 80 });
    expect(formatSocketAddress(s)).toBe('1:0001.F291.0004:80');
  });
  it.each(['0:0000.0000.0001:99999', '0:0000.0000.0001:', '0:0000.0000.0001:x', '0:0000.0000.0001'])('rejects %s', (t) => {
    expect(() => parseSocketAddress(t)).toThrow(PilotError);
  });
});
