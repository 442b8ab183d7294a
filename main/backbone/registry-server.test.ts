/** Registry over real TCP sockets on 127.0.0.1 (ephemeral ports), driven by the typed client. */
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach, vi } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Tests drive the server through the real client (node layer); production backbone code never imports it.
// eslint-disable-next-line pilot/layering
import { RegistryClient, RegistryError } from '../node/registry-client';
import type { RegistryEvent } from '../wire/registry';
import type { Backbone } from './index';
import { RawConn, newIdentity, regAddr, startTestBackbone } from './testing/helpers';

async function rejects(p: Promise<unknown>, code: string): Promise<RegistryError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(RegistryError);
  const re = e as RegistryError;
  expect(re.message).toBe('registry: request failed');
  expect(re.wireCode).toBe(code);
  return re;
}

describe('registry server: every message over TCP', () => {
  let bb: Backbone;
  const clients: RegistryClient[] = [];
  const client = (): RegistryClient => {
    const c = new RegistryClient({ address: regAddr(bb), identity: newIdentity(), timeoutMs: 5000 });
    clients.push(c);
    return c;
  };
  beforeAll(async () => {
    bb = await startTestBackbone({ registerRatePerMin: 10_000 }); // all clients share 127.0.0.1
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await bb.close();
  });

  it('register / heartbeat / lookup / set_visibility / resolve / deregister', async () => {
    const a = client();
    const b = client();
    const ra = await a.register({ listenAddr: '203.0.113.9:4000' });
    expect(ra).toMatchObject({ type: 'register_ok', network_id: 0, address: expect.stringMatching(/^0:0000\./) });
    const rb = await b.register({ listenAddr: ':4001' });
    expect((await a.register({ listenAddr: ':4000' })).node_id).toBe(ra.node_id); // same key, same id
    expect((await a.heartbeat()).type).toBe('heartbeat_ok');
    const lk = await b.lookup(ra.node_id);
    expect(lk).toEqual({
      type: 'lookup_ok',
      node_id: ra.node_id,
      address: ra.address,
      networks: [0],
      public_key: ra.public_key,
      public: false,
      polo_score: 0,
    });
    await rejects(b.resolve(ra.node_id), 'permission_denied'); // private, no trust, no group
    expect(await a.setVisibility(true)).toMatchObject({ type: 'set_visibility_ok', visibility: 'public' });
    // public_key is our extension of resolve_ok (the reference sends node_id and real_addr only).
    expect(await b.resolve(ra.node_id)).toEqual({ type: 'resolve_ok', node_id: ra.node_id, real_addr: '127.0.0.1:4000', public_key: ra.public_key });
    expect((await b.lookup(ra.node_id)).real_addr).toBe('127.0.0.1:4000');
    await rejects(b.lookup(999_999), 'not_found');
    await b.deregister();
    await rejects(a.lookup(rb.node_id), 'not_found');
    await rejects(b.heartbeat(), 'not_found');
    expect((await b.register()).node_id).toBe(rb.node_id); // key index kept
  });

  it('rejects bad signatures and unknown nodes', async () => {
    const a = client();
    await a.register();
    const impostor = new RegistryClient({ address: regAddr(bb), identity: newIdentity(), nodeId: a.nodeId });
    clients.push(impostor);
    await rejects(impostor.heartbeat(), 'bad_signature');
    await rejects(impostor.setHostname('stolen'), 'bad_signature');
    await rejects(impostor.setTags(['x']), 'bad_signature');
    const ghost = new RegistryClient({ address: regAddr(bb), identity: newIdentity(), nodeId: 4_000_000 });
    clients.push(ghost);
    await rejects(ghost.heartbeat(), 'not_found');
    await rejects(ghost.resolve(a.nodeId!), 'not_found');
  });

  it('hostnames: set / resolve / squatting / invalid', async () => {
    const a = client();
    const b = client();
    await a.register();
    await b.register();
    expect(await a.setHostname('alpha-1')).toEqual({ type: 'set_hostname_ok', node_id: a.nodeId, hostname: 'alpha-1' });
    expect(await b.resolveHostname('alpha-1')).toEqual({
      type: 'resolve_hostname_ok',
      node_id: a.nodeId,
      address: expect.any(String),
      public: false,
      hostname: 'alpha-1',
    });
    const squat = await rejects(b.setHostname('alpha-1'), 'already_exists');
    expect(squat.code).toBe('already_exists');
    await rejects(b.setHostname('Alpha'), 'invalid_argument');
    await rejects(b.setHostname('localhost'), 'invalid_argument');
    await rejects(b.resolveHostname('nobody-here'), 'not_found');
    const r = await new RegistryClient({ address: regAddr(bb), identity: newIdentity() }).register({ hostname: 'alpha-1' });
    expect(r.hostname).toBeUndefined(); // taken: silently not applied
  });

  it('tags and task_exec', async () => {
    const a = client();
    await a.register();
    expect(await a.setTags(['#gpu', 'cuda'])).toMatchObject({ tags: ['gpu', 'cuda'] });
    await rejects(a.setTags(['Bad Tag']), 'invalid_argument');
    await rejects(a.setTags(Array.from({ length: 11 }, (_, i) => `t${i}`)), 'invalid_argument');
    expect(await a.setTaskExec(true)).toMatchObject({ task_exec: true });
    const lk = await a.lookup(a.nodeId!);
    expect(lk.tags).toEqual(['gpu', 'cuda']);
    expect(lk.task_exec).toBe(true);
    expect(await a.setTags([])).toMatchObject({ tags: null });
  });

  it('trust, relayed handshakes and punch', async () => {
    const a = client();
    const b = client();
    await a.register({ listenAddr: ':5001' });
    await b.register({ listenAddr: ':5002' });
    const ia = a.nodeId!;
    const ib = b.nodeId!;
    expect(await a.requestHandshake(ib, 'let us talk')).toEqual({ type: 'request_handshake_ok', status: 'delivered' });
    await rejects(a.requestHandshake(ib, 'again'), 'already_exists');
    const polled = await b.pollHandshakes();
    expect(polled.requests).toEqual([{ from_node_id: ia, justification: 'let us talk', timestamp: expect.any(Number) }]);
    expect(await b.respondHandshake(ia, true)).toEqual({ type: 'respond_handshake_ok', accept: true, peer_id: ia });
    const pa = await a.pollHandshakes();
    expect(pa.responses).toEqual([{ from_node_id: ib, accept: true, timestamp: expect.any(Number) }]);
    expect(await a.resolve(ib)).toMatchObject({ real_addr: '127.0.0.1:5002' }); // trust pair created
    await a.revokeTrust(ib);
    await rejects(a.resolve(ib), 'permission_denied');
    await rejects(a.revokeTrust(ib), 'not_found');
    await a.reportTrust(ib);
    expect(await b.resolve(ia)).toMatchObject({ real_addr: '127.0.0.1:5001' });
    await rejects(a.reportTrust(7_777_777), 'not_found');
    expect(await a.punch(ia, ib)).toEqual({ type: 'punch_ok', node_a: ia, node_a_addr: '127.0.0.1:5001', node_b: ib, node_b_addr: '127.0.0.1:5002' });
    const c = client();
    await c.register();
    await rejects(c.punch(ia, ib), 'permission_denied'); // requester must be a or b
  });

  it('polo score, beacons, rotate_key', async () => {
    const a = client();
    await a.register();
    const id = a.nodeId!;
    expect(await a.updatePoloScore(id, 3)).toMatchObject({ type: 'update_polo_score_ok', polo_score: 3 });
    expect(await a.setPoloScore(id, 10)).toMatchObject({ type: 'set_polo_score_ok', polo_score: 10 });
    expect(await a.getPoloScore(id)).toMatchObject({ type: 'get_polo_score_ok', polo_score: 10 });
    await a.beaconRegister(7, '127.0.0.1:9001');
    expect((await a.beaconList()).beacons).toContainEqual({ id: 7, addr: '127.0.0.1:9001' });
    const next = newIdentity();
    expect(await a.rotateKey(next)).toMatchObject({ node_id: id, public_key: next.publicKeyBase64 });
    expect((await a.heartbeat()).type).toBe('heartbeat_ok'); // now signs with the new key
  });

  it('unknown type → error reply on a live connection; subscribe_replication → error and close', async () => {
    const raw = await RawConn.connect(bb);
    expect(await raw.call({ type: 'no_such_thing' })).toMatchObject({ type: 'error', error: 'request failed', code: 'invalid_argument' });
    expect(await raw.call({ type: 'list_networks' })).toMatchObject({ type: 'list_networks_ok' });
    expect(await raw.call({ type: 'list_nodes', network_id: 0 })).toMatchObject({ type: 'error', code: 'permission_denied' });
    expect(await raw.call({ type: 'subscribe_replication', token: 'x' })).toMatchObject({ type: 'error' });
    await raw.waitClosed();
  });

  it('oversize frame and invalid JSON close only that connection', async () => {
    const good = await RawConn.connect(bb);
    const big = await RawConn.connect(bb);
    const bad = await RawConn.connect(bb);
    const notObj = await RawConn.connect(bb);
    const hdr = new Uint8Array(4);
    new DataView(hdr.buffer).setUint32(0, (1 << 20) + 1);
    big.sendBytes(hdr);
    const body = new TextEncoder().encode('{"type": "lookup", ');
    const frame = new Uint8Array(4 + body.length);
    new DataView(frame.buffer).setUint32(0, body.length);
    frame.set(body, 4);
    bad.sendBytes(frame);
    notObj.send([1, 2, 3]);
    await big.waitClosed();
    await bad.waitClosed();
    await notObj.waitClosed();
    expect(await good.call({ type: 'list_networks' })).toMatchObject({ type: 'list_networks_ok' });
    const st = bb.status().registry;
    expect(st.closedOversize).toBeGreaterThanOrEqual(1);
    expect(st.closedInvalidJson).toBeGreaterThanOrEqual(1);
    good.close();
  });

  it('serves 100 concurrent clients registering and looking up', async () => {
    // all 100 come from 127.0.0.1: a fresh backbone with a registration limit above 10/min
    const bb2 = await startTestBackbone({ registerRatePerMin: 1000 });
    const cs = Array.from({ length: 100 }, () => new RegistryClient({ address: regAddr(bb2), identity: newIdentity(), timeoutMs: 10_000 }));
    try {
      const regs = await Promise.all(cs.map((c, i) => c.register({ listenAddr: `:${6000 + i}`, hostname: `n-${i}` })));
      expect(new Set(regs.map((r) => r.node_id)).size).toBe(100);
      const looks = await Promise.all(cs.map((c, i) => c.lookup(regs[(i + 1) % 100]!.node_id)));
      looks.forEach((l, i) => expect(l.hostname).toBe(`n-${(i + 1) % 100}`));
      expect(bb2.status().nodes).toBe(100);
    } finally {
      for (const c of cs) c.close();
      await bb2.close();
    }
  });
});

describe('registry server: limits', () => {
  let bb: Backbone;
  afterEach(async () => {
    await bb.close();
  });

  it('per-connection rate limit replies rate_limited, then closes a sustained flood', async () => {
    bb = await startTestBackbone({ rateLimit: { perSec: 1, burst: 5, closeAfter: 20 } });
    const raw = await RawConn.connect(bb);
    for (let i = 0; i < 5; i++) raw.send({ type: 'list_networks' });
    for (let i = 0; i < 5; i++) expect((await raw.next()).type).toBe('list_networks_ok');
    expect(await raw.call({ type: 'list_networks' })).toMatchObject({ type: 'error', error: 'request failed', code: 'rate_limited' });
    for (let i = 0; i < 30; i++) raw.send({ type: 'list_networks' });
    await raw.waitClosed();
    expect(bb.status().registry.closedAbuse).toBe(1);
    const other = await RawConn.connect(bb);
    expect((await other.call({ type: 'list_networks' })).type).toBe('list_networks_ok');
    other.close();
  });

  it('new-key registrations: 10 per source IP per minute over TCP', async () => {
    bb = await startTestBackbone();
    const cs = Array.from({ length: 11 }, () => new RegistryClient({ address: regAddr(bb), identity: newIdentity() }));
    for (let i = 0; i < 10; i++) await cs[i]!.register();
    await rejects(cs[10]!.register(), 'rate_limited');
    expect((await cs[0]!.register()).node_id).toBe(1); // known key exempt
    for (const c of cs) c.close();
  });

  it('closes idle connections', async () => {
    bb = await startTestBackbone({ idleMs: 150 });
    const raw = await RawConn.connect(bb);
    await raw.waitClosed(5000);
    expect(bb.status().registry.closedIdle).toBe(1);
  });
});

describe('groups, events and search', () => {
  let bb: Backbone;
  const cs: RegistryClient[] = [];
  const mk = async (listen = ''): Promise<RegistryClient> => {
    const c = new RegistryClient({ address: regAddr(bb), identity: newIdentity() });
    cs.push(c);
    await c.register({ listenAddr: listen });
    return c;
  };
  beforeEach(async () => {
    bb = await startTestBackbone();
  });
  afterEach(async () => {
    for (const c of cs.splice(0)) c.close();
    await bb.close();
  });

  it('create / join (open, token, invite) / leave / list with counts / members / pushed events', async () => {
    const a = await mk(':7001');
    const b = await mk(':7002');
    const c = await mk(':7003');
    const d = await mk(':7004');
    const evA: RegistryEvent[] = [];
    const evB: RegistryEvent[] = [];
    const subA = a.subscribeEvents({ onEvent: (e) => evA.push(e) });
    await subA.ready;

    const open = await a.createNetwork('open-lab');
    expect(open).toEqual({ type: 'create_network_ok', network_id: 1, name: 'open-lab', join_rule: 'open', address: `1:0001.0000.${a.nodeId!.toString(16).toUpperCase().padStart(4, '0')}` });
    await vi.waitFor(() => expect(evA.some((e) => e.event === 'network_created'), 'network_created').toBe(true), { timeout: 5000 });
    await rejects(b.createNetwork('open-lab'), 'already_exists');
    await rejects(b.createNetwork('backbone'), 'invalid_argument');
    await rejects(b.createNetwork('Bad Name'), 'invalid_argument');
    const tok = await a.createNetwork('tok-lab', { joinRule: 'token', token: 'sesame' });
    const inv = await a.createNetwork('inv-lab', { joinRule: 'invite' });

    // resolve denied before sharing a group, allowed after
    await rejects(b.resolve(a.nodeId!), 'permission_denied');
    expect(await b.joinNetwork('open-lab')).toMatchObject({ type: 'join_network_ok', network_id: 1, name: 'open-lab' });
    expect(await b.resolve(a.nodeId!)).toMatchObject({ real_addr: '127.0.0.1:7001' });
    await rejects(b.joinNetwork(1), 'already_exists');
    await vi.waitFor(() => expect(evA.some((e) => e.event === 'member_joined' && e.node_id === b.nodeId), 'member_joined').toBe(true), { timeout: 5000 });

    const subB = b.subscribeEvents({ onEvent: (e) => evB.push(e) });
    await subB.ready;
    await rejects(c.joinNetwork(tok.network_id, { token: 'wrong' }), 'permission_denied');
    await rejects(c.joinNetwork(tok.network_id), 'permission_denied');
    expect((await c.joinNetwork(tok.network_id, { token: 'sesame' })).network_id).toBe(tok.network_id);
    await rejects(d.joinNetwork('inv-lab'), 'permission_denied');
    await rejects(d.joinNetwork('inv-lab', { inviterId: c.nodeId! }), 'permission_denied'); // c is not a member
    expect((await d.joinNetwork('inv-lab', { inviterId: a.nodeId! })).network_id).toBe(inv.network_id);
    await expect(d.joinNetwork('no-such-group')).rejects.toMatchObject({ code: 'not_found' });
    const anon = new RegistryClient({ address: regAddr(bb) });
    cs.push(anon);
    expect(await anon.request({ type: 'list_nodes', network: 'no-such-group' }).catch((e: unknown) => e)).toMatchObject({
      wireCode: 'not_found',
    });

    const nets = await d.listNetworks();
    expect(nets.networks).toEqual([
      { id: 0, name: 'backbone', members: 4, online: 4, join_rule: 'open' },
      { id: 1, name: 'open-lab', members: 2, online: 2, join_rule: 'open' },
      { id: 2, name: 'tok-lab', members: 2, online: 2, join_rule: 'token' },
      { id: 3, name: 'inv-lab', members: 2, online: 2, join_rule: 'invite' },
    ]);
    const members = await d.listNodes('open-lab');
    expect(members.nodes.map((n) => n.node_id)).toEqual([a.nodeId, b.nodeId].sort((x, y) => x! - y!));
    expect(members.nodes[0]).toMatchObject({ address: expect.stringMatching(/^1:0001\./), online: true, public_key: expect.any(String), last_seen: expect.any(String) });
    expect((await d.listNodes(2)).nodes).toHaveLength(2);
    await rejects(d.listNodes(0), 'permission_denied');
    await rejects(d.listNodes(42), 'not_found');

    // leave: b leaves open-lab → a (member) and b get member_left; resolve denied again
    expect(await b.leaveNetwork('open-lab')).toEqual({ type: 'leave_network_ok', network_id: 1 });
    await rejects(b.leaveNetwork('open-lab'), 'not_found');
    await rejects(b.resolve(a.nodeId!), 'permission_denied');
    await vi.waitFor(() => expect(evA.some((e) => e.event === 'member_left' && e.node_id === b.nodeId), 'member_left at a').toBe(true), { timeout: 5000 });
    await vi.waitFor(() => expect(evB.some((e) => e.event === 'member_left' && e.network_id === 1), 'member_left at b').toBe(true), { timeout: 5000 });
    expect(evB.find((e) => e.event === 'member_left')).toMatchObject({ type: 'event', event: 'member_left', network_id: 1, name: 'open-lab', node_id: b.nodeId, reason: 'left' });
    // d's events are not pushed to a (a is in inv-lab: yes it is) — c's tok-lab join reached a
    expect(evA.some((e) => e.event === 'member_joined' && e.node_id === c.nodeId && e.network_id === 2)).toBe(true);
    // trust changes are pushed to both parties
    await b.reportTrust(a.nodeId!);
    await vi.waitFor(() => expect(evA.some((e) => e.event === 'trust_changed' && e.trusted === true), 'trust_changed').toBe(true), { timeout: 5000 });
    // bad signature on subscribe is refused
    const imp = new RegistryClient({ address: regAddr(bb), identity: newIdentity(), nodeId: a.nodeId });
    cs.push(imp);
    const s = imp.subscribeEvents({ onEvent: () => undefined });
    await expect(s.ready).rejects.toMatchObject({ wireCode: 'bad_signature' });
    subA.close();
    subB.close();
    // after the subscription is closed, the server forgets it
    await vi.waitFor(() => expect(bb.status().registry.subscribers, 'unsubscribe').toBe(0), { timeout: 5000 });
  });

  it('find_nodes honours visibility: public / private / trusted / shared group', async () => {
    const pub = await mk();
    const priv = await mk();
    const trusted = await mk();
    const mate = await mk();
    const me = await mk();
    for (const c of [pub, priv, trusted, mate, me]) await c.setTags(['gpu', c === pub ? 'eu' : 'us']);
    await pub.setVisibility(true);
    await pub.setHostname('pub-1');
    await trusted.reportTrust(me.nodeId!);
    await mate.createNetwork('crew');
    await me.joinNetwork('crew');

    const anon = new RegistryClient({ address: regAddr(bb) });
    cs.push(anon);
    const anonHits = await anon.findNodes({ tags: ['gpu'] });
    expect(anonHits.nodes.map((n) => n.node_id)).toEqual([pub.nodeId]);
    expect(anonHits.nodes[0]).toMatchObject({ hostname: 'pub-1', public: true, tags: ['gpu', 'eu'], online: true, networks: [0] });

    const mine = await me.findNodes({ tags: ['gpu'] });
    expect(mine.nodes.map((n) => n.node_id).sort((x, y) => x - y)).toEqual([pub.nodeId, trusted.nodeId, mate.nodeId, me.nodeId].sort((x, y) => x! - y!));
    expect(mine.nodes.some((n) => n.node_id === priv.nodeId)).toBe(false);
    expect((await me.findNodes({ tags: ['gpu', 'eu'] })).nodes.map((n) => n.node_id)).toEqual([pub.nodeId]);
    expect((await me.findNodes({ anyTags: ['eu', 'nope'] })).nodes.map((n) => n.node_id)).toEqual([pub.nodeId]);
    expect((await me.findNodes({ network: 'crew' })).nodes.map((n) => n.node_id).sort()).toEqual([mate.nodeId, me.nodeId].sort());
    expect((await me.findNodes({ hostnamePrefix: 'pub' })).nodes).toHaveLength(1);
    expect((await me.findNodes({ tags: ['gpu'], limit: 2 })).nodes).toHaveLength(2);
    expect((await priv.findNodes({ tags: ['gpu'] })).nodes.map((n) => n.node_id).sort()).toEqual([pub.nodeId, priv.nodeId].sort());
    // a forged requester is refused rather than silently downgraded
    const forged = new RegistryClient({ address: regAddr(bb), identity: newIdentity(), nodeId: me.nodeId });
    cs.push(forged);
    await rejects(forged.findNodes({ tags: ['gpu'] }), 'bad_signature');
  });
});

describe('restart persistence', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilot-bb-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('state before a restart equals state after (log replay, then snapshot + log)', async () => {
    let bb = await startTestBackbone({ dataDir: dir });
    const ids = Array.from({ length: 4 }, () => newIdentity());
    const cs = ids.map((identity) => new RegistryClient({ address: regAddr(bb), identity }));
    const [a, b, c, d] = cs as [RegistryClient, RegistryClient, RegistryClient, RegistryClient];
    for (const [i, x] of cs.entries()) await x.register({ listenAddr: `:${8000 + i}`, hostname: `h-${i}` });
    await a.setTags(['gpu', 'eu']);
    await b.setVisibility(true);
    await c.setTaskExec(true);
    await a.reportTrust(b.nodeId!);
    await d.requestHandshake(a.nodeId!, 'hello');
    await c.respondHandshake(d.nodeId!, false);
    await a.createNetwork('lab', { joinRule: 'token', token: 'tk' });
    await b.joinNetwork('lab', { token: 'tk' });
    await c.setPoloScore(c.nodeId!, 7);
    const before = bb.exportState();
    await bb.close();
    for (const x of cs) x.close();

    bb = await startTestBackbone({ dataDir: dir });
    expect(bb.exportState()).toEqual(before);
    expect(bb.status().store.restoredRecords).toBe(0); // graceful close wrote a snapshot
    // talk to it: the same ids and keys still work
    const a2 = new RegistryClient({ address: regAddr(bb), identity: ids[0]!, nodeId: a.nodeId });
    const polled = await a2.pollHandshakes();
    expect(polled.requests).toEqual([{ from_node_id: d.nodeId, justification: 'hello', timestamp: expect.any(Number) }]);
    await a2.setTags(['cpu']);
    const mid = bb.exportState();
    a2.close();
    await bb.close();
    bb = await startTestBackbone({ dataDir: dir });
    expect(bb.exportState()).toEqual(mid);
    await bb.close();
  });
});
