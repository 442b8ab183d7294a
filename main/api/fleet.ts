/**
 * The fleet domain: the path matrix of every pair of fleet members (each member the console's node
 * may ask answers its peer table over the fleet query, port 1011), the history per pair kept here
 * (fleet-history.ts), probes run from one member to another, and "why this path" for a peer of this
 * node (fleet-why.ts). A sweep asks at most 8 members at a time; a console sweeps in the background
 * (`startFleetSweep`) so the history fills without anyone looking.
 */
import { formatAddress, backboneAddress } from '../../shared/address';
import type { FleetMatrixView, FleetMemberView, FleetProbeView, WhyPathView } from '../../shared/contract-fleet';
import type { TunnelEvent } from '../node/tunnel-types';
import { localFleetTable, probeFrom, queryFleetPeers, requestProbe, requestWhy, type FleetTable, type ProbeMode } from '../node/services/fleet-query';
import type { ApiContext, DomainHandlers } from './context';
import { FleetHistory } from './fleet-history';
import { aggregateByGroup, buildPairs, census, countPaths, type MemberSweep } from './fleet-matrix';
import { whyThisPath } from '../node/services/fleet-why';
import { rttStats } from '../../shared/ping-stats';

/** Past this many pairs the matrix is sent aggregated by group (and the history is not kept per pair). */
export const DEFAULT_MAX_PAIRS = 2000;
/** A sweep younger than this answers fleet.matrix (without `refresh`); a background sweeper raises it to its interval. */
const CACHE_MS = 2000;
const CONCURRENCY = 8;
/** The background sweeper waits at least this many times the last sweep's duration (a large fleet sweeps less often). */
const SWEEP_DUTY = 10;

export interface FleetApi {
  handlers: DomainHandlers<'fleet'>;
  sweep(maxPairs?: number): Promise<FleetMatrixView>;
  /** How long the last sweep took (ms, 0 before the first). */
  lastSweepMs(): number;
  /** A matrix younger than `ms` answers fleet.matrix without a new sweep. */
  setCacheMs(ms: number): void;
  close(): void;
}

export function createFleetApi(ctx: ApiContext, o: { queryTimeoutMs?: number; history?: FleetHistory } = {}): FleetApi {
  const { node } = ctx;
  const history = o.history ?? new FleetHistory();
  const since = new Map<number, number>();
  const onTunnel = (ev: TunnelEvent): void => {
    if (ev.type === 'path_changed') since.set(ev.nodeId, node.clock.now());
  };
  node.on('tunnel', onTunnel);
  const natOf = new Map<number, string>();
  let localNat: Promise<string | undefined> | undefined;
  const myNat = (): Promise<string | undefined> => {
    localNat ??= node.netcheck(1500).then(
      (r) => r.natType,
      (e: unknown) => {
        node.log.debug('fleet: netcheck failed', { error: String(e) });
        localNat = undefined;
        return undefined;
      },
    );
    return localNat;
  };
  let last: FleetMatrixView | undefined;
  let running: Promise<FleetMatrixView> | undefined;
  let lastSweepMs = 0;
  let cacheMs = CACHE_MS;

  const selfTable = async (): Promise<FleetTable> => {
    const nat = await myNat();
    return localFleetTable(node, since, nat as FleetTable['natType']);
  };

  const doSweep = async (maxPairs: number): Promise<FleetMatrixView> => {
    await ctx.groups.refreshKnownPeers().catch((e: unknown) => node.log.debug('fleet: group refresh failed', { error: String(e) }));
    const self = node.nodeId;
    const ids = new Set<number>([...node.peers.keys(), ...node.tunnels.listPeers().map((p) => p.nodeId)]);
    ids.delete(self);
    const sweeps = new Map<number, MemberSweep>();
    sweeps.set(self, { nodeId: self, table: await selfTable() });
    const queue = [...ids].sort((a, b) => a - b);
    const worker = async (): Promise<void> => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
        try {
          sweeps.set(id, { nodeId: id, table: await queryFleetPeers(node, id, o.queryTimeoutMs ?? 3000) });
        } catch (e) {
          sweeps.set(id, { nodeId: id, error: e instanceof Error ? e.message : String(e) });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    // Nodes the answers name are members too (e.g. a private node we may not ask).
    const all = new Set<number>([self, ...ids]);
    for (const s of sweeps.values()) for (const p of s.table?.peers ?? []) if (p.nodeId !== 0) all.add(p.nodeId);
    const now = node.clock.wallNow();
    const members: FleetMemberView[] = [...all].sort((a, b) => a - b).map((id) => {
      const s = sweeps.get(id);
      const rec = node.peerRecord(id);
      const m: FleetMemberView = {
        nodeId: id,
        address: formatAddress(backboneAddress(id)),
        self: id === self,
        answered: !!s?.table,
        groups: id === self ? ctx.groups.mine() : rec.networks.filter((n) => n !== 0).map((n) => ctx.groups.nameOf(n)),
      };
      const hostname = s?.table?.hostname ?? (id === self ? node.hostname : rec.hostname);
      if (hostname) m.hostname = hostname;
      if (s?.table?.natType) {
        m.natType = s.table.natType;
        natOf.set(id, s.table.natType);
      }
      if (!s) m.error = 'not asked (named by another member)';
      else if (s.error) m.error = s.error;
      return m;
    });
    const pairs = buildPairs([...all], sweeps, now);
    const aggregated = pairs.length > maxPairs;
    if (!aggregated) {
      for (const p of pairs) {
        history.record(p.a, p.b, now, p.path, p.rttMs);
        const c = history.counts(p.a, p.b, now);
        p.changes = c.changes;
        p.flaps = c.flaps;
        if (p.sinceMs === undefined) {
          const s = history.since(p.a, p.b);
          if (s !== undefined) p.sinceMs = s;
        }
      }
    }
    const groupOf = new Map(members.map((m) => [m.nodeId, m.groups[0] ?? '(no group)']));
    const view: FleetMatrixView = {
      takenAt: now,
      members,
      pairs: aggregated ? [] : pairs,
      aggregated,
      groups: aggregateByGroup(pairs, (id) => groupOf.get(id) ?? '(no group)'),
      census: census(countPaths(pairs)),
    };
    last = view;
    return view;
  };

  const sweep = (maxPairs = DEFAULT_MAX_PAIRS): Promise<FleetMatrixView> => {
    const t0 = node.clock.now();
    running ??= doSweep(maxPairs).finally(() => {
      lastSweepMs = node.clock.now() - t0;
      running = undefined;
    });
    return running;
  };

  const handlers: DomainHandlers<'fleet'> = {
    'fleet.matrix': async ({ refresh, maxPairs }) => {
      if (!refresh && last && node.clock.wallNow() - last.takenAt < cacheMs && maxPairs === undefined) return last;
      return sweep(maxPairs ?? DEFAULT_MAX_PAIRS);
    },
    'fleet.history': async ({ a, b }) => history.view(a, b, node.clock.wallNow()),
    'fleet.probe': async ({ from, to, count, mode, bytes }) => {
      const n = count ?? 3;
      const opts: { mode?: ProbeMode; bytes?: number } = {};
      if (mode) opts.mode = mode;
      if (bytes) opts.bytes = bytes;
      const r = from === node.nodeId ? await probeFrom(node, to, n, opts) : await requestProbe(node, from, to, n, opts);
      const stats = rttStats([...r.rtts, ...r.errors.map(() => undefined)]);
      const out: FleetProbeView = { from, to, rtts: r.rtts, errors: r.errors, stats: { sent: stats.sent, received: stats.received } };
      if (stats.minMs !== undefined) out.stats.minMs = stats.minMs;
      if (stats.medianMs !== undefined) out.stats.medianMs = stats.medianMs;
      if (stats.maxMs !== undefined) out.stats.maxMs = stats.maxMs;
      if (r.path) out.path = r.path;
      if (r.traceroute) out.traceroute = r.traceroute;
      if (r.throughput) out.throughput = { ...r.throughput, mbitPerS: r.throughput.ms > 0 ? (r.throughput.bytes * 8) / (r.throughput.ms / 1000) / 1e6 : 0 };
      return out;
    },
    'fleet.why': async ({ nodeId, from }): Promise<WhyPathView> => {
      const natOfMember = async (id: number): Promise<string | undefined> => {
        let nat = natOf.get(id);
        if (nat === undefined && id !== node.nodeId) {
          nat = await queryFleetPeers(node, id, o.queryTimeoutMs ?? 3000).then(
            (tb) => tb.natType,
            () => undefined,
          );
          if (nat) natOf.set(id, nat);
        }
        return id === node.nodeId ? myNat() : nat;
      };
      // Another member's story of its tunnel (fleet query): the NAT types the sweeps learnt fill its gaps.
      if (from !== undefined && from !== node.nodeId) {
        const w = await requestWhy(node, from, nodeId, o.queryTimeoutMs ?? 5000);
        const pn = w.peerNat ?? (await natOfMember(nodeId));
        if (pn) {
          w.peerNat = pn;
          const nat = w.steps.find((s) => s.stage === 'nat');
          if (nat) nat.detail = nat.detail.replace('the peer: NAT type not reported', pn === 'none' ? 'the peer: no NAT (public address)' : `the peer: ${pn} NAT`);
        }
        return w;
      }
      const t = node.tunnelInfo(nodeId);
      const rec = node.peerRecord(nodeId);
      const peerNat = await natOfMember(nodeId);
      const input: Parameters<typeof whyThisPath>[0] = { nodeId, path: t?.path, pathChanges: t?.pathChanges ?? 0, spans: ctx.tracer.list(100_000) };
      if (rec.hostname) input.hostname = rec.hostname;
      if (t?.endpoint) input.endpoint = t.endpoint;
      const ln = await myNat();
      if (ln) input.localNat = ln;
      if (peerNat) input.peerNat = peerNat;
      return whyThisPath(input);
    },
  };

  return {
    handlers,
    sweep,
    lastSweepMs: () => lastSweepMs,
    setCacheMs(ms) {
      cacheMs = ms;
    },
    close() {
      node.off('tunnel', onTunnel);
    },
  };
}

/**
 * Sweeps the fleet every `intervalMs` (the history's samples), or less often when a sweep takes
 * long (at least SWEEP_DUTY times its duration apart, so a 500-member fleet is not asked for 500
 * tables back to back); fleet.matrix answers from the last sweep meanwhile. Returns the function
 * that stops it.
 */
export function startFleetSweep(api: FleetApi, intervalMs: number, log: { debug(msg: string, f?: Record<string, unknown>): void }): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = (): void => {
    if (stopped) return;
    const delay = Math.max(intervalMs, SWEEP_DUTY * api.lastSweepMs());
    api.setCacheMs(delay + 1000);
    timer = setTimeout(tick, delay);
    timer.unref();
  };
  const tick = (): void => {
    api
      .sweep()
      .catch((e: unknown) => log.debug('fleet sweep failed', { error: String(e) }))
      .then(schedule, (e: unknown) => log.debug('fleet sweep: scheduling failed', { error: String(e) }));
  };
  tick();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
