/**
 * node:crypto backend (OpenSSL). 5-36x faster than @noble on the project's machines
 * (ENVIRONMENT.md), so it is the default on the data path.
 *
 * Raw 32-byte keys go in and out of KeyObjects as JWK (RFC 8037 OKP: `x` public, `d` private), with
 * the fixed DER prefixes of RFC 8410 (PKCS#8 private, SPKI public) as the fallback. On Node 20 /
 * OpenSSL 3.0 importing DER goes through OpenSSL's decoders: ~330 µs for an Ed25519 private key,
 * ~500 µs for an X25519 one, ~80 µs for a public key, and each DER export 40–60 µs, where the JWK
 * import is 25 µs (private) / 6 µs (public) and the export ~1 µs (bench/cold-dial.ts: these were
 * about half of a cold dial's key exchange). A JWK private key is built from `d` alone (Node derives
 * the public half from it; `x` is only checked to be a string), so no public key is needed to import
 * one; the public half is always read back from the KeyObject, never taken from the input.
 * KeyObjects are still cached by key bytes in small bounded maps: a node signs with one identity
 * and talks to a limited set of peers; a generated X25519 pair's private KeyObject goes into the
 * cache as made, so the key agreement with it imports nothing. The private-key cache holds secret
 * material for the life of the process, as the Identity object itself does.
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
      this.put(buf, v);
    }
    return v;
  }

  put(bytes: Uint8Array, key: KeyObject): void {
    if (this.map.size >= CACHE_LIMIT) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
    this.map.set(asBuffer(bytes).toString('latin1'), key);
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

type OkpCurve = 'Ed25519' | 'X25519';

/** A JWK member (`x` or `d`) as 32 raw bytes, or undefined when it is not that. */
function jwkBytes(v: unknown): Uint8Array | undefined {
  if (typeof v !== 'string') return undefined;
  const b = Buffer.from(v, 'base64url');
  return b.length === 32 ? copyOut(b) : undefined;
}

/** The raw 32-byte public key of an Ed25519 / X25519 KeyObject (public, or the public half of a private one). */
function rawPublic(key: KeyObject): Uint8Array {
  const x = jwkBytes(key.export({ format: 'jwk' }).x);
  if (x) return x;
  // The last 32 bytes of an SPKI DER export are the raw public key for Ed25519 / X25519.
  const der = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
  return copyOut(der.subarray(der.length - 32));
}

function rawPrivate(key: KeyObject): Uint8Array {
  const d = jwkBytes(key.export({ format: 'jwk' }).d);
  if (d) return d;
  const der = key.export({ format: 'der', type: 'pkcs8' });
  return copyOut(der.subarray(der.length - 32));
}

/** A private KeyObject from the raw 32-byte key: JWK (built from `d`), else PKCS#8 DER. */
function importPrivate(crv: OkpCurve, raw: Buffer, pkcs8Prefix: Buffer): KeyObject {
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv, d: raw.toString('base64url'), x: '' }, format: 'jwk' });
  } catch {
    return createPrivateKey({ key: Buffer.concat([pkcs8Prefix, raw]), format: 'der', type: 'pkcs8' });
  }
}

/** A public KeyObject from the raw 32-byte key: JWK, else SPKI DER (which throws for bytes it refuses). */
function importPublic(crv: OkpCurve, raw: Buffer, spkiPrefix: Buffer): KeyObject {
  try {
    return createPublicKey({ key: { kty: 'OKP', crv, x: raw.toString('base64url') }, format: 'jwk' });
  } catch {
    return createPublicKey({ key: Buffer.concat([spkiPrefix, raw]), format: 'der', type: 'spki' });
  }
}

export function createNativeBackend(): CryptoBackend {
  const edPrivate = new KeyCache();
  const edPublic = new KeyCache();
  const xPrivate = new KeyCache();
  const xPublic = new KeyCache();

  const edPrivateKey = (seed: Uint8Array): KeyObject => edPrivate.get(seed, (b) => importPrivate('Ed25519', b, ED25519_PKCS8_PREFIX));
  const edPublicKey = (pub: Uint8Array): KeyObject => edPublic.get(pub, (b) => importPublic('Ed25519', b, ED25519_SPKI_PREFIX));
  const xPrivateKey = (priv: Uint8Array): KeyObject => xPrivate.get(priv, (b) => importPrivate('X25519', b, X25519_PKCS8_PREFIX));
  const xPublicKey = (pub: Uint8Array): KeyObject => xPublic.get(pub, (b) => importPublic('X25519', b, X25519_SPKI_PREFIX));

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
      const raw = rawPrivate(privateKey);
      // The agreement with this pair (its reason to exist) then finds the KeyObject made.
      xPrivate.put(raw, privateKey);
      return { privateKey: raw, publicKey: rawPublic(publicKey) };
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
