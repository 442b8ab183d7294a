import { describe, it, expect } from 'vitest';
import { Identity, verifyText, getCrypto } from '../../crypto';
import { fromUtf8, utf8 } from '../../util/bytes';
import {
  MAX_HANDSHAKE_BYTES,
  ReplayCache,
  buildHandshake,
  checkHandshake,
  decideAnswer,
  decideRequest,
  encodeHandshake,
  handshakeDigest,
  nextStamp,
  parseHandshake,
  sharedNetwork,
} from './trust-logic';

const backend = getCrypto();
const verify = (k: string, text: string, sig: string): boolean => verifyText(backend, k, text, sig);
const alice = Identity.generate();
const mallory = Identity.generate();
const NOW = 1_700_000_000;

describe('port-444 message codec', () => {
  it('emits the fields in the reference order and parses them back', () => {
    const m = buildHandshake(alice, 'handshake_request', 5, 9, NOW, { justification: 'hi' });
    const text = fromUtf8(encodeHandshake(m));
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['type', 'node_id', 'public_key', 'justification', 'signature', 'reason', 'timestamp']);
    expect(parseHandshake(utf8(text))).toEqual(m);
    expect(buildHandshake(alice, 'handshake_revoke', 5, 9, NOW).reason).toBe('trust revoked');
  });

  it('signs handshake:<sender>:<receiver> for every type', () => {
    for (const t of ['handshake_request', 'handshake_accept', 'handshake_reject', 'handshake_revoke'] as const) {
      const m = buildHandshake(alice, t, 5, 9, NOW);
      expect(verify(alice.publicKeyBase64, 'handshake:5:9', m.signature)).toBe(true);
    }
  });

  it('rejects malformed messages and oversize justifications', () => {
    expect(() => parseHandshake(utf8('not json'))).toThrow(/not JSON/);
    expect(() => parseHandshake(utf8('{"type":"hello","node_id":1,"timestamp":1}'))).toThrow(/unknown handshake message type/);
    expect(() => parseHandshake(utf8('{"type":"handshake_request","node_id":0,"timestamp":1}'))).toThrow(/node_id/);
    expect(() => parseHandshake(utf8('{"type":"handshake_request","node_id":3}'))).toThrow(/timestamp/);
    // missing optional strings are "" like Go's decoder leaves them
    expect(parseHandshake(utf8('{"type":"handshake_accept","node_id":3,"timestamp":5}')).public_key).toBe('');
    const big = buildHandshake(alice, 'handshake_request', 5, 9, NOW, { justification: 'x'.repeat(MAX_HANDSHAKE_BYTES) });
    expect(() => encodeHandshake(big)).toThrow(/exceeds/);
  });
});

describe('receiver checks', () => {
  const ctx = { me: 9, remoteNode: 5, nowSec: NOW, registryKey: alice.publicKeyBase64, verify };
  const good = buildHandshake(alice, 'handshake_request', 5, 9, NOW);

  it('accepts a fresh message signed with the registered key', () => {
    expect(checkHandshake(good, ctx)).toEqual({ ok: true, publicKey: alice.publicKeyBase64 });
  });

  it.each([
    ['a sender that is not the connection peer', { ...good }, { remoteNode: 6 }, /does not match/],
    ['a message older than 5 min', { ...good, timestamp: NOW - 301 }, {}, /too old/],
    ['a message more than 30 s ahead', { ...good, timestamp: NOW + 31 }, {}, /future/],
    ['a sender the registry does not know', { ...good }, { registryKey: undefined }, /unknown/],
    ['a self-asserted key that differs from the registry', buildHandshake(mallory, 'handshake_request', 5, 9, NOW), {}, /does not match the registry/],
    ['a signature for another receiver', buildHandshake(alice, 'handshake_request', 5, 8, NOW), {}, /bad signature/],
  ])('rejects %s', (_name, msg, over, re) => {
    const v = checkHandshake(msg, { ...ctx, ...over });
    expect(v.ok).toBe(false);
    expect(v.ok ? '' : v.reason).toMatch(re);
  });

  it('verifies an empty-key message with the registry key instead of skipping verification', () => {
    expect(checkHandshake({ ...good, public_key: '' }, ctx).ok).toBe(true);
    const forged = { ...buildHandshake(mallory, 'handshake_request', 5, 9, NOW), public_key: '' };
    expect(checkHandshake(forged, ctx)).toMatchObject({ ok: false, reason: 'bad signature' });
  });

  it('keeps replays out for the TTL and forgets them afterwards', () => {
    const c = new ReplayCache(1000);
    const d = handshakeDigest(good);
    expect(c.check(d, 0)).toBe(false);
    expect(c.check(d, 999)).toBe(true);
    expect(c.check(handshakeDigest({ ...good, timestamp: NOW + 1 }), 500)).toBe(false);
    expect(c.check(d, 1000)).toBe(false);
    expect(c.size).toBe(2);
  });
});

describe('decisions', () => {
  it('handles requests: trusted → accept, outgoing → mutual, shared group → group, else pending', () => {
    const f = { trusted: false, outgoing: false, sharedNetwork: undefined, autoApproveGroups: true };
    expect(decideRequest({ ...f, trusted: true, outgoing: true })).toEqual({ action: 'already_trusted' });
    expect(decideRequest({ ...f, outgoing: true, sharedNetwork: 3 })).toEqual({ action: 'mutual' });
    expect(decideRequest({ ...f, sharedNetwork: 3 })).toEqual({ action: 'group', network: 3 });
    expect(decideRequest({ ...f, sharedNetwork: 3, autoApproveGroups: false })).toEqual({ action: 'pending' });
    expect(decideRequest(f)).toEqual({ action: 'pending' });
  });

  it('only honours an accept we asked for', () => {
    expect(decideAnswer(true, { trusted: false, outgoing: true })).toEqual({ action: 'trust' });
    expect(decideAnswer(true, { trusted: false, outgoing: false })).toMatchObject({ action: 'ignore', reason: 'unsolicited accept' });
    expect(decideAnswer(true, { trusted: true, outgoing: false })).toMatchObject({ action: 'ignore' });
    expect(decideAnswer(false, { trusted: false, outgoing: true })).toEqual({ action: 'clear_outgoing' });
    expect(decideAnswer(false, { trusted: true, outgoing: false })).toMatchObject({ action: 'ignore' });
  });

  it('finds the lowest shared non-zero network', () => {
    expect(sharedNetwork([0, 4, 2], [0, 2, 4])).toBe(2);
    expect(sharedNetwork([0], [0])).toBeUndefined();
    expect(sharedNetwork([1], [2])).toBeUndefined();
  });
});

describe('nextStamp', () => {
  it('is now, or one past the last second when that is not earlier (no byte-equal resend)', () => {
    expect(nextStamp(100, undefined)).toBe(100);
    expect(nextStamp(100, 99)).toBe(100);
    expect(nextStamp(100, 100)).toBe(101);
    expect(nextStamp(100, 101)).toBe(102);
  });
});
