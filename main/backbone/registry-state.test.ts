import { describe, it, expect, beforeEach } from 'vitest';
import { RegistryState, type Reply } from './registry-state';
import { makeVerifier } from './index';
import { MemoryStore } from './store';
import { challenge, STALE_MS, REAP_INTERVAL_MS } from './protocol';
import { crypto, newIdentity } from './testing/helpers';
import type { Identity } from '../crypto';

const T0 = 1_700_000_000_000;

function mkState(now = T0, adminToken?: string): RegistryState {
  return new RegistryState({ verify: makeVerifier(crypto), now, adminToken });
}

class Harness {
  now = T0;
  ip = '198.51.100.1';
  constructor(public state: RegistryState) {}
  call(msg: Record<string, unknown>, ip = this.ip): Reply {
    const r = this.state.handle(msg, { sourceIp: ip, sourcePort: 40000, now: this.now });
    if (!('type' in r)) throw new Error('connection closed');
    return r;
  }
  register(id: Identity, extra: Record<string, unknown> = {}, ip = this.ip): number {
    const r = this.call({ type: 'register', listen_addr: '0.0.0.0:4000', public_key: id.publicKeyBase64, ...extra }, ip);
    expect(r.type).toBe('register_ok');
    return r['node_id'] as number;
  }
  signed(id: Identity, msg: Record<string, unknown>, text: string): Reply {
    return this.call({ ...msg, signature: id.signText(text) });
  }
}

const errCode = (r: Reply): unknown => (r.type === 'error' ? r['code'] : `ok:${r.type}`);

describe('RegistryState: register', () => {
  let h: Harness;
  beforeEach(() => {
    h = new Harness(mkState());
  });

  it('assigns sequential ids, returns the same id for a known key and keeps only the listen port', () => {
    const a = newIdentity();
    const b = newIdentity();
    expect(h.register(a)).toBe(1);
    expect(h.register(b)).toBe(2);
    expect(h.register(a)).toBe(1);
    const r = h.call({ type: 'register', listen_addr: '203.0.113.7:4000', public_key: a.publicKeyBase64 }, '::ffff:192.0.2.5');
    expect(r).toEqual({ type: 'register_ok', node_id: 1, network_id: 0, address: '0:0000.0000.0001', public_key: a.publicKeyBase64 });
    h.signed(a, { type: 'set_visibility', node_id: 1, public: true }, challenge.setVisibility(1));
    expect(h.call({ type: 'lookup', node_id: 1 })['real_addr']).toBe('192.0.2.5:4000');
    // unparsable listen_addr: the TCP source ip:port is stored
    h.call({ type: 'register', listen_addr: 'garbage', public_key: a.publicKeyBase64 });
    expect(h.call({ type: 'lookup', node_id: 1 })['real_addr']).toBe('198.51.100.1:40000');
  });

  it('keeps the behind_nat extension a node reports and returns it in lookup (absent when never reported)', () => {
    const a = newIdentity();
    const b = newIdentity();
    const ia = h.register(a, { behind_nat: true });
    const ib = h.register(b);
    expect(h.call({ type: 'lookup', node_id: ia })['behind_nat']).toBe(true);
    expect(h.call({ type: 'lookup', node_id: ib })).not.toHaveProperty('behind_nat');
    h.register(a, { behind_nat: false });
    expect(h.call({ type: 'lookup', node_id: ia })['behind_nat']).toBe(false);
    // It survives a snapshot round trip.
    const restored = mkState();
    restored.restore(h.state.snapshot(), [], T0);
    const r = restored.handle({ type: 'lookup', node_id: ia }, { sourceIp: '198.51.100.1', sourcePort: 1, now: T0 });
    expect(r).toMatchObject({ type: 'lookup_ok', behind_nat: false });
  });

  it('rejects a missing or malformed public key', () => {
    expect(errCode(h.call({ type: 'register', listen_addr: ':1' }))).toBe('invalid_argument');
    expect(errCode(h.call({ type: 'register', listen_addr: ':1', public_key: 'AAAA' }))).toBe('invalid_argument');
  });

  it('rate-limits new keys to 10 per source IP per minute; known keys are exempt', () => {
    const ids = Array.from({ length: 11 }, () => newIdentity());
    for (let i = 0; i < 10; i++) h.register(ids[i]!);
    const r = h.call({ type: 'register', listen_addr: ':1', public_key: ids[10]!.publicKeyBase64 });
    expect(r).toMatchObject({ type: 'error', error: 'request failed', code: 'rate_limited' });
    expect(h.register(ids[0]!)).toBe(1); // known key: exempt
    expect(h.register(ids[10]!, {}, '198.51.100.2')).toBe(11); // other IP has its own bucket
    h.now += 6_000; // one token refills every 6 s
    expect(errCode(h.call({ type: 'register', listen_addr: ':1', public_key: newIdentity().publicKeyBase64 }))).toBe('ok:register_ok');
  });

  it('applies a valid hostname, reports an invalid one and silently ignores a taken one', () => {
    const a = newIdentity();
    const b = newIdentity();
    const ra = h.call({ type: 'register', listen_addr: ':1', public_key: a.publicKeyBase64, hostname: 'alpha' });
    expect(ra['hostname']).toBe('alpha');
    const rb = h.call({ type: 'register', listen_addr: ':1', public_key: b.publicKeyBase64, hostname: 'alpha' });
    expect(rb['hostname']).toBeUndefined();
    expect(rb['hostname_error']).toBeUndefined();
    const rc = h.call({ type: 'register', listen_addr: ':1', public_key: newIdentity().publicKeyBase64, hostname: 'Bad_Name' });
    expect(rc.type).toBe('register_ok');
    expect(typeof rc['hostname_error']).toBe('string');
  });

  it('owner string reclaims the id with a new key', () => {
    const a = newIdentity();
    const a2 = newIdentity();
    expect(h.register(a, { owner: 'alice@example' })).toBe(1);
    expect(h.register(a2, { owner: 'alice@example' })).toBe(1);
    expect(h.call({ type: 'lookup', node_id: 1 })['public_key']).toBe(a2.publicKeyBase64);
  });
});

describe('RegistryState: reaper and restart grace', () => {
  it('reaps nodes silent for 3 minutes, frees the hostname, keeps the id, groups and trust', () => {
    const h = new Harness(mkState());
    const a = newIdentity();
    const b = newIdentity();
    const ida = h.register(a, { hostname: 'alpha' });
    const idb = h.register(b);
    h.signed(a, { type: 'create_network', node_id: ida, name: 'lab' }, challenge.createNetwork(ida));
    h.signed(a, { type: 'report_trust', node_id: ida, peer_id: idb }, challenge.reportTrust(ida, idb));
    h.signed(a, { type: 'set_tags', node_id: ida, tags: ['gpu'] }, challenge.setTags(ida));
    h.now += STALE_MS - 1000;
    h.signed(b, { type: 'heartbeat', node_id: idb }, challenge.heartbeat(idb));
    h.now += 2000;
    expect(h.state.reap(h.now)).toEqual([ida]);
    expect(errCode(h.call({ type: 'lookup', node_id: ida }))).toBe('not_found');
    expect(errCode(h.signed(a, { type: 'heartbeat', node_id: ida }, challenge.heartbeat(ida)))).toBe('not_found');
    expect(errCode(h.call({ type: 'resolve_hostname', hostname: 'alpha' }))).toBe('not_found');
    // hostname is free for someone else
    expect(errCode(h.signed(b, { type: 'set_hostname', node_id: idb, hostname: 'alpha' }, challenge.setHostname(idb)))).toBe('ok:set_hostname_ok');
    // re-register with the same key: same id, group membership back, tags reset (reference)
    expect(h.register(a)).toBe(ida);
    const lk = h.call({ type: 'lookup', node_id: ida });
    expect(lk['networks']).toEqual([0, 1]);
    expect(lk['tags']).toBeUndefined();
    expect(errCode(h.signed(b, { type: 'resolve', node_id: ida, requester_id: idb }, challenge.resolve(idb, ida)))).toBe('ok:resolve_ok');
    expect(REAP_INTERVAL_MS).toBe(60_000);
  });

  it('grants restored nodes a grace period after a restart', () => {
    const store = new MemoryStore();
    const h = new Harness(mkState());
    h.register(newIdentity());
    store.append(h.state.takeRecords());
    const later = T0 + 10 * 60_000; // restart 10 min later
    const s2 = mkState(later);
    return store.load().then((l) => {
      s2.restore(l.snapshot, l.records, later);
      expect(s2.reap(later + 60_000)).toEqual([]);
      expect(s2.reap(later + STALE_MS + 1)).toEqual([1]);
    });
  });
});

describe('RegistryState: validation and rejections', () => {
  let h: Harness;
  let a: Identity;
  let b: Identity;
  let ida: number;
  let idb: number;
  beforeEach(() => {
    h = new Harness(mkState());
    a = newIdentity();
    b = newIdentity();
    ida = h.register(a);
    idb = h.register(b);
  });

  it('unknown type and non-object requests', () => {
    expect(h.call({ type: 'frobnicate' })).toMatchObject({ type: 'error', error: 'request failed', code: 'invalid_argument' });
    expect(h.call({})).toMatchObject({ type: 'error', code: 'invalid_argument' });
    expect(h.state.handle([1, 2], { sourceIp: '1.2.3.4', sourcePort: 1, now: T0 })).toEqual({ close: true });
    const rep = h.state.handle({ type: 'subscribe_replication' }, { sourceIp: '1.2.3.4', sourcePort: 1, now: T0 });
    expect(rep).toMatchObject({ close: true, reply: { type: 'error' } });
  });

  it('bad and missing signatures', () => {
    expect(errCode(h.signed(b, { type: 'heartbeat', node_id: ida }, challenge.heartbeat(ida)))).toBe('bad_signature');
    expect(errCode(h.call({ type: 'heartbeat', node_id: ida }))).toBe('bad_signature');
    expect(errCode(h.call({ type: 'heartbeat', node_id: ida, signature: 'not base64!' }))).toBe('bad_signature');
    expect(errCode(h.signed(a, { type: 'heartbeat', node_id: ida }, challenge.heartbeat(idb)))).toBe('bad_signature');
  });

  it('tags: leading # stripped, ≤ 10, regex, empty → null', () => {
    const set = (tags: unknown[]): Reply => h.signed(a, { type: 'set_tags', node_id: ida, tags }, challenge.setTags(ida));
    expect(set(['#gpu', 'gpu', 7, 'x86-64'])).toEqual({ type: 'set_tags_ok', node_id: ida, tags: ['gpu', 'x86-64'] });
    expect(errCode(set(Array.from({ length: 11 }, (_, i) => `t${i}`)))).toBe('invalid_argument');
    expect(errCode(set(['UPPER']))).toBe('invalid_argument');
    expect(errCode(set(['-lead']))).toBe('invalid_argument');
    expect(errCode(set(['x'.repeat(33)]))).toBe('invalid_argument');
    expect(h.call({ type: 'lookup', node_id: ida })['tags']).toEqual(['gpu', 'x86-64']); // unchanged by failures
    expect(set([])).toEqual({ type: 'set_tags_ok', node_id: ida, tags: null });
  });

  it('hostnames: unique, validated, reserved words refused', () => {
    const set = (id: Identity, n: number, hostname: string): Reply =>
      h.signed(id, { type: 'set_hostname', node_id: n, hostname }, challenge.setHostname(n));
    expect(set(a, ida, 'web-1')).toEqual({ type: 'set_hostname_ok', node_id: ida, hostname: 'web-1' });
    expect(errCode(set(b, idb, 'web-1'))).toBe('already_exists');
    for (const bad of ['localhost', 'backbone', 'broadcast', 'Web', '-x', 'a'.repeat(64), 'a_b']) {
      expect(errCode(set(b, idb, bad))).toBe('invalid_argument');
    }
    expect(set(a, ida, '')).toEqual({ type: 'set_hostname_ok', node_id: ida, hostname: '' });
    expect(errCode(set(b, idb, 'web-1'))).toBe('ok:set_hostname_ok');
  });

  it('handshake inbox: 100 max and one pending request per sender', () => {
    const target = ida;
    expect(errCode(h.signed(b, { type: 'request_handshake', from_node_id: idb, to_node_id: target, justification: 'hi' }, challenge.requestHandshake(idb, target)))).toBe(
      'ok:request_handshake_ok',
    );
    expect(errCode(h.signed(b, { type: 'request_handshake', from_node_id: idb, to_node_id: target, justification: 'again' }, challenge.requestHandshake(idb, target)))).toBe(
      'already_exists',
    );
    for (let i = 0; i < 99; i++) {
      const x = newIdentity();
      const idx = h.register(x, {}, `10.0.${i >> 3}.${i}`);
      const r = h.signed(x, { type: 'request_handshake', from_node_id: idx, to_node_id: target, justification: '' }, challenge.requestHandshake(idx, target));
      expect(r.type).toBe('request_handshake_ok');
    }
    const y = newIdentity();
    const idy = h.register(y, {}, '10.9.9.9');
    expect(errCode(h.signed(y, { type: 'request_handshake', from_node_id: idy, to_node_id: target, justification: '' }, challenge.requestHandshake(idy, target)))).toBe(
      'unavailable',
    );
    const polled = h.signed(a, { type: 'poll_handshakes', node_id: ida }, challenge.pollHandshakes(ida));
    expect((polled['requests'] as unknown[]).length).toBe(100);
    expect(h.signed(a, { type: 'poll_handshakes', node_id: ida }, challenge.pollHandshakes(ida))).toEqual({
      type: 'poll_handshakes_ok',
      requests: [],
      responses: [],
    });
  });

  it('polo score: get/update/set, missing fields rejected', () => {
    expect(h.call({ type: 'update_polo_score', node_id: ida, delta: 2.7 })).toMatchObject({ polo_score: 2 });
    expect(h.call({ type: 'set_polo_score', node_id: ida, polo_score: -5 })).toMatchObject({ polo_score: -5 });
    expect(h.call({ type: 'get_polo_score', node_id: ida })).toEqual({ type: 'get_polo_score_ok', node_id: ida, address: '0:0000.0000.0001', polo_score: -5 });
    expect(errCode(h.call({ type: 'update_polo_score', node_id: ida }))).toBe('invalid_argument');
    expect(errCode(h.call({ type: 'set_polo_score', node_id: ida }))).toBe('invalid_argument');
    expect(errCode(h.call({ type: 'get_polo_score', node_id: 999 }))).toBe('not_found');
  });

  it('beacon registry with a 60 s TTL', () => {
    expect(h.call({ type: 'beacon_register', beacon_id: 3, addr: '192.0.2.1:9001' })).toEqual({ type: 'beacon_register_ok', beacon_id: 3 });
    expect(errCode(h.call({ type: 'beacon_register', beacon_id: 0, addr: '192.0.2.1:9001' }))).toBe('invalid_argument');
    expect(h.call({ type: 'beacon_list' })).toEqual({ type: 'beacon_list_ok', beacons: [{ id: 3, addr: '192.0.2.1:9001' }] });
    h.now += 61_000;
    expect(h.call({ type: 'beacon_list' })).toEqual({ type: 'beacon_list_ok', beacons: [] });
  });

  it('rotate_key signs with the current key; the old key then no longer verifies', () => {
    const a2 = newIdentity();
    const r = h.signed(a, { type: 'rotate_key', node_id: ida, new_public_key: a2.publicKeyBase64 }, challenge.rotateKey(ida));
    expect(r).toEqual({ type: 'rotate_key_ok', node_id: ida, address: '0:0000.0000.0001', public_key: a2.publicKeyBase64 });
    expect(errCode(h.signed(a, { type: 'heartbeat', node_id: ida }, challenge.heartbeat(ida)))).toBe('bad_signature');
    expect(errCode(h.signed(a2, { type: 'heartbeat', node_id: ida }, challenge.heartbeat(ida)))).toBe('ok:heartbeat_ok');
    expect(h.register(a2)).toBe(ida);
    // a key held by another node cannot be taken
    expect(errCode(h.signed(a2, { type: 'rotate_key', node_id: ida, new_public_key: b.publicKeyBase64 }, challenge.rotateKey(ida)))).toBe('already_exists');
  });

  it('admin token gates create_network when configured', () => {
    const h2 = new Harness(mkState(T0, 's3cret'));
    const c = newIdentity();
    const idc = h2.register(c);
    const base = { type: 'create_network', node_id: idc, name: 'ops' };
    expect(errCode(h2.signed(c, base, challenge.createNetwork(idc)))).toBe('permission_denied');
    expect(errCode(h2.signed(c, { ...base, admin_token: 'nope' }, challenge.createNetwork(idc)))).toBe('permission_denied');
    expect(errCode(h2.signed(c, { ...base, admin_token: 's3cret' }, challenge.createNetwork(idc)))).toBe('ok:create_network_ok');
  });
});

describe('RegistryState: persistence records', () => {
  it('replaying the records (and snapshot + records) reproduces the state exactly', async () => {
    const h = new Harness(mkState());
    const store = new MemoryStore();
    const flush = (): void => store.append(h.state.takeRecords());
    const ids = Array.from({ length: 6 }, () => newIdentity());
    const n = ids.map((id, i) => h.register(id, { hostname: `host-${i}`, owner: i === 0 ? 'own' : '' }));
    const [a, b, c, d] = ids as [Identity, Identity, Identity, Identity];
    const [ia, ib, ic, id] = n as [number, number, number, number];
    h.signed(a, { type: 'set_tags', node_id: ia, tags: ['gpu', 'eu'] }, challenge.setTags(ia));
    h.signed(b, { type: 'set_visibility', node_id: ib, public: true }, challenge.setVisibility(ib));
    h.signed(c, { type: 'set_task_exec', node_id: ic, enabled: true }, challenge.setTaskExec(ic));
    h.signed(a, { type: 'report_trust', node_id: ia, peer_id: ib }, challenge.reportTrust(ia, ib));
    h.signed(a, { type: 'report_trust', node_id: ia, peer_id: ic }, challenge.reportTrust(ia, ic));
    h.signed(a, { type: 'revoke_trust', node_id: ia, peer_id: ic }, challenge.revokeTrust(ia, ic));
    h.signed(d, { type: 'request_handshake', from_node_id: id, to_node_id: ia, justification: 'pls' }, challenge.requestHandshake(id, ia));
    h.signed(c, { type: 'respond_handshake', node_id: ic, peer_id: id, accept: true }, challenge.respondHandshake(ic, id));
    h.signed(a, { type: 'create_network', node_id: ia, name: 'lab', join_rule: 'token', token: 'tk' }, challenge.createNetwork(ia));
    h.signed(b, { type: 'join_network', node_id: ib, network_id: 1, token: 'tk' }, challenge.joinNetwork(ib, 1));
    h.call({ type: 'set_polo_score', node_id: ib, polo_score: 42 });
    flush();
    const mid = await store.load();
    // more changes after a snapshot
    await store.writeSnapshot(() => h.state.snapshot());
    h.signed(c, { type: 'deregister', node_id: ic }, challenge.deregister(ic));
    h.signed(a, { type: 'rotate_key', node_id: ia, new_public_key: ids[5]!.publicKeyBase64 }, challenge.rotateKey(ia));
    h.signed(d, { type: 'set_hostname', node_id: id, hostname: '' }, challenge.setHostname(id));
    flush();
    const expected = h.state.snapshot();

    const l = await store.load();
    expect(l.snapshot).toBeDefined();
    const r1 = mkState();
    r1.restore(l.snapshot, l.records, T0);
    expect(r1.snapshot()).toEqual(expected);

    // log only (no snapshot), replaying the whole history
    const r2 = mkState();
    r2.restore(undefined, [...mid.records, ...l.records], T0);
    expect(r2.snapshot()).toEqual(expected);
  });
});
