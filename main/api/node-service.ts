/**
 * The console contract implemented over a running PilotNode: what pilotctl (through the IPC
 * extension command), the Electron preload and the web console all call. Every handler validates
 * its arguments with the contract's schema first.
 */
import { PilotError, toPilotError } from '../../shared/errors';
import { backboneAddress, formatAddress, makeAddress } from '../../shared/address';
import {
  methodSchemas,
  type ConsoleEvents,
  type EventName,
  type FoundNodeView,
  type GroupView,
  type MethodArgs,
  type MethodName,
  type MethodResult,
  type NodeInfoView,
  type PeerDetail,
  type PeerView,
  type PingReply,
  type PingReport,
  type TrustState,
} from '../../shared/contract';
import type { PilotNode } from '../node/node';
import type { TunnelEvent } from '../node/tunnels';
import type { LogRing } from '../observe/logs';
import type { Tracer } from '../observe/tracer';
import { utf8 } from '../util/bytes';
import type { ServicesAdapter } from './services-adapter';

export type ConsoleListener = <E extends EventName>(event: E, data: ConsoleEvents[E]) => void;

export interface NodeService {
  call<M extends MethodName>(method: M, args: unknown): Promise<MethodResult<M>>;
  on(listener: ConsoleListener): () => void;
  close(): void;
}

export interface NodeServiceOptions {
  node: PilotNode;
  tracer: Tracer;
  logs: LogRing;
  services?: ServicesAdapter;
  /**
   * Probe known peers (members of our groups) with a control ping every this many ms, so a console
   * shows live paths and RTTs without anyone clicking. Off by default (plain daemons stay quiet).
   */
  probeIntervalMs?: number;
}

type Handlers = { [M in MethodName]: (args: MethodArgs<M>) => Promise<MethodResult<M>> };

function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function pingStats(replies: PingReply[]): PingReport['stats'] {
  const rtts = replies.flatMap((r) => (r.rttMs === undefined ? [] : [r.rttMs])).sort((a, b) => a - b);
  const stats: PingReport['stats'] = { sent: replies.length, received: rtts.length };
  if (rtts.length) {
    stats.minMs = rtts[0]!;
    stats.maxMs = rtts[rtts.length - 1]!;
    stats.medianMs = percentile(rtts, 50)!;
    stats.p99Ms = percentile(rtts, 99)!;
  }
  return stats;
}

export function createNodeService(o: NodeServiceOptions): NodeService {
  const { node, tracer, logs } = o;
  const listeners = new Set<ConsoleListener>();
  const emit = <E extends EventName>(event: E, data: ConsoleEvents[E]): void => {
    for (const l of listeners) l(event, data);
  };
  const groupNames = new Map<number, string>();
  let myGroups = new Set<number>();

  const services = (): ServicesAdapter => {
    if (!o.services) throw new PilotError('unavailable', 'built-in services are not running on this node');
    return o.services;
  };

  const trustOf = (nodeId: number): TrustState => o.services?.trustState(nodeId) ?? 'none';

  const peerView = (nodeId: number): PeerView => {
    const rec = node.peerRecord(nodeId);
    const t = node.tunnelInfo(nodeId);
    const v: PeerView = {
      nodeId,
      address: formatAddress(backboneAddress(nodeId)),
      tags: rec.tags,
      groups: rec.networks.filter((n) => n !== 0).map((n) => groupNames.get(n) ?? String(n)),
      path: t?.path ?? 'pending',
      rttHistory: rec.rtt.slice(-30),
      trust: trustOf(nodeId),
      encrypted: t?.encrypted ?? false,
      authenticated: t?.authenticated ?? false,
    };
    if (rec.hostname) v.hostname = rec.hostname;
    if (t?.endpoint) v.endpoint = t.endpoint;
    const last = rec.rtt[rec.rtt.length - 1];
    if (last !== undefined) v.rttMs = last;
    const seen = t?.lastRecvMs !== undefined ? node.clock.wallNow() - (node.clock.now() - t.lastRecvMs) : undefined;
    if (seen !== undefined) v.lastSeenMs = Math.round(seen);
    return v;
  };

  const refreshGroups = async (): Promise<GroupView[]> => {
    const [nets, me] = await Promise.all([node.registry.listNetworks(), node.registry.lookup(node.nodeId)]);
    myGroups = new Set(me.networks.filter((n) => n !== 0));
    return nets.networks
      .filter((n) => n.id !== 0)
      .map((n) => {
        groupNames.set(n.id, n.name);
        return { id: n.id, name: n.name, joinRule: n.join_rule, members: n.members, online: n.online, joined: myGroups.has(n.id) };
      });
  };

  /** Members of our groups are known peers even before any traffic: the fleet view lists them. */
  let knownRefreshedAt = -Infinity;
  const refreshKnownPeers = async (): Promise<void> => {
    if (node.clock.now() - knownRefreshedAt < 5000) return;
    knownRefreshedAt = node.clock.now();
    try {
      const groups = await refreshGroups();
      for (const g of groups.filter((x) => x.joined)) {
        const r = await node.registry.listNodes(g.id);
        for (const m of r.nodes) {
          if (m.node_id === node.nodeId) continue;
          const rec = node.peerRecord(m.node_id);
          if (m.hostname) rec.hostname = m.hostname;
          if (m.tags) rec.tags = m.tags;
          if (!rec.networks.includes(g.id)) rec.networks.push(g.id);
        }
      }
    } catch (e) {
      node.log.debug('could not refresh group members', { error: String(e) });
    }
  };

  const groupByName = async (name: string): Promise<GroupView> => {
    const g = (await refreshGroups()).find((x) => x.name === name);
    if (!g) throw new PilotError('not_found', `no group named "${name}"`, 'list groups with: pilotctl group list');
    return g;
  };

  const ping = async (args: MethodArgs<'peers.ping'>): Promise<PingReport> => {
    const count = args.count ?? 4;
    const timeoutMs = args.timeoutMs ?? 30_000;
    const deadline = node.clock.now() + timeoutMs;
    const root = tracer.start('ping');
    root.set('target', args.target);
    try {
      const resolved = await tracer.trace('resolve', async (s) => {
        const r = await node.resolveTarget(args.target);
        s.set('node', r.nodeId);
        return r;
      }, root);
      const report: PingReport = { target: args.target, address: formatAddress(resolved.address), nodeId: resolved.nodeId, replies: [], stats: { sent: 0, received: 0 } };
      await tracer.trace('tunnel', async (s) => {
        await node.ensureTunnel(resolved.nodeId);
        s.set('path', node.tunnels.pathOf(resolved.nodeId) ?? 'pending');
      }, root);
      for (let seq = 0; seq < count; seq++) {
        const left = deadline - node.clock.now();
        if (left <= 0) break;
        const span = root.child('echo');
        span.set('seq', seq);
        let reply: PingReply;
        try {
          const rtt = await node.controlPing(resolved.nodeId, Math.min(left, 5000));
          const path = node.tunnels.pathOf(resolved.nodeId) ?? 'pending';
          node.recordRtt(resolved.nodeId, rtt);
          reply = { seq, rttMs: rtt, path, bytes: 0 };
          span.set('rtt_ms', rtt);
          span.set('path', path);
          span.end();
        } catch (e) {
          reply = { seq, error: toPilotError(e).message };
          span.end('error');
        }
        report.replies.push(reply);
        emit('ping.reply', { target: args.target, nodeId: resolved.nodeId, reply });
        emit('peer.updated', peerView(resolved.nodeId));
        const wait = Math.min(args.intervalMs ?? 0, deadline - node.clock.now());
        if (seq < count - 1 && wait > 0) await new Promise<void>((r) => node.clock.setTimeout(r, wait));
      }
      report.stats = pingStats(report.replies);
      root.end(report.stats.received > 0 ? 'ok' : 'error');
      return report;
    } catch (e) {
      root.set('error', toPilotError(e).message);
      root.end('error');
      throw e;
    }
  };

  const handlers: Handlers = {
    'node.info': async () => {
      const peers = node.tunnels.listPeers();
      const tunnel = node.tunnelEndpoint;
      const info: NodeInfoView = {
        nodeId: node.nodeId,
        address: formatAddress(node.address),
        hostname: node.hostname,
        tags: node.tags,
        groups: [...myGroups].map((n) => groupNames.get(n) ?? String(n)),
        public: node.isPublic,
        uptimeSecs: Math.floor((node.clock.wallNow() - node.startedAt) / 1000),
        encrypt: node.tunnels.encrypted,
        cryptoBackend: node.backend.name,
        publicKey: node.identity.publicKeyBase64,
        fingerprint: node.identity.publicKeyBase64.slice(0, 16),
        tunnelEndpoint: tunnel ? `${tunnel.host}:${tunnel.port}` : '',
        registry: node.registryAddress,
        beacon: node.beaconAddress,
        registryConnected: node.registryConnected,
        peers: peers.length,
        connections: [...node.connectionTable.connections()].filter((c) => c.state === 'ESTABLISHED' || c.state === 'SYN_SENT' || c.state === 'SYN_RECV').length,
        ports: node.boundPorts().length,
        traffic: { ...node.tunnels.totals },
        drops: node.tunnels.drops() as Record<string, number>,
      };
      const pub = node.publicEndpoint;
      if (pub) info.publicEndpoint = `${pub.host}:${pub.port}`;
      return info;
    },
    'node.netcheck': async () => node.netcheck(),
    'node.setHostname': async ({ hostname }) => {
      const r = await node.registry.setHostname(hostname);
      node.hostname = r.hostname;
      return { hostname: r.hostname };
    },
    'node.setTags': async ({ tags }) => {
      const r = await node.registry.setTags(tags);
      node.tags = r.tags ?? [];
      return { tags: node.tags };
    },
    'node.setVisibility': async (a) => {
      const r = await node.registry.setVisibility(a.public);
      node.isPublic = r.visibility === 'public';
      return { public: node.isPublic };
    },
    'peers.list': async () => {
      await refreshKnownPeers();
      const ids = new Set<number>([...node.peers.keys(), ...node.tunnels.listPeers().map((p) => p.nodeId)]);
      ids.delete(node.nodeId);
      return [...ids].sort((a, b) => a - b).map(peerView);
    },
    'peers.inspect': async ({ nodeId }) => {
      const base = peerView(nodeId);
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
    'peers.ping': ping,
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
    'groups.list': async () => refreshGroups(),
    'groups.create': async ({ name, joinRule, token }) => {
      const opts: { joinRule?: 'open' | 'token' | 'invite'; token?: string } = {};
      if (joinRule) opts.joinRule = joinRule;
      if (token) opts.token = token;
      await node.registry.createNetwork(name, opts);
      return groupByName(name);
    },
    'groups.join': async ({ name, token, inviter }) => {
      const opts: { token?: string; inviterId?: number } = {};
      if (token) opts.token = token;
      if (inviter) opts.inviterId = inviter;
      await node.registry.joinNetwork(name, opts);
      return groupByName(name);
    },
    'groups.leave': async ({ name }) => {
      await node.registry.leaveNetwork(name);
      await refreshGroups();
      return { name };
    },
    'groups.members': async ({ name }) => {
      const r = await node.registry.listNodes(name);
      return r.nodes.map((m) => {
        const rec = node.peerRecord(m.node_id);
        if (m.hostname) rec.hostname = m.hostname;
        if (m.tags) rec.tags = m.tags;
        const v: MethodResult<'groups.members'>[number] = { nodeId: m.node_id, address: formatAddress(backboneAddress(m.node_id)), tags: m.tags ?? [], online: m.online };
        if (m.hostname) v.hostname = m.hostname;
        if (m.last_seen) v.lastSeen = m.last_seen;
        return v;
      });
    },
    'groups.broadcast': async ({ name, message, port }) => {
      const r = await node.registry.listNodes(name);
      const members = r.nodes.filter((m) => m.node_id !== node.nodeId);
      const data = utf8(message);
      const results = await Promise.allSettled(members.map((m) => node.sendDatagram(makeAddress(r.network_id, m.node_id), port ?? 1000, data)));
      return { group: name, members: members.length, sent: results.filter((x) => x.status === 'fulfilled').length };
    },
    'trust.pending': async () => services().trustPending(),
    'trust.list': async () => services().trustList(),
    'trust.request': async ({ target, justification }) => {
      const r = await node.resolveTarget(target);
      return services().trustRequest(r.nodeId, justification ?? '');
    },
    'trust.approve': async ({ nodeId }) => services().trustApprove(nodeId),
    'trust.reject': async ({ nodeId, reason }) => services().trustReject(nodeId, reason ?? ''),
    'trust.revoke': async ({ nodeId }) => services().trustRevoke(nodeId),
    'tasks.submit': async ({ target, tag, description }) => services().taskSubmit({ description, ...(target ? { target } : {}), ...(tag ? { tag } : {}) }),
    'tasks.list': async ({ category }) => services().taskList(category),
    'tasks.queue': async () => services().taskQueue(),
    'tasks.accept': async ({ taskId }) => services().taskAccept(taskId),
    'tasks.decline': async ({ taskId, justification }) => services().taskDecline(taskId, justification),
    'tasks.execute': async () => services().taskExecute(),
    'tasks.sendResults': async ({ taskId, text, filename, dataBase64 }) => {
      if (text !== undefined) return services().taskSendResults(taskId, { text });
      if (filename !== undefined && dataBase64 !== undefined) return services().taskSendResults(taskId, { filename, data: Buffer.from(dataBase64, 'base64') });
      throw new PilotError('invalid_argument', 'send-results needs --results TEXT or --file PATH');
    },
    'traces.list': async ({ limit }) => tracer.list(limit ?? 1000),
    'traces.get': async ({ traceId }) => tracer.list().filter((x) => x.traceId === traceId),
    'logs.tail': async (a) => {
      const q: Parameters<LogRing['tail']>[0] = { limit: a.limit ?? 500 };
      if (a.level) q.level = a.level;
      if (a.peer !== undefined) q.peer = a.peer;
      return logs.tail(q);
    },
  };

  // Node → console events.
  const offs: (() => void)[] = [];

  if (o.probeIntervalMs) {
    let cursor = 0;
    let running = false;
    const probe = async (): Promise<void> => {
      if (running) return;
      running = true;
      try {
        await refreshKnownPeers();
        const ids = [...node.peers.keys()].filter((id) => id !== node.nodeId).sort((a, b) => a - b);
        // At most 32 peers per round, round-robin, 8 at a time: bounded load at any fleet size.
        const batch = ids.length <= 32 ? ids : Array.from({ length: 32 }, (_, i) => ids[(cursor + i) % ids.length]!);
        cursor = ids.length ? (cursor + batch.length) % ids.length : 0;
        for (let i = 0; i < batch.length; i += 8) {
          await Promise.all(
            batch.slice(i, i + 8).map(async (id) => {
              try {
                const rtt = await node.controlPing(id, 2000);
                node.recordRtt(id, rtt);
                emit('peer.updated', peerView(id));
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
    const timer = setInterval(() => void probe(), o.probeIntervalMs);
    timer.unref();
    void probe();
    offs.push(() => clearInterval(timer));
  }
  const onTunnel = (ev: TunnelEvent): void => {
    if (ev.type === 'path_changed') {
      const e: ConsoleEvents['peer.pathChanged'] = { nodeId: ev.nodeId, from: ev.from, to: ev.to };
      if (ev.endpoint) e.endpoint = ev.endpoint;
      emit('peer.pathChanged', e);
      emit('peer.updated', peerView(ev.nodeId));
    } else if (ev.type === 'peer_added' || ev.type === 'key_exchanged') {
      emit('peer.updated', peerView(ev.nodeId));
    }
  };
  node.on('tunnel', onTunnel);
  offs.push(() => node.off('tunnel', onTunnel));
  const onRegistry = (e: { event: string; name?: string; node_id?: number }): void => {
    if (e.name) emit('groups.changed', { name: e.name, event: e.event, nodeId: e.node_id ?? 0 });
  };
  node.on('registry', onRegistry as never);
  offs.push(() => node.off('registry', onRegistry as never));
  offs.push(tracer.onSpan((s) => emit('span.ended', s)));
  offs.push(logs.onLine((l) => emit('log', l)));
  if (o.services) offs.push(o.services.onTrust((ev) => (ev.type === 'request' ? emit('trust.requested', ev.request) : emit('trust.changed', { nodeId: ev.nodeId, state: ev.state }))));

  return {
    async call<M extends MethodName>(method: M, args: unknown): Promise<MethodResult<M>> {
      const schema = methodSchemas[method];
      if (!schema) throw new PilotError('invalid_argument', `unknown method ${String(method)}`);
      const parsed = schema.safeParse(args ?? {});
      if (!parsed.success) {
        throw new PilotError('invalid_argument', `${method}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'args'}: ${i.message}`).join('; ')}`);
      }
      const h = handlers[method] as (a: unknown) => Promise<MethodResult<M>>;
      return h(parsed.data);
    },
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      for (const off of offs) off();
      listeners.clear();
    },
  };
}
