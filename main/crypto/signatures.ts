/**
 * Text signatures used by the registry and the port-444 handshake service (README.md §6): Ed25519
 * over the ASCII challenge, carried as standard base64. All ids are decimal without padding.
 */
import { fromBase64, utf8 } from '../util/bytes';
import type { CryptoBackend } from './types';

type Id = number | bigint;

/** Registry ops signed as `<op>:<node_id>`. */
export type SingleIdOp =
  | 'heartbeat'
  | 'set_visibility'
  | 'set_hostname'
  | 'set_tags'
  | 'set_task_exec'
  | 'deregister'
  | 'poll_handshakes'
  | 'rotate';

function dec(id: Id): string {
  if (typeof id === 'bigint') return id.toString(10);
  if (!Number.isSafeInteger(id) || id < 0) throw new RangeError(`node id must be a non-negative integer, got ${String(id)}`);
  return id.toString(10);
}

/** Builders for every signed challenge string. */
export const challenge = {
  /** `<op>:<id>` — heartbeat, set_visibility, set_hostname, set_tags, set_task_exec, deregister, poll_handshakes, rotate. */
  op: (op: SingleIdOp, id: Id): string => `${op}:${dec(id)}`,
  heartbeat: (id: Id): string => `heartbeat:${dec(id)}`,
  setVisibility: (id: Id): string => `set_visibility:${dec(id)}`,
  setHostname: (id: Id): string => `set_hostname:${dec(id)}`,
  setTags: (id: Id): string => `set_tags:${dec(id)}`,
  setTaskExec: (id: Id): string => `set_task_exec:${dec(id)}`,
  deregister: (id: Id): string => `deregister:${dec(id)}`,
  pollHandshakes: (id: Id): string => `poll_handshakes:${dec(id)}`,
  /** rotate_key, signed with the current key. */
  rotate: (id: Id): string => `rotate:${dec(id)}`,
  resolve: (requester: Id, target: Id): string => `resolve:${dec(requester)}:${dec(target)}`,
  reportTrust: (nodeId: Id, peerId: Id): string => `report_trust:${dec(nodeId)}:${dec(peerId)}`,
  revokeTrust: (nodeId: Id, peerId: Id): string => `revoke_trust:${dec(nodeId)}:${dec(peerId)}`,
  /** Registry request_handshake, and all four port-444 message types (sender, receiver). */
  handshake: (from: Id, to: Id): string => `handshake:${dec(from)}:${dec(to)}`,
  /** Registry respond_handshake. */
  respond: (responder: Id, requester: Id): string => `respond:${dec(responder)}:${dec(requester)}`,
  punch: (a: Id, b: Id): string => `punch:${dec(a)}:${dec(b)}`,
} as const;

/**
 * Verifies a base64 Ed25519 signature over the UTF-8 bytes of `text`. Never throws: malformed
 * base64, wrong lengths or a key that is not a curve point all give false.
 */
export function verifyText(
  backend: CryptoBackend,
  publicKey: string | Uint8Array,
  text: string,
  signatureB64: string,
): boolean {
  try {
    const pub = typeof publicKey === 'string' ? fromBase64(publicKey, 32) : publicKey;
    const sig = fromBase64(signatureB64, 64);
    return backend.ed25519Verify(pub, utf8(text), sig);
  } catch {
    return false;
  }
}
