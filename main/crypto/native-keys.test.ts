import { describe, expect, it } from 'vitest';
import { toHex } from '../util/bytes';
import { getCrypto } from './backends';

// The native backend moves raw keys in and out of KeyObjects as JWK (DER as the fallback); @noble
// works on the raw bytes. Random keys in every direction must give the same bytes from both.
const native = getCrypto('native');
const noble = getCrypto('noble');

describe('native backend raw keys agree with @noble', () => {
  it('X25519: generated pairs, public keys and agreements', () => {
    for (let i = 0; i < 25; i++) {
      const a = native.x25519Generate();
      const b = noble.x25519Generate();
      expect(a.privateKey.length).toBe(32);
      expect(toHex(noble.x25519PublicKey(a.privateKey))).toBe(toHex(a.publicKey));
      expect(toHex(native.x25519PublicKey(b.privateKey))).toBe(toHex(b.publicKey));
      const s1 = native.x25519(a.privateKey, b.publicKey);
      expect(toHex(s1)).toBe(toHex(noble.x25519(b.privateKey, a.publicKey)));
      expect(toHex(noble.x25519(a.privateKey, b.publicKey))).toBe(toHex(s1));
      // A private key that never went through x25519Generate here (imported, not cached).
      expect(toHex(native.x25519(b.privateKey, a.publicKey))).toBe(toHex(s1));
    }
  });

  it('Ed25519: seeds, public keys, signatures both ways', () => {
    for (let i = 0; i < 25; i++) {
      const a = native.ed25519Generate();
      expect(toHex(noble.ed25519PublicKey(a.privateKey))).toBe(toHex(a.publicKey));
      const seed = noble.randomBytes(32);
      const pub = noble.ed25519PublicKey(seed);
      expect(toHex(native.ed25519PublicKey(seed))).toBe(toHex(pub));
      const msg = noble.randomBytes(1 + i * 7);
      const sig = native.ed25519Sign(seed, msg);
      expect(toHex(sig)).toBe(toHex(noble.ed25519Sign(seed, msg)));
      expect(noble.ed25519Verify(pub, msg, sig)).toBe(true);
      expect(native.ed25519Verify(a.publicKey, msg, noble.ed25519Sign(a.privateKey, msg))).toBe(true);
      // A signature by another key does not verify under this one.
      expect(native.ed25519Verify(pub, msg, noble.ed25519Sign(a.privateKey, msg))).toBe(false);
    }
  });
});
