import { describe, expect, it } from 'vitest';
import * as rules from './tunnel-rules';

const key = (b: number): Uint8Array => new Uint8Array(32).fill(b);
const kind = (me: boolean | undefined, them: boolean | undefined) => (punched: boolean) => rules.directKind(me, them, punched);

describe('tunnel rules: key exchange', () => {
  it('refuses relayed frames whose sender is not the relay sender, and frames claiming ourselves or node 0', () => {
    expect(rules.relayOriginOk(false, undefined, 7)).toBe(true);
    expect(rules.relayOriginOk(true, 7, 7)).toBe(true);
    expect(rules.relayOriginOk(true, 8, 7)).toBe(false);
    expect(rules.pilaSenderRejection(5, 5)).toBe('not_for_us');
    expect(rules.pilaSenderRejection(0, 5)).toBe('not_for_us');
    expect(rules.pilaSenderRejection(6, 5)).toBeUndefined();
  });

  it('judges against the registered key; the signature is checked only when the key matches', () => {
    let verified = 0;
    const sig = (ok: boolean) => () => (verified++, ok);
    expect(rules.judgePila(undefined, key(1), sig(true))).toEqual({ accept: false, reason: 'unknown_key' });
    expect(rules.judgePila(key(2), key(1), sig(true))).toEqual({ accept: false, reason: 'key_mismatch', refreshKey: true });
    expect(verified).toBe(0);
    expect(rules.judgePila(key(1), key(1), sig(false))).toEqual({ accept: false, reason: 'bad_signature' });
    expect(rules.judgePila(key(1), key(1), sig(true))).toEqual({ accept: true });
    expect(verified).toBe(2);
  });

  it('plans a fresh session, a re-key on a changed X25519 key, and answers at most once a second otherwise', () => {
    expect(rules.planKeyExchange(false, undefined, key(1))).toEqual({ fresh: true, changed: false });
    expect(rules.planKeyExchange(true, key(1), key(1))).toEqual({ fresh: false, changed: false });
    expect(rules.planKeyExchange(true, key(1), key(2))).toEqual({ fresh: false, changed: true });
    const same = { fresh: false, changed: false };
    expect(rules.shouldAnswerKx(same, 10_000, 9_500)).toBe(false);
    expect(rules.shouldAnswerKx(same, 10_000, 8_000)).toBe(true);
    // A new session whose exchange answers ours (sent under a second ago): no answer back, which
    // would make a reference peer restart its state again.
    expect(rules.shouldAnswerKx({ fresh: true, changed: false }, 10_000, 9_999)).toBe(false);
    expect(rules.shouldAnswerKx({ fresh: true, changed: false }, 10_000, -Infinity)).toBe(true);
    expect(rules.shouldAnswerKx({ fresh: false, changed: true }, 10_000, 9_999)).toBe(true);
    expect(rules.shouldAnswerKx({ fresh: true, changed: true }, 10_000, 9_999)).toBe(true);
  });

  it('knows a retired key when offered again, and which punch targets can be sent to', () => {
    expect(rules.isRetiredKey(undefined, key(1))).toBe(false);
    expect(rules.isRetiredKey([key(2), key(3)], key(3))).toBe(true);
    expect(rules.isRetiredKey([key(2)], key(1))).toBe(false);
    expect(rules.punchTargetOk('203.0.113.5', 4000)).toBe(true);
    expect(rules.punchTargetOk('203.0.113.5', 0)).toBe(false);
    expect(rules.punchTargetOk('203.0.113.5', 65536)).toBe(false);
    expect(rules.punchTargetOk('', 4000)).toBe(false);
  });

  it('a straight key exchange moves the endpoint only for a new session, a re-key, or from the known address', () => {
    expect(rules.kxMayMoveEndpoint({ fresh: true, changed: false }, false)).toBe(true);
    expect(rules.kxMayMoveEndpoint({ fresh: false, changed: true }, false)).toBe(true);
    expect(rules.kxMayMoveEndpoint({ fresh: false, changed: false }, true)).toBe(true);
    expect(rules.kxMayMoveEndpoint({ fresh: false, changed: false }, false)).toBe(false);
  });

  it('answers a session-less frame from a known peer, or from an unknown sender only when not relayed', () => {
    expect(rules.onFrameWithoutSession(true, true)).toBe('answer_peer');
    expect(rules.onFrameWithoutSession(false, false)).toBe('answer_unknown');
    expect(rules.onFrameWithoutSession(false, true)).toBe('none');
    expect(rules.innerSourceOk(4, 4)).toBe(true);
    expect(rules.innerSourceOk(undefined, 4)).toBe(false);
  });
});

describe('tunnel rules: paths', () => {
  it('classifies a straight path from the NAT facts, falling back to whether a punch was involved', () => {
    expect(rules.directKind(true, true, false)).toBe('punched');
    expect(rules.directKind(true, false, true)).toBe('direct');
    // Issue 15: we are not behind a NAT, the peer (a reference node) reports nothing: direct, even
    // though it asked for a punch (the reference does before every dial).
    expect(rules.directKind(false, undefined, true)).toBe('direct');
    expect(rules.directKind(undefined, false, true)).toBe('direct');
    expect(rules.directKind(true, undefined, true)).toBe('punched');
    expect(rules.directKind(undefined, undefined, true, true)).toBe('direct'); // reached at its registered endpoint
    expect(rules.directKind(true, undefined, true, true)).toBe('punched'); // we are NATed: it may be too
    expect(rules.directKind(true, true, false, true)).toBe('punched');
    expect(rules.directKind(undefined, undefined, false)).toBe('direct');
  });

  it('a straight frame upgrades a relayed peer and settles a pending one', () => {
    const relayed = { path: 'relay' as const, relay: true, punchInvolved: false, lastDirectRecv: 0 };
    expect(rules.onDirectFrame(relayed, false, kind(true, true))).toEqual({ relay: false, punchInvolved: true, path: 'punched', upgraded: true });
    const pending = { path: 'pending' as const, relay: false, punchInvolved: false, lastDirectRecv: 0 };
    expect(rules.onDirectFrame(pending, false, kind(undefined, undefined))).toEqual({ relay: false, punchInvolved: false, path: 'direct' });
    expect(rules.onDirectFrame(pending, true, kind(undefined, undefined))).toEqual({ relay: false, punchInvolved: true, path: 'punched' });
    const direct = { path: 'direct' as const, relay: false, punchInvolved: false, lastDirectRecv: 0 };
    expect(rules.onDirectFrame(direct, true, kind(undefined, undefined))).toEqual({ relay: false, punchInvolved: false });
  });

  it('a settled path is left alone (the driver skips these calls on its hot path)', () => {
    const direct = { path: 'direct' as const, relay: false, punchInvolved: true, lastDirectRecv: 0 };
    expect(rules.onDirectFrame(direct, true, kind(true, true))).toEqual({ relay: false, punchInvolved: true });
    const relayed = { path: 'relay' as const, relay: true, punchInvolved: false, lastDirectRecv: 0 };
    expect(rules.onRelayedFrame(relayed, 100_000, kind(true, true))).toEqual({ relay: true, punchInvolved: false });
  });

  it('a relayed frame moves a peer to relay only when no straight frame came in the last 3 s', () => {
    const direct = { path: 'direct' as const, relay: false, punchInvolved: false, lastDirectRecv: 10_000 };
    expect(rules.onRelayedFrame(direct, 12_000, kind(false, false))).toEqual({ relay: false, punchInvolved: false });
    expect(rules.onRelayedFrame(direct, 13_001, kind(false, false))).toEqual({ relay: true, punchInvolved: false, path: 'relay' });
    const pending = { path: 'pending' as const, relay: false, punchInvolved: false, lastDirectRecv: 10_000 };
    expect(rules.onRelayedFrame(pending, 11_000, kind(false, false))).toEqual({ relay: false, punchInvolved: false, path: 'direct' });
  });
});

describe('silenceRekeyDue', () => {
  const S = 1000;
  it('re-keys after silenceMs of unanswered sending, while still sending', () => {
    expect(rules.silenceRekeyDue({ lastSend: 1900, lastRecv: 0, unansweredSince: 800, lastRekey: -Infinity }, 2000, S)).toBe(true);
  });
  it('not while answers come back, nor before silenceMs of sending, nor when we stopped sending', () => {
    expect(rules.silenceRekeyDue({ lastSend: 1900, lastRecv: 1950, unansweredSince: 800, lastRekey: -Infinity }, 2000, S)).toBe(false);
    expect(rules.silenceRekeyDue({ lastSend: 1900, lastRecv: 0, unansweredSince: 1500, lastRekey: -Infinity }, 2000, S)).toBe(false);
    expect(rules.silenceRekeyDue({ lastSend: 900, lastRecv: 0, unansweredSince: 100, lastRekey: -Infinity }, 2000, S)).toBe(false);
  });
  it('an idle tunnel that starts sending again is not silent at once', () => {
    // last receive long ago, but the first unanswered send is recent
    expect(rules.silenceRekeyDue({ lastSend: 10_000, lastRecv: 100, unansweredSince: 10_000, lastRekey: -Infinity }, 10_100, S)).toBe(false);
  });
  it('at most one self-started re-key per 2 × silenceMs', () => {
    expect(rules.silenceRekeyDue({ lastSend: 5900, lastRecv: 0, unansweredSince: 800, lastRekey: 4500 }, 6000, S)).toBe(false);
    expect(rules.silenceRekeyDue({ lastSend: 5900, lastRecv: 0, unansweredSince: 800, lastRekey: 4000 }, 6000, S)).toBe(true);
  });
});

describe('nextProbeGap', () => {
  it('doubles from the base up to the cap', () => {
    expect(rules.nextProbeGap(undefined, 5000)).toBe(5000);
    expect(rules.nextProbeGap(5000, 5000)).toBe(10_000);
    expect(rules.nextProbeGap(10_000, 5000)).toBe(20_000);
    expect(rules.nextProbeGap(20_000, 5000)).toBe(20_000);
    expect(rules.nextProbeGap(100, 5000)).toBe(5000);
  });
});

describe('tunnel rules: whose endpoint a punch command names', () => {
  const at = (nodeId: number, punchRequestedAt: number, endpoint?: string, registered?: string): rules.PunchCandidate => ({ nodeId, punchRequestedAt, endpoint, registered });

  it('gives it to the peer known at that address, even when another peer asked for a punch just now', () => {
    // c dials d (asked 100 ms ago); k, a relayed peer of c, probes for a direct path and the beacon
    // names k's endpoint to c: it is k's, not the answer to c's request for d.
    const peers = [at(4, 900, '203.0.113.18:4000'), at(8, -Infinity, '203.0.113.26:36855')];
    expect(rules.attributePunch(peers, '203.0.113.26:36855', 1000)).toEqual({ nodeId: 8, by: 'endpoint' });
    expect(rules.attributePunch([at(8, -Infinity, undefined, '203.0.113.26:36855')], '203.0.113.26:36855', 1000)).toEqual({ nodeId: 8, by: 'endpoint' });
  });

  it('takes an unknown address as the answer to our latest request in the answer window', () => {
    const peers = [at(4, 500), at(5, 900), at(6, -Infinity)];
    expect(rules.attributePunch(peers, '198.51.100.7:5000', 1000)).toEqual({ nodeId: 5, by: 'request' });
  });

  it("does not take it as the answer for a peer known at another host (the command came for someone else's request)", () => {
    // c dials d (asked 1 ms ago, d registered at 203.0.113.18); the command names k, a peer of c
    // that c reached over the relay only and so knows at no address.
    const peers = [at(4, 999, undefined, '203.0.113.18:20074'), at(8, -Infinity)];
    expect(rules.attributePunch(peers, '203.0.113.26:51577', 1000)).toBeUndefined();
    // d's NAT gave it another port since it registered: still d.
    expect(rules.attributePunch(peers, '203.0.113.18:31000', 1000)).toEqual({ nodeId: 4, by: 'request' });
    expect(rules.attributePunch([at(4, 999, '[2001:db8::4]:4000')], '[2001:db8::4]:4100', 1000)).toEqual({ nodeId: 4, by: 'request' });
    expect(rules.attributePunch([at(4, 999, '[2001:db8::4]:4000')], '[2001:db8::5]:4000', 1000)).toBeUndefined();
  });

  it('leaves an address nobody known has and nobody asked for lately unattributed (we are the target of a new peer)', () => {
    expect(rules.attributePunch([at(4, 1000)], '198.51.100.7:5000', 1000 + rules.PUNCH_ANSWER_WINDOW_MS)).toBeUndefined();
    expect(rules.attributePunch([], '198.51.100.7:5000', 0)).toBeUndefined();
  });
});
