/**
 * node:crypto backend (OpenSSL). 5-36x faster than @noble on the project's machines
 * (ENVIRONMENT.md), so it is the default on the data path.
 *
 * Raw 32-byte keys are turned into KeyObjects through fixed DER prefixes (PKCS#8 for private
 * keys, SPKI for public keys, RFC 8410). Building a KeyObject costs about as much as a signature,
 * so private and public KeyObjects are cached by key bytes in small bounded maps: a node signs with
 * one identity and talks to a limited set of peers. The private-key cache holds secret material
 * for the life of the process, as the Identity object itself does.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  diffieHellman,
  generateKeyPairSync,
  randomBytes as nodeRandomBytes,
  sign as nodeSign,
  verify as nodeVerify,
  type KeyObject,
} from 'node:crypto';
import { PilotError } from '../../shared/errors';
import { AEAD_KEY_LENGTH, AEAD_TAG_LENGTH, checkKey, checkNonce, type Aead, type CryptoBackend, type KeyPair } from './types';

const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');

const CACHE_LIMIT = 1024;

/** Insertion-ordered map with a size bound (oldest entry dropped first). */
class KeyCache {
  private readonly map = new Map<string, KeyObject>();

  get(bytes: Uint8Array, make: (b: Buffer) => KeyObject): KeyObject {
    const buf = asBuffer(bytes);
    const k = buf.toString('latin1');
    let v = this.map.get(k);
    if (v === undefined) {
      v = make(buf);
      if (this.map.size >= CACHE_LIMIT) {
        const oldest = this.map.keys().next();
        if (oldest.done !== true) this.map.delete(oldest.value);
      }
      this.map.set(k, v);
    }
    return v;
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A fresh, unshared Uint8Array with the bytes of `b` (never a view into Node's Buffer pool). */
function copyOut(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.byteLength);
  out.set(b);
  return out;
}

/** The last 32 bytes of an SPKI DER export are the raw public key for Ed25519 / X25519. */
function rawPublic(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'spki' });
  return copyOut(der.subarray(der.length - 32));
}

function rawPrivate(key: KeyObject): Uint8Array {
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return copyOut(der.subarray(der.length - 32));
}

export function createNativeBackend(): CryptoBackend {
  const edPrivate = new KeyCache();
  const edPublic = new KeyCache();
  const xPrivate = new KeyCache();
  const xPublic = new KeyCache();

  const edPrivateKey = (seed: Uint8Array): KeyObject =>
    edPrivate.get(seed, (b) => createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, b]), format: 'der', type: 'pkcs8' }));
  const edPublicKey = (pub: Uint8Array): KeyObject =>
    edPublic.get(pub, (b) => createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, b]), format: 'der', type: 'spki' }));
  const xPrivateKey = (priv: Uint8Array): KeyObject =>
    xPrivate.get(priv, (b) => createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, b]), format: 'der', type: 'pkcs8' }));
  const xPublicKey = (pub: Uint8Array): KeyObject =>
    xPublic.get(pub, (b) => createPublicKey({ key: Buffer.concat([X25519_SPKI_PREFIX, b]), format: 'der', type: 'spki' }));

  return {
    name: 'native',

    randomBytes(n: number): Uint8Array {
      return copyOut(nodeRandomBytes(n));
    },

    sha256(...parts: Uint8Array[]): Uint8Array {
      const h = createHash('sha256');
      for (const p of parts) h.update(p);
      return copyOut(h.digest());
    },

    x25519Generate(): KeyPair {
      const { privateKey, publicKey } = generateKeyPairSync('x25519');
      return { privateKey: rawPrivate(privateKey), publicKey: rawPublic(publicKey) };
    },

    x25519PublicKey(privateKey: Uint8Array): Uint8Array {
      checkKey(privateKey, 'X25519 private key');
      return rawPublic(createPublicKey(xPrivateKey(privateKey)));
    },

    x25519(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array {
      checkKey(privateKey, 'X25519 private key');
      checkKey(peerPublicKey, 'X25519 public key');
      let secret: Buffer;
      try {
        secret = diffieHellman({ privateKey: xPrivateKey(privateKey), publicKey: xPublicKey(peerPublicKey) });
      } catch {
        // OpenSSL refuses an all-zero shared secret (low-order peer point).
        throw new PilotError('bad_key', 'X25519: low-order public key (all-zero shared secret)');
      }
      let acc = 0;
      for (const x of secret) acc |= x;
      if (acc === 0) throw new PilotError('bad_key', 'X25519: low-order public key (all-zero shared secret)');
      return copyOut(secret);
    },

    ed25519Generate(): KeyPair {
      const seed = copyOut(nodeRandomBytes(32));
      return { privateKey: seed, publicKey: rawPublic(createPublicKey(edPrivateKey(seed))) };
    },

    ed25519PublicKey(seed: Uint8Array): Uint8Array {
      checkKey(seed, 'Ed25519 seed');
      return rawPublic(createPublicKey(edPrivateKey(seed)));
    },

    ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
      checkKey(seed, 'Ed25519 seed');
      return copyOut(nodeSign(null, message, edPrivateKey(seed)));
    },

    ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
      if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
      if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
      if (!(message instanceof Uint8Array)) return false;
      try {
        return nodeVerify(null, message, edPublicKey(publicKey), signature);
      } catch {
        return false; // key bytes that are not a curve point
      }
    },

    aead(key: Uint8Array): Aead {
      if (!(key instanceof Uint8Array) || key.length !== AEAD_KEY_LENGTH) {
        throw new PilotError('bad_key', `AES-256-GCM key must be ${AEAD_KEY_LENGTH} bytes`);
      }
      const k = createSecretKey(Buffer.from(key)); // copy: later changes to `key` do not matter
      const sealInto = (nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array, offset: number): number => {
        checkNonce(nonce);
        const n = plaintext.length + AEAD_TAG_LENGTH;
        if (offset < 0 || offset + n > out.length) throw new PilotError('short_buffer', 'sealInto: output buffer too small');
        const c = createCipheriv('aes-256-gcm', k, nonce);
        const ct = c.update(plaintext);
        const rest = c.final(); // empty for GCM, kept for correctness
        out.set(ct, offset);
        if (rest.length > 0) out.set(rest, offset + ct.length);
        out.set(c.getAuthTag(), offset + plaintext.length);
        return n;
      };
      return {
        seal(nonce: Uint8Array, plaintext: Uint8Array): Uint8Array {
          const out = new Uint8Array(plaintext.length + AEAD_TAG_LENGTH);
          sealInto(nonce, plaintext, out, 0);
          return out;
        },
        sealInto,
        sealParts(nonce: Uint8Array, plaintext: Uint8Array): Uint8Array[] {
          checkNonce(nonce);
          const c = createCipheriv('aes-256-gcm', k, nonce);
          const ct = c.update(plaintext);
          const rest = c.final(); // empty for GCM, kept for correctness
          return rest.length > 0 ? [ct, rest, c.getAuthTag()] : [ct, c.getAuthTag()];
        },
        open(nonce: Uint8Array, sealed: Uint8Array): Uint8Array {
          checkNonce(nonce);
          if (sealed.length < AEAD_TAG_LENGTH) throw new PilotError('bad_tag', 'AES-GCM: sealed data shorter than the tag');
          const split = sealed.length - AEAD_TAG_LENGTH;
          const d = createDecipheriv('aes-256-gcm', k, nonce, { authTagLength: AEAD_TAG_LENGTH });
          d.setAuthTag(sealed.subarray(split));
          const pt = d.update(sealed.subarray(0, split));
          try {
            d.final();
          } catch {
            throw new PilotError('bad_tag', 'AES-GCM: authentication failed');
          }
          return new Uint8Array(pt.buffer, pt.byteOffset, pt.byteLength);
        },
      };
    },
  };
}
