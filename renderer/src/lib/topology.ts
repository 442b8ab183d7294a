/**
 * The topology picture's graph, pure: this node in the middle, the backbone (registry + beacon,
 * which relays) beside it, every peer linked by the path its tunnel takes (direct, punched, or
 * through the relay), and groups as hubs their members hang on.
 */
import type { NodeInfoView, PathKind, PeerView } from '../../../shared/contract';

export type TopoKind = 'self' | 'relay' | 'peer' | 'group';

export interface TopoNode {
  id: string;
  kind: TopoKind;
  label: string;
  nodeId?: number;
  path?: PathKind;
  rttMs?: number;
  /** Group hubs: member count in the fleet as this node sees it. */
  size?: number;
}

export interface TopoLink {
  source: string;
  target: string;
  kind: PathKind | 'member' | 'backbone';
}

export interface TopoGraph {
  nodes: TopoNode[];
  links: TopoLink[];
}

export const SELF_ID = 'self';
export const RELAY_ID = 'relay';
export const peerKey = (nodeId: number): string => `p:${nodeId}`;
export const groupKey = (name: string): string => `g:${name}`;

/** A key that changes exactly when buildTopology's output would (ignoring RTTs). */
export function topologyShape(node: NodeInfoView | undefined, peers: readonly PeerView[]): string {
  let key = `${node?.hostname ?? ''}|${node?.address ?? ''}|${node?.beacon ?? ''}|${(node?.groups ?? []).join(',')}`;
  for (const p of peers) key += `|${p.nodeId}:${p.path}:${p.hostname ?? ''}:${p.groups.join(',')}`;
  return key;
}

/** An edge between two members as the fleet's path matrix gives it (shared/contract-fleet.ts). */
export interface TopoPair {
  a: number;
  b: number;
  path: string;
}

const TUNNEL_PATHS: ReadonlySet<string> = new Set(['direct', 'punched', 'relay', 'pending']);

export function buildTopology(node: NodeInfoView | undefined, peers: readonly PeerView[], opts: { groups?: boolean; pairs?: readonly TopoPair[] } = {}): TopoGraph {
  const nodes: TopoNode[] = [{ id: SELF_ID, kind: 'self', label: node?.hostname || node?.address || 'this node' }];
  const links: TopoLink[] = [];
  const needsRelay = peers.some((p) => p.path === 'relay');
  if (node || needsRelay) {
    nodes.push({ id: RELAY_ID, kind: 'relay', label: node ? `backbone ${node.beacon}` : 'backbone' });
    links.push({ source: SELF_ID, target: RELAY_ID, kind: 'backbone' });
  }
  const groupSize = new Map<string, number>();
  for (const p of peers) {
    const n: TopoNode = { id: peerKey(p.nodeId), kind: 'peer', label: p.hostname || p.address, nodeId: p.nodeId, path: p.path };
    if (p.rttMs !== undefined) n.rttMs = p.rttMs;
    nodes.push(n);
    if (p.path === 'relay') links.push({ source: RELAY_ID, target: n.id, kind: 'relay' });
    else links.push({ source: SELF_ID, target: n.id, kind: p.path });
    if (opts.groups !== false) for (const g of p.groups) groupSize.set(g, (groupSize.get(g) ?? 0) + 1);
  }
  // Member-to-member tunnels from the fleet's matrix (pairs with this node are drawn above).
  if (opts.pairs?.length) {
    const shown = new Set(peers.map((p) => p.nodeId));
    for (const p of opts.pairs) {
      if (!shown.has(p.a) || !shown.has(p.b) || !TUNNEL_PATHS.has(p.path)) continue;
      links.push({ source: peerKey(p.a), target: peerKey(p.b), kind: p.path as PathKind });
    }
  }
  if (opts.groups !== false) {
    for (const [name, size] of [...groupSize].sort((a, b) => a[0].localeCompare(b[0]))) {
      nodes.push({ id: groupKey(name), kind: 'group', label: name, size });
    }
    for (const p of peers) for (const g of p.groups) links.push({ source: peerKey(p.nodeId), target: groupKey(g), kind: 'member' });
    for (const g of node?.groups ?? []) if (groupSize.has(g)) links.push({ source: SELF_ID, target: groupKey(g), kind: 'member' });
  }
  return { nodes, links };
}

/** Where the layout pulls each node: fixed hubs, peers towards a hub or onto a ring. */
export interface Anchor {
  x: number;
  y: number;
  /** Hubs are pinned at their anchor. */
  fixed: boolean;
  /** Pull strength towards the anchor. */
  strength: number;
}

const PATH_RING: Record<PathKind, number> = { direct: 0.5, punched: 0.75, relay: 1, pending: 1.2 };

/**
 * Anchors for a readable picture: this node in the middle with the backbone beside it; group hubs
 * evenly on a ring, each peer pulled to its smallest group (so clusters stay balanced); peers in
 * no group (or all peers, with groups hidden) on rings by path — direct innermost, relay outermost.
 */
export function layoutAnchors(graph: TopoGraph): Map<string, Anchor> {
  const peers = graph.nodes.filter((n) => n.kind === 'peer');
  const groups = graph.nodes.filter((n) => n.kind === 'group');
  const ring = 110 + 4.5 * Math.sqrt(Math.max(1, peers.length));
  const anchors = new Map<string, Anchor>();
  anchors.set(SELF_ID, { x: 0, y: 0, fixed: true, strength: 1 });
  anchors.set(RELAY_ID, { x: -Math.max(50, ring * 0.22), y: Math.max(30, ring * 0.12), fixed: true, strength: 1 });
  groups.forEach((g, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / groups.length;
    anchors.set(g.id, { x: Math.cos(a) * ring, y: Math.sin(a) * ring, fixed: true, strength: 1 });
  });
  const size = new Map(groups.map((g) => [g.id, g.size ?? 0]));
  const memberOf = new Map<string, string[]>();
  for (const l of graph.links) {
    if (l.kind !== 'member' || !l.source.startsWith('p:')) continue;
    const list = memberOf.get(l.source);
    if (list) list.push(l.target);
    else memberOf.set(l.source, [l.target]);
  }
  for (const p of peers) {
    const hubs = memberOf.get(p.id);
    if (hubs?.length) {
      const hub = [...hubs].sort((a, b) => (size.get(a) ?? 0) - (size.get(b) ?? 0) || a.localeCompare(b))[0] as string;
      const h = anchors.get(hub);
      if (h) {
        // Small clusters sit on a circle round their hub (labels stay readable); big ones fill a disc.
        const small = (size.get(hub) ?? 0) <= 12;
        const a = ((p.nodeId ?? 0) * 2.399963) % (2 * Math.PI);
        const r = small ? 42 : 0;
        anchors.set(p.id, { x: h.x + Math.cos(a) * r, y: h.y + Math.sin(a) * r, fixed: false, strength: small ? 0.2 : 0.09 });
        continue;
      }
    }
    // Spread over the ring for this path by node id, so a peer keeps its place across updates.
    const r = ring * (groups.length ? 0.42 : 1) * PATH_RING[p.path ?? 'pending'];
    const a = ((p.nodeId ?? 0) * 2.399963) % (2 * Math.PI);
    anchors.set(p.id, { x: Math.cos(a) * r, y: Math.sin(a) * r, fixed: false, strength: 0.05 });
  }
  return anchors;
}
