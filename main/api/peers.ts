/**
 * The peers domain: the peer table as the console sees it (known members of our groups included),
 * one peer in detail, name resolution, discovery (find.nodes) and the background probe that keeps
 * a console's paths and RTTs live.
 */
import { formatAddress } from '../../shared/address';
import type { FoundNodeView, PeerDetail } from '../../shared/contract';
import type { ApiContext, DomainHandlers } from './context';

export function peerHandlers(ctx: ApiContext): Omit<DomainHandlers<'peers'>, 'peers.ping'> & DomainHandlers<'find'> {
  const { node, logs } = ctx;
  return {
    'peers.list': async () => {
      await ctx.groups.refreshKnownPeers();
      const ids = new Set<number>([...node.peers.keys(), ...node.tunnels.listPeers().map((p) => p.nodeId)]);
      ids.delete(node.nodeId);
      return [...ids].sort((a, b) => a - b).map(ctx.peerView);
    },
    'peers.inspect': async ({ nodeId }) => {
      const base = ctx.peerView(nodeId);
      const t = node.tunnelInfo(nodeId);
      const rec = node.peerRecord(nodeId);
      const conns = [...node.connectionTable.connections()].filter((c) => c.remoteAddr.node === nodeId);
      const detail: PeerDetail = {
        ...base,
        pathChanges: t?.pathChanges ?? 0,
        cryptoBackend: node.backend.name,
        counters: {
          bytesIn: t?.counters.bytesIn ?? 0,
          bytesOut: t?.counters.bytesOut ?? 0,
          framesIn: t?.counters.framesIn ?? 0,
          framesOut: t?.counters.framesOut ?? 0,
          keyExchangesSent: t?.counters.keyExchangesSent ?? 0,
          keyExchangesReceived: t?.counters.keyExchangesReceived ?? 0,
          relayedIn: t?.counters.relayedIn ?? 0,
          relayedOut: t?.counters.relayedOut ?? 0,
          retransmits: conns.reduce((n, c) => n + c.stats().retransmits, 0),
          drops: (t?.counters.drops ?? {}) as Record<string, number>,
        },
        connections: conns.map((c) => {
          const s = c.stats();
          return {
            id: c.id,
            localPort: c.localPort,
            remoteAddr: formatAddress(c.remoteAddr),
            remotePort: c.remotePort,
            state: s.state,
            bytesSent: s.bytesSent,
            bytesRecv: s.bytesRecv,
            retransmits: s.retransmits,
            srttMs: s.srttMs,
            cwnd: s.cwnd,
            inFlight: s.inFlight,
          };
        }),
        logs: logs.tail({ peer: nodeId, limit: 50 }),
      };
      if (rec.publicKey) {
        detail.publicKey = rec.publicKey;
        detail.fingerprint = rec.publicKey.slice(0, 16);
      } else if (t?.peerKeyFingerprint) detail.fingerprint = t.peerKeyFingerprint;
      return detail;
    },
    'peers.resolve': async ({ target }) => {
      const r = await node.resolveTarget(target);
      return r.hostname ? { nodeId: r.nodeId, address: formatAddress(r.address), hostname: r.hostname } : { nodeId: r.nodeId, address: formatAddress(r.address) };
    },
    'find.nodes': async ({ tags, group, hostnamePrefix }) => {
      const q: Parameters<typeof node.registry.findNodes>[0] = {};
      if (tags?.length) q.tags = tags;
      if (group) q.network = group;
      if (hostnamePrefix) q.hostnamePrefix = hostnamePrefix;
      const r = await node.registry.findNodes(q);
      return r.nodes.map((n): FoundNodeView => {
        const rec = node.peerRecord(n.node_id);
        if (n.hostname) rec.hostname = n.hostname;
        rec.tags = n.tags;
        rec.publicKey = n.public_key;
        rec.networks = n.networks;
        const v: FoundNodeView = { nodeId: n.node_id, address: n.address, tags: n.tags, publicKey: n.public_key, online: n.online, public: n.public, networks: n.networks, lastSeen: n.last_seen };
        if (n.hostname) v.hostname = n.hostname;
        return v;
      });
    },
  };
}

/**
 * Probes known peers (members of our groups) with a control ping every `intervalMs`: at most 32
 * peers per round, round-robin, 8 at a time, so the load is bounded at any fleet size. Returns the
 * function that stops it.
 */
export function startPeerProbe(ctx: ApiContext, intervalMs: number): () => void {
  const { node } = ctx;
  let cursor = 0;
  let running = false;
  const probe = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      await ctx.groups.refreshKnownPeers();
      const ids = [...node.peers.keys()].filter((id) => id !== node.nodeId).sort((a, b) => a - b);
      const batch = ids.length <= 32 ? ids : Array.from({ length: 32 }, (_, i) => ids[(cursor + i) % ids.length]!);
      cursor = ids.length ? (cursor + batch.length) % ids.length : 0;
      for (let i = 0; i < batch.length; i += 8) {
        await Promise.all(
          batch.slice(i, i + 8).map(async (id) => {
            try {
              const rtt = await node.controlPing(id, 2000);
              node.recordRtt(id, rtt);
              ctx.events.emit('peer.updated', ctx.peerView(id));
            } catch {
              // private peers without trust, or gone: they keep their last state
            }
          }),
        );
      }
    } finally {
      running = false;
    }
  };
  const tick = (): void => {
    probe().catch((e: unknown) => node.log.debug('peer probe failed', { error: String(e) }));
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  return () => clearInterval(timer);
}
