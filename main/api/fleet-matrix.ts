/**
 * The path matrix, pure: from the peer tables the fleet's members answered (fleet query, port 1011)
 * to every pair's path, the census (share of pairs direct / punched / relay) and, for a large fleet,
 * the aggregate by group (one cell per group pair instead of one per node pair).
 */
import type { FleetCensusView, FleetCounts, FleetGroupCellView, FleetPairView, FleetPath, FleetSideView } from '../../shared/contract-fleet';
import type { FleetPeer, FleetTable } from '../node/services/fleet-query';

/** What the console learnt of one member in a sweep: its table, or why there is none. */
export interface MemberSweep {
  nodeId: number;
  table?: FleetTable;
  error?: string;
}

export const emptyCounts = (): FleetCounts => ({ local: 0, direct: 0, punched: 0, relay: 0, pending: 0, none: 0, unknown: 0 });

const side = (p: FleetPeer): FleetSideView => {
  const s: FleetSideView = { path: p.path, pathChanges: p.pathChanges };
  if (p.rttMs !== undefined) s.rttMs = p.rttMs;
  if (p.pathForMs !== undefined) s.pathForMs = p.pathForMs;
  if (p.endpoint) s.endpoint = p.endpoint;
  return s;
};

/**
 * The pair's path from its two ends' views: agreeing ends give theirs; one end alone gives its own;
 * a settled path wins over `pending` (the other end is still establishing); two settled paths that
 * differ (one end already upgraded) give the better one, local > direct > punched > relay. No view: `none`
 * when an end answered (its table has no tunnel to the other, and a tunnel has two ends), else `unknown`.
 */
export function pairPath(ab: FleetSideView | undefined, ba: FleetSideView | undefined, anyAnswered: boolean): FleetPath {
  if (!ab && !ba) return anyAnswered ? 'none' : 'unknown';
  if (!ab || !ba) return (ab ?? ba)!.path;
  if (ab.path === ba.path) return ab.path;
  if (ab.path === 'pending') return ba.path;
  if (ba.path === 'pending') return ab.path;
  const rank = { local: 0, direct: 1, punched: 2, relay: 3, pending: 4 } as const;
  return rank[ab.path] <= rank[ba.path] ? ab.path : ba.path;
}

/** Every pair among `ids` (each once, a < b), from the members' tables. `now`: wall-clock ms of the sweep. */
export function buildPairs(ids: number[], sweeps: ReadonlyMap<number, MemberSweep>, now: number): FleetPairView[] {
  const sorted = [...new Set(ids)].sort((x, y) => x - y);
  const index = new Map<number, Map<number, FleetPeer>>();
  for (const [id, s] of sweeps) if (s.table) index.set(id, new Map(s.table.peers.map((p) => [p.nodeId, p])));
  const pairs: FleetPairView[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    const ta = index.get(a);
    for (let j = i + 1; j < sorted.length; j++) {
      const b = sorted[j]!;
      const tb = index.get(b);
      const pab = ta?.get(b);
      const pba = tb?.get(a);
      const ab = pab ? side(pab) : undefined;
      const ba = pba ? side(pba) : undefined;
      const path = pairPath(ab, ba, !!ta || !!tb);
      const pair: FleetPairView = { a, b, path, changes: 0, flaps: 0 };
      if (ab) pair.ab = ab;
      if (ba) pair.ba = ba;
      const rtt = ab?.rttMs ?? ba?.rttMs;
      if (rtt !== undefined) pair.rttMs = rtt;
      const fors = [ab, ba].filter((s) => s?.path === path && s.pathForMs !== undefined).map((s) => s!.pathForMs!);
      if (fors.length) pair.sinceMs = Math.round(now - Math.min(...fors));
      pairs.push(pair);
    }
  }
  return pairs;
}

export function countPaths(pairs: Iterable<{ path: FleetPath }>): FleetCounts {
  const c = emptyCounts();
  for (const p of pairs) c[p.path]++;
  return c;
}

/** The census: counts per path and the share of each tunnel path among the pairs that have one. */
export function census(counts: FleetCounts): FleetCensusView {
  const pairs = Object.values(counts).reduce((n, x) => n + x, 0);
  const tunnels = counts.local + counts.direct + counts.punched + counts.relay + counts.pending;
  const share = (n: number): number => (tunnels ? n / tunnels : 0);
  return { pairs, counts, shares: { local: share(counts.local), direct: share(counts.direct), punched: share(counts.punched), relay: share(counts.relay), pending: share(counts.pending) } };
}

/** Pairs aggregated by the group of each end (`groupOf`: a member's first group, or "(no group)"). */
export function aggregateByGroup(pairs: Iterable<FleetPairView>, groupOf: (nodeId: number) => string): FleetGroupCellView[] {
  const cells = new Map<string, FleetGroupCellView>();
  for (const p of pairs) {
    let ga = groupOf(p.a);
    let gb = groupOf(p.b);
    if (gb < ga) [ga, gb] = [gb, ga];
    const key = `${ga}\u0000${gb}`;
    let c = cells.get(key);
    if (!c) {
      c = { groupA: ga, groupB: gb, pairs: 0, counts: emptyCounts() };
      cells.set(key, c);
    }
    c.pairs++;
    c.counts[p.path]++;
  }
  return [...cells.values()].sort((x, y) => (x.groupA === y.groupA ? x.groupB.localeCompare(y.groupB) : x.groupA.localeCompare(y.groupA)));
}
