/**
 * The backbone on etcd: two in-process backbone instances (real TCP registries) serving one
 * directory kept in a real 3-member etcd cluster (test/etcd/cluster.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RegistryClient, RegistryError } from '../../main/node/registry-client';
import type { Backbone, SnapshotJson } from '../../main/backbone/index';
import type { RegistryEvent } from '../../main/wire/registry';
import { RawConn, newIdentity, regAddr, startTestBackbone } from '../../main/backbone/testing/helpers';
import { EtcdCluster, describeEtcd } from './cluster';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A directory's state without last_seen (heartbeats are not directory writes). */
function withoutLastSeen(s: SnapshotJson): SnapshotJson {
  const nodes: SnapshotJson['nodes'] = {};
  for (const [id, n] of Object.entries(s.nodes)) nodes[id] = { ...n, last_seen: '' };
  return { ...s, nodes };
}

/** JSON with object keys sorted: equal for equal content whatever the insertion order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x !== null && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0))) : x,
  );
}

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describeEtcd('backbone on etcd: two instances, one directory (real etcd cluster)', () => {
  let cluster: EtcdCluster;
  const instances: Backbone[] = [];
  const clients: RegistryClient[] = [];
  const start = async (prefix: string): Promise<Backbone> => {
    const bb = await startTestBackbone({ etcd: { endpoints: cluster.endpoints, prefix }, registerRatePerMin: 1_000_000_000, netcheck: false });
    instances.push(bb);
    return bb;
  };
  const client = (bb: Backbone): RegistryClient => {
    const c = new RegistryClient({ address: regAddr(bb), identity: newIdentity(), timeoutMs: 30_000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await EtcdCluster.start();
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const bb of instances) await bb.close();
    await cluster?.stop();
  });

  it('a hostname claimed at the same moment through both instances goes to exactly one node (40 races)', async () => {
    const a = await start('/t/race/');
    const b = await start('/t/race/');
    const pairs: [RegistryClient, RegistryClient][] = [];
    for (let race = 0; race < 40; race++) {
      const x = client(a);
      const y = client(b);
      await x.register();
      await y.register();
      pairs.push([x, y]);
    }
    // Counted from here on, conflicts come from the hostname claims alone (no ids are allocated).
    const conflicts = (): number => (a.status().etcd?.conflicts ?? 0) + (b.status().etcd?.conflicts ?? 0);
    const conflictsBefore = conflicts();
    for (const [race, [x, y]] of pairs.entries()) {
      const name = `race-${race}`;
      const results = await Promise.allSettled([x.setHostname(name), y.setHostname(name)]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r) => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      const reason = (lost[0] as PromiseRejectedResult).reason as RegistryError;
      expect(reason).toBeInstanceOf(RegistryError);
      expect(reason.wireCode).toBe('already_exists');
      const winner = results[0]!.status === 'fulfilled' ? x.nodeId : y.nodeId;
      // Both mirrors agree on the holder.
      for (const bb of [a, b]) {
        await until(`${name} in both mirrors`, () => Object.values(bb.exportState().nodes).some((n) => n.hostname === name && n.id === winner));
        expect(Object.values(bb.exportState().nodes).filter((n) => n.hostname === name)).toHaveLength(1);
      }
      x.close();
      y.close();
    }
    // The races reached etcd: at least one claim lost on the transaction's compare, not only locally.
    expect(conflicts() - conflictsBefore).toBeGreaterThan(0);
  }, 120_000);

  it('10,000 acknowledged writes through both instances with an etcd member killed part-way: none is lost', async () => {
    const a = await start('/t/bulk/');
    const b = await start('/t/bulk/');
    const N = 10_000;
    const acks: { id: number; key: string; hostname: string }[] = [];
    const refused: string[] = [];
    let sent = 0;
    let killed = false;
    let victim = -1;
    let ackedBeforeKill = -1;
    const worker = async (bb: Backbone): Promise<void> => {
      const conn = await RawConn.connect(bb);
      try {
        for (;;) {
          const i = sent++;
          if (i >= N) return;
          if (i === Math.floor(N / 3) && !killed) {
            killed = true;
            // Kill the raft leader mid-stream (the hardest member to lose: an election follows).
            void cluster
              .leaderIndex()
              .then((l) => {
                victim = l ?? 0;
                return cluster.kill(victim);
              })
              .then(() => {
                ackedBeforeKill = acks.length;
              });
          }
          const key = randomBytes(32).toString('base64');
          const hostname = `w-${i}`;
          conn.send({ type: 'register', listen_addr: ':4000', public_key: key, owner: '', hostname });
          const r = await conn.next(60_000);
          if (r['type'] === 'register_ok' && r['hostname'] === hostname) acks.push({ id: r['node_id'] as number, key, hostname });
          else refused.push(JSON.stringify(r));
        }
      } finally {
        conn.close();
      }
    };
    const workers: Promise<void>[] = [];
    for (let w = 0; w < 24; w++) workers.push(worker(w % 2 === 0 ? a : b));
    await Promise.all(workers);
    expect(killed).toBe(true);
    await until('the member killed', () => victim >= 0 && !cluster.isRunning(victim));
    // The kill was part-way: writes were acknowledged before it and after it was dead.
    expect(ackedBeforeKill).toBeGreaterThan(0);
    expect(acks.length - ackedBeforeKill).toBeGreaterThan(N / 10);
    const st = [a, b].map((bb) => bb.status().etcd);
    if (refused.length > 0) console.log(refused.slice(0, 3).join("\n"));
    console.log(`etcd bulk: acked ${acks.length} (${acks.length - ackedBeforeKill} after etcd member ${victim} was dead), refused ${refused.length}, transactions ${st.map((x) => x?.transactions).join('+')}, conflicts ${st.map((x) => x?.conflicts).join('+')}, etcd errors ${st.map((x) => x?.etcdErrors).join('+')}`);
    // Refusals (unavailable while etcd elected a leader) are allowed; they were not acknowledged.
    expect(acks.length + refused.length).toBe(N);
    // No id was acknowledged twice (one id space, two instances, retried transactions).
    const acked = new Map(acks.map((w) => [w.id, w]));
    const twice = acks.filter((w) => acked.get(w.id) !== w);
    expect(twice).toEqual([]);
    expect(acks.length).toBeGreaterThan(N * 0.9);
    expect(refused.every((r) => r.includes('"unavailable"'))).toBe(true);
    // Every acknowledged write is in the directory, read through each instance's mirror...
    for (const bb of [a, b]) {
      await until('mirror caught up', () => Object.keys(bb.exportState().nodes).length >= acked.size);
      const s = bb.exportState();
      for (const [id, w] of acked) {
        expect(s.nodes[String(id)]?.public_key).toBe(w.key);
        expect(s.nodes[String(id)]?.hostname).toBe(w.hostname);
        expect(s.pub_key_idx?.[w.key]).toBe(id);
      }
    }
    // ...and ids were never handed out twice (one counter, two instances).
    expect(new Set([...acked.values()].map((w) => w.key)).size).toBe(acked.size);
    // A fresh instance, started after the member came back, rebuilds the same directory from etcd.
    await cluster.restart(victim);
    const c = await start('/t/bulk/');
    const s = c.exportState();
    for (const [id, w] of acked) expect(s.nodes[String(id)]?.hostname).toBe(w.hostname);
    expect(Object.keys(s.nodes).length).toBe(Object.keys(a.exportState().nodes).length);
  }, 600_000);

  it('an instance restarted rebuilds its mirror, and nodes served by a stopped instance stay looked up through the other', async () => {
    const a = await start('/t/restart/');
    let b = await start('/t/restart/');
    const x = client(a);
    const y = client(b);
    await x.register({ hostname: 'x-node' });
    await y.register({ hostname: 'y-node' });
    await x.setVisibility(true);
    await b.close();
    b = await start('/t/restart/');
    const s = b.exportState();
    expect(s.nodes[String(x.nodeId)]?.hostname).toBe('x-node');
    expect(s.nodes[String(y.nodeId)]?.hostname).toBe('y-node');
    const z = client(b);
    await z.register();
    expect((await z.lookup(x.nodeId ?? 0)).public).toBe(true);
    expect((await z.resolveHostname('y-node')).node_id).toBe(y.nodeId);
    // A writer on the restarted instance sees the same id counter: no id handed out twice.
    expect(z.nodeId).toBeGreaterThan(Math.max(x.nodeId ?? 0, y.nodeId ?? 0));
  });

  it('every kind of record written through one instance or the other ends up identical in both mirrors and in a fresh instance; events reach subscribers on the other instance', async () => {
    const a = await start('/t/kinds/');
    const b = await start('/t/kinds/');
    const ids = Array.from({ length: 4 }, () => newIdentity());
    const cs = ids.map((identity, i) => {
      const c = new RegistryClient({ address: regAddr(i % 2 === 0 ? a : b), identity, timeoutMs: 30_000 });
      clients.push(c);
      return c;
    });
    const [p, q, r, t] = cs as [RegistryClient, RegistryClient, RegistryClient, RegistryClient];
    // Another instance sees a write when its watch delivers it, not at once: before a request
    // that depends on a write made through the other instance, wait for the mirrors to agree.
    const converged = (): Promise<void> =>
      until('mirrors equal', () => canonical(withoutLastSeen(a.exportState())) === canonical(withoutLastSeen(b.exportState())));
    for (const [i, x] of cs.entries()) await x.register({ listenAddr: `:${8000 + i}`, hostname: `k-${i}`, owner: `owner-${i}@example.org` });
    await converged();
    // p (at a) subscribes to events; t (at b) requests a handshake: the event comes through etcd.
    const got: RegistryEvent[] = [];
    const sub = p.subscribeEvents({ onEvent: (e) => got.push(e) });
    await sub.ready;
    await p.setTags(['gpu', 'eu']);
    await q.setVisibility(true);
    await r.setTaskExec(true);
    await p.reportTrust(q.nodeId!);
    await t.requestHandshake(p.nodeId!, 'hello');
    await r.requestHandshake(t.nodeId!, 'hi');
    await converged();
    await t.respondHandshake(r.nodeId!, false);
    await p.createNetwork('lab', { joinRule: 'token', token: 'tk' });
    await converged();
    await q.joinNetwork('lab', { token: 'tk' });
    await r.setPoloScore(r.nodeId!, 7);
    await until('the handshake and join events at the subscriber on the other instance', () => got.some((e) => e.event === 'handshake_request') && got.some((e) => e.event === 'member_joined'));
    sub.close();
    expect(got.find((e) => e.event === 'handshake_request')).toMatchObject({ node_id: t.nodeId });
    expect(a.status().etcd?.remoteEvents).toBeGreaterThan(0);
    await converged();
    const c = await start('/t/kinds/');
    const fresh = withoutLastSeen(c.exportState());
    expect(fresh).toEqual(withoutLastSeen(a.exportState()));
    expect(fresh.trust_pairs).toEqual([`${Math.min(p.nodeId!, q.nodeId!)}:${Math.max(p.nodeId!, q.nodeId!)}`]);
    expect(Object.keys(fresh.networks ?? {})).toHaveLength(1);
    expect(Object.keys(fresh.owner_idx ?? {})).toHaveLength(4);
    expect(fresh.handshake_inbox?.[String(p.nodeId)]).toHaveLength(1);
  });

  it('without an etcd majority a write is refused (unavailable), never acknowledged, reads are still answered, and writes resume with the majority', async () => {
    const a = await startTestBackbone({ etcd: { endpoints: cluster.endpoints, prefix: '/t/quorum/', unavailableAfterMs: 3000 }, registerRatePerMin: 1_000_000_000, netcheck: false });
    instances.push(a);
    const conn = await RawConn.connect(a);
    const reg = (): Promise<Record<string, unknown>> => conn.call({ type: 'register', listen_addr: ':4000', public_key: randomBytes(32).toString('base64'), owner: '', hostname: '' });
    const first = await reg();
    expect(first['type']).toBe('register_ok');
    const down = [0, 1, 2].filter((i) => cluster.isRunning(i)).slice(0, 2);
    for (const i of down) await cluster.kill(i);
    const key = randomBytes(32).toString('base64');
    conn.send({ type: 'register', listen_addr: ':4000', public_key: key, owner: '', hostname: 'no-quorum' });
    conn.send({ type: 'lookup', node_id: first['node_id'] });
    const refused = await conn.next(60_000);
    expect(refused).toMatchObject({ type: 'error', code: 'unavailable' });
    expect((await conn.next(60_000))['type']).toBe('lookup_ok');
    expect(Object.values(a.exportState().nodes).some((n) => n.public_key === key)).toBe(false);
    for (const i of down) await cluster.restart(i);
    await cluster.waitRunningHealthy();
    const again = await reg();
    expect(again['type']).toBe('register_ok');
    conn.close();
  }, 120_000);
});
