/**
 * DEVELOPMENT FIXTURE — NOT A NODE. The fleet.* and demo.* methods (and a made-up tasks.list) of
 * scripts/dev-fixture.ts: made-up peer tables for every member, run through the console's own
 * pure matrix code (main/api/fleet-matrix.ts) and its own "why this path" story (fleet-why.ts) over
 * made-up dial spans, so the Path matrix, probe panel, pair timeline, Why this path and Tasks views
 * can be laid out without a fleet. Nothing here is measured; features are tested on real daemons.
 */
import type { ConsoleEvents, FleetHistoryView, FleetMatrixView, FleetMemberView, FleetPath, FleetProbeView, MethodArgs, MethodName, MethodResult, NodeInfoView, PeerView, SpanView, TaskView } from '../shared/contract';
import { PilotError } from '../shared/errors';
import type { Emitter } from '../shared/emitter';
import { aggregateByGroup, buildPairs, census, countPaths, type MemberSweep } from '../main/api/fleet-matrix';
import type { FleetPeer } from '../main/node/services/fleet-query';
import { whyThisPath } from '../main/node/services/fleet-why';

export type FixtureHandlers = { [M in MethodName]?: (args: MethodArgs<M>) => Promise<MethodResult<M>> };

const NATS = ['none', 'cone', 'port-preserving', 'symmetric'] as const;
const HOUR = 3_600_000;

export function fleetFixtureHandlers(o: { self: NodeInfoView; peers: readonly PeerView[]; rand: () => number; now: () => number; hub: Emitter<ConsoleEvents> }): FixtureHandlers {
  const { self, peers, rand, now, hub } = o;
  const byId = new Map(peers.map((p) => [p.nodeId, p]));
  const natOf = new Map<number, string>([[self.nodeId, 'cone']]);
  for (const p of peers) natOf.set(p.nodeId, NATS[Math.floor(rand() * NATS.length)]!);
  // Each member's table: the console's node (the peer's own path to it) and a few other members.
  const tables = new Map<number, FleetPeer[]>();
  const side = (nodeId: number, path: FleetPeer['path'], rttMs?: number): FleetPeer => {
    const f: FleetPeer = { nodeId, path, pathChanges: Math.floor(rand() * 3), bytesIn: Math.floor(rand() * 1e7), bytesOut: Math.floor(rand() * 1e7), pathForMs: Math.floor(rand() * 2 * HOUR) };
    const h = nodeId === self.nodeId ? self.hostname : byId.get(nodeId)?.hostname;
    if (h) f.hostname = h;
    if (rttMs !== undefined) f.rttMs = rttMs;
    return f;
  };
  tables.set(
    self.nodeId,
    peers.map((p) => side(p.nodeId, p.path, p.rttMs)),
  );
  for (const p of peers) {
    const t = [side(self.nodeId, p.path, p.rttMs)];
    for (let k = 0; k < 3; k++) {
      const q = peers[Math.floor(rand() * peers.length)]!;
      if (q.nodeId === p.nodeId || t.some((x) => x.nodeId === q.nodeId)) continue;
      const r = rand();
      const path: FleetPeer['path'] = r < 0.55 ? 'direct' : r < 0.85 ? 'punched' : 'relay';
      t.push(side(q.nodeId, path, +(path === 'relay' ? 40 + rand() * 60 : 0.3 + rand() * 20).toFixed(2)));
    }
    tables.set(p.nodeId, t);
  }
  // A few members refuse (untrusted, no shared group), as in a real fleet.
  const refused = new Set(peers.filter(() => rand() < 0.04).map((p) => p.nodeId));

  let matrix: FleetMatrixView | undefined;
  const sweep = (maxPairs: number): FleetMatrixView => {
    const ids = [self.nodeId, ...peers.map((p) => p.nodeId)];
    const sweeps = new Map<number, MemberSweep>();
    for (const id of ids) {
      const name = id === self.nodeId ? self.hostname : byId.get(id)?.hostname;
      if (refused.has(id)) sweeps.set(id, { nodeId: id, error: 'fleet query refused: not trusted' });
      else sweeps.set(id, { nodeId: id, table: { nodeId: id, address: id === self.nodeId ? self.address : (byId.get(id)?.address ?? ''), ...(name ? { hostname: name } : {}), peers: tables.get(id) ?? [] } });
    }
    const members: FleetMemberView[] = ids.map((id) => {
      const p = byId.get(id);
      const m: FleetMemberView = { nodeId: id, address: id === self.nodeId ? self.address : (p?.address ?? ''), self: id === self.nodeId, answered: !refused.has(id), groups: id === self.nodeId ? [...self.groups] : [...(p?.groups ?? [])] };
      const h = id === self.nodeId ? self.hostname : p?.hostname;
      if (h) m.hostname = h;
      const nat = natOf.get(id);
      if (nat && !refused.has(id)) m.natType = nat;
      if (refused.has(id)) m.error = 'fleet query refused: not trusted';
      return m;
    });
    const pairs = buildPairs(ids, sweeps, now());
    const aggregated = pairs.length > maxPairs;
    const groupOf = new Map(members.map((m) => [m.nodeId, m.groups[0] ?? '(no group)']));
    return { takenAt: now(), members, pairs: aggregated ? [] : pairs, aggregated, groups: aggregateByGroup(pairs, (id) => groupOf.get(id) ?? '(no group)'), census: census(countPaths(pairs)) };
  };
  const pathOf = (a: number, b: number): FleetPath => tables.get(a)?.find((x) => x.nodeId === b)?.path ?? tables.get(b)?.find((x) => x.nodeId === a)?.path ?? 'none';
  const rttOf = (a: number, b: number): number => tables.get(a)?.find((x) => x.nodeId === b)?.rttMs ?? tables.get(b)?.find((x) => x.nodeId === a)?.rttMs ?? 1 + rand() * 20;

  // Demo workload counters, moving while not paused.
  const demo = { available: true, paused: false, submitted: 128, completed: 121, failed: 2 };
  const tasks: TaskView[] = Array.from({ length: 14 }, (_, i) => {
    const p = peers[(i * 7) % Math.max(1, peers.length)];
    const submitted = i % 3 !== 0;
    const status = i < 2 ? 'EXECUTING' : i === 5 ? 'DECLINED' : i === 9 ? 'EXPIRED' : 'COMPLETED';
    const t: TaskView = {
      taskId: `${(0x1a2b3c4d + i * 7919).toString(16).padStart(8, '0')}-0000-4000-8000-${String(i).padStart(12, '0')}`,
      description: ['summarize the papers on punching', 'translate the FX note', 'classify the news feed', 'search the index for relay papers'][i % 4]!,
      status,
      from: submitted ? self.address : (p?.address ?? ''),
      to: submitted ? (p?.address ?? '') : self.address,
      createdAt: new Date(now() - (14 - i) * 95_000).toISOString().slice(0, 19) + 'Z',
      category: submitted ? 'submitted' : 'received',
    };
    if (status === 'COMPLETED') {
      t.completedAt = new Date(now() - (14 - i) * 95_000 + 4000).toISOString().slice(0, 19) + 'Z';
      t.durationMs = 800 + Math.floor(rand() * 6000);
    }
    return t;
  });

  const member = (id: number): string => (id === self.nodeId ? self.hostname : (byId.get(id)?.hostname ?? String(id)));

  return {
    'fleet.matrix': async ({ maxPairs }) => {
      if (maxPairs !== undefined) return sweep(maxPairs);
      matrix ??= sweep(2000);
      return matrix;
    },
    'fleet.history': async ({ a, b }): Promise<FleetHistoryView> => {
      const end = now();
      const path = pathOf(a, b);
      const base = rttOf(a, b);
      const samples: FleetHistoryView['samples'] = [];
      const changes: FleetHistoryView['changes'] = [];
      // An hour of 5 s sweeps: relayed for ten minutes, a flap, then the path it has now.
      for (let t = end - HOUR; t <= end; t += 5000) {
        const early = t < end - 50 * 60_000;
        const flap = t > end - 30 * 60_000 && t < end - 29 * 60_000;
        const p: FleetPath = early ? 'relay' : flap ? 'relay' : path;
        samples.push({ t, path: p, rttMs: +(p === 'relay' ? 60 + rand() * 30 : base * (0.8 + rand() * 0.5)).toFixed(2) });
      }
      if (path !== 'relay') {
        changes.push({ t: end - 50 * 60_000, from: 'relay', to: path, flap: false });
        changes.push({ t: end - 30 * 60_000, from: path, to: 'relay', flap: false });
        changes.push({ t: end - 29 * 60_000, from: 'relay', to: path, flap: true });
      }
      return { a, b, windowMs: HOUR, samples, changes };
    },
    'fleet.probe': async ({ from, to, count = 3, mode, bytes }): Promise<FleetProbeView> => {
      if (refused.has(from)) throw new PilotError('permission_denied', `fleet query refused by ${member(from)}: not trusted: this node runs probes only for peers it trusts`, `ask for trust first: pilotctl handshake ${from} "reason"`);
      const path = pathOf(from, to);
      const base = rttOf(from, to);
      const n = mode === 'ping' || mode === undefined || mode === 'traceroute' ? count : 0;
      const rtts = Array.from({ length: n }, () => +(base * (0.9 + rand() * 0.3)).toFixed(3));
      const sorted = [...rtts].sort((x, y) => x - y);
      const out: FleetProbeView = { from, to, path, rtts, errors: [], stats: { sent: n, received: n } };
      if (n) Object.assign(out.stats, { minMs: sorted[0], medianMs: sorted[Math.floor(n / 2)], maxMs: sorted[n - 1] });
      if (mode === 'throughput') {
        const b = bytes ?? 1 << 20;
        const ms = (b * 8) / ((path === 'relay' ? 40 : 400) * 1e3) + base * 2;
        out.throughput = { bytes: b, ms, mbitPerS: (b * 8) / (ms / 1000) / 1e6 };
      }
      if (mode === 'traceroute') {
        const endpoint = tables.get(from)?.find((x) => x.nodeId === to) ? `203.0.113.${to % 250}:${20000 + (to % 40000)}` : undefined;
        out.traceroute = {
          setupMs: +(base * 2.2).toFixed(3),
          tunnelWasUp: path !== 'none',
          hops: path === 'relay' ? [{ kind: 'relay', endpoint: self.beacon }, { kind: 'peer', nodeId: to }] : [{ kind: 'peer', nodeId: to, ...(endpoint ? { endpoint } : {}) }],
        };
      }
      return out;
    },
    'fleet.why': async ({ nodeId, from }) => {
      const teller = from ?? self.nodeId;
      const path = pathOf(teller, nodeId);
      const p = byId.get(nodeId);
      // Made-up dial spans in the shape node-tracing.ts records them.
      const t0 = now() - 40 * 60_000;
      const T = '7e'.repeat(16);
      const registered = `192.0.2.${nodeId % 250}:${4000 + (nodeId % 1000)}`;
      const observed = `203.0.113.${nodeId % 250}:${20000 + (nodeId % 40000)}`;
      const establishMs = path === 'relay' ? 2600 : path === 'punched' ? 480 : 4;
      const answered = path === 'punched' ? observed : path === 'direct' ? registered : undefined;
      const events: NonNullable<SpanView['events']> = [{ name: 'endpoint.tried', timeMs: t0, attrs: { endpoint: registered, source: 'registry', at_ms: 0 } }];
      if (path === 'punched' || path === 'relay') events.push({ name: 'endpoint.tried', timeMs: t0 + 320, attrs: { endpoint: observed, source: 'beacon', at_ms: 320 } });
      const est: SpanView = { traceId: T, spanId: 'e', node: member(teller), name: 'tunnel.establish', startMs: t0, durationMs: establishMs, status: 'ok', attrs: { 'peer.node_id': nodeId, path, establish_ms: establishMs, ...(answered ? { endpoint: answered } : {}) }, events };
      const spans: SpanView[] = [est, { traceId: T, spanId: 'k', parentId: 'e', node: est.node, name: 'key_exchange', startMs: t0 + 1, durationMs: establishMs - 1, status: 'ok', attrs: {} }];
      if (path !== 'direct') spans.push({ traceId: T, spanId: 'p', parentId: 'k', node: est.node, name: 'punch', startMs: t0 + 300, durationMs: path === 'relay' ? 1700 : 180, status: path === 'relay' ? 'error' : 'ok', attrs: { 'punch.after_ms': 300, 'punch.outcome': path === 'relay' ? 'no direct path' : 'punched' } });
      if (path === 'relay') spans.push({ traceId: T, spanId: 'r', parentId: 'k', node: est.node, name: 'relay', startMs: t0 + 2000, durationMs: 600, status: 'ok', attrs: { 'relay.reason': 'no_direct_answer', 'relay.after_ms': 2000 } });
      const input: Parameters<typeof whyThisPath>[0] = { nodeId, path, pathChanges: 1, spans };
      if (p?.hostname) input.hostname = p.hostname;
      const ln = natOf.get(teller);
      const pn = natOf.get(nodeId);
      if (ln) input.localNat = ln;
      if (pn) input.peerNat = pn;
      if (answered) input.endpoint = answered;
      return whyThisPath(input);
    },
    'demo.status': async () => ({ ...demo }),
    'demo.setPaused': async ({ paused }) => {
      demo.paused = paused;
      hub.emit('demo.changed', { ...demo });
      return { ...demo };
    },
    'tasks.list': async ({ category, limit }) => tasks.filter((t) => !category || t.category === category).slice(-(limit ?? tasks.length)),
  };
}
