import { describe, expect, it } from 'vitest';
import { LOW_ORDER_X25519_HEX } from '../wire/testkit';
import { fromHex, toHex } from '../util/bytes';
import { allBackends, getCrypto } from './backends';
import { TunnelCipher, deriveTunnelKey } from './tunnel';
import type { CryptoBackend } from './types';

const backends = allBackends();
const pairs: [string, CryptoBackend, CryptoBackend][] = [];
for (const a of backends) for (const b of backends) pairs.push([`${a.name} → ${b.name}`, a, b]);

const KEY = fromHex('08fff223658acfec60862e5f50e70f6e254b00110da0895b69b64cb88fe01705');

function flip(b: Uint8Array, i: number): Uint8Array {
  const c = Uint8Array.from(b);
  c[i] = (c[i] ?? 0) ^ 0x01;
  return c;
}

describe.each(pairs)('TunnelCipher %s', (_name, tx, rx) => {
  it('opens what the other side seals (random keys and sizes)', () => {
    for (let i = 0; i < 20; i++) {
      const key = tx.randomBytes(32);
      const a = new TunnelCipher(tx, key);
      const b = new TunnelCipher(rx, key);
      for (const size of [0, 1, 15, 16, 17, 34, 1200, 4130, (i * 977) % 9000]) {
        const pt = tx.randomBytes(size);
        const { nonce, sealed } = a.seal(pt);
        expect(sealed.length).toBe(size + 16);
        expect(toHex(b.open(nonce, sealed))).toBe(toHex(pt));
      }
    }
  });

  it('sealInto and seal give identical bytes for the same state', () => {
    const prefix = fromHex('01020304');
    const a = new TunnelCipher(tx, KEY, prefix);
    const b = new TunnelCipher(rx, KEY, prefix);
    const pt = tx.randomBytes(1500);
    const { nonce, sealed } = a.seal(pt);
    const out = new Uint8Array(3 + 12 + 1500 + 16 + 5);
    expect(b.sealInto(pt, out, 3)).toBe(12 + 1500 + 16);
    expect(toHex(out.subarray(3, 15))).toBe(toHex(nonce));
    expect(toHex(out.subarray(15, 15 + 1516))).toBe(toHex(sealed));
  });

  it('sealParts gives the bytes of sealInto, in pieces after the caller\'s head', () => {
    const prefix = fromHex('01020304');
    const a = new TunnelCipher(tx, KEY, prefix);
    const b = new TunnelCipher(rx, KEY, prefix);
    for (const size of [0, 1, 34, 4130]) {
      const pt = tx.randomBytes(size);
      const out = new Uint8Array(8 + 12 + size + 16);
      expect(a.sealInto(pt, out, 8)).toBe(12 + size + 16);
      const head = new Uint8Array(20).fill(0xee);
      const parts = b.sealParts(pt, head, 8);
      expect(parts[0]).toBe(head);
      const joined = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        joined.set(p, o);
        o += p.length;
      }
      expect(toHex(joined.subarray(0, 8))).toBe('eeeeeeeeeeeeeeee');
      expect(toHex(joined.subarray(8))).toBe(toHex(out.subarray(8)));
    }
    expect(b.sent).toBe(4);
    expect(() => b.sealParts(new Uint8Array(1), new Uint8Array(19), 8)).toThrow(expect.objectContaining({ code: 'short_buffer' }));
  });

  it('nonces are prefix || counter from 1 upwards', () => {
    const a = new TunnelCipher(tx, KEY, fromHex('a1b2c3d4'));
    expect(a.nextSendCounter).toBe(1);
    const n = [a.seal(new Uint8Array(1)).nonce, a.seal(new Uint8Array(1)).nonce, a.seal(new Uint8Array(1)).nonce];
    expect(n.map(toHex)).toEqual(['a1b2c3d40000000000000001', 'a1b2c3d40000000000000002', 'a1b2c3d40000000000000003']);
    expect(a.sent).toBe(3);
    const big = new TunnelCipher(tx, KEY, { prefix: fromHex('00000000'), firstCounter: 0x1_0000_0001 });
    expect(toHex(big.seal(new Uint8Array(0)).nonce)).toBe('000000000000000100000001');
  });

  it('rejects a flipped ciphertext byte, a flipped tag byte and a wrong key with bad_tag', () => {
    const a = new TunnelCipher(tx, KEY);
    const b = new TunnelCipher(rx, KEY);
    const wrong = new TunnelCipher(rx, flip(KEY, 0));
    const { nonce, sealed } = a.seal(tx.randomBytes(100));
    expect(() => b.open(nonce, flip(sealed, 0))).toThrow(expect.objectContaining({ code: 'bad_tag' }));
    expect(() => b.open(nonce, flip(sealed, sealed.length - 1))).toThrow(expect.objectContaining({ code: 'bad_tag' }));
    expect(() => b.open(flip(nonce, 0), sealed)).toThrow(expect.objectContaining({ code: 'bad_tag' }));
    expect(() => b.open(nonce, sealed.subarray(0, 15))).toThrow(expect.objectContaining({ code: 'bad_tag' }));
    expect(() => wrong.open(nonce, sealed)).toThrow(expect.objectContaining({ code: 'bad_tag' }));
    expect(b.badTag).toBe(4);
    expect(b.receiveMax).toBe(0); // failed frames never touch the window
    expect(b.open(nonce, sealed).length).toBe(100); // the genuine frame still opens afterwards
    expect(b.stats).toEqual({ sent: 0, received: 1, replayed: 0, badTag: 4 });
  });

  it('rejects a replayed frame and a too-old counter with replay', () => {
    const a = new TunnelCipher(tx, KEY);
    const b = new TunnelCipher(rx, KEY);
    const frames = Array.from({ length: 300 }, (_, i) => a.seal(Uint8Array.of(i & 0xff)));
    const f0 = frames[0]!;
    const f1 = frames[1]!;
    const f299 = frames[299]!;
    b.open(f0.nonce, f0.sealed);
    expect(() => b.open(f0.nonce, f0.sealed)).toThrow(expect.objectContaining({ code: 'replay' }));
    b.open(f299.nonce, f299.sealed); // counter 300; counter 2 is now 298 behind
    expect(() => b.open(f1.nonce, f1.sealed)).toThrow(expect.objectContaining({ code: 'replay', message: expect.stringMatching(/too old/) }));
    expect(b.replayed).toBe(2);
    expect(b.received).toBe(2);
    b.resetReceiveWindow();
    expect(b.open(f1.nonce, f1.sealed)[0]).toBe(1);
  });

  it('keeps replay state per nonce prefix: a re-derived peer is accepted, an old-prefix recording refused', () => {
    const s1 = new TunnelCipher(tx, KEY, fromHex('11111111'));
    const s2 = new TunnelCipher(tx, KEY, fromHex('22222222')); // peer re-derived: counter restarts at 1
    const r = new TunnelCipher(rx, KEY, { prefix: fromHex('99999999'), activePrefixes: 2 });
    const a = [s1.seal(Uint8Array.of(1)), s1.seal(Uint8Array.of(2)), s1.seal(Uint8Array.of(3))];
    r.open(a[0]!.nonce, a[0]!.sealed);
    r.open(a[1]!.nonce, a[1]!.sealed);
    const b1 = s2.seal(Uint8Array.of(9));
    expect(r.open(b1.nonce, b1.sealed)[0]).toBe(9); // counter 1 again, new prefix: accepted
    expect(() => r.open(b1.nonce, b1.sealed)).toThrow(expect.objectContaining({ code: 'replay' }));
    expect(() => r.open(a[0]!.nonce, a[0]!.sealed)).toThrow(expect.objectContaining({ code: 'replay' })); // old prefix, still live: window
    expect(r.open(a[2]!.nonce, a[2]!.sealed)[0]).toBe(3); // a frame of the previous prefix still in flight
    // A third prefix retires the first: its frames are refused whatever their counter.
    const s3 = new TunnelCipher(tx, KEY, fromHex('33333333'));
    const c1 = s3.seal(Uint8Array.of(7));
    r.open(c1.nonce, c1.sealed);
    const late = s1.seal(Uint8Array.of(4)); // never seen counter, retired prefix
    expect(() => r.open(late.nonce, late.sealed)).toThrow(expect.objectContaining({ code: 'replay', message: expect.stringMatching(/retired/) }));
  });

  it('refuses a frame of our own reflected back (both directions share the key)', () => {
    const me = new TunnelCipher(tx, KEY, fromHex('abababab'));
    const f = me.seal(Uint8Array.of(1));
    expect(() => me.open(f.nonce, f.sealed)).toThrow(expect.objectContaining({ code: 'replay', message: expect.stringMatching(/reflected/) }));
  });

  it('refuses new prefixes once the retired budget is spent (the session must re-key)', () => {
    const r = new TunnelCipher(rx, KEY, { prefix: fromHex('00000000'), activePrefixes: 1, maxRetiredPrefixes: 2 });
    for (let i = 1; i <= 3; i++) {
      const f = new TunnelCipher(tx, KEY, Uint8Array.of(1, 0, 0, i)).seal(Uint8Array.of(i));
      r.open(f.nonce, f.sealed);
    }
    expect(r.prefixesExhausted).toBe(true);
    const f4 = new TunnelCipher(tx, KEY, Uint8Array.of(1, 0, 0, 4)).seal(Uint8Array.of(4));
    expect(() => r.open(f4.nonce, f4.sealed)).toThrow(expect.objectContaining({ code: 'replay', message: expect.stringMatching(/exhausted/) }));
  });
});

describe.each(backends.map((b) => [b.name, b] as const))('primitives with the %s backend', (_name, backend) => {
  // The five u-coordinates of order dividing 8 on Curve25519 (and the non-canonical encodings p, p+1).
  const LOW_ORDER = LOW_ORDER_X25519_HEX;

  it.each(LOW_ORDER)('refuses the low-order X25519 public key %s with bad_key', (hex) => {
    const { privateKey } = backend.x25519Generate();
    expect(() => backend.x25519(privateKey, fromHex(hex))).toThrow(expect.objectContaining({ code: 'bad_key' }));
  });

  it('refuses keys of the wrong length', () => {
    const { privateKey } = backend.x25519Generate();
    expect(() => backend.x25519(privateKey, new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'bad_key' }));
    expect(() => backend.x25519(new Uint8Array(33), privateKey)).toThrow(expect.objectContaining({ code: 'bad_key' }));
    expect(() => backend.aead(new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'bad_key' }));
    expect(() => backend.ed25519Sign(new Uint8Array(64), new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'bad_key' }));
    expect(() => deriveTunnelKey(backend, new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'bad_key' }));
    expect(() => new TunnelCipher(backend, KEY, new Uint8Array(3))).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
  });

  it('aead checks nonce length and output room', () => {
    const aead = backend.aead(KEY);
    expect(() => aead.seal(new Uint8Array(8), new Uint8Array(1))).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => aead.open(new Uint8Array(16), new Uint8Array(32))).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => aead.sealInto(new Uint8Array(12), new Uint8Array(10), new Uint8Array(30), 5)).toThrow(
      expect.objectContaining({ code: 'short_buffer' }),
    );
  });

  it('generated key pairs are consistent', () => {
    const x = backend.x25519Generate();
    expect(toHex(backend.x25519PublicKey(x.privateKey))).toBe(toHex(x.publicKey));
    const e = backend.ed25519Generate();
    expect(toHex(backend.ed25519PublicKey(e.privateKey))).toBe(toHex(e.publicKey));
    expect(backend.randomBytes(7).length).toBe(7);
    expect(toHex(backend.sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('ed25519Verify returns false (never throws) on malformed input', () => {
    const e = backend.ed25519Generate();
    const msg = Uint8Array.of(1, 2, 3);
    const sig = backend.ed25519Sign(e.privateKey, msg);
    expect(backend.ed25519Verify(e.publicKey, msg, sig)).toBe(true);
    expect(backend.ed25519Verify(e.publicKey, msg, sig.subarray(0, 63))).toBe(false);
    expect(backend.ed25519Verify(e.publicKey.subarray(0, 31), msg, sig)).toBe(false);
    expect(backend.ed25519Verify(new Uint8Array(32).fill(0xff), msg, sig)).toBe(false); // not a point
    expect(backend.ed25519Verify(e.publicKey, msg, new Uint8Array(64).fill(0xff))).toBe(false); // S >= L
    expect(backend.ed25519Verify(e.publicKey, Uint8Array.of(1, 2), sig)).toBe(false);
  });
});

describe.each(pairs)('cross-backend primitives %s', (_name, a, b) => {
  it('signatures made by one verify with the other; X25519 agrees', () => {
    for (let i = 0; i < 10; i++) {
      const e = a.ed25519Generate();
      expect(toHex(b.ed25519PublicKey(e.privateKey))).toBe(toHex(e.publicKey));
      const msg = a.randomBytes(i * 37);
      const sig = a.ed25519Sign(e.privateKey, msg);
      expect(toHex(b.ed25519Sign(e.privateKey, msg))).toBe(toHex(sig)); // deterministic
      expect(b.ed25519Verify(e.publicKey, msg, sig)).toBe(true);
      const x1 = a.x25519Generate();
      const x2 = b.x25519Generate();
      expect(toHex(b.x25519(x2.privateKey, x1.publicKey))).toBe(toHex(a.x25519(x1.privateKey, x2.publicKey)));
      expect(toHex(b.sha256(msg, e.publicKey))).toBe(toHex(a.sha256(msg, e.publicKey)));
    }
  });
});

describe('getCrypto', () => {
  it('returns singletons, native by default, noble when PILOT_CRYPTO=noble', () => {
    const old = process.env['PILOT_CRYPTO'];
    try {
      delete process.env['PILOT_CRYPTO'];
      expect(getCrypto().name).toBe('native');
      expect(getCrypto()).toBe(getCrypto('native'));
      process.env['PILOT_CRYPTO'] = 'noble';
      expect(getCrypto().name).toBe('noble');
      expect(getCrypto()).toBe(getCrypto('noble'));
    } finally {
      if (old === undefined) delete process.env['PILOT_CRYPTO'];
      else process.env['PILOT_CRYPTO'] = old;
    }
    expect(allBackends().map((b) => b.name)).toEqual(['native', 'noble']);
  });
});
