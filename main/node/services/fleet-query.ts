/**
 * Fleet query, port 1011 (our extension, the sibling of the trace query on 1010): a console asks a
 * fleet member for its peer table (path, endpoint, RTT, how long the path has been so) to draw every
 * pair of the fleet, and asks it to probe another member (control pings from it to the other).
 *
 * One exchange per stream, frames as the trace query's (`type u32 ‖ length u32 ‖ JSON`):
 *   → QUERY  {"kind":"peers"}                       ← PEERS  {"address","node_id","hostname","nat_type","peers":[…]}
 *   → QUERY  {"kind":"probe","target":N,"count":k}  ← PROBE  {"target","path","rtts":[…],"errors":[…]}
 *   → QUERY  {"kind":"probe","target":N,"mode":"throughput","bytes":B}  ← PROBE  {…, "throughput":{"bytes","ms"}}
 *            (B bytes through the target's echo port and back: a short throughput test)
 *   → QUERY  {"kind":"probe","target":N,"mode":"traceroute","count":k}  ← PROBE  {…, "traceroute":{"setupMs","tunnelWasUp","hops":[…]}}
 *            (what `pilotctl traceroute` does: dial the target's echo port — tunnel + SYN/ACK, timed —
 *            then k small round trips over that stream; the hops are the overlay's: the peer, or the
 *            beacon relay then the peer)
 *   → QUERY  {"kind":"why","target":N}              ← WHY    {WhyPathView: this node's story of its tunnel to N}
 *   ← REFUSED {"error":"…"}
 * The peer table is private like spans: only a peer this node trusts or shares a non-zero group with
 * gets it. A probe makes this node send traffic on the asker's behalf, so it needs more: the asker
 * must be trusted. Refusals are counted. Replies are bounded (MAX_PEERS entries, MAX_PROBE_COUNT pings).
 * Ages (`pathForMs`, `lastRecvAgoMs`) are measured on the answering node's clock, so no clock offset applies.
 */
import { z } from 'zod';
import { formatAddress, PORTS } from '../../../shared/address';
import { PilotError } from '../../../shared/errors';
import { ServiceFrameDecoder, type ServiceFrame } from '../../wire/service';
import type { Logger } from '../../util/log';
import type { PilotNode } from '../node';
import type { PilotStream } from '../stream';
import type { TunnelEvent } from '../tunnel-types';
import { randomBytes } from 'node:crypto';
import { FrameReader, jsonServiceFrame, serveOneFrame, targetAddress, writeOrRefused, type Target } from './common';
import { echo } from './echo';
import { whyThisPath, type WhyInput } from './fleet-why';
import type { WhyPathView } from '../../../shared/contract-fleet';

export const FLEET_QUERY_PORT = 1011;
export const FLEET_QUERY_TYPE = { QUERY: 1, PEERS: 2, REFUSED: 3, PROBE: 4, WHY: 5 } as const;
export const MAX_PEERS = 2000;
export const MAX_PROBE_COUNT = 10;
export const MAX_PROBE_BYTES = 4 << 20;
export const DEFAULT_PROBE_BYTES = 1 << 20;
/** A traceroute's dial (tunnel + SYN/ACK) may take this long (a relayed tunnel is made after 2 s). */
const TRACEROUTE_DIAL_MS = 10_000;
const MAX_QUERY_BYTES = 1024;
const MAX_REPLY_BYTES = 1 << 20;
const NAT_TYPES = ['none', 'port-preserving', 'cone', 'symmetric', 'unknown'] as const;
/** Tunnel paths (a superset of the tunnel layer's, so a table from a newer node still parses). */
const PATHS = ['pending', 'direct', 'punched', 'relay', 'local'] as const;

export type FleetNatType = (typeof NAT_TYPES)[number];

export const fleetPeerSchema = z.object({
  nodeId: z.number().int().min(1).max(0xffffffff),
  hostname: z.string().max(255).optional(),
  path: z.enum(PATHS),
  endpoint: z.string().max(64).optional(),
  rttMs: z.number().finite().min(0).optional(),
  pathChanges: z.number().int().min(0),
  /** How long the peer has been on this path (ms, the answering node's clock); absent when unknown. */
  pathForMs: z.number().finite().min(0).optional(),
  lastRecvAgoMs: z.number().finite().min(0).optional(),
  bytesIn: z.number().min(0),
  bytesOut: z.number().min(0),
});
export type FleetPeer = z.infer<typeof fleetPeerSchema>;

const peersReply = z.object({
  address: z.string().max(64),
  node_id: z.number().int().min(1).max(0xffffffff),
  hostname: z.string().max(255).optional(),
  nat_type: z.enum(NAT_TYPES).optional(),
  peers: z.array(fleetPeerSchema).max(MAX_PEERS),
});
const probeReply = z.object({
  target: z.number().int(),
  path: z.enum(PATHS).optional(),
  rtts: z.array(z.number().finite().min(0)).max(MAX_PROBE_COUNT),
  errors: z.array(z.string().max(1024)).max(MAX_PROBE_COUNT),
  throughput: z.object({ bytes: z.number().int().min(0), ms: z.number().finite().min(0) }).optional(),
  traceroute: z
    .object({
      setupMs: z.number().finite().min(0),
      tunnelWasUp: z.boolean(),
      hops: z.array(z.object({ kind: z.enum(['relay', 'peer']), nodeId: z.number().int().min(0).optional(), endpoint: z.string().max(64).optional() })).max(4),
    })
    .optional(),
});
const refusedReply = z.object({ error: z.string().max(1024) });
const whyReply = z.object({
  nodeId: z.number().int(),
  hostname: z.string().max(255).optional(),
  path: z.string().max(32),
  endpoint: z.string().max(64).optional(),
  localNat: z.string().max(32).optional(),
  peerNat: z.string().max(32).optional(),
  traceId: z.string().max(64).optional(),
  steps: z
    .array(
      z.object({
        stage: z.enum(['nat', 'establish', 'endpoints', 'key_exchange', 'punch', 'relay', 'established', 'upgrade', 'no_upgrade', 'now', 'missing']),
        title: z.string().max(256),
        detail: z.string().max(2048),
        status: z.enum(['ok', 'error', 'info']),
        atMs: z.number().finite().optional(),
        durationMs: z.number().finite().optional(),
      }),
    )
    .max(64),
});
const query = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('peers') }),
  z.object({ kind: z.literal('why'), target: z.number().int().min(1).max(0xffffffff) }),
  z.object({
    kind: z.literal('probe'),
    target: z.number().int().min(1).max(0xffffffff),
    count: z.number().int().min(1).max(MAX_PROBE_COUNT).optional(),
    mode: z.enum(['ping', 'throughput', 'traceroute']).optional(),
    bytes: z.number().int().min(1).max(MAX_PROBE_BYTES).optional(),
  }),
]);

export interface FleetTable {
  address: string;
  nodeId: number;
  hostname?: string;
  natType?: FleetNatType;
  peers: FleetPeer[];
}

export interface ProbeResult {
  target: number;
  path?: FleetPeer['path'];
  rtts: number[];
  errors: string[];
  /** A throughput probe: `bytes` went to the target's echo port and came back in `ms`. */
  throughput?: { bytes: number; ms: number };
  /** A traceroute: the dial to the echo port (`rtts` are then the round trips over that stream). */
  traceroute?: TracerouteResult;
}

/** One hop of the overlay route: the beacon relay (relayed tunnels), then the peer. */
export interface TraceHop {
  kind: 'relay' | 'peer';
  nodeId?: number;
  endpoint?: string;
}

export interface TracerouteResult {
  /** Dial to the echo port: tunnel negotiation (when none was up) + SYN/ACK, ms. */
  setupMs: number;
  /** A tunnel was up before the dial (so `setupMs` is the SYN/ACK alone). */
  tunnelWasUp: boolean;
  hops: TraceHop[];
}

export type ProbeMode = 'ping' | 'throughput' | 'traceroute';

export interface ProbeOptions {
  mode?: ProbeMode;
  /** Bytes for a throughput probe (default 1 MiB, at most 4 MiB). */
  bytes?: number;
  timeoutMs?: number;
}

export interface FleetQueryGate {
  /** May `peer` read this node's peer table (trusted, or a shared non-zero group)? */
  mayQuery(peer: number): boolean;
  /** May `peer` make this node probe another (trusted)? */
  mayProbe(peer: number): boolean;
}

const dec = new TextDecoder();
const frame = jsonServiceFrame;

/** This node's peer table as the fleet query answers it (`since`: when each peer's path last changed). */
export function localFleetTable(node: PilotNode, since: ReadonlyMap<number, number>, natType?: FleetNatType): FleetTable {
  const now = node.clock.now();
  const peers: FleetPeer[] = [];
  for (const t of node.tunnels.listPeers().slice(0, MAX_PEERS)) {
    const rec = node.peerRecord(t.nodeId);
    const p: FleetPeer = { nodeId: t.nodeId, path: t.path, pathChanges: t.pathChanges, bytesIn: t.counters.bytesIn, bytesOut: t.counters.bytesOut };
    if (rec.hostname) p.hostname = rec.hostname;
    if (t.endpoint) p.endpoint = t.endpoint;
    const rtt = rec.rtt[rec.rtt.length - 1];
    if (rtt !== undefined) p.rttMs = rtt;
    const s = since.get(t.nodeId);
    if (s !== undefined) p.pathForMs = Math.max(0, now - s);
    if (t.lastRecvMs !== undefined) p.lastRecvAgoMs = Math.max(0, now - t.lastRecvMs);
    peers.push(p);
  }
  const out: FleetTable = { address: formatAddress(node.address), nodeId: node.nodeId, peers };
  if (node.hostname) out.hostname = node.hostname;
  if (natType) out.natType = natType;
  return out;
}

/** `node`'s story of its tunnel to `target`, from its own dial spans (peerNat: when the caller knows it). */
export function localWhy(node: PilotNode, target: number, localNat?: string, peerNat?: string): WhyPathView {
  const t = node.tunnelInfo(target);
  const rec = node.peerRecord(target);
  const input: WhyInput = { nodeId: target, path: t?.path, pathChanges: t?.pathChanges ?? 0, spans: node.tracer.list(100_000) };
  if (rec.hostname) input.hostname = rec.hostname;
  if (t?.endpoint) input.endpoint = t.endpoint;
  if (localNat) input.localNat = localNat;
  if (peerNat) input.peerNat = peerNat;
  return whyThisPath(input);
}

/**
 * The probe a fleet query runs on an asker's behalf: `count` control pings from `node` to `target`,
 * or (mode throughput) `bytes` through the target's echo port and back, timed.
 */
export async function probeFrom(node: PilotNode, target: number, count: number, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const rtts: number[] = [];
  const errors: string[] = [];
  if (opts.mode === 'traceroute') return tracerouteFrom(node, target, count, timeoutMs);
  if (opts.mode === 'throughput') {
    const bytes = Math.min(opts.bytes ?? DEFAULT_PROBE_BYTES, MAX_PROBE_BYTES);
    const out: ProbeResult = { target, rtts, errors };
    try {
      const t0 = performance.now();
      const back = await echo(node, target, randomBytes(bytes), Math.max(timeoutMs, 30_000));
      out.throughput = { bytes: back.length, ms: performance.now() - t0 };
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
    const path = node.tunnels.pathOf(target);
    if (path) out.path = path;
    return out;
  }
  for (let i = 0; i < count; i++) {
    try {
      const rtt = await node.controlPing(target, timeoutMs);
      node.recordRtt(target, rtt);
      rtts.push(rtt);
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
  }
  const out: ProbeResult = { target, rtts, errors };
  const path = node.tunnels.pathOf(target);
  if (path) out.path = path;
  return out;
}

/**
 * `pilotctl traceroute` run from `node`: dial `target`'s echo port (timed: tunnel negotiation when
 * none is up, then SYN/ACK), `count` small round trips over that stream, then the overlay's hops
 * (the beacon relay when the tunnel is relayed, then the peer) with the endpoints this node uses.
 */
export async function tracerouteFrom(node: PilotNode, target: number, count: number, timeoutMs = 5000): Promise<ProbeResult> {
  const rtts: number[] = [];
  const errors: string[] = [];
  const out: ProbeResult = { target, rtts, errors };
  const tunnelWasUp = node.tunnels.isReady(target);
  const t0 = performance.now();
  let s: PilotStream;
  try {
    // The dial may have to make the tunnel: relay comes after 2 s of no direct answer, so allow more.
    s = await node.dial(targetAddress(target), PORTS.echo, Math.max(timeoutMs, TRACEROUTE_DIAL_MS));
  } catch (e) {
    errors.push(`dial: ${e instanceof Error ? e.message : String(e)}`);
    out.traceroute = { setupMs: performance.now() - t0, tunnelWasUp, hops: hopsTo(node, target) };
    return out;
  }
  const setupMs = performance.now() - t0;
  let got = 0;
  let want = 0;
  let wake: (() => void) | undefined;
  s.stopBuffering();
  s.on('data', (c) => {
    got += c.length;
    if (got >= want) wake?.();
  });
  s.on('close', () => wake?.());
  try {
    for (let i = 0; i < count; i++) {
      const payload = new TextEncoder().encode(`trace-${i}`);
      want += payload.length;
      const s0 = performance.now();
      try {
        if (s.closed) throw new PilotError('connection_failed', 'echo stream closed');
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new PilotError('timeout', `no echo within ${timeoutMs} ms`)), timeoutMs);
          wake = () => {
            clearTimeout(timer);
            if (got >= want) resolve();
            else reject(new PilotError('connection_failed', 'echo stream closed'));
          };
          try {
            s.write(payload);
          } catch (e) {
            clearTimeout(timer);
            reject(e instanceof Error ? e : new Error(String(e)));
          }
        });
        rtts.push(performance.now() - s0);
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
        want = got; // a late echo must not satisfy the next round trip early
      } finally {
        wake = undefined;
      }
    }
  } finally {
    if (!s.closed) s.end();
  }
  out.traceroute = { setupMs, tunnelWasUp, hops: hopsTo(node, target) };
  const path = node.tunnels.pathOf(target);
  if (path) out.path = path;
  return out;
}

function hopsTo(node: PilotNode, target: number): TraceHop[] {
  const t = node.tunnelInfo(target);
  return overlayHops(target, t?.path, t?.endpoint, node.beaconAddress);
}

/** The overlay's hops to `target`: through the beacon when relayed, else straight to its endpoint. */
export function overlayHops(target: number, path: string | undefined, endpoint: string | undefined, beacon: string): TraceHop[] {
  const peer: TraceHop = { kind: 'peer', nodeId: target };
  if (path === 'relay') return [{ kind: 'relay', endpoint: beacon }, peer];
  if (endpoint) peer.endpoint = endpoint;
  return [peer];
}

/**
 * Remembers when each peer's path last changed (from the node's tunnel events) and the node's NAT
 * type (one netcheck at start), and answers fleet queries.
 */
export class FleetQueryService {
  private stopListening: (() => void) | undefined;
  private readonly since = new Map<number, number>();
  private natType: FleetNatType | undefined;
  readonly counters = { queries: 0, answered: 0, probes: 0, refused: 0, badQueries: 0 };
  private readonly onTunnel = (ev: TunnelEvent): void => {
    if (ev.type === 'path_changed') this.since.set(ev.nodeId, this.node.clock.now());
  };

  constructor(
    private readonly node: PilotNode,
    private readonly gate: FleetQueryGate,
    private readonly log: Logger,
  ) {}

  start(opts: { netcheck?: boolean } = {}): void {
    this.stopListening = this.node.listen(FLEET_QUERY_PORT, (s) => this.onStream(s));
    this.node.on('tunnel', this.onTunnel);
    if (opts.netcheck !== false) {
      this.node
        .netcheck(1500)
        .then((r) => {
          this.natType = r.natType;
        })
        .catch((e: unknown) => this.log.debug('fleet query: netcheck failed; NAT type unknown', { error: String(e) }));
    }
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = undefined;
    this.node.off('tunnel', this.onTunnel);
  }

  /** When each peer's path last changed (node clock), for the local table. */
  pathSince(): ReadonlyMap<number, number> {
    return this.since;
  }

  table(): FleetTable {
    return localFleetTable(this.node, this.since, this.natType);
  }

  /** This node's story of its tunnel to `target` (fleet-why.ts), from its own dial spans. */
  why(target: number): WhyPathView {
    return localWhy(this.node, target, this.natType);
  }

  private onStream(s: PilotStream): void {
    serveOneFrame(s, MAX_QUERY_BYTES, {
      badFraming: (e) => {
        this.counters.badQueries++;
        this.log.debug('bad fleet query, closing', { peer: s.remote.node, error: String(e) });
      },
      frame: (f, finish) => this.answer(s, f, finish),
    });
  }

  private answer(s: PilotStream, f: ServiceFrame, finish: (type: number, body: unknown) => void): void {
    this.counters.queries++;
    const peer = s.remote.node;
    let parsed: z.infer<typeof query> | undefined;
    try {
      const r = query.safeParse(JSON.parse(dec.decode(f.payload)));
      if (f.type === FLEET_QUERY_TYPE.QUERY && r.success) parsed = r.data;
    } catch {
      // not JSON: answered below
    }
    if (!parsed) {
      this.counters.badQueries++;
      finish(FLEET_QUERY_TYPE.REFUSED, { error: 'bad query: expected {"kind":"peers"} or {"kind":"probe","target":<node id>}' });
      return;
    }
    if (parsed.kind === 'why') {
      if (!this.gate.mayQuery(peer)) {
        this.counters.refused++;
        this.log.info('fleet why refused: peer not trusted and in no shared group', { peer });
        finish(FLEET_QUERY_TYPE.REFUSED, { error: 'not trusted: dial stories are shared only with trusted peers and fellow group members' });
        return;
      }
      this.counters.answered++;
      finish(FLEET_QUERY_TYPE.WHY, this.why(parsed.target));
      return;
    }
    if (parsed.kind === 'peers') {
      if (!this.gate.mayQuery(peer)) {
        this.counters.refused++;
        this.log.info('fleet query refused: peer not trusted and in no shared group', { peer });
        finish(FLEET_QUERY_TYPE.REFUSED, { error: 'not trusted: the peer table is shared only with trusted peers and fellow group members' });
        return;
      }
      const t = this.table();
      this.counters.answered++;
      const body: Record<string, unknown> = { address: t.address, node_id: t.nodeId, peers: t.peers };
      if (t.hostname) body['hostname'] = t.hostname;
      if (t.natType) body['nat_type'] = t.natType;
      finish(FLEET_QUERY_TYPE.PEERS, body);
      return;
    }
    if (!this.gate.mayProbe(peer)) {
      this.counters.refused++;
      this.log.info('fleet probe refused: peer not trusted', { peer, target: parsed.target });
      finish(FLEET_QUERY_TYPE.REFUSED, { error: 'not trusted: this node runs probes only for peers it trusts' });
      return;
    }
    this.counters.probes++;
    const { target } = parsed;
    const opts: ProbeOptions = {};
    if (parsed.mode) opts.mode = parsed.mode;
    if (parsed.bytes) opts.bytes = parsed.bytes;
    probeFrom(this.node, target, parsed.count ?? 3, opts)
      .then((r) => finish(FLEET_QUERY_TYPE.PROBE, r))
      .catch((e: unknown) => {
        this.log.warn('fleet probe failed', { peer, target, error: String(e) });
        finish(FLEET_QUERY_TYPE.REFUSED, { error: `probe failed: ${String(e)}` });
      });
  }
}

async function exchange(node: PilotNode, target: Target, body: unknown, timeoutMs: number): Promise<{ type: number; body: unknown; who: string; remote: number }> {
  const s = await node.dial(targetAddress(target), FLEET_QUERY_PORT, timeoutMs);
  const decoder = new ServiceFrameDecoder(MAX_REPLY_BYTES);
  const reader = new FrameReader<ServiceFrame>(s, (c) => decoder.push(Uint8Array.from(c)));
  try {
    s.stopBuffering();
    await writeOrRefused(s, frame(FLEET_QUERY_TYPE.QUERY, body));
    const f = await reader.next(timeoutMs);
    const who = formatAddress(s.remote);
    if (!f) throw new PilotError('connection_failed', `fleet query: ${who} closed without answering`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(dec.decode(f.payload));
    } catch {
      throw new PilotError('internal', `fleet query: ${who} answered with a frame that is not JSON`);
    }
    if (f.type === FLEET_QUERY_TYPE.REFUSED) {
      const r = refusedReply.safeParse(parsed);
      throw new PilotError('permission_denied', `fleet query refused by ${who}: ${r.success ? r.data.error : 'refused'}`, `ask for trust first: pilotctl handshake ${s.remote.node} "reason"`);
    }
    return { type: f.type, body: parsed, who, remote: s.remote.node };
  } finally {
    if (!s.closed) s.end();
  }
}

/** Asks `target` for its peer table. Refusal → permission_denied; a private node's reset → connection_failed. */
export async function queryFleetPeers(node: PilotNode, target: Target, timeoutMs = 5000): Promise<FleetTable> {
  const r = await exchange(node, target, { kind: 'peers' }, timeoutMs);
  const p = peersReply.safeParse(r.body);
  if (r.type !== FLEET_QUERY_TYPE.PEERS || !p.success) throw new PilotError('internal', `fleet query: ${r.who} sent a malformed reply`);
  const out: FleetTable = { address: p.data.address, nodeId: p.data.node_id, peers: p.data.peers as FleetPeer[] };
  if (p.data.hostname) out.hostname = p.data.hostname;
  if (p.data.nat_type) out.natType = p.data.nat_type;
  return out;
}

/** Asks `from` to ping `to` `count` times (or run a throughput probe, or a traceroute) and report. `from` must trust this node. */
export async function requestProbe(node: PilotNode, from: Target, to: number, count = 3, opts: { mode?: ProbeMode; bytes?: number; timeoutMs?: number } = {}): Promise<ProbeResult> {
  const q: Record<string, unknown> = { kind: 'probe', target: to, count: Math.min(Math.max(1, count), MAX_PROBE_COUNT) };
  if (opts.mode) q['mode'] = opts.mode;
  if (opts.bytes) q['bytes'] = Math.min(opts.bytes, MAX_PROBE_BYTES);
  const r = await exchange(node, from, q, opts.timeoutMs ?? (opts.mode === 'throughput' ? 60_000 : opts.mode === 'traceroute' ? 30_000 : 15_000));
  const p = probeReply.safeParse(r.body);
  if (r.type !== FLEET_QUERY_TYPE.PROBE || !p.success) throw new PilotError('internal', `fleet probe: ${r.who} sent a malformed reply`);
  const out: ProbeResult = { target: p.data.target, rtts: p.data.rtts, errors: p.data.errors };
  if (p.data.path) out.path = p.data.path;
  if (p.data.throughput) out.throughput = p.data.throughput;
  if (p.data.traceroute) out.traceroute = p.data.traceroute as TracerouteResult;
  return out;
}

/** Asks `from` for its story of its tunnel to `to` (trusted peers and group mates). */
export async function requestWhy(node: PilotNode, from: Target, to: number, timeoutMs = 5000): Promise<WhyPathView> {
  const r = await exchange(node, from, { kind: 'why', target: to }, timeoutMs);
  const p = whyReply.safeParse(r.body);
  if (r.type !== FLEET_QUERY_TYPE.WHY || !p.success) throw new PilotError('internal', `fleet why: ${r.who} sent a malformed reply`);
  return p.data as WhyPathView;
}
