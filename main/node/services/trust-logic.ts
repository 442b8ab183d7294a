/**
 * The port-444 trust handshake without I/O (services.md §1.2–§1.4): the message codec, the checks
 * a receiver applies, the replay cache, and the decisions for requests and answers. The service
 * (trust.ts) feeds facts in (registry key and groups, local state) and carries the outcome out.
 */
import { createHash } from 'node:crypto';
import { PilotError } from '../../../shared/errors';
import { challenge } from '../../crypto';
import { fromUtf8, utf8 } from '../../util/bytes';

export const HANDSHAKE_TYPES = ['handshake_request', 'handshake_accept', 'handshake_reject', 'handshake_revoke'] as const;
export type HandshakeType = (typeof HANDSHAKE_TYPES)[number];

/** A port-444 message; fields in the order the reference emits them, all always present. */
export interface HandshakeMessage {
  type: HandshakeType;
  node_id: number;
  public_key: string;
  justification: string;
  signature: string;
  reason: string;
  timestamp: number;
}

/** The whole message must fit in one segment. */
export const MAX_HANDSHAKE_BYTES = 4096;
export const MAX_AGE_SEC = 300;
export const MAX_FUTURE_SEC = 30;
/** Replay entries are kept this long (longer than the accepted age, so a replay is always caught). */
export const REPLAY_TTL_MS = 15 * 60_000;

/** The message with its keys in the wire order (JSON.stringify keeps insertion order). */
function inWireOrder(m: HandshakeMessage): HandshakeMessage {
  return {
    type: m.type,
    node_id: m.node_id,
    public_key: m.public_key,
    justification: m.justification,
    signature: m.signature,
    reason: m.reason,
    timestamp: m.timestamp,
  };
}

export function encodeHandshake(m: HandshakeMessage): Uint8Array {
  const b = utf8(JSON.stringify(inWireOrder(m)));
  if (b.length > MAX_HANDSHAKE_BYTES) {
    throw new PilotError('frame_too_large', `handshake message of ${b.length} bytes exceeds ${MAX_HANDSHAKE_BYTES}`, 'shorten the justification');
  }
  return b;
}

/** Parses a received message; missing string fields become "" (as Go's decoder leaves them). */
export function parseHandshake(bytes: Uint8Array): HandshakeMessage {
  let v: unknown;
  try {
    v = JSON.parse(fromUtf8(bytes));
  } catch {
    throw new PilotError('invalid_argument', 'handshake message is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new PilotError('invalid_argument', 'handshake message is not an object');
  const o = v as Record<string, unknown>;
  const type = o['type'];
  if (typeof type !== 'string' || !(HANDSHAKE_TYPES as readonly string[]).includes(type)) {
    throw new PilotError('invalid_argument', `unknown handshake message type ${JSON.stringify(type)}`);
  }
  const id = o['node_id'];
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > 0xffffffff) throw new PilotError('invalid_argument', 'bad node_id');
  const ts = o['timestamp'];
  if (typeof ts !== 'number' || !Number.isFinite(ts)) throw new PilotError('invalid_argument', 'bad timestamp');
  const str = (k: string): string => {
    const x = o[k];
    if (x === undefined || x === null) return '';
    if (typeof x !== 'string') throw new PilotError('invalid_argument', `bad ${k}`);
    return x;
  };
  return {
    type: type as HandshakeType,
    node_id: id,
    public_key: str('public_key'),
    justification: str('justification'),
    signature: str('signature'),
    reason: str('reason'),
    timestamp: Math.trunc(ts),
  };
}

/** Builds and signs a message from `from` to `to` (signature `handshake:<from>:<to>` for all types). */
export function buildHandshake(
  signer: { publicKeyBase64: string; signText(text: string): string },
  type: HandshakeType,
  from: number,
  to: number,
  nowSec: number,
  extra: { justification?: string; reason?: string } = {},
): HandshakeMessage {
  return {
    type,
    node_id: from,
    public_key: signer.publicKeyBase64,
    justification: extra.justification ?? '',
    signature: signer.signText(challenge.handshake(from, to)),
    reason: extra.reason ?? (type === 'handshake_revoke' ? 'trust revoked' : ''),
    timestamp: Math.floor(nowSec),
  };
}

export type Verdict = { ok: true; publicKey: string } | { ok: false; reason: string };

/**
 * The receiver's checks, in order: sender = the authenticated stream peer; age ≤ 5 min and ≤ 30 s in
 * the future; the sender's key as registered (our improvement: a key in the message must equal the
 * registry's key for that id — the reference trusts the self-asserted key); the signature verifies
 * with that key. `registryKey` undefined = the registry does not know the sender.
 */
export function checkHandshake(
  m: HandshakeMessage,
  ctx: {
    me: number;
    remoteNode: number | undefined;
    nowSec: number;
    registryKey: string | undefined;
    verify: (publicKey: string, text: string, signature: string) => boolean;
  },
): Verdict {
  if (ctx.remoteNode !== undefined && m.node_id !== ctx.remoteNode) {
    return { ok: false, reason: `node_id ${m.node_id} does not match the connection's peer ${ctx.remoteNode}` };
  }
  if (m.timestamp < ctx.nowSec - MAX_AGE_SEC) return { ok: false, reason: 'message too old' };
  if (m.timestamp > ctx.nowSec + MAX_FUTURE_SEC) return { ok: false, reason: 'message from the future' };
  if (ctx.registryKey === undefined || ctx.registryKey === '') return { ok: false, reason: 'sender unknown at the registry' };
  if (m.public_key !== '' && m.public_key !== ctx.registryKey) return { ok: false, reason: 'public key does not match the registry' };
  if (!ctx.verify(ctx.registryKey, challenge.handshake(m.node_id, ctx.me), m.signature)) return { ok: false, reason: 'bad signature' };
  return { ok: true, publicKey: ctx.registryKey };
}

/** SHA-256 of the re-encoded message, the replay-cache key. */
export function handshakeDigest(m: HandshakeMessage): string {
  return createHash('sha256').update(JSON.stringify(inWireOrder(m))).digest('hex');
}

/** Seen-message cache; entries expire after `ttlMs`. */
export class ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly ttlMs = REPLAY_TTL_MS) {}

  /** True if `key` was seen within the TTL; otherwise records it and returns false. */
  check(key: string, nowMs: number): boolean {
    for (const [k, at] of this.seen) {
      if (nowMs - at < this.ttlMs) break; // insertion order = time order
      this.seen.delete(k);
    }
    const at = this.seen.get(key);
    if (at !== undefined && nowMs - at < this.ttlMs) return true;
    this.seen.set(key, nowMs);
    return false;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** The lowest non-zero network both lists contain, or undefined. */
export function sharedNetwork(a: readonly number[], b: readonly number[]): number | undefined {
  const sb = new Set(b);
  let best: number | undefined;
  for (const n of a) if (n !== 0 && sb.has(n) && (best === undefined || n < best)) best = n;
  return best;
}

export type RequestDecision =
  | { action: 'already_trusted' }
  | { action: 'mutual' }
  | { action: 'group'; network: number }
  | { action: 'pending' };

/** What to do with a (verified) trust request (services.md §1.3). */
export function decideRequest(f: { trusted: boolean; outgoing: boolean; sharedNetwork: number | undefined; autoApproveGroups: boolean }): RequestDecision {
  if (f.trusted) return { action: 'already_trusted' };
  if (f.outgoing) return { action: 'mutual' };
  if (f.autoApproveGroups && f.sharedNetwork !== undefined) return { action: 'group', network: f.sharedNetwork };
  return { action: 'pending' };
}

export type AnswerDecision = { action: 'trust' } | { action: 'clear_outgoing' } | { action: 'ignore'; reason: string };

/**
 * What to do with an accept or reject (direct or relayed). Our hardening: an accept only counts when
 * we asked that node (or trust it already) — the reference trusts any unsolicited accept.
 */
export function decideAnswer(accept: boolean, f: { trusted: boolean; outgoing: boolean }): AnswerDecision {
  if (accept) {
    if (f.outgoing) return { action: 'trust' };
    if (f.trusted) return { action: 'ignore', reason: 'already trusted' };
    return { action: 'ignore', reason: 'unsolicited accept' };
  }
  if (f.outgoing) return { action: 'clear_outgoing' };
  return { action: 'ignore', reason: 'no request outstanding' };
}

/**
 * The Unix second for the next message of one type to one peer: now, or one past the last one when
 * that is not earlier (two byte-equal messages would be dropped as a replay by the receiver).
 */
export function nextStamp(nowSec: number, lastSec: number | undefined): number {
  return lastSec !== undefined && lastSec >= nowSec ? lastSec + 1 : nowSec;
}
