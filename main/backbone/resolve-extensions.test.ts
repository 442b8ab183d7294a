import { beforeEach, describe, expect, it } from 'vitest';
import { RegistryState, type Reply } from './registry-state';
import { makeVerifier } from './index';
import { challenge } from './protocol';
import { crypto, newIdentity } from './testing/helpers';
import type { Identity } from '../crypto';

// Our extensions of resolve_ok and resolve_hostname_ok (a cold dial's registry round trips): what
// they add, to whom, and that the reference's forms are answered as before.

const T0 = 1_700_000_000_000;

class Harness {
  state = new RegistryState({ verify: makeVerifier(crypto), now: T0 });
  call(msg: Record<string, unknown>, ip = '198.51.100.1', port = 40000): Reply {
    const r = this.state.handle(msg, { sourceIp: ip, sourcePort: port, now: T0 });
    if (!('type' in r)) throw new Error('connection closed');
    return r;
  }
  register(id: Identity, hostname: string, ip: string): number {
    const r = this.call({ type: 'register', listen_addr: '0.0.0.0:4000', public_key: id.publicKeyBase64, hostname }, ip);
    expect(r.type).toBe('register_ok');
    return r['node_id'] as number;
  }
}

const errCode = (r: Reply): unknown => (r.type === 'error' ? r['code'] : `ok:${r.type}`);

describe('resolve and resolve_hostname extensions', () => {
  let h: Harness;
  let a: Identity;
  let b: Identity;
  let ida: number;
  let idb: number;
  beforeEach(() => {
    h = new Harness();
    a = newIdentity();
    b = newIdentity();
    ida = h.register(a, 'alpha', '192.0.2.10');
    idb = h.register(b, 'bravo', '192.0.2.20');
  });

  const signedHostname = (who: Identity, id: number, hostname: string, sig = who.signText(challenge.resolveHostname(id, hostname))): Reply =>
    h.call({ type: 'resolve_hostname', hostname, requester_id: id, signature: sig });

  it('resolve_ok carries the target key next to its endpoint', () => {
    h.call({ type: 'set_visibility', node_id: idb, public: true, signature: b.signText(challenge.setVisibility(idb)) });
    const r = h.call({ type: 'resolve', node_id: idb, requester_id: ida, signature: a.signText(challenge.resolve(ida, idb)) });
    expect(r).toEqual({ type: 'resolve_ok', node_id: idb, real_addr: '192.0.2.20:4000', public_key: b.publicKeyBase64 });
  });

  it('unsigned resolve_hostname (the reference form) answers without endpoint or key', () => {
    h.call({ type: 'set_visibility', node_id: idb, public: true, signature: b.signText(challenge.setVisibility(idb)) });
    const r = h.call({ type: 'resolve_hostname', hostname: 'bravo' });
    expect(r).toEqual({ type: 'resolve_hostname_ok', node_id: idb, address: '0:0000.0000.0002', public: true, hostname: 'bravo' });
  });

  it('signed resolve_hostname of a public node: endpoint and key, as resolve gives them', () => {
    h.call({ type: 'set_visibility', node_id: idb, public: true, signature: b.signText(challenge.setVisibility(idb)) });
    expect(signedHostname(a, ida, 'bravo')).toEqual({
      type: 'resolve_hostname_ok',
      node_id: idb,
      address: '0:0000.0000.0002',
      public: true,
      hostname: 'bravo',
      real_addr: '192.0.2.20:4000',
      public_key: b.publicKeyBase64,
    });
  });

  it('signed resolve_hostname of a private node: the endpoint only under resolve\'s rule (trust)', () => {
    const r = signedHostname(a, ida, 'bravo');
    expect(r).toMatchObject({ type: 'resolve_hostname_ok', node_id: idb, public: false });
    expect(r['real_addr']).toBeUndefined();
    expect(r['public_key']).toBeUndefined();
    expect(errCode(h.call({ type: 'resolve', node_id: idb, requester_id: ida, signature: a.signText(challenge.resolve(ida, idb)) }))).toBe('permission_denied');
    h.call({ type: 'report_trust', node_id: idb, peer_id: ida, signature: b.signText(challenge.reportTrust(idb, ida)) });
    expect(signedHostname(a, ida, 'bravo')).toMatchObject({ real_addr: '192.0.2.20:4000', public_key: b.publicKeyBase64 });
  });

  it('a signature that does not verify is refused, never answered with an endpoint', () => {
    h.call({ type: 'set_visibility', node_id: idb, public: true, signature: b.signText(challenge.setVisibility(idb)) });
    // b's key claiming to be a, a signature over another hostname, a node that does not exist
    expect(errCode(signedHostname(b, ida, 'bravo'))).toBe('bad_signature');
    expect(errCode(signedHostname(a, ida, 'bravo', a.signText(challenge.resolveHostname(ida, 'alpha'))))).toBe('bad_signature');
    expect(errCode(signedHostname(a, 999, 'bravo'))).toBe('not_found');
  });
});
