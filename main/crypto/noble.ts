/**
 * Portable backend on @noble/curves, @noble/ciphers and @noble/hashes (pure JS, no node:crypto).
 * Slower than `native` (ENVIRONMENT.md) but runs anywhere; tests use it to check the native backend.
 *
 * Ed25519 verification runs with `zip215: false` (strict RFC 8032: canonical encodings, S < L),
 * the rule OpenSSL and Go apply, so both backends accept the same signatures.
 * X25519 rejects low-order peer points before the ladder; those are exactly the points that give
 * the all-zero secret the reference refuses, so the outcome is the same as native's.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { PilotError } from '../../shared/errors';
import { AEAD_KEY_LENGTH, AEAD_TAG_LENGTH, checkKey, checkNonce, type Aead, type CryptoBackend, type KeyPair } from './types';

export function createNobleBackend(): CryptoBackend {
  return {
    name: 'noble',

    randomBytes(n: number): Uint8Array {
      return nobleRandomBytes(n);
    },

    sha256(...parts: Uint8Array[]): Uint8Array {
      if (parts.length === 1 && parts[0] !== undefined) return sha256(parts[0]);
      const h = sha256.create();
      for (const p of parts) h.update(p);
      return h.digest();
    },

    x25519Generate(): KeyPair {
      const privateKey = x25519.utils.randomSecretKey();
      return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
    },

    x25519PublicKey(privateKey: Uint8Array): Uint8Array {
      checkKey(privateKey, 'X25519 private key');
      return x25519.getPublicKey(privateKey);
    },

    x25519(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
      checkKey(privateKey, 'X25519 private key');
      checkKey(peerPublicKey, 'X25519 public key');
      let secret: Uint8Array;
      try {
        secret = x25519.getSharedSecret(privateKey, peerPublicKey);
      } catch {
        throw new PilotError('bad_key', 'X25519: low-order public key (all-zero shared secret)');
      }
      let acc = 0;
      for (const x of secret) acc |= x;
      if (acc === 0) throw new PilotError('bad_key', 'X25519: low-order public key (all-zero shared secret)');
      return secret;
    },

    ed25519Generate(): KeyPair {
      const seed = ed25519.utils.randomSecretKey();
      return { privateKey: seed, publicKey: ed25519.getPublicKey(seed) };
    },

    ed25519PublicKey(seed: Uint8Array): Uint8Array {
      checkKey(seed, 'Ed25519 seed');
      return ed25519.getPublicKey(seed);
    },

    ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
      checkKey(seed, 'Ed25519 seed');
      return ed25519.sign(message, seed);
    },

    ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
      if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
      if (!(message instanceof Uint8Array)) return false;
      try {
        return ed25519.verify(signature, message, publicKey, { zip215: false });
      } catch {
        return false;
      }
    },

    aead(key: Uint8Array): Aead {
      if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LENGTH) {
        throw new PilotError('bad_key', `AES-256-GCM key must be ${AEAD_KEY_LENGTH} bytes`);
      }
      const k = Uint8Array.from(key); // copy: later changes to `key` do not matter
      const seal = (nonce: Uint8Array, plaintext: Uint8Array): Uint8Array => {
        checkNonce(nonce);
        return gcm(k, nonce).encrypt(plaintext);
      };
      return {
        seal,
        sealInto(nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number): number {
          const n = plaintext.length + AEAD_TAG_LENGTH;
          if (offset < 0 || offset + n > out.length) throw new PilotError('short_buffer', 'sealInto: output buffer too small');
          out.set(seal(nonce, plaintext), offset);
          return n;
        },
        sealParts(nonce: Uint8Array, plaintext: Uint8Array): Uint8Array[] {
          return [seal(nonce, plaintext)];
        },
        open(nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
          checkNonce(nonce);
          if (sealed.length < AEAD_TAG_LENGTH) throw new PilotError('bad_tag', 'AES-GCM: sealed data shorter than the tag');
          try {
            return gcm(k, nonce).decrypt(sealed);
          } catch {
            throw new PilotError('bad_tag', 'AES-GCM: authentication failed');
          }
        },
      };
    },
  };
}
