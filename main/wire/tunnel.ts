/**
 * Tunnel frames carried in the daemon's UDP datagrams (wire.md §4, §5). Pure codecs.
 *
 * Views vs copies: `decodePILT` and `decodePILS` return subarray VIEWS into the input (hot path,
 * no copy). `decodePILK` / `decodePILA` return COPIES of the keys and signature, because those
 * are usually stored in per-peer state and must not alias a reused receive buffer.
 */
import { PilotError } from '../../shared/errors';
import { HEADER_SIZE } from './packet';
import { putU32, u32 } from './bytes';

/** "PILT" plaintext tunnel frame. */
export const MAGIC_PILT = 0x50494c54;
/** "PILS" encrypted tunnel frame. */
export const MAGIC_PILS = 0x50494c53;
/** "PILK" anonymous key exchange. */
export const MAGIC_PILK = 0x50494c4b;
/** "PILA" authenticated key exchange. */
export const MAGIC_PILA = 0x50494c41;
/** "PILP" NAT punch datagram (4 bytes, no body). */
export const MAGIC_PILP = 0x50494c50;

export const MAGIC_SIZE = 4;
export const PILT_MIN_SIZE = MAGIC_SIZE + HEADER_SIZE; // 38
export const NONCE_SIZE = 12;
export const GCM_TAG_SIZE = 16;
/** "PILS" ‖ sender u32 ‖ nonce(12) — the bytes before the sealed packet. */
export const PILS_HEADER_SIZE = MAGIC_SIZE + 4 + NONCE_SIZE; // 20
/** Bytes a PILS frame adds around the plaintext packet: header (20) + GCM tag (16). */
export const PILS_OVERHEAD = PILS_HEADER_SIZE + GCM_TAG_SIZE; // 36
/** Smallest PILS frame accepted: header + a bare tag (4 + 4 + 12 + 16). */
export const PILS_MIN_SIZE = PILS_OVERHEAD; // 36
export const X25519_PUBLIC_SIZE = 32;
export const ED25519_PUBLIC_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;
export const PILK_SIZE = MAGIC_SIZE + 4 + X25519_PUBLIC_SIZE; // 40
export const PILA_SIZE = MAGIC_SIZE + 4 + X25519_PUBLIC_SIZE + ED25519_PUBLIC_SIZE + ED25519_SIGNATURE_SIZE; // 136

/** The 4-byte NAT punch datagram. Shared instance: do not mutate. */
export const PILP_FRAME: Uint8Array = new Uint8Array([0x50, 0x49, 0x4c, 0x50]);

export type DatagramKind = 'beacon' | 'PILT' | 'PILS' | 'PILK' | 'PILA' | 'PILP' | 'unknown';

function checkNode(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new PilotError('invalid_argument', `${what} out of range: ${n}`, 'node ids are 0..4294967295');
  }
}

function checkLen(what: string, b: Uint8Array, n: number): void {
  if (b.length !== n) throw new PilotError('invalid_argument', `${what} must be ${n} bytes, got ${b.length}`);
}

/**
 * Classifies a UDP payload on the tunnel socket (wire.md §4): first byte < 0x10 → beacon message;
 * otherwise one of the PIL? magics; anything else (including < 4 bytes) → 'unknown'.
 */
export function classifyDatagram(buf: Uint8Array): DatagramKind {
  if (buf.length < 1) return 'unknown';
  if (buf[0]! < 0x10) return 'beacon';
  if (buf.length < MAGIC_SIZE) return 'unknown';
  switch (u32(buf, 0)) {
    case MAGIC_PILT:
      return 'PILT';
    case MAGIC_PILS:
      return 'PILS';
    case MAGIC_PILK:
      return 'PILK';
    case MAGIC_PILA:
      return 'PILA';
    case MAGIC_PILP:
      return 'PILP';
    default:
      return 'unknown';
  }
}

function expectMagic(buf: Uint8Array, magic: number, name: string, min: number): void {
  if (buf.length < MAGIC_SIZE) throw new PilotError('short_buffer', `${name} frame too short: ${buf.length} bytes`);
  if (u32(buf, 0) !== magic) throw new PilotError('bad_magic', `not a ${name} frame`);
  if (buf.length < min) {
    throw new PilotError('short_buffer', `${name} frame too short: ${buf.length} bytes, need at least ${min}`);
  }
}

// ---- PILT ------------------------------------------------------------------------------------

/** "PILT" ‖ marshalled packet. */
export function encodePILT(packetBytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(MAGIC_SIZE + packetBytes.length);
  putU32(out, 0, MAGIC_PILT);
  out.set(packetBytes, MAGIC_SIZE);
  return out;
}

/** Returns the packet bytes as a VIEW into `buf` (≥ 38 bytes total). The packet itself is not parsed. */
export function decodePILT(buf: Uint8Array): Uint8Array {
  expectMagic(buf, MAGIC_PILT, 'PILT', PILT_MIN_SIZE);
  return buf.subarray(MAGIC_SIZE);
}

// ---- PILS ------------------------------------------------------------------------------------

export interface PILSFrame {
  sender: number;
  /** 12-byte GCM nonce (view). */
  nonce: Uint8Array;
  /** AES-256-GCM ciphertext of the packet followed by the 16-byte tag (view). */
  sealed: Uint8Array;
}

/**
 * Writes "PILS" ‖ sender ‖ nonce at `out[offset..offset+20)` and returns 20; the caller seals the
 * packet directly into `out[offset+20..]`.
 */
export function writePILSHeader(out: Uint8Array, sender: number, nonce: Uint8Array, offset = 0): number {
  checkNode('PILS sender', sender);
  checkLen('PILS nonce', nonce, NONCE_SIZE);
  if (offset < 0 || out.length < offset + PILS_HEADER_SIZE) {
    throw new PilotError('short_buffer', `PILS header needs ${PILS_HEADER_SIZE} bytes at offset ${offset}`);
  }
  putU32(out, offset, MAGIC_PILS);
  putU32(out, offset + 4, sender);
  out.set(nonce, offset + 8);
  return PILS_HEADER_SIZE;
}

export function encodePILS(sender: number, nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
  if (sealed.length < GCM_TAG_SIZE) {
    throw new PilotError('invalid_argument', `PILS sealed data must include the ${GCM_TAG_SIZE}-byte tag`);
  }
  const out = new Uint8Array(PILS_HEADER_SIZE + sealed.length);
  writePILSHeader(out, sender, nonce);
  out.set(sealed, PILS_HEADER_SIZE);
  return out;
}

/** Splits a PILS frame (≥ 36 bytes). `nonce` and `sealed` are VIEWS into `buf`. */
export function decodePILS(buf: Uint8Array): PILSFrame {
  expectMagic(buf, MAGIC_PILS, 'PILS', PILS_MIN_SIZE);
  return {
    sender: u32(buf, 4),
    nonce: buf.subarray(8, PILS_HEADER_SIZE),
    sealed: buf.subarray(PILS_HEADER_SIZE),
  };
}

// ---- PILK ------------------------------------------------------------------------------------

export interface PILKFrame {
  sender: number;
  x25519Public: Uint8Array;
}

export function encodePILK(f: PILKFrame): Uint8Array {
  checkNode('PILK sender', f.sender);
  checkLen('PILK X25519 public key', f.x25519Public, X25519_PUBLIC_SIZE);
  const out = new Uint8Array(PILK_SIZE);
  putU32(out, 0, MAGIC_PILK);
  putU32(out, 4, f.sender);
  out.set(f.x25519Public, 8);
  return out;
}

/** Decodes a PILK frame (≥ 40 bytes; extra bytes ignored). The key is a copy. */
export function decodePILK(buf: Uint8Array): PILKFrame {
  expectMagic(buf, MAGIC_PILK, 'PILK', PILK_SIZE);
  return { sender: u32(buf, 4), x25519Public: buf.slice(8, 8 + X25519_PUBLIC_SIZE) };
}

// ---- PILA ------------------------------------------------------------------------------------

export interface PILAFrame {
  sender: number;
  x25519Public: Uint8Array;
  ed25519Public: Uint8Array;
  /** Ed25519 signature over "auth" ‖ sender u32 ‖ x25519Public (built and checked in main/crypto). */
  signature: Uint8Array;
}

export function encodePILA(f: PILAFrame): Uint8Array {
  checkNode('PILA sender', f.sender);
  checkLen('PILA X25519 public key', f.x25519Public, X25519_PUBLIC_SIZE);
  checkLen('PILA Ed25519 public key', f.ed25519Public, ED25519_PUBLIC_SIZE);
  checkLen('PILA signature', f.signature, ED25519_SIGNATURE_SIZE);
  const out = new Uint8Array(PILA_SIZE);
  putU32(out, 0, MAGIC_PILA);
  putU32(out, 4, f.sender);
  out.set(f.x25519Public, 8);
  out.set(f.ed25519Public, 40);
  out.set(f.signature, 72);
  return out;
}

/** Decodes a PILA frame (≥ 136 bytes; extra bytes ignored). Keys and signature are copies. */
export function decodePILA(buf: Uint8Array): PILAFrame {
  expectMagic(buf, MAGIC_PILA, 'PILA', PILA_SIZE);
  return {
    sender: u32(buf, 4),
    x25519Public: buf.slice(8, 40),
    ed25519Public: buf.slice(40, 72),
    signature: buf.slice(72, 136),
  };
}
