/**
 * Metrics of one node in the Prometheus text format (prom-client), for `pilotctl metrics` and the
 * opt-in `/metrics` endpoint (metrics-http.ts).
 *
 * One Registry per node, never prom-client's global one: several nodes share a process in tests and
 * in the fleet. Almost every figure is READ at scrape time from the node's own state (tunnel
 * counters, drops, connections, service counters, registry client stats): nothing is counted twice
 * and the packet path pays nothing. Only control-ping RTTs are observed as they happen, through
 * `node.rttObserver` (one call per reply, into fixed bucket arrays: no allocation after a peer's
 * first sample).
 *
 * Cardinality is bounded: the per-peer series (label `peer`, the address text) cover at most
 * `maxPeers` peers per scrape (default 1,000), the most recently active first;
 * `pilot_metrics_peers_omitted` says how many were left out. RTT histograms are kept for at most
 * `maxPeers` peers (the least recently pinged is forgotten first).
 */
import { Counter, Gauge, Registry, type Metric } from 'prom-client';
import { backboneAddress, formatAddress, type Address } from '../../shared/address';
import type { PeerTrafficCounters } from '../../shared/contract';

// What the collector reads, as small structural interfaces (observe sits below node in the layering:
// a PilotNode and its Services satisfy these without this file importing them).

type Count = Readonly<Record<string, number>>;

/** A peer's tunnel as TunnelManager.listPeers() reports it. */
export interface MetricsPeer {
  nodeId: number;
  path: string;
  lastRecvMs?: number;
  lastSendMs?: number;
  pathChanges: number;
  counters: PeerTrafficCounters & { drops: Readonly<Partial<Record<string, number>>> };
}

/** The part of a stream connection's stats() the collector reads. */
export interface MetricsStreamStats {
  state: string;
  retransmits: number;
  fastRetx: number;
  timeouts: number;
  lostMarked: number;
}

/** The part of a PilotNode the collector reads. */
export interface MetricsNode {
  readonly address: Address;
  readonly hostname: string;
  readonly startedAt: number;
  readonly registryConnected: boolean;
  /** Moves to another registry / beacon address (a node given several backbone instances). */
  readonly backboneFailovers?: { registry: number; beacon: number };
  readonly clock: { now(): number; wallNow(): number };
  readonly counters: { badPackets: number; controlPings: number; datagramsIn: number; datagramsOut: number; refusedUntrusted: number };
  /** Throws while the node is not started. */
  readonly tunnels: {
    readonly totals: { pktsSent: number; pktsRecv: number; bytesSent: number; bytesRecv: number; sendErrors: number };
    readonly keyLookupCount: number;
    drops(): Readonly<Partial<Record<string, number>>>;
    listPeers(): MetricsPeer[];
    pathOf(nodeId: number): string | undefined;
  };
  /** Throws while the node is not started. */
  readonly registry: { stats(): { malformedReplies: number; droppedEvents: number } };
  readonly connectionTable: { connections(): Iterable<{ readonly remoteAddr: Address; stats(): MetricsStreamStats }> };
  rttObserver: ((nodeId: number, rttMs: number) => void) | undefined;
}

/** The built-in services' counters (main/node/services). */
export interface MetricsServices {
  readonly trust: { readonly counters: Count & { received: number; rejectedMessages: number; replays: number } };
  readonly echo?: { readonly counters: Count & { connections: number } } | undefined;
  readonly data?: { readonly counters: Count & { frames: number; errors: number } } | undefined;
  readonly events?: { readonly counters: Count & { published: number; dropped: number } } | undefined;
  readonly tasks?: { readonly counters: Count & { submitsIn: number; ignored: number } } | undefined;
}

type PeerTunnelInfo = MetricsPeer;

export interface MetricsJson {
  address: string;
  /** Peers in the tunnel table. */
  peers: number;
  /** Peers with per-peer series in `metrics`. */
  peers_exported: number;
  metrics: Awaited<ReturnType<Registry['getMetricsAsJSON']>>;
}
type StreamStats = MetricsStreamStats;

export interface NodeMetricsOptions {
  node: MetricsNode;
  /** The node's built-in services (their counters become pilot_service_*). */
  services?: MetricsServices;
  /** Peers exported per scrape and peers whose RTT histogram is kept (default 1,000). */
  maxPeers?: number;
  /** RTT histogram bucket bounds in seconds (default: 100 µs … 5 s). */
  rttBuckets?: number[];
}

export const DEFAULT_MAX_PEERS = 1000;
export const DEFAULT_RTT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Prometheus text exposition format 0.0.4 (what prom-client's default registry writes). */
export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** What one scrape reads from the node, once. */
interface Snapshot {
  peers: PeerTunnelInfo[];
  /** The exported peers (most recently active first), at most maxPeers. */
  selected: PeerTunnelInfo[];
  conns: { remote: number; stats: StreamStats }[];
}

/** One bucket set: counts per bucket (non-cumulative; the last slot is +Inf), sum and count. */
interface Buckets {
  counts: Float64Array;
  sum: number;
  count: number;
}

type Labels = Record<string, string>;

/** Scrape-time metric: a prom-client Counter/Gauge whose values are replaced on every collect. */
type Fill = (set: (labels: Labels, value: number) => void) => void;

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly node: MetricsNode;
  private readonly services: MetricsServices | undefined;
  private readonly maxPeers: number;
  private readonly bounds: number[];
  private readonly peerRtt = new Map<number, Buckets>();
  private readonly pathRtt = new Map<string, Buckets>();
  private snap: Snapshot | undefined;
  private readonly observer = (nodeId: number, rttMs: number): void => this.observeRtt(nodeId, rttMs);

  constructor(o: NodeMetricsOptions) {
    this.node = o.node;
    this.services = o.services;
    this.maxPeers = Math.max(1, o.maxPeers ?? DEFAULT_MAX_PEERS);
    this.bounds = [...(o.rttBuckets ?? DEFAULT_RTT_BUCKETS)].sort((a, b) => a - b);
    this.define();
    this.node.rttObserver = this.observer;
  }

  /** Stops observing RTTs (the registry keeps answering from the node's state). */
  close(): void {
    if (this.node.rttObserver === this.observer) this.node.rttObserver = undefined;
  }

  /**
   * The text exposition (Content-Type: PROMETHEUS_CONTENT_TYPE). `maxPeers` lowers this scrape's
   * per-peer cap (the IPC answer must fit one frame).
   */
  async text(o: { maxPeers?: number } = {}): Promise<string> {
    return this.scrape(o.maxPeers, () => this.registry.metrics());
  }

  /** The same figures as prom-client's JSON (name, help, type, values[{labels, value}]). */
  async json(o: { maxPeers?: number } = {}): Promise<MetricsJson> {
    return this.scrape(o.maxPeers, async () => {
      const s = this.current();
      return { address: formatAddress(this.node.address), peers: s.peers.length, peers_exported: s.selected.length, metrics: await this.registry.getMetricsAsJSON() };
    });
  }

  /** Records one RTT sample (the node's rttObserver; public for faces that measure RTT elsewhere). */
  observeRtt(nodeId: number, rttMs: number): void {
    const s = rttMs / 1000;
    let b = this.peerRtt.get(nodeId);
    if (b) {
      // Map order is the recency order: move this peer to the end.
      this.peerRtt.delete(nodeId);
    } else {
      b = this.buckets();
      if (this.peerRtt.size >= this.maxPeers) {
        const oldest = this.peerRtt.keys().next();
        if (!oldest.done) this.peerRtt.delete(oldest.value);
      }
    }
    this.peerRtt.set(nodeId, b);
    this.add(b, s);
    let path = 'pending';
    try {
      path = this.node.tunnels.pathOf(nodeId) ?? 'pending';
    } catch {
      // node stopped between the reply and here
    }
    let pb = this.pathRtt.get(path);
    if (!pb) this.pathRtt.set(path, (pb = this.buckets()));
    this.add(pb, s);
  }

  // ---- internals ---------------------------------------------------------------------------

  private buckets(): Buckets {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }

  private add(b: Buckets, s: number): void {
    let i = 0;
    while (i < this.bounds.length && s > this.bounds[i]!) i++;
    b.counts[i]!++;
    b.sum += s;
    b.count++;
  }

  private async scrape<T>(maxPeers: number | undefined, fn: () => Promise<T>): Promise<T> {
    this.snap = this.take(maxPeers);
    try {
      return await fn();
    } finally {
      this.snap = undefined;
    }
  }

  /** The snapshot of the scrape in progress (a fresh one when the registry is read directly). */
  private current(): Snapshot {
    return this.snap ?? this.take();
  }

  private take(maxPeers = this.maxPeers): Snapshot {
    const cap = Math.max(0, Math.min(maxPeers, this.maxPeers));
    let peers: PeerTunnelInfo[] = [];
    try {
      peers = this.node.tunnels.listPeers();
    } catch {
      // not started
    }
    const active = (p: PeerTunnelInfo): number => Math.max(p.lastRecvMs ?? -Infinity, p.lastSendMs ?? -Infinity);
    const selected = peers.length <= cap ? peers : [...peers].sort((a, b) => active(b) - active(a)).slice(0, cap);
    const conns = [...this.node.connectionTable.connections()].map((c) => ({ remote: c.remoteAddr.node, stats: c.stats() }));
    return { peers, selected, conns };
  }

  private counter(name: string, help: string, labelNames: string[], fill: Fill): void {
    this.registry.registerMetric(
      new Counter({
        name,
        help,
        labelNames,
        registers: [],
        collect() {
          this.reset();
          fill((labels, v) => this.inc(labels, v));
        },
      }),
    );
  }

  private gauge(name: string, help: string, labelNames: string[], fill: Fill): void {
    this.registry.registerMetric(
      new Gauge({
        name,
        help,
        labelNames,
        registers: [],
        collect() {
          this.reset();
          fill((labels, v) => this.set(labels, v));
        },
      }),
    );
  }

  /** A histogram read from bucket arrays at scrape time (prom-client's Histogram can only observe). */
  private histogram(name: string, help: string, rows: () => [Labels, Buckets][]): void {
    const bounds = this.bounds;
    const metric = {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      async get() {
        const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
        for (const [labels, b] of rows()) {
          let cum = 0;
          for (let i = 0; i <= bounds.length; i++) {
            cum += b.counts[i]!;
            values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: i < bounds.length ? bounds[i]! : '+Inf' }, value: cum });
          }
          values.push({ metricName: `${name}_sum`, labels, value: b.sum }, { metricName: `${name}_count`, labels, value: b.count });
        }
        return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
      },
    };
    // The registry only calls get() and reads name/type; prom-client's types list its own classes.
    this.registry.registerMetric(metric as unknown as Metric);
  }

  private peerLabel(nodeId: number): string {
    return formatAddress(backboneAddress(nodeId));
  }

  private define(): void {
    const node = this.node;
    const snap = (): Snapshot => this.current();
    const tunnels = () => {
      try {
        return node.tunnels;
      } catch {
        return undefined;
      }
    };
    const cap = `at most ${this.maxPeers} peers per scrape, the most recently active; pilot_metrics_peers_omitted counts the rest`;

    // ---- node ----
    this.gauge('pilot_node_info', 'The node: its address and hostname (value 1).', ['address', 'hostname'], (set) =>
      set({ address: formatAddress(node.address), hostname: node.hostname }, 1),
    );
    this.gauge('pilot_node_start_time_seconds', 'When the node started, seconds since the Unix epoch.', [], (set) => set({}, node.startedAt / 1000));
    this.gauge('pilot_registry_connected', 'Whether the registry answered the last heartbeat (1) or not (0).', [], (set) => set({}, node.registryConnected ? 1 : 0));
    this.counter('pilot_registry_malformed_replies_total', 'Registry replies that did not match their schema.', [], (set) => set({}, registryStats(node)?.malformedReplies ?? 0));
    this.counter('pilot_registry_dropped_events_total', 'Pushed registry events that did not match their schema, dropped.', [], (set) => set({}, registryStats(node)?.droppedEvents ?? 0));
    this.counter('pilot_registry_failovers_total', 'Connections made to another registry than the last one (several backbone addresses).', [], (set) => set({}, node.backboneFailovers?.registry ?? 0));
    this.counter('pilot_beacon_failovers_total', 'Switches of the beacon used for punch requests and relay to another one (several beacon addresses).', [], (set) => set({}, node.backboneFailovers?.beacon ?? 0));
    this.counter('pilot_registry_key_lookups_total', 'Registry key lookups made for key exchanges.', [], (set) => set({}, tunnels()?.keyLookupCount ?? 0));

    // ---- tunnels, whole node ----
    const totals = () => tunnels()?.totals;
    this.counter('pilot_tunnel_sent_packets_total', 'UDP datagrams sent from the tunnel socket.', [], (set) => set({}, totals()?.pktsSent ?? 0));
    this.counter('pilot_tunnel_received_packets_total', 'UDP datagrams received on the tunnel socket.', [], (set) => set({}, totals()?.pktsRecv ?? 0));
    this.counter('pilot_tunnel_sent_bytes_total', 'Bytes sent from the tunnel socket.', [], (set) => set({}, totals()?.bytesSent ?? 0));
    this.counter('pilot_tunnel_received_bytes_total', 'Bytes received on the tunnel socket.', [], (set) => set({}, totals()?.bytesRecv ?? 0));
    this.counter('pilot_tunnel_send_errors_total', 'Datagrams the socket refused to send.', [], (set) => set({}, totals()?.sendErrors ?? 0));
    this.counter('pilot_tunnel_dropped_frames_total', 'Frames dropped by the tunnel layer, by reason (every peer, known or not).', ['reason'], (set) => {
      for (const [reason, n] of Object.entries(tunnels()?.drops() ?? {})) set({ reason }, n ?? 0);
    });
    this.gauge('pilot_peers', 'Peers in the tunnel table, by path.', ['path'], (set) => {
      const by = new Map<string, number>();
      for (const p of snap().peers) by.set(p.path, (by.get(p.path) ?? 0) + 1);
      for (const [path, n] of by) set({ path }, n);
    });
    this.gauge('pilot_metrics_peers_omitted', `Peers left out of the per-peer series of this scrape (they cover at most ${this.maxPeers} peers, fewer when the scrape asks, the most recently active first).`, [], (set) =>
      set({}, snap().peers.length - snap().selected.length),
    );

    // ---- node counters ----
    const nc = node.counters;
    this.counter('pilot_bad_packets_total', 'Decrypted packets that did not decode (or had an unknown protocol).', [], (set) => set({}, nc.badPackets));
    this.counter('pilot_control_pings_answered_total', 'Control pings this node answered.', [], (set) => set({}, nc.controlPings));
    this.counter('pilot_datagrams_received_total', 'Pilot datagrams received.', [], (set) => set({}, nc.datagramsIn));
    this.counter('pilot_datagrams_sent_total', 'Pilot datagrams sent.', [], (set) => set({}, nc.datagramsOut));
    this.counter('pilot_streams_refused_untrusted_total', 'Inbound streams refused by trust enforcement.', [], (set) => set({}, nc.refusedUntrusted));

    // ---- streams (connections in the table only: closed ones leave it, so these are gauges) ----
    this.gauge('pilot_stream_connections', 'Stream connections in the table, by state.', ['state'], (set) => {
      const by = new Map<string, number>();
      for (const c of snap().conns) by.set(c.stats.state, (by.get(c.stats.state) ?? 0) + 1);
      for (const [state, n] of by) set({ state }, n);
    });
    const streamSum = (f: (s: StreamStats) => number) => (set: (l: Labels, v: number) => void) => set({}, snap().conns.reduce((a, c) => a + f(c.stats), 0));
    this.gauge('pilot_stream_retransmits', 'Segments retransmitted on the stream connections still in the table (a sum over them: falls when one leaves).', [], streamSum((s) => s.retransmits));
    this.gauge('pilot_stream_fast_retransmits', 'Fast retransmissions on the stream connections still in the table.', [], streamSum((s) => s.fastRetx));
    this.gauge('pilot_stream_timeouts', 'Retransmission timeouts on the stream connections still in the table.', [], streamSum((s) => s.timeouts));
    this.gauge('pilot_stream_lost_segments', 'Segments deemed lost on the stream connections still in the table.', [], streamSum((s) => s.lostMarked));

    // ---- services ----
    this.counter('pilot_service_requests_total', 'Requests handled by a built-in service (echo: connections; dataexchange: frames; eventstream: publishes; tasks: submits; trust: messages).', ['service'], (set) => {
      for (const r of serviceRows(this.services)) set({ service: r.service }, r.requests);
    });
    this.counter('pilot_service_errors_total', 'Requests a built-in service failed or rejected as malformed (dataexchange: errors; eventstream: dropped deliveries; tasks: ignored; trust: rejected and replayed).', ['service'], (set) => {
      for (const r of serviceRows(this.services)) set({ service: r.service }, r.errors);
    });
    this.counter('pilot_service_events_total', "Every counter of every built-in service, by the counter's name.", ['service', 'event'], (set) => {
      for (const r of serviceRows(this.services)) for (const [event, n] of Object.entries(r.raw)) set({ service: r.service, event: snake(event) }, n);
    });

    // ---- per peer (bounded) ----
    const perPeer = (f: (p: PeerTunnelInfo, set: (l: Labels, v: number) => void, peer: string) => void): Fill => (set) => {
      for (const p of snap().selected) f(p, set, this.peerLabel(p.nodeId));
    };
    this.counter('pilot_peer_sent_bytes_total', `Tunnel bytes sent to the peer (${cap}).`, ['peer'], perPeer((p, set, peer) => set({ peer }, p.counters.bytesOut)));
    this.counter('pilot_peer_received_bytes_total', `Tunnel bytes received from the peer (${cap}).`, ['peer'], perPeer((p, set, peer) => set({ peer }, p.counters.bytesIn)));
    this.counter('pilot_peer_sent_frames_total', `Tunnel frames sent to the peer (${cap}).`, ['peer'], perPeer((p, set, peer) => set({ peer }, p.counters.framesOut)));
    this.counter('pilot_peer_received_frames_total', `Tunnel frames received from the peer (${cap}).`, ['peer'], perPeer((p, set, peer) => set({ peer }, p.counters.framesIn)));
    this.counter('pilot_peer_relayed_frames_total', `Frames to/from the peer that went through the beacon relay (${cap}).`, ['peer', 'direction'], perPeer((p, set, peer) => {
      set({ peer, direction: 'sent' }, p.counters.relayedOut);
      set({ peer, direction: 'received' }, p.counters.relayedIn);
    }));
    this.counter('pilot_peer_key_exchanges_total', `Key exchanges with the peer (${cap}).`, ['peer', 'direction'], perPeer((p, set, peer) => {
      set({ peer, direction: 'sent' }, p.counters.keyExchangesSent);
      set({ peer, direction: 'received' }, p.counters.keyExchangesReceived);
    }));
    this.counter('pilot_peer_dropped_frames_total', `Frames from the peer dropped, by reason (${cap}).`, ['peer', 'reason'], perPeer((p, set, peer) => {
      for (const [reason, n] of Object.entries(p.counters.drops)) set({ peer, reason }, n ?? 0);
    }));
    this.counter('pilot_peer_path_changes_total', `Path changes of the tunnel to the peer (${cap}).`, ['peer'], perPeer((p, set, peer) => set({ peer }, p.pathChanges)));
    this.gauge('pilot_peer_path', `The tunnel's current path to the peer (value 1; ${cap}).`, ['peer', 'path'], perPeer((p, set, peer) => set({ peer, path: p.path }, 1)));
    this.gauge('pilot_peer_last_activity_seconds', `When a frame last went to or came from the peer, seconds since the Unix epoch (${cap}).`, ['peer'], (set) => {
      const wallMinusMono = node.clock.wallNow() - node.clock.now();
      for (const p of snap().selected) {
        const t = Math.max(p.lastRecvMs ?? -Infinity, p.lastSendMs ?? -Infinity);
        if (Number.isFinite(t)) set({ peer: this.peerLabel(p.nodeId) }, (t + wallMinusMono) / 1000);
      }
    });
    this.gauge('pilot_peer_stream_connections', `Stream connections with the peer in the table, any state (${cap}).`, ['peer'], (set) => this.perPeerStreams(set, () => 1));
    this.gauge('pilot_peer_stream_retransmits', `Segments retransmitted on the stream connections with the peer still in the table (${cap}; falls when one leaves).`, ['peer'], (set) =>
      this.perPeerStreams(set, (s) => s.retransmits),
    );

    // ---- RTT (observed as replies arrive) ----
    this.histogram('pilot_rtt_seconds', 'Control ping round-trip time, by the path at the reply.', () => [...this.pathRtt].map(([path, b]): [Labels, Buckets] => [{ path }, b]));
    this.histogram('pilot_peer_rtt_seconds', `Control ping round-trip time per peer (${cap}).`, () => {
      const rows: [Labels, Buckets][] = [];
      for (const p of snap().selected) {
        const b = this.peerRtt.get(p.nodeId);
        if (b) rows.push([{ peer: this.peerLabel(p.nodeId) }, b]);
      }
      return rows;
    });
  }

  private perPeerStreams(set: (l: Labels, v: number) => void, f: (s: StreamStats) => number): void {
    const s = this.current();
    const wanted = new Set(s.selected.map((p) => p.nodeId));
    const by = new Map<number, number>();
    for (const c of s.conns) if (wanted.has(c.remote)) by.set(c.remote, (by.get(c.remote) ?? 0) + f(c.stats));
    for (const [id, n] of by) set({ peer: this.peerLabel(id) }, n);
  }
}

function registryStats(node: MetricsNode): ReturnType<MetricsNode['registry']['stats']> | undefined {
  try {
    return node.registry.stats();
  } catch {
    return undefined;
  }
}

interface ServiceRow {
  service: string;
  requests: number;
  errors: number;
  raw: Record<string, number>;
}

function serviceRows(s: MetricsServices | undefined): ServiceRow[] {
  if (!s) return [];
  const rows: ServiceRow[] = [];
  const t = s.trust.counters;
  rows.push({ service: 'trust', requests: t.received, errors: t.rejectedMessages + t.replays, raw: t });
  if (s.echo) rows.push({ service: 'echo', requests: s.echo.counters.connections, errors: 0, raw: s.echo.counters });
  if (s.data) rows.push({ service: 'dataexchange', requests: s.data.counters.frames, errors: s.data.counters.errors, raw: s.data.counters });
  if (s.events) rows.push({ service: 'eventstream', requests: s.events.counters.published, errors: s.events.counters.dropped, raw: s.events.counters });
  if (s.tasks) rows.push({ service: 'tasks', requests: s.tasks.counters.submitsIn, errors: s.tasks.counters.ignored, raw: s.tasks.counters });
  return rows;
}

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
