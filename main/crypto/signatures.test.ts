import { describe, expect, it } from 'vitest';
import { fromHex, toBase64 } from '../util/bytes';
import { allBackends } from './backends';
import { Identity } from './identity';
import { pilaChallenge, signPila, verifyPila } from './pila';
import { challenge, verifyText } from './signatures';

describe('challenge strings (README.md §6)', () => {
  it.each<[string, string]>([
    [challenge.heartbeat(5), 'heartbeat:5'],
    [challenge.setVisibility(5), 'set_visibility:5'],
    [challenge.setHostname(5), 'set_hostname:5'],
    [challenge.setTags(5), 'set_tags:5'],
    [challenge.setTaskExec(5), 'set_task_exec:5'],
    [challenge.deregister(5), 'deregister:5'],
    [challenge.pollHandshakes(5), 'poll_handshakes:5'],
    [challenge.rotate(5), 'rotate:5'],
    [challenge.op('set_tags', 4294967295), 'set_tags:4294967295'],
    [challenge.resolve(5, 7), 'resolve:5:7'],
    [challenge.reportTrust(5, 7), 'report_trust:5:7'],
    [challenge.revokeTrust(5, 7), 'revoke_trust:5:7'],
    [challenge.handshake(5, 7), 'handshake:5:7'],
    [challenge.respond(7, 5), 'respond:7:5'],
    [challenge.punch(5, 7), 'punch:5:7'],
    [challenge.heartbeat(12345678901n), 'heartbeat:12345678901'],
  ])('%s', (got, want) => {
    expect(got).toBe(want);
  });

  it('refuses ids that are not non-negative integers', () => {
    expect(() => challenge.heartbeat(-1)).toThrow(RangeError);
    expect(() => challenge.resolve(1.5, 2)).toThrow(RangeError);
  });
});

const seed5 = fromHex('8182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0');
const x5 = fromHex('07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c');
const x7 = fromHex('64b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466');

describe.each(allBackends().map((b) => [b.name, b] as const))('rejections with the %s backend', (_name, backend) => {
  const id5 = Identity.fromSeed(seed5, backend);
  const sig = signPila(id5, 5, x5);

  it('verifyPila: wrong signature, key, node id or X25519 key → false', () => {
    expect(verifyPila(backend, id5.publicKey, 5, x5, sig)).toBe(true);
    const bad = Uint8Array.from(sig);
    bad[0] = (bad[0] ?? 0) ^ 0x80;
    expect(verifyPila(backend, id5.publicKey, 5, x5, bad)).toBe(false);
    expect(verifyPila(backend, Identity.generate(backend).publicKey, 5, x5, sig)).toBe(false);
    expect(verifyPila(backend, id5.publicKey, 7, x5, sig)).toBe(false);
    expect(verifyPila(backend, id5.publicKey, 5, x7, sig)).toBe(false);
    expect(verifyPila(backend, id5.publicKey, -1, x5, sig)).toBe(false);
    expect(verifyPila(backend, id5.publicKey, 5, x5.subarray(1), sig)).toBe(false);
    expect(verifyPila(backend, id5.publicKey, 5, x5, sig.subarray(1))).toBe(false);
  });

  it('pilaChallenge encodes the id as u32 BE and validates input', () => {
    expect(Buffer.from(pilaChallenge(0xfedcba98, x5).subarray(0, 8)).toString('hex')).toBe('61757468fedcba98');
    expect(() => pilaChallenge(2 ** 32, x5)).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    expect(() => pilaChallenge(1, new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'bad_key' }));
  });

  it('verifyText never throws on malformed input', () => {
    const s = id5.signText('heartbeat:5');
    expect(verifyText(backend, id5.publicKeyBase64, 'heartbeat:5', s)).toBe(true);
    expect(verifyText(backend, 'not base64!', 'heartbeat:5', s)).toBe(false);
    expect(verifyText(backend, toBase64(new Uint8Array(31)), 'heartbeat:5', s)).toBe(false);
    expect(verifyText(backend, id5.publicKeyBase64, 'heartbeat:5', 'AAAA')).toBe(false);
    expect(verifyText(backend, id5.publicKeyBase64, 'heartbeat:5', '')).toBe(false);
    expect(verifyText(backend, new Uint8Array(0), 'heartbeat:5', s)).toBe(false);
    expect(verifyText(backend, id5.publicKeyBase64, 'heartbeat:6', s)).toBe(false);
  });
});
