import type { PathKind, PeerView, TrustState } from '../../../../shared/contract';
import type { RootState } from '../root';

export type PeerSortKey = 'name' | 'address' | 'path' | 'rtt' | 'lastSeen' | 'trust';
export interface PeerSort {
  key: PeerSortKey;
  dir: 'asc' | 'desc';
}
export interface PeerFilter {
  /** Matches hostname, address, tags and groups (case-insensitive, every word must match). */
  text: string;
  path: PathKind | 'all';
  trust: TrustState | 'all';
  group: string | 'all';
}

export const defaultPeerFilter: PeerFilter = { text: '', path: 'all', trust: 'all', group: 'all' };
export const defaultPeerSort: PeerSort = { key: 'rtt', dir: 'asc' };

export const selectPeersById = (s: RootState) => s.peers.byId;
export const selectPeer = (nodeId: number) => (s: RootState) => s.peers.byId[nodeId];
export const selectPeerDetail = (nodeId: number) => (s: RootState) => s.peers.details[nodeId];

const PATH_ORDER: Record<PathKind, number> = { direct: 0, punched: 1, relay: 2, pending: 3 };
const TRUST_ORDER: Record<TrustState, number> = { trusted: 0, pending_in: 1, pending_out: 2, none: 3 };

function matches(p: PeerView, words: string[]): boolean {
  if (words.length === 0) return true;
  const hay = [p.hostname ?? '', p.address, String(p.nodeId), ...p.tags, ...p.groups].join(' ').toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** Missing values sort last in both directions. */
function cmpOptional(a: number | undefined, b: number | undefined, dir: 1 | -1): number {
  if (a === undefined && b === undefined) return 0;
  if (a === undefined) return 1;
  if (b === undefined) return -1;
  return (a - b) * dir;
}

export function filterPeers(peers: readonly PeerView[], f: PeerFilter): PeerView[] {
  const words = f.text.toLowerCase().split(/\s+/).filter(Boolean);
  return peers.filter(
    (p) =>
      (f.path === 'all' || p.path === f.path) &&
      (f.trust === 'all' || p.trust === f.trust) &&
      (f.group === 'all' || p.groups.includes(f.group)) &&
      matches(p, words),
  );
}

export function sortPeers(peers: readonly PeerView[], sort: PeerSort): PeerView[] {
  const dir = sort.dir === 'asc' ? 1 : -1;
  const byKey = (a: PeerView, b: PeerView): number => {
    switch (sort.key) {
      case 'name':
        return (a.hostname ?? '\uffff').localeCompare(b.hostname ?? '\uffff') * dir;
      case 'address':
        return (a.nodeId - b.nodeId) * dir;
      case 'path':
        return (PATH_ORDER[a.path] - PATH_ORDER[b.path]) * dir;
      case 'rtt':
        return cmpOptional(a.rttMs, b.rttMs, dir);
      case 'lastSeen':
        // lastSeenMs is a wall-clock time; "ascending" = most recently seen first, like a status page.
        return cmpOptional(a.lastSeenMs, b.lastSeenMs, dir === 1 ? -1 : 1);
      case 'trust':
        return (TRUST_ORDER[a.trust] - TRUST_ORDER[b.trust]) * dir;
    }
  };
  return [...peers].sort((a, b) => byKey(a, b) || a.nodeId - b.nodeId);
}

export function visiblePeers(byId: Record<number, PeerView>, f: PeerFilter, sort: PeerSort): PeerView[] {
  return sortPeers(filterPeers(Object.values(byId), f), sort);
}

export interface FleetSummary {
  total: number;
  byPath: Record<PathKind, number>;
  medianRttMs?: number;
  trusted: number;
  groups: string[];
}

export function summarizeFleet(byId: Record<number, PeerView>): FleetSummary {
  const byPath: Record<PathKind, number> = { direct: 0, punched: 0, relay: 0, pending: 0 };
  const rtts: number[] = [];
  const groups = new Set<string>();
  let trusted = 0;
  let total = 0;
  for (const p of Object.values(byId)) {
    total++;
    byPath[p.path]++;
    if (p.rttMs !== undefined) rtts.push(p.rttMs);
    if (p.trust === 'trusted') trusted++;
    for (const g of p.groups) groups.add(g);
  }
  rtts.sort((a, b) => a - b);
  const summary: FleetSummary = { total, byPath, trusted, groups: [...groups].sort() };
  if (rtts.length) summary.medianRttMs = rtts[Math.floor((rtts.length - 1) / 2)];
  return summary;
}

/** Peers with a tunnel: every path but `pending` (the node has no tunnel to it yet). */
export function countTunnels(byId: Record<number, PeerView>): number {
  let n = 0;
  for (const p of Object.values(byId)) if (p.path !== 'pending') n++;
  return n;
}

/**
 * The header's "N tunnels", live from the peer table (kept current by peer events). Not
 * `node.info`'s `peers`: that snapshot is loaded when the link opens, usually before any tunnel is up.
 */
export const selectTunnelCount = (s: RootState): number => countTunnels(s.peers.byId);
