import { describe, expect, it } from 'vitest';
import type { NodeInfoView } from '../../../shared/contract';
import { peer } from '../testing/fixtures';
import { formatAge, formatBytes, formatMs, groupHex } from './format';
import { hrefOf, parseRoute, type Route } from './route';
import { sparklinePoints } from './sparkline';
import { RELAY_ID, SELF_ID, buildTopology, groupKey, layoutAnchors, peerKey } from './topology';

describe('routes', () => {
  it('round-trips every route through its href', () => {
    const routes: Route[] = [{ view: 'fleet' }, { view: 'node' }, { view: 'peer', nodeId: 7 }, { view: 'groups' }, { view: 'groups', group: 'R&D' }, { view: 'traces', traceId: 'ab12' }, { view: 'logs', peer: 9 }, { view: 'logs' }];
    for (const r of routes) expect(parseRoute(hrefOf(r))).toEqual(r);
  });
  it('falls back to the fleet for anything unknown', () => {
    expect(parseRoute('')).toEqual({ view: 'fleet' });
    expect(parseRoute('#/peer/abc')).toEqual({ view: 'fleet' });
    expect(parseRoute('#/nope')).toEqual({ view: 'fleet' });
  });
});

describe('formatting', () => {
  it('milliseconds at the right precision', () => {
    expect([formatMs(undefined), formatMs(0), formatMs(0.21), formatMs(3.456), formatMs(42.34), formatMs(512.4), formatMs(12_345)]).toEqual(['—', '0', '210µs', '3.46ms', '42.3ms', '512ms', '12.3s']);
  });
  it('bytes, ages, fingerprints', () => {
    expect([formatBytes(512), formatBytes(1536), formatBytes(5 * 1024 ** 3)]).toEqual(['512 B', '1.50 KiB', '5.00 GiB']);
    expect([formatAge(undefined), formatAge(500), formatAge(42_000), formatAge(3 * 60_000), formatAge(5 * 3600_000)]).toEqual(['never', 'now', '42s ago', '3m ago', '5h ago']);
    expect(groupHex('abcdef0123')).toBe('abcd ef01 23');
  });
});

describe('sparkline', () => {
  it('maps values into the box, highest at the top', () => {
    expect(sparklinePoints([1, 3, 2], 12, 10)).toBe('1.0,9.0 6.0,1.0 11.0,5.0');
    expect(sparklinePoints([5, 5], 10, 10)).toBe('1.0,5.0 9.0,5.0');
    expect(sparklinePoints([1], 10, 10)).toBe('');
  });
});

describe('topology', () => {
  const node = { nodeId: 1, address: '0:0000.0000.0001', hostname: 'me', groups: ['OPS'], beacon: '198.51.100.1:9001' } as NodeInfoView;
  const peers = [peer(2, { path: 'direct', groups: ['OPS'] }), peer(3, { path: 'relay', groups: ['OPS', 'LAB'] }), peer(4, { path: 'punched' })];

  it('links peers by their path: relayed ones through the backbone', () => {
    const g = buildTopology(node, peers);
    expect(g.nodes.map((n) => n.id)).toEqual([SELF_ID, RELAY_ID, peerKey(2), peerKey(3), peerKey(4), groupKey('LAB'), groupKey('OPS')]);
    expect(g.links.filter((l) => l.kind !== 'member')).toEqual([
      { source: SELF_ID, target: RELAY_ID, kind: 'backbone' },
      { source: SELF_ID, target: peerKey(2), kind: 'direct' },
      { source: RELAY_ID, target: peerKey(3), kind: 'relay' },
      { source: SELF_ID, target: peerKey(4), kind: 'punched' },
    ]);
    expect(g.nodes.find((n) => n.id === groupKey('OPS'))?.size).toBe(2);
    expect(g.links).toContainEqual({ source: SELF_ID, target: groupKey('OPS'), kind: 'member' });
  });

  it('can leave groups out', () => {
    const g = buildTopology(node, peers, { groups: false });
    expect(g.nodes.some((n) => n.kind === 'group')).toBe(false);
    expect(g.links.some((l) => l.kind === 'member')).toBe(false);
  });

  it('pins hubs and pulls each peer to its smallest group, or onto its path ring', () => {
    const a = layoutAnchors(buildTopology(node, peers));
    expect(a.get(SELF_ID)).toMatchObject({ x: 0, y: 0, fixed: true });
    const lab = a.get(groupKey('LAB'));
    expect(lab?.fixed).toBe(true);
    const p3 = a.get(peerKey(3));
    expect(p3?.fixed).toBe(false);
    expect(Math.hypot((p3?.x ?? 0) - (lab?.x ?? 0), (p3?.y ?? 0) - (lab?.y ?? 0))).toBeLessThan(50); // round its hub
    const ungrouped = a.get(peerKey(4));
    expect(ungrouped?.fixed).toBe(false);
    const noGroups = layoutAnchors(buildTopology(node, [peer(2, { path: 'direct' }), peer(3, { path: 'relay' })], { groups: false }));
    const r = (id: string) => Math.hypot(noGroups.get(id)?.x ?? 0, noGroups.get(id)?.y ?? 0);
    expect(r(peerKey(2))).toBeLessThan(r(peerKey(3)));
  });
});
