/**
 * PILA (authenticated key exchange) signatures, wire.md §5.4: Ed25519 over the 40 bytes
 * ASCII "auth" (no colon) || sender node id (u32 BE) || sender X25519 public key.
 */
import { PilotError } from '../../shared/errors';
import type { Identity } from './identity';
import type { CryptoBackend } from './types';

export const PILA_CHALLENGE_LENGTH = 40;
const AUTH = [0x61, 0x75, 0x74, 0x68]; // "auth"

export function pilaChallenge(nodeId: number, x25519Public: Uint8Array): Uint8Array {
  if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId > 0xffff_ffff) {
    throw new PilotError('invalid_argument', `node id must be a u32, got ${String(nodeId)}`);
  }
  if (x25519Public.length !== 32) throw new PilotError('bad_key', 'X25519 public key must be 32 bytes');
  const out = new Uint8Array(PILA_CHALLENGE_LENGTH);
  out.set(AUTH, 0);
  out[4] = nodeId >>> 24;
  out[5] = (nodeId >>> 16) & 0xff;
  out[6] = (nodeId >>> 8) & 0xff;
  out[7] = nodeId & 0xff;
  out.set(x25519Public, 8);
  return out;
}

/** The 64-byte signature a PILA frame carries. */
export function signPila(identity: Identity, nodeId: number, x25519Public: Uint8Array): Uint8Array {
  return identity.sign(pilaChallenge(nodeId, x25519Public));
}

/** Never throws: a malformed id, key or signature gives false. */
export function verifyPila(
  backend: CryptoBackend,
  ed25519Public: Uint8Array,
  nodeId: number,
  x25519Public: Uint8Array,
  signature: Uint8Array,
): boolean {
  let msg: Uint8Array;
  try {
    msg = pilaChallenge(nodeId, x25519Public);
  } catch {
    return false;
  }
  return backend.ed25519Verify(ed25519Public, msg, signature);
}
