import { describe, expect, it } from 'vitest';
import type { NodeInfoView } from '../../../../shared/contract';
import { detail, peer } from '../../testing/fixtures';
import { initialRootState, rootReducer, type RootState } from '../root';
import { peersReducer } from './reducer';
import { defaultPeerFilter, filterPeers, selectTunnelCount, sortPeers, summarizeFleet, visiblePeers } from './selectors';
import { initialPeersState, type PeersState } from './state';

const loaded = (peers = [peer(1), peer(2, { path: 'relay' })]): PeersState => peersReducer(initialPeersState, { type: 'peersLoaded', peers, at: 100 });

describe('peers reducer', () => {
  it('peersLoaded replaces the table with the snapshot', () => {
    const s = peersReducer(loaded(), { type: 'peersLoaded', peers: [peer(3)], at: 200 });
    expect(Object.keys(s.byId)).toEqual(['3']);
    expect(s.loadedAt).toBe(200);
    expect(s.heardAt[3]).toBe(200);
  });

  it('peerSeen inserts or replaces one row and leaves the others untouched', () => {
    const s0 = loaded();
    const s1 = peersReducer(s0, { type: 'peerSeen', peer: peer(2, { rttMs: 4, path: 'direct' }), at: 300 });
    expect(s1.byId[2]).toMatchObject({ rttMs: 4, path: 'direct' });
    expect(s1.byId[1]).toBe(s0.byId[1]);
    expect(s1.heardAt[2]).toBe(300);
    const s2 = peersReducer(s1, { type: 'peerSeen', peer: peer(9), at: 301 });
    expect(Object.keys(s2.byId)).toHaveLength(3);
  });

  it('pathChanged moves the peer to the new path and counts the change in its detail', () => {
    let s = loaded();
    s = peersReducer(s, { type: 'peerInspected', detail: detail(2, { path: 'relay', pathChanges: 1 }), at: 150 });
    s = peersReducer(s, { type: 'pathChanged', nodeId: 2, from: 'relay', to: 'punched', endpoint: '203.0.113.5:4000', at: 400 });
    expect(s.byId[2]).toMatchObject({ path: 'punched', endpoint: '203.0.113.5:4000' });
    expect(s.details[2]?.detail).toMatchObject({ path: 'punched', pathChanges: 2 });
  });

  it('pathChanged for an unknown peer changes nothing', () => {
    const s = loaded();
    expect(peersReducer(s, { type: 'pathChanged', nodeId: 77, from: 'relay', to: 'direct', at: 1 })).toBe(s);
  });

  it('trustChanged updates the row', () => {
    const s = peersReducer(loaded(), { type: 'trustChanged', nodeId: 1, state: 'trusted', at: 5 });
    expect(s.byId[1]?.trust).toBe('trusted');
  });

  it('peerInspected stores the detail and refreshes the row from it', () => {
    const s = peersReducer(loaded(), { type: 'peerInspected', detail: detail(1, { rttMs: 2.5, hostname: 'renamed' }), at: 9 });
    expect(s.details[1]?.at).toBe(9);
    expect(s.byId[1]).toMatchObject({ hostname: 'renamed', rttMs: 2.5 });
    expect(s.byId[1]).not.toHaveProperty('counters');
  });

  it('ignores actions of other slices', () => {
    const s = loaded();
    expect(peersReducer(s, { type: 'logAppended', line: { t: '', level: 'info', msg: '', fields: {} } })).toBe(s);
  });
});

describe('peer selectors', () => {
  const peers = [
    peer(1, { hostname: 'alpha', tags: ['gpu'], groups: ['RESEARCH'], rttMs: 5, path: 'direct', lastSeenMs: 1000, trust: 'trusted' }),
    peer(2, { hostname: 'beta', tags: ['db'], groups: ['TRADING'], rttMs: 1, path: 'relay', lastSeenMs: 3000 }),
    peer(3, { hostname: undefined, rttMs: undefined, path: 'punched', lastSeenMs: 2000 }),
  ];

  it('filters by every word of the text over hostname, address, tags and groups', () => {
    expect(filterPeers(peers, { ...defaultPeerFilter, text: 'gpu research' }).map((p) => p.nodeId)).toEqual([1]);
    expect(filterPeers(peers, { ...defaultPeerFilter, text: '0000.0002' }).map((p) => p.nodeId)).toEqual([2]);
    expect(filterPeers(peers, { ...defaultPeerFilter, text: 'TRADING' }).map((p) => p.nodeId)).toEqual([2]);
  });

  it('filters by path, trust and group', () => {
    expect(filterPeers(peers, { ...defaultPeerFilter, path: 'punched' }).map((p) => p.nodeId)).toEqual([3]);
    expect(filterPeers(peers, { ...defaultPeerFilter, trust: 'trusted' }).map((p) => p.nodeId)).toEqual([1]);
    expect(filterPeers(peers, { ...defaultPeerFilter, group: 'RESEARCH' }).map((p) => p.nodeId)).toEqual([1]);
  });

  it('sorts by RTT with unknown RTTs last in both directions', () => {
    expect(sortPeers(peers, { key: 'rtt', dir: 'asc' }).map((p) => p.nodeId)).toEqual([2, 1, 3]);
    expect(sortPeers(peers, { key: 'rtt', dir: 'desc' }).map((p) => p.nodeId)).toEqual([1, 2, 3]);
  });

  it('sorts by path, name, and last seen (most recent first when ascending)', () => {
    expect(sortPeers(peers, { key: 'path', dir: 'asc' }).map((p) => p.nodeId)).toEqual([1, 3, 2]);
    expect(sortPeers(peers, { key: 'name', dir: 'asc' }).map((p) => p.nodeId)).toEqual([1, 2, 3]);
    expect(sortPeers(peers, { key: 'lastSeen', dir: 'asc' }).map((p) => p.nodeId)).toEqual([2, 3, 1]);
  });

  it('visiblePeers filters then sorts a table of a thousand', () => {
    const many = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [i + 1, peer(i + 1, { rttMs: 1000 - i, path: i % 2 ? 'relay' : 'direct' })]));
    const rows = visiblePeers(many, { ...defaultPeerFilter, path: 'relay' }, { key: 'rtt', dir: 'asc' });
    expect(rows).toHaveLength(500);
    expect(rows[0]?.nodeId).toBe(1000);
  });

  it('summarizes paths, median RTT and groups', () => {
    const s = summarizeFleet(Object.fromEntries(peers.map((p) => [p.nodeId, p])));
    expect(s).toMatchObject({ total: 3, byPath: { direct: 1, relay: 1, punched: 1, pending: 0 }, medianRttMs: 1, trusted: 1, groups: ['RESEARCH', 'TRADING'] });
  });

  it('counts the tunnels in the peer table (every path but pending), not in the node.info snapshot', () => {
    // node.info is loaded when the link opens, typically before any tunnel is up, and is not pushed again.
    const atConnect = { nodeId: 1, hostname: 'self', peers: 0 } as NodeInfoView;
    const table = [peer(2, { path: 'direct' }), peer(3, { path: 'punched' }), peer(4, { path: 'relay' }), peer(5, { path: 'pending' })];
    let s: RootState = rootReducer(initialRootState, { type: 'nodeUpdated', node: atConnect, at: 1 });
    expect(selectTunnelCount(s)).toBe(0);
    s = rootReducer(s, { type: 'peersLoaded', peers: table, at: 2 });
    expect(selectTunnelCount(s)).toBe(3);
    s = rootReducer(s, { type: 'pathChanged', nodeId: 5, from: 'pending', to: 'punched', at: 3 });
    expect(selectTunnelCount(s)).toBe(4);
  });
});
