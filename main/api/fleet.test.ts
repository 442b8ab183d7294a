import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import type { FleetMatrixView } from '../../shared/contract';
import { LogRing } from '../observe/logs';
import { silentLogger } from '../util/log';
import { FleetQueryService } from '../node/services/fleet-query';
import { TestNet, waitFor, type Peer } from '../node/services/testkit';
import type { TrustChange } from '../node/services/trust';
import { startFleetSweep, type FleetApi } from './fleet';
import { createNodeService, type NodeService } from './node-service';

// The fleet domain of the console API over real nodes (a backbone and four nodes on 127.0.0.1):
// the console's node asks members that let it for their peer tables and draws every pair.
let net: TestNet;
const services: { stop(): void }[] = [];
const consoles: NodeService[] = [];
beforeAll(async () => {
  net = await TestNet.start();
});
afterAll(async () => {
  for (const c of consoles) c.close();
  for (const s of services) s.stop();
  await net?.close();
});

async function trusts(holder: Peer, asker: Peer): Promise<void> {
  const pending = waitFor(holder.svc.trust, 'request');
  await asker.svc.trust.request(holder.node.nodeId, 'fleet');
  await pending;
  const done = waitFor<[TrustChange]>(asker.svc.trust, 'changed', (c) => c.nodeId === holder.node.nodeId && c.state === 'trusted');
  await holder.svc.trust.approve(asker.node.nodeId);
  await done;
}

function member(p: Peer): void {
  const t = p.svc.trust;
  const s = new FleetQueryService(p.node, { mayQuery: (n) => t.isTrusted(n) || t.sharesGroup(n), mayProbe: (n) => t.isTrusted(n) }, silentLogger);
  s.start();
  services.push(s);
}

describe('fleet API (matrix, history, probe, why) over real nodes', () => {
  it('lists every pair of the fleet with its path; a member that refuses leaves its pairs to the other end; probes from a member; why names the stages', async () => {
    const c = await net.peer({ public: true, hostname: 'fl-console' });
    const a = await net.peer({ public: true, hostname: 'fl-a' });
    const b = await net.peer({ public: true, hostname: 'fl-b' });
    const d = await net.peer({ public: true, hostname: 'fl-d' });
    for (const p of [a, b, d]) member(p);
    await trusts(a, c);
    await trusts(b, c);
    // a and b talk; d knows only the console (and does not trust it: its table is refused).
    await a.node.controlPing(b.node.nodeId);
    await c.node.controlPing(d.node.nodeId);
    const svc = createNodeService({ node: c.node, tracer: c.node.tracer, logs: new LogRing(100) });
    consoles.push(svc);

    const m = await svc.call('fleet.matrix', { refresh: true });
    const ids = [c, a, b, d].map((p) => p.node.nodeId).sort((x, y) => x - y);
    expect(m.members.map((x) => x.nodeId)).toEqual(ids);
    expect(m.members.find((x) => x.nodeId === d.node.nodeId)).toMatchObject({ answered: false });
    expect(m.members.find((x) => x.nodeId === d.node.nodeId)?.error).toMatch(/refused/);
    expect(m.pairs).toHaveLength(6);
    const pathOf = (x: Peer, y: Peer): string | undefined => m.pairs.find((p) => p.a === Math.min(x.node.nodeId, y.node.nodeId) && p.b === Math.max(x.node.nodeId, y.node.nodeId))?.path;
    expect(pathOf(a, b)).toBe('direct');
    expect(pathOf(c, a)).toBe('direct');
    expect(pathOf(c, d)).toBe('direct'); // the console's own table says so
    expect(pathOf(b, d)).toBe('none'); // b answered (no tunnel to d); d refused: b's answer decides
    expect(m.census.counts.direct).toBe(4);
    expect(m.aggregated).toBe(false);

    // A second sweep adds a sample to the pair's history.
    await svc.call('fleet.matrix', { refresh: true });
    const h = await svc.call('fleet.history', { a: b.node.nodeId, b: a.node.nodeId });
    expect(h.samples.map((s) => s.path)).toEqual(['direct', 'direct']);
    expect(h.changes).toEqual([]);

    // Aggregated past maxPairs: no per-pair list, one cell per group pair.
    const agg = await svc.call('fleet.matrix', { refresh: true, maxPairs: 2 });
    expect(agg.aggregated).toBe(true);
    expect(agg.pairs).toEqual([]);
    expect(agg.groups.reduce((n, g) => n + g.pairs, 0)).toBe(6);

    const probe = await svc.call('fleet.probe', { from: a.node.nodeId, to: b.node.nodeId, count: 2 });
    expect(probe.rtts).toHaveLength(2);
    expect(probe.stats).toMatchObject({ sent: 2, received: 2 });
    expect(probe.path).toBe('direct');
    await expect(svc.call('fleet.probe', { from: d.node.nodeId, to: a.node.nodeId })).rejects.toMatchObject({ code: 'permission_denied' });
    const tp = await svc.call('fleet.probe', { from: b.node.nodeId, to: a.node.nodeId, mode: 'throughput', bytes: 64 << 10 });
    expect(tp.throughput).toMatchObject({ bytes: 64 << 10 });
    expect(tp.throughput?.mbitPerS).toBeGreaterThan(0);
    // A traceroute from b to a: the dial to a's echo port, the hop, 3 round trips over the stream.
    const tr = await svc.call('fleet.probe', { from: b.node.nodeId, to: a.node.nodeId, mode: 'traceroute' });
    expect(tr).toMatchObject({ from: b.node.nodeId, to: a.node.nodeId, path: 'direct', errors: [], stats: { sent: 3, received: 3 } });
    expect(tr.traceroute?.setupMs).toBeGreaterThan(0);
    expect(tr.traceroute?.hops).toEqual([expect.objectContaining({ kind: 'peer', nodeId: a.node.nodeId })]);

    // The console dialled a: its dial trace tells the story.
    const why = await svc.call('fleet.why', { nodeId: a.node.nodeId });
    expect(why.path).toBe('direct');
    expect(why.steps.map((s) => s.stage)).toEqual(expect.arrayContaining(['nat', 'establish', 'established', 'now']));
    expect(why.localNat).toBe('none');
    // The endpoints the dial tried: a's registered endpoint, which answered (loopback, no NAT).
    const tried = why.steps.find((s) => s.stage === 'endpoints');
    const aEndpoint = c.node.tunnelInfo(a.node.nodeId)?.endpoint;
    expect(aEndpoint).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(tried).toMatchObject({ title: 'Endpoints tried: 1', status: 'ok' });
    expect(tried?.detail).toMatch(new RegExp(`^${aEndpoint!.replace(/\./g, '\\.')}: the registered endpoint \\(from the registry\\), tried at \\d+ ms; answered, the tunnel up \\d+ ms later$`));

    // A member's story of its own tunnel (a dialled b), asked over the fleet query; d refuses.
    const whyAB = await svc.call('fleet.why', { from: a.node.nodeId, nodeId: b.node.nodeId });
    expect(whyAB).toMatchObject({ nodeId: b.node.nodeId, path: 'direct' });
    expect(whyAB.steps.map((s) => s.stage)).toEqual(expect.arrayContaining(['nat', 'establish', 'established', 'now']));
    await expect(svc.call('fleet.why', { from: d.node.nodeId, nodeId: a.node.nodeId })).rejects.toMatchObject({ code: 'permission_denied' });
  });
});

describe('background fleet sweep', () => {
  it('waits the interval, or ten times the last sweep when that is longer, and lets fleet.matrix answer from the cache meanwhile', async () => {
    vi.useFakeTimers();
    try {
      let sweeps = 0;
      let took = 0;
      const cache: number[] = [];
      const api = {
        handlers: {} as FleetApi['handlers'],
        sweep: async () => {
          sweeps++;
          return {} as FleetMatrixView;
        },
        lastSweepMs: () => took,
        setCacheMs: (ms: number) => cache.push(ms),
        close: () => undefined,
      } satisfies FleetApi;
      const stop = startFleetSweep(api, 5000, silentLogger);
      await vi.waitFor(() => expect(cache).toEqual([6000]));
      expect(sweeps).toBe(1);
      took = 2000; // a slow sweep (a large fleet)
      await vi.advanceTimersByTimeAsync(5000);
      expect(sweeps).toBe(2);
      await vi.waitFor(() => expect(cache).toEqual([6000, 21_000]));
      await vi.advanceTimersByTimeAsync(19_000);
      expect(sweeps).toBe(2);
      await vi.advanceTimersByTimeAsync(1000);
      expect(sweeps).toBe(3);
      stop();
      await vi.advanceTimersByTimeAsync(60_000);
      expect(sweeps).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});
