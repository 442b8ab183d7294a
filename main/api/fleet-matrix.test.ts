import { describe, it, expect } from 'vitest';
import type { SpanView } from '../../shared/contract';
import type { FleetPeer } from '../node/services/fleet-query';
import { FleetHistory } from './fleet-history';
import { aggregateByGroup, buildPairs, census, countPaths, pairPath, type MemberSweep } from './fleet-matrix';
import { whyThisPath } from '../node/services/fleet-why';

const peer = (nodeId: number, path: FleetPeer['path'], o: Partial<FleetPeer> = {}): FleetPeer => ({ nodeId, path, pathChanges: 1, bytesIn: 0, bytesOut: 0, ...o });
const sweep = (nodeId: number, peers: FleetPeer[]): MemberSweep => ({ nodeId, table: { nodeId, address: `0:0000.0000.000${nodeId}`, peers } });

describe('path matrix', () => {
  it('resolves a pair from its two ends', () => {
    const s = (path: FleetPeer['path']) => ({ path, pathChanges: 0 });
    expect(pairPath(s('relay'), s('relay'), true)).toBe('relay');
    expect(pairPath(s('pending'), s('punched'), true)).toBe('punched');
    expect(pairPath(s('relay'), s('punched'), true)).toBe('punched');
    expect(pairPath(undefined, s('direct'), false)).toBe('direct');
    expect(pairPath(undefined, undefined, true)).toBe('none');
    expect(pairPath(s('relay'), undefined, true)).toBe('relay');
    expect(pairPath(undefined, undefined, false)).toBe('unknown');
  });

  it('draws every pair once, with RTT and since when, none where an end answered without a tunnel to the other, unknown where no end answered', () => {
    const now = 1_000_000;
    const sweeps = new Map<number, MemberSweep>([
      [1, sweep(1, [peer(2, 'direct', { rttMs: 0.4, pathForMs: 30_000 }), peer(3, 'relay', { rttMs: 9 })])],
      [2, sweep(2, [peer(1, 'direct', { pathForMs: 20_000 })])],
      [3, sweep(3, [peer(1, 'relay')])],
      [4, { nodeId: 4, error: 'refused' }],
      [5, { nodeId: 5, error: 'refused' }],
    ]);
    const pairs = buildPairs([5, 4, 3, 2, 1, 2], sweeps, now);
    expect(pairs.map((p) => [p.a, p.b, p.path])).toEqual([
      [1, 2, 'direct'],
      [1, 3, 'relay'],
      [1, 4, 'none'],
      [1, 5, 'none'],
      [2, 3, 'none'],
      [2, 4, 'none'],
      [2, 5, 'none'],
      [3, 4, 'none'],
      [3, 5, 'none'],
      [4, 5, 'unknown'],
    ]);
    expect(pairs[0]).toMatchObject({ rttMs: 0.4, sinceMs: now - 20_000 });
    expect(pairs[1]).toMatchObject({ rttMs: 9 });
    expect(pairs[1]?.sinceMs).toBeUndefined();
    const c = census(countPaths(pairs));
    expect(c.pairs).toBe(10);
    expect(c.counts).toMatchObject({ direct: 1, relay: 1, none: 7, unknown: 1 });
    expect(c.shares).toMatchObject({ direct: 0.5, relay: 0.5, punched: 0 });
  });

  it('aggregates by group: one cell per group pair, counts per path', () => {
    const sweeps = new Map<number, MemberSweep>();
    const ids = Array.from({ length: 100 }, (_, i) => i + 1);
    for (const id of ids) sweeps.set(id, sweep(id, ids.filter((x) => x !== id).map((x) => peer(x, (x + id) % 2 ? 'relay' : 'direct'))));
    const pairs = buildPairs(ids, sweeps, 0);
    expect(pairs).toHaveLength(4950);
    const cells = aggregateByGroup(pairs, (id) => (id <= 50 ? 'east' : 'west'));
    expect(cells.map((c) => [c.groupA, c.groupB, c.pairs])).toEqual([
      ['east', 'east', 1225],
      ['east', 'west', 2500],
      ['west', 'west', 1225],
    ]);
    expect(cells[1]?.counts.direct).toBe(1250);
  });
});

describe('fleet history', () => {
  it('records changes per pair, marks a return to a recent path as a flap, keeps the window and the caps', () => {
    const h = new FleetHistory({ windowMs: 60_000, maxSamples: 5, flapMs: 10_000 });
    expect(h.record(2, 1, 0, 'relay', 9)).toBeUndefined();
    expect(h.record(1, 2, 1000, 'punched', 1)).toMatchObject({ from: 'relay', to: 'punched', flap: false });
    expect(h.record(1, 2, 2000, 'relay', 9)).toMatchObject({ from: 'punched', to: 'relay', flap: true });
    expect(h.record(1, 2, 30_000, 'punched', 1)).toMatchObject({ flap: false });
    expect(h.since(1, 2)).toBe(30_000);
    expect(h.counts(1, 2, 30_000)).toEqual({ changes: 3, flaps: 1 });
    for (let t = 31_000; t < 40_000; t += 1000) h.record(1, 2, t, 'punched');
    expect(h.view(2, 1, 40_000).samples).toHaveLength(5);
    // An hour later the old changes have left the window.
    const v = h.view(1, 2, 95_000);
    expect(v).toMatchObject({ a: 1, b: 2, windowMs: 60_000 });
    expect(v.changes.map((c) => c.t)).toEqual([]);
    expect(v.samples.every((s) => s.t >= 35_000)).toBe(true);
  });

  it('a sweep that reached neither end (unknown) is a gap in the samples, not a change', () => {
    const h = new FleetHistory();
    h.record(1, 2, 0, 'relay');
    expect(h.record(1, 2, 1000, 'unknown')).toBeUndefined();
    expect(h.record(1, 2, 2000, 'punched')).toMatchObject({ from: 'relay', to: 'punched' });
    const v = h.view(1, 2, 2000);
    expect(v.changes.map((c) => `${c.from}→${c.to}`)).toEqual(['relay→punched']);
    expect(v.samples.map((x) => x.path)).toEqual(['relay', 'unknown', 'punched']);
    expect(h.since(1, 2)).toBe(2000);
  });

  it('forgets the least recently updated pair past maxPairs', () => {
    const h = new FleetHistory({ maxPairs: 2 });
    h.record(1, 2, 0, 'direct');
    h.record(1, 3, 0, 'direct');
    h.record(1, 2, 1, 'direct');
    h.record(2, 3, 2, 'relay');
    expect(h.size).toBe(2);
    expect(h.view(1, 3, 3).samples).toEqual([]);
    expect(h.view(1, 2, 3).samples).toHaveLength(2);
  });
});

describe('why this path', () => {
  const T = 'ab'.repeat(16);
  const span = (o: Partial<SpanView> & { spanId: string; name: string; startMs: number }): SpanView => ({ traceId: T, node: 'n', durationMs: 10, status: 'ok', attrs: {}, ...o });

  it('tells the dial step by step: NAT types, key exchange, punch, relay and its reason, the later upgrade', () => {
    const spans = [
      span({ spanId: 'e', name: 'tunnel.establish', startMs: 1000, durationMs: 2600, attrs: { 'peer.node_id': 7, path: 'relay', establish_ms: 2600 } }),
      span({ spanId: 'k', parentId: 'e', name: 'key_exchange', startMs: 1010, durationMs: 2500 }),
      span({ spanId: 'p', parentId: 'k', name: 'punch', startMs: 1020, durationMs: 2000, status: 'error', attrs: { 'punch.after_ms': 20, 'punch.outcome': 'no direct path' } }),
      span({ spanId: 'r', parentId: 'k', name: 'relay', startMs: 3020, durationMs: 500, attrs: { 'relay.reason': 'no_direct_answer', 'relay.after_ms': 2020 } }),
      span({ spanId: 'u', parentId: 'e', name: 'tunnel.upgrade', startMs: 40_000, durationMs: 0, attrs: { 'peer.node_id': 7, path: 'punched', 'relay.duration_ms': 37_000 } }),
      span({ traceId: 'cd'.repeat(16), spanId: 'x', name: 'tunnel.establish', startMs: 1, attrs: { 'peer.node_id': 8 } }),
    ];
    const w = whyThisPath({ nodeId: 7, path: 'punched', endpoint: '10.0.0.2:4000', pathChanges: 2, localNat: 'cone', peerNat: 'port-preserving', spans });
    expect(w.steps.map((s) => s.stage)).toEqual(['nat', 'establish', 'key_exchange', 'punch', 'relay', 'established', 'upgrade', 'now']);
    expect(w.traceId).toBe(T);
    expect(w.steps[0]?.detail).toContain('cone NAT');
    expect(w.steps.find((s) => s.stage === 'relay')?.detail).toContain('no_direct_answer');
    expect(w.steps.find((s) => s.stage === 'punch')).toMatchObject({ status: 'error', atMs: 20 });
    expect(w.steps.find((s) => s.stage === 'upgrade')?.title).toBe('Upgraded to punched');
  });

  it('explains a relay with no upgrade behind a symmetric NAT, and a peer that dialled us', () => {
    const spans = [span({ spanId: 'e', name: 'tunnel.establish', startMs: 0, attrs: { 'peer.node_id': 7, path: 'relay' } }), span({ spanId: 'r', parentId: 'e', name: 'relay', startMs: 5, attrs: { 'relay.reason': 'no_endpoint' } })];
    const w = whyThisPath({ nodeId: 7, path: 'relay', pathChanges: 1, localNat: 'symmetric', spans });
    expect(w.steps.find((s) => s.stage === 'no_upgrade')?.detail).toContain('symmetric');
    const none = whyThisPath({ nodeId: 9, path: 'direct', pathChanges: 1, spans });
    expect(none.steps.map((s) => s.stage)).toEqual(['nat', 'missing', 'now']);
  });
});
