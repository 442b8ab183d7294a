import { PilotError } from '../../shared/errors';
/**
 * The one small crypto interface every layer uses (STYLE.md §8). Two backends implement it:
 * `noble` (@noble/curves + @noble/ciphers + @noble/hashes, portable, required by the design) and
 * `native` (node:crypto, 5-36x faster on these machines; used on the data path).
 * All keys and messages are raw bytes; Ed25519 private keys are the 32-byte seed.
 */
export type BackendName = 'noble' | 'native';

export interface KeyPair {
  readonly privateKey: Uint8Array; // 32 bytes
  readonly publicKey: Uint8Array; // 32 bytes
}

/** AES-256-GCM bound to one key (key schedule done once). Sealed = ciphertext || 16-byte tag; no AAD. */
export interface Aead {
  seal(nonce: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /**
   * Like `seal`, but writes ciphertext || tag into `out` at `offset` (so a frame header can be written
   * around it without another copy); returns the number of bytes written (plaintext.length + 16).
   * Added by the crypto helper; throws PilotError('short_buffer') when `out` is too small.
   */
  sealInto(nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number): number;
  /**
   * Like `seal`, but returns the sealed bytes as pieces whose concatenation is ciphertext || tag,
   * without copying them into one buffer (the data path sends them with one scatter-gather
   * datagram). The pieces are fresh buffers the caller owns.
   */
  sealParts(nonce: Uint8Array, plaintext: Uint8Array): Uint8Array[];
  /** Throws PilotError('bad_tag') when authentication fails. */
  open(nonce: Uint8Array, sealed: Uint8Array): Uint8Array;
}

/** AES-256-GCM sizes used by the tunnel and the port-443 channel. */
export const AEAD_KEY_LENGTH = 32;
export const AEAD_NONCE_LENGTH = 12;
export const AEAD_TAG_LENGTH = 16;

export interface CryptoBackend {
  readonly name: BackendName;
  randomBytes(n: number): Uint8Array;
  sha256(...parts: Uint8Array[]): Uint8Array;

  x25519Generate(): KeyPair;
  x25519PublicKey(privateKey: Uint8Array): Uint8Array;
  /** Shared secret; throws PilotError('bad_key') for an all-zero result (low-order point). */
  x25519(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array;

  ed25519Generate(): KeyPair; // privateKey = 32-byte seed
  ed25519PublicKey(seed: Uint8Array): Uint8Array;
  ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array; // 64 bytes
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;

  aead(key: Uint8Array): Aead;
}

/** Throws PilotError('bad_key') unless `b` is a 32-byte key. */
export function checkKey(b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) {
    throw new PilotError('bad_key', `${what} must be 32 bytes`);
  }
}

/** Throws PilotError('invalid_argument') unless `nonce` is a 12-byte AES-GCM nonce. */
export function checkNonce(nonce: Uint8Array): void {
  if (nonce.length !== AEAD_NONCE_LENGTH) {
    throw new PilotError('invalid_argument', `AES-GCM nonce must be ${AEAD_NONCE_LENGTH} bytes`);
  }
}
