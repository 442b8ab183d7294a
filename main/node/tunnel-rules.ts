/**
 * The tunnel's inbound decisions as pure functions of state and frame: no sockets, no clock reads,
 * no crypto beyond what the caller passes in. TunnelManager (tunnels.ts) is the thin driver that
 * decodes, calls these, and carries out what they decide.
 */
import { bytesEqual } from '../util/bytes';
import type { DropReason, PathKind } from './tunnel-types';

/** A frame that came through the beacon must carry the relay's sender id as its own. */
export function relayOriginOk(relayed: boolean, relaySender: number | undefined, claimed: number): boolean {
  return !relayed || relaySender === claimed;
}

/** Checks on a key exchange that need no key: who it claims to be. */
export function pilaSenderRejection(sender: number, selfId: number): DropReason | undefined {
  return sender === selfId || sender === 0 ? 'not_for_us' : undefined;
}

export type PilaVerdict = { accept: true } | { accept: false; reason: DropReason; refreshKey?: true };

/**
 * Judges a key exchange against the sender's registered key. `signatureValid` is only called when
 * the key matches (verification costs far more than the comparison).
 */
export function judgePila(registered: Uint8Array | undefined, claimedKey: Uint8Array, signatureValid: () => boolean): PilaVerdict {
  if (!registered) return { accept: false, reason: 'unknown_key' };
  // The registry may know a rotated key we have not seen yet: the caller re-asks (throttled).
  if (!bytesEqual(registered, claimedKey)) return { accept: false, reason: 'key_mismatch', refreshKey: true };
  if (!signatureValid()) return { accept: false, reason: 'bad_signature' };
  return { accept: true };
}

/** Whether `offered` is one of the keys the peer has already replaced (a replayed exchange). */
export function isRetiredKey(retired: readonly Uint8Array[] | undefined, offered: Uint8Array): boolean {
  return !!retired && retired.some((k) => bytesEqual(k, offered));
}

/** What a peer entry offers to the attribution of a punch command (endpoints as `host:port` keys). */
export interface PunchCandidate {
  nodeId: number;
  /** Where we send to it now, and where the registry says it is. */
  endpoint?: string;
  registered?: string;
  punchRequestedAt: number;
}

/** How long after our punch request the beacon's command for it may come (it answers at once). */
export const PUNCH_ANSWER_WINDOW_MS = 3000;

const hostOf = (endpointKey: string): string => endpointKey.slice(0, endpointKey.lastIndexOf(':'));

export type PunchAttribution = { nodeId: number; by: 'endpoint' | 'request' } | undefined;

/**
 * Whose endpoint a punch command names. The command carries only an address (beacon.md: the
 * requester and the target each get the other's endpoint), so it is either the answer to a punch
 * request of ours or a peer's request naming us as target. A peer already known at that address
 * owns it, whenever it asked; otherwise the most recent request of ours in the answer window from
 * a peer not known at another host. Both matter because a command for someone else's request
 * arrives at any time (and often within milliseconds of our own request): with a window
 * of 10 s, a command that came because a known relayed peer probed for a direct path was taken as
 * the answer to our own dial of a third node, whose endpoint then moved to the prober's address,
 * and the third node's key exchange (a session key of its own) reached the prober, which took it
 * for a re-key and lost its working session (NAT lab, fleet matrix, about 1 run in 3).
 */
export function attributePunch(candidates: Iterable<PunchCandidate>, target: string, now: number, windowMs = PUNCH_ANSWER_WINDOW_MS): PunchAttribution {
  let requested: PunchCandidate | undefined;
  for (const c of candidates) {
    if (c.endpoint === target || c.registered === target) return { nodeId: c.nodeId, by: 'endpoint' };
    if (now - c.punchRequestedAt >= windowMs || (requested && c.punchRequestedAt <= requested.punchRequestedAt)) continue;
    // The answer names the target as the beacon sees it: its NAT may have given it another port
    // since it registered, rarely another address. A peer known at another address is not it.
    const known = c.endpoint ?? c.registered;
    if (known !== undefined && hostOf(known) !== hostOf(target)) continue;
    requested = c;
  }
  return requested ? { nodeId: requested.nodeId, by: 'request' } : undefined;
}

/** A punch target the beacon may name: a port we can send to and an address of some kind. */
export function punchTargetOk(host: string, port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535 && host.length > 0;
}

export interface KxPlan {
  /** No session yet: derive one. */
  fresh: boolean;
  /** The peer's X25519 key changed (it restarted or re-keyed): derive a new session. */
  changed: boolean;
}

export function planKeyExchange(hasSession: boolean, knownX25519: Uint8Array | undefined, offered: Uint8Array): KxPlan {
  return { fresh: !hasSession, changed: !!knownX25519 && !bytesEqual(knownX25519, offered) };
}

/**
 * Whether an accepted, straight key exchange may set the peer's endpoint (and path). A PILA carries no
 * freshness: one with the key we already hold, from another address, may be a recording replayed by a
 * third party, so it moves nothing (we still answer it; the peer's next authenticated PILS frame from
 * its new address moves the endpoint). A new session or a re-key (a key never seen before) may, and
 * so may an address vouched for: the known one, or one the beacon named for a punch in the last 30 s.
 */
export function kxMayMoveEndpoint(plan: KxPlan, fromVouchedEndpoint: boolean): boolean {
  return plan.fresh || plan.changed || fromVouchedEndpoint;
}

/**
 * Whether to answer an accepted key exchange with ours. Every exchange a reference peer receives
 * restarts its cipher state (wire.md §6.2), so we answer only when the peer may lack our key:
 * - it re-keyed (a changed key: it restarted, or has none of ours);
 * - a new session, unless we sent our key under a second ago (then its exchange is the answer to
 *   ours, or crossed it: either way it has our key);
 * - an unchanged key after a second of quiet from us (the peer dropped its state and asks again, or
 *   a relayed peer's direct probe: that answer is what lets it upgrade).
 */
export function shouldAnswerKx(plan: KxPlan, now: number, lastKxSent: number, minGapMs = 1000): boolean {
  if (plan.changed) return true;
  return now - lastKxSent > minGapMs;
}

/**
 * The gap before the next direct probe (punch + key exchange) of a relayed peer: each probe restarts
 * a reference peer's state, so the gap doubles from `baseMs` up to `maxMs` while the peer stays on
 * relay; a path change starts it over. The cap bounds how long a relayed pair waits to upgrade once
 * a direct path has become possible (a NAT changed): 20 s.
 */
export function nextProbeGap(previousGap: number | undefined, baseMs: number, maxMs = 20_000): number {
  if (previousGap === undefined) return baseMs;
  return Math.min(maxMs, Math.max(baseMs, previousGap * 2));
}

/**
 * direct or punched, for a peer whose frames flow straight, from what is known (the beacon's view):
 * - either side known not to be behind a NAT: direct (the NATed side's own traffic opens the way);
 * - both known to be behind NATs: punched;
 * - otherwise (a reference peer reports no NAT flag): when our own NAT status is not known yet,
 *   direct if the peer is reached at the endpoint the registry gave for it; else whether a punch was
 *   involved before the path worked. (A reference
 *   peer asks the beacon for a punch before every dial, so "a punch happened" alone says little.)
 */
export function directKind(selfBehindNat: boolean | undefined, peerBehindNat: boolean | undefined, punchInvolved: boolean, atRegisteredEndpoint = false): 'direct' | 'punched' {
  if (selfBehindNat === false || peerBehindNat === false) return 'direct';
  if (selfBehindNat === true && peerBehindNat === true) return 'punched';
  if (atRegisteredEndpoint && selfBehindNat === undefined) return 'direct';
  return punchInvolved ? 'punched' : 'direct';
}

export interface PathState {
  path: PathKind;
  relay: boolean;
  punchInvolved: boolean;
  lastDirectRecv: number;
}

export interface PathChange {
  relay: boolean;
  punchInvolved: boolean;
  /** The new path, when it changes. */
  path?: PathKind;
  /** The peer was on relay and is now reached straight. */
  upgraded?: true;
}

/**
 * An authenticated frame arrived straight from the peer. `punchedRecently`: the beacon told us to
 * punch towards this endpoint lately. `kind` classifies a straight path (directKind, bound to the
 * NAT facts the caller has).
 */
export function onDirectFrame(s: PathState, punchedRecently: boolean, kind: (punchInvolved: boolean) => 'direct' | 'punched'): PathChange {
  if (s.relay) return { relay: false, punchInvolved: true, path: kind(true), upgraded: true };
  if (s.path === 'pending') {
    const punchInvolved = s.punchInvolved || punchedRecently;
    return { relay: false, punchInvolved, path: kind(punchInvolved) };
  }
  return { relay: false, punchInvolved: s.punchInvolved };
}

/**
 * An authenticated frame arrived through the beacon. The peer stays direct while direct traffic is
 * recent (it may relay in one direction only).
 */
export function onRelayedFrame(s: PathState, now: number, kind: (punchInvolved: boolean) => 'direct' | 'punched', directGraceMs = 3000): PathChange {
  if (!s.relay && now - s.lastDirectRecv > directGraceMs) return { relay: true, punchInvolved: s.punchInvolved, path: 'relay' };
  if (s.path === 'pending') return { relay: s.relay, punchInvolved: s.punchInvolved, path: s.relay ? 'relay' : kind(s.punchInvolved) };
  return { relay: s.relay, punchInvolved: s.punchInvolved };
}

/** What to do with a PILS frame for which we hold no session. */
export type NoSessionAction = 'answer_peer' | 'answer_unknown' | 'none';

export function onFrameWithoutSession(peerKnown: boolean, relayed: boolean): NoSessionAction {
  if (peerKnown) return 'answer_peer';
  return relayed ? 'none' : 'answer_unknown';
}

/** The inner packet's source node must be the tunnel peer (the reference does not check this). */
export function innerSourceOk(innerSource: number | undefined, peer: number): boolean {
  return innerSource === peer;
}

export interface SilenceState {
  lastSend: number;
  lastRecv: number;
  /** The first send after the last receive (frames going out unanswered since then). */
  unansweredSince: number;
  lastRekey: number;
}

/**
 * Whether to re-key on our own: we are still sending (within `silenceMs`), nothing authenticated
 * came back for `silenceMs` of sending, and our last self-started re-key is at least twice
 * `silenceMs` ago (a peer that is gone costs one key exchange per period, not a storm). An idle
 * tunnel that starts sending again is not silent: the clock starts at its first unanswered send.
 */
export function silenceRekeyDue(s: SilenceState, now: number, silenceMs: number): boolean {
  return now - s.lastSend < silenceMs && s.lastRecv < s.unansweredSince && now - s.unansweredSince >= silenceMs && now - s.lastRekey >= 2 * silenceMs;
}
