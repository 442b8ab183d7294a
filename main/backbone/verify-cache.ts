/**
 * The registry's signature check with a public-key cache sized for a directory, not for a node.
 *
 * Every signed request (heartbeat, set_tags, find_nodes, ...) is verified with the node's
 * registered key. With the native backend, turning the 32 raw bytes into an OpenSSL KeyObject
 * costs more than the verification itself (bench/backbone-scale.ts profile: createPublicKey 9 % and
 * verify 10 % of the backbone's CPU at 1,000 heartbeats/s), and the backend's own cache holds
 * 1,024 keys (right for a node talking to its peers, a miss on every heartbeat for a directory of
 * 150,000). So the backbone keeps its own map from the registered base64 key (the string the
 * registry already holds, no decoding on a hit) to its KeyObject: about 0.9 KB per key, bounded
 * by `capacity` (oldest insertion dropped first). Other backends go through verifyText unchanged.
 *
 * Verification is a pure function of (key, text, signature), and the reference's challenges carry
 * no nonce: `heartbeat:<id>` is the same text every 30 s and Ed25519 signs it to the same bytes
 * every time. So each key also remembers the last few (text, signature) pairs that verified, and
 * the same pair is answered `true` again without the curve arithmetic: the answer is the one
 * verify would give (a replayed heartbeat verified before this cache too). With it, verification
 * left the profile's top at 5,000 heartbeats/s (it was 41 % of the backbone's CPU, with
 * createPublicKey another 35 %).
 */
import { createPublicKey, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { verifyText, type CryptoBackend } from '../crypto';
import type { VerifyFn } from './registry-state';

/** RFC 8410 SPKI prefix of an Ed25519 public key (the same bytes crypto/native.ts uses). */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const B64_32 = /^[A-Za-z0-9+/]{43}=$/;
const B64_64 = /^[A-Za-z0-9+/]{86}==$/;

export const DEFAULT_VERIFY_CACHE = 200_000;
/** Verified (text, signature) pairs remembered per key: heartbeat, find_nodes, poll_handshakes, ... */
const PAIRS_PER_KEY = 4;

interface Entry {
  key: KeyObject | null;
  verified: string[];
}

export interface CachedVerifier {
  verify: VerifyFn;
  /** Keys held now (for tests and status). */
  size(): number;
}

export function makeCachedVerifier(backend: CryptoBackend, capacity = DEFAULT_VERIFY_CACHE): CachedVerifier {
  if (backend.name !== 'native' || capacity <= 0) {
    return { verify: (pub, text, sig) => verifyText(backend, pub, text, sig), size: () => 0 };
  }
  /** key null: bytes that are not a key (remembered too: a bad key stays bad). */
  const cache = new Map<string, Entry>();
  const entryOf = (pub: string): Entry => {
    let e = cache.get(pub);
    if (e !== undefined) return e;
    let key: KeyObject | null;
    try {
      key = B64_32.test(pub) ? createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, Buffer.from(pub, 'base64')]), format: 'der', type: 'spki' }) : null;
    } catch {
      key = null;
    }
    e = { key, verified: [] };
    if (cache.size >= capacity) {
      const oldest = cache.keys().next();
      if (oldest.done !== true) cache.delete(oldest.value);
    }
    cache.set(pub, e);
    return e;
  };
  const verify: VerifyFn = (pub, text, sig) => {
    if (typeof sig !== 'string' || !B64_64.test(sig)) return false;
    const e = entryOf(pub);
    if (e.key === null) return false;
    const pair = `${sig}${text}`; // the signature has a fixed length: no separator needed
    if (e.verified.includes(pair)) return true;
    let ok: boolean;
    try {
      ok = nodeVerify(null, Buffer.from(text, 'utf8'), e.key, Buffer.from(sig, 'base64'));
    } catch {
      ok = false;
    }
    if (ok) {
      if (e.verified.length >= PAIRS_PER_KEY) e.verified.shift();
      e.verified.push(pair);
    }
    return ok;
  };
  return { verify, size: () => cache.size };
}
