import { describe, expect, it } from 'vitest';
import { Identity, getCrypto, verifyText } from '../crypto';
import { makeCachedVerifier } from './verify-cache';

describe('the registry verifier with a key cache', () => {
  const native = getCrypto('native');
  const a = Identity.generate(native);
  const b = Identity.generate(native);
  const text = 'heartbeat:7';
  const sig = a.signText(text);

  it('agrees with verifyText on good and bad signatures, keys and encodings', () => {
    const v = makeCachedVerifier(native, 16);
    const flipped = Buffer.from(sig, 'base64');
    flipped[10]! ^= 1;
    const cases: [string, string, string][] = [
      [a.publicKeyBase64, text, sig],
      [a.publicKeyBase64, 'heartbeat:8', sig],
      [b.publicKeyBase64, text, sig],
      [a.publicKeyBase64, text, flipped.toString('base64')],
      [a.publicKeyBase64, text, sig.slice(0, -4)],
      [a.publicKeyBase64, text, 'not base64!'],
      ['AAAA', text, sig],
      [Buffer.alloc(32, 0xff).toString('base64'), text, sig],
      [a.publicKeyBase64 + 'AAAA', text, sig],
    ];
    for (const [pub, t, s] of cases) {
      // twice: the second answer comes from the cache
      expect(v.verify(pub, t, s)).toBe(verifyText(native, pub, t, s));
      expect(v.verify(pub, t, s)).toBe(verifyText(native, pub, t, s));
    }
    expect(v.verify(a.publicKeyBase64, text, sig)).toBe(true);
  });

  it('holds at most `capacity` keys, dropping the oldest, and still verifies evicted ones', () => {
    const v = makeCachedVerifier(native, 3);
    const ids = Array.from({ length: 5 }, () => Identity.generate(native));
    for (const id of ids) expect(v.verify(id.publicKeyBase64, 'x', id.signText('x'))).toBe(true);
    expect(v.size()).toBe(3);
    expect(v.verify(ids[0]!.publicKeyBase64, 'x', ids[0]!.signText('x'))).toBe(true);
    expect(v.size()).toBe(3);
  });

  it('falls back to verifyText for another backend (no cache)', () => {
    const noble = getCrypto('noble');
    const v = makeCachedVerifier(noble);
    expect(v.verify(a.publicKeyBase64, text, sig)).toBe(true);
    expect(v.verify(b.publicKeyBase64, text, sig)).toBe(false);
    expect(v.size()).toBe(0);
  });
});

describe('remembered verified pairs', () => {
  const native = getCrypto('native');

  it('answers a repeated (text, signature) from memory, and nothing else', () => {
    const a = Identity.generate(native);
    const v = makeCachedVerifier(native, 16);
    const hb = a.signText('heartbeat:1');
    expect(v.verify(a.publicKeyBase64, 'heartbeat:1', hb)).toBe(true);
    expect(v.verify(a.publicKeyBase64, 'heartbeat:1', hb)).toBe(true);
    // a remembered signature does not vouch for another text, nor for another key
    expect(v.verify(a.publicKeyBase64, 'heartbeat:2', hb)).toBe(false);
    expect(v.verify(Identity.generate(native).publicKeyBase64, 'heartbeat:1', hb)).toBe(false);
    // a failed check is not remembered as a success
    const bad = Buffer.from(hb, 'base64');
    bad[0]! ^= 1;
    expect(v.verify(a.publicKeyBase64, 'heartbeat:1', bad.toString('base64'))).toBe(false);
    expect(v.verify(a.publicKeyBase64, 'heartbeat:1', bad.toString('base64'))).toBe(false);
  });

  it('keeps a few pairs per key (older ones are verified again, still true)', () => {
    const a = Identity.generate(native);
    const v = makeCachedVerifier(native, 16);
    const texts = Array.from({ length: 8 }, (_, i) => `t:${i}`);
    for (let round = 0; round < 2; round++) for (const t of texts) expect(v.verify(a.publicKeyBase64, t, a.signText(t))).toBe(true);
  });
});
