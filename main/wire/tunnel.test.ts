import { describe, it, expect } from 'vitest';
import vectors from '../../test/fixtures/test-vectors.json';
import {
  MAGIC_PILA,
  MAGIC_PILK,
  MAGIC_PILP,
  MAGIC_PILS,
  MAGIC_PILT,
  PILA_SIZE,
  PILK_SIZE,
  PILP_FRAME,
  PILS_HEADER_SIZE,
  PILS_MIN_SIZE,
  PILS_OVERHEAD,
  classifyDatagram,
  decodePILA,
  decodePILK,
  decodePILS,
  decodePILT,
  encodePILA,
  encodePILK,
  encodePILS,
  encodePILT,
  writePILSHeader,
} from './tunnel';
import { decodePacket } from './packet';
import { ascii, hex, prng, randomBytes, unhex } from './testkit';

const V = vectors.vectors;
const code = (c: string) => expect.objectContaining({ code: c });
const n5 = V.keys.node5;

describe('tunnel magics', () => {
  it('are the ASCII bytes of their names', () => {
    const be = (s: string) => new DataView(ascii(s).buffer).getUint32(0);
    expect([MAGIC_PILT, MAGIC_PILS, MAGIC_PILK, MAGIC_PILA, MAGIC_PILP]).toEqual(['PILT', 'PILS', 'PILK', 'PILA', 'PILP'].map(be));
  });
});

describe('tunnel vectors (test-vectors.json)', () => {
  it('tunnel_plaintext_PILT: wraps the spec 7.1 SYN', () => {
    const v = V.tunnel_plaintext_PILT;
    const buf = unhex(v.bytes_hex);
    expect(classifyDatagram(buf)).toBe('PILT');
    const inner = decodePILT(buf);
    expect(hex(inner)).toBe(V.packet_syn_spec_7_1.bytes_hex);
    expect(decodePacket(inner).flags).toBe(1);
    expect(hex(encodePILT(inner))).toBe(v.bytes_hex);
  });

  it('tunnel_punch_PILP', () => {
    const buf = unhex(V.tunnel_punch_PILP.bytes_hex);
    expect(classifyDatagram(buf)).toBe('PILP');
    expect(hex(PILP_FRAME)).toBe(V.tunnel_punch_PILP.bytes_hex);
  });

  it('tunnel_keyex_PILK decodes to node 5 and its X25519 key, and re-encodes', () => {
    const v = V.tunnel_keyex_PILK;
    const buf = unhex(v.bytes_hex);
    expect(buf.length).toBe(v.length);
    expect(buf.length).toBe(PILK_SIZE);
    expect(classifyDatagram(buf)).toBe('PILK');
    const f = decodePILK(buf);
    expect(f.sender).toBe(n5.node_id);
    expect(hex(f.x25519Public)).toBe(n5.x25519_public_hex);
    expect(hex(encodePILK(f))).toBe(v.bytes_hex);
  });

  it('tunnel_keyex_PILA decodes to node 5 keys and signature, and re-encodes', () => {
    const v = V.tunnel_keyex_PILA;
    const buf = unhex(v.bytes_hex);
    expect(buf.length).toBe(v.length);
    expect(buf.length).toBe(PILA_SIZE);
    expect(classifyDatagram(buf)).toBe('PILA');
    const f = decodePILA(buf);
    expect(f.sender).toBe(n5.node_id);
    expect(hex(f.x25519Public)).toBe(n5.x25519_public_hex);
    expect(hex(f.ed25519Public)).toBe(n5.ed25519_public_hex);
    expect(hex(f.signature)).toBe(v.signature_hex);
    // The signed challenge is "auth" ‖ sender ‖ x25519 — the bytes 4..40 of the frame after "auth".
    expect(hex(ascii('auth')) + hex(buf.subarray(4, 40))).toBe(v.signed_challenge_hex);
    expect(hex(encodePILA(f))).toBe(v.bytes_hex);
  });

  it('PILK/PILA keys are copies, not views', () => {
    const buf = unhex(V.tunnel_keyex_PILA.bytes_hex);
    const f = decodePILA(buf);
    buf.fill(0);
    expect(hex(f.x25519Public)).toBe(n5.x25519_public_hex);
  });

  it('tunnel_encrypted_PILS: layout sender | nonce | ciphertext‖tag', () => {
    const v = V.tunnel_encrypted_PILS;
    const buf = unhex(v.bytes_hex);
    expect(buf.length).toBe(v.length);
    expect(buf.length).toBe(v.plaintext_hex.length / 2 + PILS_OVERHEAD);
    expect(classifyDatagram(buf)).toBe('PILS');
    const f = decodePILS(buf);
    expect(f.sender).toBe(5);
    expect(hex(f.nonce)).toBe(v.nonce_hex);
    expect(hex(f.sealed)).toBe(v.ciphertext_hex + v.gcm_tag_hex);
    expect(hex(encodePILS(f.sender, f.nonce, f.sealed))).toBe(v.bytes_hex);
    // hot-path header writer
    const out = new Uint8Array(buf.length);
    expect(writePILSHeader(out, 5, f.nonce)).toBe(PILS_HEADER_SIZE);
    out.set(f.sealed, PILS_HEADER_SIZE);
    expect(hex(out)).toBe(v.bytes_hex);
  });
});

describe('classifyDatagram', () => {
  it.each([
    ['', 'unknown'],
    ['00', 'beacon'],
    ['01', 'beacon'],
    ['0100000005', 'beacon'],
    ['0f', 'beacon'],
    ['10', 'unknown'],
    ['50', 'unknown'],
    ['50494c', 'unknown'],
    ['50494c58', 'unknown'],
    ['ffffffff', 'unknown'],
    ['50494c54', 'PILT'],
    ['50494c53ff', 'PILS'],
  ])('%s → %s', (h, kind) => {
    expect(classifyDatagram(unhex(h))).toBe(kind);
  });
});

describe('tunnel round trips', () => {
  it('PILK / PILA / PILS with random contents', () => {
    const rand = prng(20);
    for (let i = 0; i < 50; i++) {
      const sender = Math.floor(rand() * 2 ** 32);
      const k = { sender, x25519Public: randomBytes(rand, 32) };
      expect(decodePILK(encodePILK(k))).toEqual(k);
      const a = { ...k, ed25519Public: randomBytes(rand, 32), signature: randomBytes(rand, 64) };
      expect(decodePILA(encodePILA(a))).toEqual(a);
      const nonce = randomBytes(rand, 12);
      const sealed = randomBytes(rand, 16 + Math.floor(rand() * 100));
      expect(decodePILS(encodePILS(sender, nonce, sealed))).toEqual({ sender, nonce, sealed });
    }
  });

  it('ignores extra bytes after PILK / PILA (reference behaviour)', () => {
    const k = unhex(V.tunnel_keyex_PILK.bytes_hex + 'ffff');
    expect(decodePILK(k).sender).toBe(5);
    const a = unhex(V.tunnel_keyex_PILA.bytes_hex + 'ff');
    expect(hex(decodePILA(a).signature)).toBe(V.tunnel_keyex_PILA.signature_hex);
  });
});

describe('tunnel rejections', () => {
  it('bad magic', () => {
    const pilt = unhex(V.tunnel_plaintext_PILT.bytes_hex);
    expect(() => decodePILS(pilt)).toThrow(code('bad_magic'));
    expect(() => decodePILK(pilt)).toThrow(code('bad_magic'));
    expect(() => decodePILA(pilt)).toThrow(code('bad_magic'));
    expect(() => decodePILT(unhex(V.tunnel_keyex_PILA.bytes_hex))).toThrow(code('bad_magic'));
  });

  it('short PILT (< 38 bytes)', () => {
    const pilt = unhex(V.tunnel_plaintext_PILT.bytes_hex);
    expect(() => decodePILT(pilt.subarray(0, 37))).toThrow(code('short_buffer'));
    expect(() => decodePILT(pilt.subarray(0, 2))).toThrow(code('short_buffer'));
  });

  it('short PILS (< 36 bytes)', () => {
    const pils = unhex(V.tunnel_encrypted_PILS.bytes_hex);
    expect(decodePILS(pils.subarray(0, PILS_MIN_SIZE)).sealed.length).toBe(16);
    expect(() => decodePILS(pils.subarray(0, PILS_MIN_SIZE - 1))).toThrow(code('short_buffer'));
  });

  it('short PILA (< 136 bytes) and PILK (< 40 bytes)', () => {
    const pila = unhex(V.tunnel_keyex_PILA.bytes_hex);
    expect(() => decodePILA(pila.subarray(0, 135))).toThrow(code('short_buffer'));
    const pilk = unhex(V.tunnel_keyex_PILK.bytes_hex);
    expect(() => decodePILK(pilk.subarray(0, 39))).toThrow(code('short_buffer'));
  });

  it('encoders reject wrong key sizes and senders', () => {
    const x = new Uint8Array(32);
    expect(() => encodePILK({ sender: 1, x25519Public: new Uint8Array(31) })).toThrow(code('invalid_argument'));
    expect(() => encodePILK({ sender: -1, x25519Public: x })).toThrow(code('invalid_argument'));
    expect(() => encodePILA({ sender: 1, x25519Public: x, ed25519Public: x, signature: new Uint8Array(63) })).toThrow(code('invalid_argument'));
    expect(() => encodePILS(1, new Uint8Array(11), new Uint8Array(16))).toThrow(code('invalid_argument'));
    expect(() => encodePILS(1, new Uint8Array(12), new Uint8Array(15))).toThrow(code('invalid_argument'));
    expect(() => writePILSHeader(new Uint8Array(19), 1, new Uint8Array(12))).toThrow(code('short_buffer'));
  });
});
