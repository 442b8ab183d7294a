/**
 * DEVELOPMENT FIXTURE — NOT A NODE. Serves made-up, seeded fleet data through the ConsoleService
 * interface so the console's look can be worked on without a running fleet (scripts/dev-console.ts,
 * e2e/console-dev.spec.ts screenshots). No test that claims a feature works may use it: features
 * are verified against real daemons.
 */
import { formatAddress, makeAddress } from '../shared/address';
import { mulberry32 } from '../main/util/random';
import type {
  ConsoleEvents,
  ConnectionView,
  GroupMemberView,
  GroupView,
  LogLevelName,
  LogLine,
  MethodArgs,
  MethodName,
  MethodResult,
  NodeInfoView,
  PathKind,
  PeerDetail,
  PeerView,
  PingReply,
  SpanView,
  TrustRequestView,
  TrustState,
  TrustedPeerView,
} from '../shared/contract';
import { PilotError } from '../shared/errors';
import { mergeTrace } from '../main/node/services/trace-collect';
import { Emitter } from '../shared/emitter';
import type { ConsoleEventListener, ConsoleService } from '../main/api/service';
import { fleetFixtureHandlers } from './dev-fixture-fleet';

export interface DevFixtureOptions {
  peers?: number;
  seed?: number;
  /** Emit a stream of made-up events (RTT updates, logs, spans, path and group changes). */
  live?: boolean;
  now?: () => number;
}

export interface DevFixtureService extends ConsoleService {
  close(): void;
}


const ROLES = ['trader', 'research', 'indexer', 'gpu', 'crawler', 'planner', 'eval', 'vector', 'ingest', 'notary'];
const TAGS = ['gpu', 'llm', 'scraper', 'db', 'python', 'rust', 'eu-west', 'us-east', 'ap-south', 'batch'];
const GROUPS: { name: string; rule: string }[] = [
  { name: 'BACKBONE', rule: 'open' },
  { name: 'RESEARCH', rule: 'token' },
  { name: 'TRADING', rule: 'invite' },
  { name: 'OPS', rule: 'open' },
  { name: 'LABS', rule: 'open' },
];
const DROP_REASONS = ['bad_tag', 'replay', 'no_tunnel', 'unknown_port', 'rate_limited'];

interface FixturePeer extends PeerView {
  counters: PeerDetail['counters'];
  pathChanges: number;
  publicKey: string;
  fingerprint: string;
}

function hex(rand: () => number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(rand() * 256).toString(16).padStart(2, '0');
  return s;
}

export function createDevFixtureService(opts: DevFixtureOptions = {}): DevFixtureService {
  const rand = mulberry32(opts.seed ?? 7);
  const now = opts.now ?? Date.now;
  const hub = new Emitter<ConsoleEvents>();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const timers: ReturnType<typeof setInterval>[] = [];
  const started = now();

  const self: NodeInfoView = {
    nodeId: 4242,
    address: formatAddress(makeAddress(0, 4242)),
    hostname: 'ops-console',
    tags: ['console', 'eu-west'],
    groups: ['BACKBONE', 'OPS'],
    public: false,
    uptimeSecs: 15_283,
    encrypt: true,
    cryptoBackend: 'node:crypto (AES-256-GCM, X25519, Ed25519)',
    publicKey: hex(rand, 32),
    fingerprint: hex(rand, 16),
    tunnelEndpoint: '192.0.2.10:37736',
    publicEndpoint: '203.0.113.7:41871',
    registry: '198.51.100.1:9000',
    beacon: '198.51.100.1:9001',
    registryConnected: true,
    peers: 0,
    connections: 3,
    ports: 5,
    traffic: { bytesSent: 81_234_112, bytesRecv: 190_441_009, pktsSent: 412_330, pktsRecv: 530_112 },
    drops: { bad_tag: 3, replay: 1, no_tunnel: 12 },
  };

  const peers = new Map<number, FixturePeer>();
  const count = opts.peers ?? 1000;
  for (let i = 0; i < count; i++) {
    const nodeId = 10 + i * 3 + Math.floor(rand() * 3);
    const r = rand();
    const path: PathKind = r < 0.6 ? 'direct' : r < 0.85 ? 'punched' : r < 0.97 ? 'relay' : 'pending';
    const base = path === 'direct' ? 0.15 + rand() * 6 : path === 'punched' ? 4 + rand() * 35 : path === 'relay' ? 30 + rand() * 90 : 0;
    const history = path === 'pending' ? [] : Array.from({ length: 30 }, () => +(base * (0.8 + rand() * 0.5)).toFixed(3));
    const groups = GROUPS.filter((g, gi) => rand() < (gi === 0 ? 0.55 : 0.22)).map((g) => g.name);
    const trustR = rand();
    const trust: TrustState = trustR < 0.15 ? 'trusted' : trustR < 0.17 ? 'pending_out' : 'none';
    const p: FixturePeer = {
      nodeId,
      address: formatAddress(makeAddress(0, nodeId)),
      hostname: `${pick(ROLES)}-${String(i).padStart(3, '0')}`,
      tags: TAGS.filter(() => rand() < 0.18).slice(0, 3),
      groups,
      path,
      endpoint: path === 'relay' ? undefined : `203.0.113.${1 + Math.floor(rand() * 250)}:${20000 + Math.floor(rand() * 40000)}`,
      rttHistory: history,
      lastSeenMs: path === 'pending' ? undefined : now() - Math.floor(rand() ** 3 * 600_000),
      trust,
      encrypted: path !== 'pending',
      authenticated: path !== 'pending' && rand() < 0.9,
      counters: {
        bytesIn: Math.floor(rand() * 5e8),
        bytesOut: Math.floor(rand() * 2e8),
        framesIn: Math.floor(rand() * 5e5),
        framesOut: Math.floor(rand() * 3e5),
        keyExchangesSent: 1 + Math.floor(rand() * 3),
        keyExchangesReceived: 1 + Math.floor(rand() * 3),
        relayedIn: path === 'relay' ? Math.floor(rand() * 1e4) : 0,
        relayedOut: path === 'relay' ? Math.floor(rand() * 1e4) : 0,
        retransmits: Math.floor(rand() * 300),
        drops: Object.fromEntries(DROP_REASONS.filter(() => rand() < 0.3).map((d) => [d, Math.floor(rand() * 40)])),
      },
      pathChanges: Math.floor(rand() * 4),
      publicKey: hex(rand, 32),
      fingerprint: hex(rand, 16),
    };
    if (p.endpoint === undefined) delete p.endpoint;
    if (p.lastSeenMs === undefined) delete p.lastSeenMs;
    const last = history[history.length - 1];
    if (last !== undefined) p.rttMs = last;
    peers.set(nodeId, p);
  }
  self.peers = peers.size;
  const peerList = [...peers.values()];

  const pending = new Map<number, TrustRequestView>();
  for (const p of peerList.slice(3, 5)) {
    p.trust = 'pending_in';
    pending.set(p.nodeId, { nodeId: p.nodeId, justification: `${p.hostname} wants to submit tasks to this node`, receivedAt: now() - 95_000, publicKey: p.publicKey });
  }
  const trusted = new Map<number, TrustedPeerView>();
  for (const p of peerList) if (p.trust === 'trusted') trusted.set(p.nodeId, { nodeId: p.nodeId, publicKey: p.publicKey, approvedAt: now() - 86_400_000, mutual: true, network: 0 });

  const groups = new Map<string, GroupView>();
  GROUPS.forEach((g, i) => {
    const members = peerList.filter((p) => p.groups.includes(g.name));
    groups.set(g.name, {
      id: i + 1,
      name: g.name,
      joinRule: g.rule,
      members: members.length + (self.groups.includes(g.name) ? 1 : 0),
      online: members.filter((p) => p.path !== 'pending').length + (self.groups.includes(g.name) ? 1 : 0),
      joined: self.groups.includes(g.name),
    });
  });

  const view = (p: FixturePeer): PeerView => {
    const { counters: _c, pathChanges: _pc, publicKey: _pk, fingerprint: _f, ...v } = p;
    return { ...v, tags: [...v.tags], groups: [...v.groups], rttHistory: [...v.rttHistory] };
  };

  // ---- logs and spans ---------------------------------------------------------------------
  const logs: LogLine[] = [];
  const spans: SpanView[] = [];
  const log = (level: LogLevelName, msg: string, fields: Record<string, unknown> = {}, t = now()): void => {
    const line: LogLine = { t: new Date(t).toISOString(), level, msg, fields };
    logs.push(line);
    if (logs.length > 5000) logs.shift();
    hub.emit('log', line);
  };
  let spanSeq = 1;
  const spanId = (): string => (spanSeq++).toString(16).padStart(16, '0');
  const traceId = (): string => hex(rand, 16);
  const addSpan = (s: SpanView, emit = true): SpanView => {
    spans.push(s);
    if (spans.length > 5000) spans.shift();
    if (emit) hub.emit('span.ended', s);
    return s;
  };
  /** Spans "recorded on the peer": traces.get returns them, as if gathered from the other agent. */
  const remoteSpans = new Map<string, SpanView[]>();

  const dialTrace = (p: FixturePeer, t0: number, emit: boolean): void => {
    const tid = traceId();
    const root = spanId();
    const resolveMs = 0.4 + rand() * 2;
    const kxMs = 1 + rand() * 3;
    const punchMs = p.path === 'punched' ? 20 + rand() * 60 : 0;
    const relayMs = p.path === 'relay' ? 15 + rand() * 30 : 0;
    let t = t0;
    const kids: SpanView[] = [];
    kids.push({ traceId: tid, spanId: spanId(), parentId: root, name: 'resolve', node: self.hostname, startMs: t, durationMs: resolveMs, status: 'ok', attrs: { target: p.hostname ?? p.address, registry: self.registry } });
    t += resolveMs;
    if (p.path === 'punched' || p.path === 'relay') {
      const ok = p.path === 'punched';
      kids.push({ traceId: tid, spanId: spanId(), parentId: root, name: 'punch', node: self.hostname, startMs: t, durationMs: punchMs || 250, status: ok ? 'ok' : 'error', attrs: { beacon: self.beacon, attempts: ok ? 2 : 6, ...(ok ? {} : { error: 'timeout' }) } });
      t += punchMs || 250;
    }
    if (p.path === 'relay') {
      kids.push({ traceId: tid, spanId: spanId(), parentId: root, name: 'relay', node: self.hostname, startMs: t, durationMs: relayMs, status: 'ok', attrs: { via: self.beacon } });
      t += relayMs;
    }
    const kx = spanId();
    kids.push({ traceId: tid, spanId: kx, parentId: root, name: 'key_exchange', node: self.hostname, startMs: t, durationMs: kxMs, status: 'ok', attrs: { suite: 'X25519+AES-256-GCM', authenticated: p.authenticated } });
    remoteSpans.set(tid, [{ traceId: tid, spanId: spanId(), parentId: kx, name: 'accept_key_exchange', node: p.hostname ?? String(p.nodeId), startMs: t + kxMs * 0.3, durationMs: kxMs * 0.4, status: 'ok', attrs: { peer: self.nodeId } }]);
    t += kxMs;
    const rtt = p.rttMs ?? 1;
    kids.push({ traceId: tid, spanId: spanId(), parentId: root, name: 'echo', node: self.hostname, startMs: t, durationMs: rtt, status: 'ok', attrs: { seq: 0, rtt_ms: rtt, path: p.path } });
    t += rtt;
    const rootSpan: SpanView = { traceId: tid, spanId: root, name: 'dial', node: self.hostname, startMs: t0, durationMs: t - t0, status: kids.some((k) => k.status === 'error') && p.path !== 'relay' ? 'error' : 'ok', attrs: { peer: p.nodeId, path: p.path } };
    for (const k of kids) addSpan(k, emit);
    addSpan(rootSpan, emit);
  };

  const taskTrace = (p: FixturePeer, t0: number): void => {
    const tid = traceId();
    const root = spanId();
    const send = spanId();
    const dur = 40 + rand() * 200;
    addSpan({ traceId: tid, spanId: send, parentId: root, name: 'data_exchange.send', node: self.hostname, startMs: t0 + 1, durationMs: 3 + rand() * 5, status: 'ok', attrs: { port: 1001, bytes: 2048 } }, false);
    addSpan({ traceId: tid, spanId: root, name: 'task.submit', node: self.hostname, startMs: t0, durationMs: dur, status: 'ok', attrs: { target: p.hostname ?? '', task: 'summarize', port: 1003 } }, false);
    remoteSpans.set(tid, [
      { traceId: tid, spanId: spanId(), parentId: root, name: 'task.accept', node: p.hostname ?? '', startMs: t0 + 6, durationMs: 2, status: 'ok', attrs: { queue: 3 } },
      { traceId: tid, spanId: spanId(), parentId: root, name: 'task.run', node: p.hostname ?? '', startMs: t0 + 9, durationMs: dur - 14, status: 'ok', attrs: { model: 'small' } },
    ]);
  };

  for (let i = 0; i < 24; i++) {
    const p = pick(peerList);
    const t0 = now() - (24 - i) * 45_000;
    if (i % 4 === 3) taskTrace(p, t0);
    else dialTrace(p, t0, false);
  }
  const LOG_MSGS: [LogLevelName, string][] = [
    ['info', 'tunnel established'],
    ['debug', 'keepalive'],
    ['info', 'key exchange complete'],
    ['warn', 'punch attempt timed out, retrying'],
    ['debug', 'sack block received'],
    ['info', 'path upgraded'],
    ['error', 'frame rejected: bad tag'],
    ['trace', 'frame in'],
    ['debug', 'registry heartbeat ok'],
  ];
  for (let i = 0; i < 600; i++) {
    const [level, msg] = pick(LOG_MSGS);
    const p = pick(peerList);
    const line: LogLine = { t: new Date(now() - (600 - i) * 900).toISOString(), level, msg, fields: { peer: p.nodeId, path: p.path, component: pick(['tunnel', 'dialer', 'registry', 'stream']) } };
    logs.push(line);
  }

  // ---- live events ------------------------------------------------------------------------
  const setPath = (p: FixturePeer, to: PathKind): void => {
    if (p.path === to) return;
    const from = p.path;
    p.path = to;
    p.pathChanges++;
    hub.emit('peer.pathChanged', p.endpoint === undefined ? { nodeId: p.nodeId, from, to } : { nodeId: p.nodeId, from, to, endpoint: p.endpoint });
    hub.emit('peer.updated', view(p));
    log('info', `path ${from} -> ${to}`, { peer: p.nodeId, component: 'dialer' });
  };
  const sampleRtt = (p: FixturePeer): number => {
    const base = p.path === 'direct' ? 0.3 + (p.rttHistory[0] ?? 1) * 0.2 : p.path === 'punched' ? 8 + rand() * 20 : p.path === 'relay' ? 40 + rand() * 60 : 1;
    return +(base * (0.85 + rand() * 0.4)).toFixed(3);
  };
  const recordRtt = (p: FixturePeer, rtt: number): void => {
    p.rttMs = rtt;
    p.rttHistory = [...p.rttHistory.slice(-29), rtt];
    p.lastSeenMs = now();
    p.counters.framesIn += 1;
    p.counters.framesOut += 1;
    p.counters.bytesIn += 64;
    p.counters.bytesOut += 64;
  };

  if (opts.live) {
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref?.();
      timers.push(t);
    };
    every(400, () => {
      for (let i = 0; i < 6; i++) {
        const p = pick(peerList);
        if (p.path === 'pending') continue;
        recordRtt(p, sampleRtt(p));
        hub.emit('peer.updated', view(p));
      }
    });
    every(350, () => {
      const [level, msg] = pick(LOG_MSGS);
      const p = pick(peerList);
      log(level, msg, { peer: p.nodeId, path: p.path, component: pick(['tunnel', 'dialer', 'registry', 'stream']) });
    });
    every(3000, () => dialTrace(pick(peerList), now(), true));
    every(6000, () => {
      const p = pick(peerList);
      setPath(p, p.path === 'punched' ? 'direct' : p.path === 'relay' ? 'punched' : p.path === 'pending' ? 'relay' : rand() < 0.5 ? 'relay' : 'direct');
    });
    every(5000, () => {
      const g = pick([...groups.values()]);
      const joining = rand() < 0.55;
      g.members = Math.max(0, g.members + (joining ? 1 : -1));
      g.online = Math.min(g.members, Math.max(0, g.online + (joining ? 1 : -1)));
      hub.emit('groups.changed', { name: g.name, event: joining ? 'member_joined' : 'member_left', nodeId: pick(peerList).nodeId, group: { ...g } });
    });
    every(20_000, () => {
      const p = pick(peerList.filter((x) => x.trust === 'none'));
      p.trust = 'pending_in';
      const req: TrustRequestView = { nodeId: p.nodeId, justification: `${p.hostname} asks to exchange data`, receivedAt: now(), publicKey: p.publicKey };
      pending.set(p.nodeId, req);
      hub.emit('trust.requested', req);
      hub.emit('peer.updated', view(p));
    });
  }

  // ---- methods ----------------------------------------------------------------------------
  const peerOf = (nodeId: number): FixturePeer => {
    const p = peers.get(nodeId);
    if (!p) throw new PilotError('not_found', `no peer ${nodeId}`);
    return p;
  };
  const resolve = (target: string): FixturePeer => {
    const byId = /^\d+$/.test(target) ? peers.get(Number(target)) : undefined;
    const p = byId ?? peerList.find((x) => x.address === target || x.hostname === target);
    if (!p) throw new PilotError('not_found', `cannot resolve ${target}`, 'check the hostname or address');
    return p;
  };
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  const connectionsOf = (p: FixturePeer): ConnectionView[] =>
    p.path === 'pending'
      ? []
      : [
          { id: 1, localPort: 49152 + (p.nodeId % 1000), remoteAddr: p.address, remotePort: 1001, state: 'ESTABLISHED', bytesSent: 40_960, bytesRecv: 1_203_110, retransmits: 2, srttMs: p.rttMs ?? 1, cwnd: 42, inFlight: 3 },
          { id: 2, localPort: 49200 + (p.nodeId % 1000), remoteAddr: p.address, remotePort: 1002, state: 'ESTABLISHED', bytesSent: 1024, bytesRecv: 88_000, retransmits: 0, srttMs: p.rttMs ?? 1, cwnd: 10, inFlight: 0 },
        ];

  // Partial on purpose: the contract grows faster than this fixture; what it lacks fails as `unavailable`.
  const handlers: { [M in MethodName]?: (args: MethodArgs<M>) => Promise<MethodResult<M>> } = {
    'node.info': async () => ({ ...self, uptimeSecs: self.uptimeSecs + Math.floor((now() - started) / 1000) }),
    'node.setHostname': async ({ hostname }) => {
      self.hostname = hostname;
      hub.emit('node.updated', { ...self });
      return { hostname };
    },
    'node.netcheck': async () => ({ tunnelLocal: self.tunnelEndpoint, beacon: self.beacon, publicEndpoint: '203.0.113.7:41871', publicEndpointAlt: '203.0.113.7:41871', portPreserved: false, mapping: 'endpoint-independent', natType: 'cone', hint: 'hole punching should work' }),
    'node.setTags': async ({ tags }) => ({ tags: (self.tags = tags) }),
    'node.setVisibility': async (a) => ({ public: (self.public = a.public) }),
    'peers.list': async () => peerList.map(view),
    'peers.inspect': async ({ nodeId }) => {
      const p = peerOf(nodeId);
      const related = logs.filter((l) => l.fields['peer'] === nodeId).slice(-20);
      return { ...view(p), publicKey: p.publicKey, fingerprint: p.fingerprint, pathChanges: p.pathChanges, counters: structuredClone(p.counters), connections: connectionsOf(p), cryptoBackend: self.cryptoBackend, logs: related };
    },
    'peers.ping': async ({ target, count = 4, intervalMs = 250 }) => {
      const p = resolve(target);
      const replies: PingReply[] = [];
      const tid = traceId();
      const root = spanId();
      const t0 = now();
      if (p.path === 'pending') setPath(p, 'relay');
      for (let seq = 0; seq < count; seq++) {
        if (seq > 0) await sleep(intervalMs);
        // A relayed or punched peer upgrades part-way through, so the chart shows a path change.
        if (seq === 4 && p.path === 'relay') setPath(p, 'punched');
        else if (seq === 7 && p.path === 'punched') setPath(p, 'direct');
        const lost = rand() < 0.03;
        const rtt = sampleRtt(p);
        const reply: PingReply = lost ? { seq, error: 'timeout' } : { seq, rttMs: rtt, path: p.path, bytes: 0 };
        if (!lost) recordRtt(p, rtt);
        replies.push(reply);
        addSpan({ traceId: tid, spanId: spanId(), parentId: root, name: 'echo', node: self.hostname, startMs: now(), durationMs: lost ? 1000 : rtt, status: lost ? 'error' : 'ok', attrs: { seq, path: p.path, ...(lost ? {} : { rtt_ms: rtt }) } });
        hub.emit('ping.reply', { target, nodeId: p.nodeId, reply });
        hub.emit('peer.updated', view(p));
      }
      const rtts = replies.flatMap((r) => (r.rttMs === undefined ? [] : [r.rttMs])).sort((a, b) => a - b);
      const at = (q: number): number | undefined => rtts[Math.min(rtts.length - 1, Math.max(0, Math.ceil(q * rtts.length) - 1))];
      addSpan({ traceId: tid, spanId: root, name: 'ping', node: self.hostname, startMs: t0, durationMs: now() - t0, status: rtts.length ? 'ok' : 'error', attrs: { target, count } });
      const stats = { sent: replies.length, received: rtts.length, ...(rtts.length ? { minMs: rtts[0], medianMs: at(0.5), p99Ms: at(0.99), maxMs: rtts[rtts.length - 1] } : {}) };
      return { target, address: p.address, nodeId: p.nodeId, replies, stats } as MethodResult<'peers.ping'>;
    },
    'peers.resolve': async ({ target }) => {
      const p = resolve(target);
      return p.hostname ? { nodeId: p.nodeId, address: p.address, hostname: p.hostname } : { nodeId: p.nodeId, address: p.address };
    },
    'find.nodes': async ({ tags, group, hostnamePrefix }) =>
      peerList
        .filter((p) => (!tags?.length || tags.every((t) => p.tags.includes(t))) && (!group || p.groups.includes(group)) && (!hostnamePrefix || (p.hostname ?? '').startsWith(hostnamePrefix)))
        .map((p) => ({ nodeId: p.nodeId, address: p.address, ...(p.hostname ? { hostname: p.hostname } : {}), tags: p.tags, publicKey: p.publicKey, online: p.path !== 'pending', public: false, networks: [] })),
    'groups.list': async () => [...groups.values()].map((g) => ({ ...g })),
    'groups.create': async ({ name, joinRule = 'open' }) => {
      if (groups.has(name)) throw new PilotError('already_exists', `group ${name} exists`);
      const g: GroupView = { id: groups.size + 1, name, joinRule, members: 1, online: 1, joined: true };
      groups.set(name, g);
      self.groups.push(name);
      hub.emit('groups.changed', { name, event: 'network_created', nodeId: self.nodeId, group: { ...g } });
      return { ...g };
    },
    'groups.join': async ({ name }) => {
      const g = groups.get(name);
      if (!g) throw new PilotError('not_found', `no group ${name}`);
      if (g.joinRule === 'invite') throw new PilotError('permission_denied', `${name} is invite-only`);
      if (!g.joined) {
        g.joined = true;
        g.members++;
        g.online++;
        self.groups.push(name);
        hub.emit('groups.changed', { name, event: 'member_joined', nodeId: self.nodeId, group: { ...g } });
      }
      return { ...g };
    },
    'groups.leave': async ({ name }) => {
      const g = groups.get(name);
      if (!g) throw new PilotError('not_found', `no group ${name}`);
      if (g.joined) {
        g.joined = false;
        g.members--;
        g.online--;
        self.groups = self.groups.filter((x) => x !== name);
        hub.emit('groups.changed', { name, event: 'member_left', nodeId: self.nodeId, group: { ...g } });
      }
      return { name };
    },
    'groups.members': async ({ name }) => {
      if (!groups.has(name)) throw new PilotError('not_found', `no group ${name}`);
      const list: GroupMemberView[] = peerList
        .filter((p) => p.groups.includes(name))
        .slice(0, 200)
        .map((p) => ({ nodeId: p.nodeId, address: p.address, ...(p.hostname ? { hostname: p.hostname } : {}), tags: p.tags, online: p.path !== 'pending', ...(p.lastSeenMs ? { lastSeen: new Date(p.lastSeenMs).toISOString() } : {}) }));
      return list;
    },
    'groups.broadcast': async ({ name }) => {
      const g = groups.get(name);
      if (!g) throw new PilotError('not_found', `no group ${name}`);
      log('info', 'broadcast sent', { group: name, members: g.members });
      return { group: name, sent: g.online - 1, members: g.members - 1 };
    },
    'trust.pending': async () => [...pending.values()],
    'trust.list': async () => [...trusted.values()],
    'trust.request': async ({ target }) => {
      const p = resolve(target);
      p.trust = 'pending_out';
      hub.emit('trust.changed', { nodeId: p.nodeId, state: 'pending_out' });
      return { nodeId: p.nodeId, status: 'sent' };
    },
    'trust.approve': async ({ nodeId }) => {
      const p = peerOf(nodeId);
      if (!pending.delete(nodeId)) throw new PilotError('not_found', `no trust request from ${nodeId}`);
      p.trust = 'trusted';
      trusted.set(nodeId, { nodeId, publicKey: p.publicKey, approvedAt: now(), mutual: true, network: 0 });
      hub.emit('trust.changed', { nodeId, state: 'trusted' });
      return { nodeId, status: 'approved' };
    },
    'trust.reject': async ({ nodeId }) => {
      const p = peerOf(nodeId);
      if (!pending.delete(nodeId)) throw new PilotError('not_found', `no trust request from ${nodeId}`);
      p.trust = 'none';
      hub.emit('trust.changed', { nodeId, state: 'none' });
      return { nodeId, status: 'rejected' };
    },
    'trust.revoke': async ({ nodeId }) => {
      peerOf(nodeId).trust = 'none';
      trusted.delete(nodeId);
      hub.emit('trust.changed', { nodeId, state: 'none' });
      return { nodeId, status: 'revoked' };
    },
    'tasks.submit': async ({ target, description }) => {
      const p = resolve(target ?? peerList[0]?.address ?? '');
      taskTrace(p, now());
      return { target: target ?? '', address: p.address, taskId: hex(rand, 8), status: 200, message: description.slice(0, 40), accepted: true };
    },
    'traces.list': async ({ limit = 1000 }) => spans.slice(-limit),
    'traces.get': async ({ traceId: id }) => [...spans.filter((s) => s.traceId === id), ...(remoteSpans.get(id) ?? [])],
    // One lane per recording node; the other agents' clocks made up (a few ms off), as a collector would estimate.
    'traces.collect': async ({ traceId: id }) => {
      const all = [...spans.filter((s) => s.traceId === id), ...(remoteSpans.get(id) ?? [])];
      const names = [self.hostname, ...new Set(all.map((s) => s.node).filter((n) => n !== self.hostname))];
      return mergeTrace(
        id,
        names.map((n, i) => {
          const p = peerList.find((x) => x.hostname === n);
          const node = i === 0 ? { address: self.address, nodeId: self.nodeId, hostname: n, self: true, offsetMs: 0, spans: 0 } : { address: p?.address ?? n, nodeId: p?.nodeId ?? 0, hostname: n, self: false, offsetMs: 2 + i * 1.5, rttMs: 0.6 + i * 0.2, spans: 0 };
          return { node, spans: all.filter((s) => s.node === n).map((s) => (i === 0 ? s : { ...s, startMs: s.startMs + node.offsetMs })) };
        }),
      );
    },
    // fleet.*, demo.* and tasks.list: dev-fixture-fleet.ts
    ...fleetFixtureHandlers({ self, peers: peerList.map(view), rand, now, hub }),
    'logs.tail': async ({ limit = 1000, level, peer }) => {
      const order: LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error'];
      const min = level ? order.indexOf(level) : 0;
      return logs.filter((l) => order.indexOf(l.level) >= min && (peer === undefined || l.fields['peer'] === peer)).slice(-limit);
    },
  };

  return {
    call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      const h = handlers[method] as ((a: MethodArgs<M>) => Promise<MethodResult<M>>) | undefined;
      if (!h) return Promise.reject(new PilotError('unavailable', `the development fixture does not implement ${method}`));
      return h(args);
    },
    on: (listener: ConsoleEventListener) => hub.onAny(listener),
    close() {
      for (const t of timers) clearInterval(t);
      timers.length = 0;
    },
  };
}
