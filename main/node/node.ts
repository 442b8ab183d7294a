/**
 * The Pilot node: identity, one UDP tunnel socket, registration with the backbone, streams over the
 * pure transport, datagrams, control pings, and the peer view the faces (daemon IPC, console) show.
 * No Electron, no CLI: a plain object with start/stop and typed events.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { PilotError, isPilotError } from '../../shared/errors';
import { backboneAddress, formatAddress, PORTS, type Address } from '../../shared/address';
import { getCrypto, type CryptoBackend, type Identity } from '../crypto';
import {
  decodePacket,
  encodePacket,
  encodePacketInto,
  HEADER_SIZE,
  FLAG_ACK,
  PROTO_CONTROL,
  PROTO_DATAGRAM,
  PROTO_STREAM,
  type Packet,
} from '../wire/packet';
import type { BeaconMessage } from '../wire/beacon';
import { ConnectionTable, type CloseReason, type Segment, type StreamConnection } from '../transport';
import { systemClock, type Clock, type TimerHandle } from '../util/clock';
import { silentLogger, type Logger } from '../util/log';
import { RegistryClient, type EventSubscription } from './registry-client';
import { PeerDirectory } from './peer-directory';
import type { ResolveHostnameOk } from '../wire/registry';
import { parseAddressList } from './backbone-failover';
import { BeaconClient } from './beacon-client';
import { PilotStream, type StreamDriver } from './stream';
import { TunnelManager, type PeerTunnelInfo, type TunnelEvent } from './tunnels';
import { Tracer, type ParentLike, type Span } from '../observe/tracer';
import { DialTracing } from './node-tracing';
import { bindUdp, endpointKey, formatEndpoint, parseEndpoint, type DatagramSocket, type UdpEndpoint } from './udp';

export type { ConnEvent, DatagramMessage, NetcheckReport, NodeEvents, NodeOptions, PeerRecord, ResolvedTarget } from './node-types';
import type { NetcheckReport, NodeEvents, NodeOptions, PeerRecord, ResolvedTarget } from './node-types';

type Listener = (s: PilotStream) => void;

export class PilotNode extends EventEmitter<NodeEvents> {
  readonly identity: Identity;
  readonly backend: CryptoBackend;
  readonly clock: Clock;
  readonly log: Logger;
  /** Every configured registry / beacon address, in order of preference. */
  readonly registryAddresses: string[];
  readonly beaconAddresses: string[];
  readonly startedAt: number;
  hostname: string;
  tags: string[];
  isPublic: boolean;

  private socket: DatagramSocket | undefined;
  private tunnelsValue: TunnelManager | undefined;
  private registryValue: RegistryClient | undefined;
  private beacons: BeaconClient | undefined;
  private events: EventSubscription | undefined;
  private table: ConnectionTable;
  private timer: TimerHandle | undefined;
  private timerAt = Infinity;
  private heartbeatTimer: TimerHandle | undefined;
  private heartbeatFailures = 0;
  private nodeIdValue = 0;
  private publicEndpointValue: UdpEndpoint | undefined;
  private readonly streams = new Map<StreamConnection, PilotStream>();
  private readonly dialWaiters = new Map<StreamConnection, { resolve: (s: PilotStream) => void; reject: (e: Error) => void }>();
  private readonly portListeners = new Map<number, Listener>();
  private readonly pingWaiters = new Map<number, { resolve: (rtt: number) => void; sentAt: number }>();
  private pingSeq = 1;
  /** Peer records (PeerDirectory): hostname, tags, groups, NAT flag, key, RTTs. */
  readonly peers: Map<number, PeerRecord>;
  private readonly directory: PeerDirectory;
  readonly counters = { badPackets: 0, controlPings: 0, datagramsIn: 0, datagramsOut: 0, refusedUntrusted: 0 };
  /**
   * Called with every control ping's measured RTT (milliseconds) as its reply arrives (metrics:
   * main/observe/metrics.ts). One slot; it must be cheap and must not throw.
   */
  rttObserver: ((nodeId: number, rttMs: number) => void) | undefined = undefined;
  /** Decides whether a peer may open a stream to a local port (trust enforcement); default: all. */
  admission: (remoteNode: number, port: number) => boolean = () => true;
  private running = false;
  private readonly driver: StreamDriver;
  /** This node's spans (dial stages, streams, registry calls, services): a bounded ring. */
  readonly tracer: Tracer;
  private readonly dials: DialTracing;
  /** Open stream-lifetime spans, ended when the connection closes. */
  private readonly streamSpans = new Map<StreamConnection, Span>();

  constructor(private readonly opts: NodeOptions) {
    super();
    this.identity = opts.identity;
    this.backend = opts.backend ?? getCrypto();
    this.clock = opts.clock ?? systemClock;
    this.log = (opts.log ?? silentLogger).child({ component: 'node' });
    this.registryAddresses = listOf(opts.registry ?? '127.0.0.1:9000');
    this.beaconAddresses = listOf(opts.beacon ?? '127.0.0.1:9001');
    this.hostname = opts.hostname ?? '';
    this.tags = opts.tags ?? [];
    this.isPublic = opts.public ?? false;
    this.startedAt = this.clock.wallNow();
    this.tracer =
      opts.tracer ??
      new Tracer(() => this.hostname || this.addressText(), { enabled: opts.tracing ?? true, address: () => this.addressText() });
    this.dials = new DialTracing(this.tracer, () => this.clock.now());
    this.directory = new PeerDirectory({
      clock: this.clock,
      log: this.log,
      registry: () => this.registryValue,
      tunnels: () => this.tunnels,
      nodeId: () => this.nodeIdValue,
      dialParent: (id) => this.dials.current(id),
    });
    this.peers = this.directory.records;
    this.table = this.makeTable();
    this.driver = {
      write: (conn, data) => {
        const n = conn.write(data, this.clock.now());
        this.rearm();
        return n;
      },
      end: (conn) => {
        conn.close(this.clock.now());
        this.rearm();
      },
      abort: (conn) => {
        conn.abort(this.clock.now());
        this.rearm();
      },
    };
  }

  get nodeId(): number {
    return this.nodeIdValue;
  }
  private addressCache: { id: number; text: string } | undefined;
  /** The address text, formatted once per node id (every span records it). */
  private addressText(): string {
    if (this.addressCache?.id !== this.nodeIdValue) this.addressCache = { id: this.nodeIdValue, text: formatAddress(this.address) };
    return this.addressCache.text;
  }
  get address(): Address {
    return backboneAddress(this.nodeIdValue);
  }
  get tunnels(): TunnelManager {
    if (!this.tunnelsValue) throw new PilotError('not_running', 'node is not started');
    return this.tunnelsValue;
  }
  get registry(): RegistryClient {
    if (!this.registryValue) throw new PilotError('not_running', 'node is not started');
    return this.registryValue;
  }
  /** The registry in use (`host:port`). */
  get registryAddress(): string {
    return this.registryValue?.current ?? this.registryAddresses[0]!;
  }
  /** The beacon in use for punch requests and relay (`host:port`). */
  get beaconAddress(): string {
    return this.beacons ? formatEndpoint(this.beacons.active) : this.beaconAddresses[0]!;
  }
  /** Registry failovers and beacon switches since start. */
  get backboneFailovers(): { registry: number; beacon: number } {
    return { registry: this.registryValue?.stats().failovers ?? 0, beacon: this.beacons?.set.switches ?? 0 };
  }
  get registryConnected(): boolean {
    return this.heartbeatFailures === 0 && !!this.registryValue;
  }
  get tunnelEndpoint(): UdpEndpoint | undefined {
    return this.socket?.local();
  }
  get publicEndpoint(): UdpEndpoint | undefined {
    return this.publicEndpointValue;
  }
  /**
   * Whether the beacon sees us at an address that is not one of our own (we sit behind a NAT);
   * undefined when the beacon did not answer.
   */
  get behindNat(): boolean | undefined {
    const pub = this.publicEndpointValue;
    if (!pub) return undefined;
    const local = this.socket?.local();
    if (local && local.host === pub.host) return false;
    return !this.localAddresses().includes(pub.host);
  }
  get connectionTable(): ConnectionTable {
    return this.table;
  }
  boundPorts(): number[] {
    return [...this.portListeners.keys()];
  }

  // ---- lifecycle ----------------------------------------------------------------------------

  async start(): Promise<void> {
    if (this.running) return;
    const beaconList = parseAddressList(this.beaconAddresses, 'beacon');
    const beacons = new BeaconClient(
      beaconList,
      {
        clock: this.clock,
        log: this.log.child({ component: 'beacon-client' }),
        sendDiscover: (to) => this.tunnelsValue?.sendBeacon({ type: 'discover', nodeId: this.nodeIdValue }, to),
        onActive: (to) => {
          if (this.tunnelsValue) this.tunnelsValue.beacon = to;
        },
      },
      this.opts.beaconProbeMs,
    );
    this.beacons = beacons;
    const beacon = beacons.active;
    const listen = parseEndpoint(this.opts.listen ?? '0.0.0.0:0', '0.0.0.0');
    if (!listen) throw new PilotError('invalid_argument', `invalid listen address "${this.opts.listen}"`, 'use host:port or :port');
    this.socket = this.opts.socket ?? (await bindUdp(listen.host, listen.port));
    this.tunnelsValue = new TunnelManager({
      identity: this.identity,
      socket: this.socket,
      clock: this.clock,
      log: this.log.child({ component: 'tunnel' }),
      backend: this.backend,
      beacon,
      isBeacon: (from) => beacons.isBeacon(from),
      encrypt: this.opts.encrypt ?? true,
      lookupKey: (id) => this.directory.lookupKey(id),
      onPacket: (pkt, from) => this.onPacket(pkt, from),
      onBeacon: (m, from) => this.onBeacon(m, from),
      onEvent: (ev) => this.onTunnelEvent(ev),
      onDialStage: (st) => this.dials.stage(st),
      selfBehindNat: () => this.behindNat,
      peerBehindNat: (id) => this.peers.get(id)?.behindNat,
      ...this.opts.tunnel,
    });
    this.registryValue = new RegistryClient({
      address: this.registryAddresses,
      identity: this.identity,
      logger: this.log.child({ component: 'registry-client' }),
      tracer: this.tracer,
      // Another backbone instance: register there too (same key → same address in a shared directory).
      onFailover: (from, to) => {
        if (!this.running || this.nodeIdValue === 0) return;
        this.beacons?.probeNow();
        this.register().then(
          () => this.log.info('re-registered after registry failover', { node: this.nodeIdValue, from, to }),
          (e: unknown) => this.log.warn('re-registration after registry failover failed', { registry: to, error: String(e) }),
        );
      },
    });
    this.running = true;

    // Learn our public endpoint from the beacon, from the tunnel socket itself, so the registered
    // port is the tunnel's own NAT mapping (with several beacons: all asked, the active one's answer).
    if (beacons.several) {
      const seen = await Promise.allSettled(beaconList.map((b) => this.discover(2000, b)));
      beacons.settle(seen.map((r) => r.status === 'fulfilled'));
      const mine = seen[beacons.set.activeIndex];
      this.publicEndpointValue = mine?.status === 'fulfilled' ? mine.value : undefined;
    } else this.publicEndpointValue = await this.discover(2000).catch(() => undefined);
    await this.register();
    this.scheduleHeartbeat();
    beacons.start();
    this.events = this.registry.subscribeEvents({
      onEvent: (e) => this.emit('registry', e),
      onStatus: (s) => this.emit('registryStatus', s.connected),
    });
    this.events.ready.catch((e: unknown) => this.log.warn('registry event subscription refused', { error: String(e) }));
    this.log.info('node started', {
      address: formatAddress(this.address),
      hostname: this.hostname || undefined,
      tunnel: formatEndpoint(this.socket.local()),
      public_endpoint: this.publicEndpointValue ? formatEndpoint(this.publicEndpointValue) : undefined,
    });
    this.emit('started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.heartbeatTimer) this.clock.clearTimeout(this.heartbeatTimer);
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.beacons?.stop();
    this.table.shutdown(this.clock.now());
    for (const span of this.streamSpans.values()) span.end('error');
    this.streamSpans.clear();
    for (const [, w] of this.dialWaiters) w.reject(new PilotError('unavailable', 'node is shutting down'));
    this.dialWaiters.clear();
    this.events?.close();
    this.registryValue?.close();
    await this.tunnelsValue?.close();
    this.log.info('node stopped');
    this.emit('stopped');
  }

  private async register(): Promise<void> {
    const listenAddr = this.publicEndpointValue
      ? `${this.publicEndpointValue.host}:${this.publicEndpointValue.port}`
      : `127.0.0.1:${this.socket!.local().port}`;
    const behindNat = this.behindNat;
    const reg = await this.registry.register({
      listenAddr,
      ...(this.opts.owner ? { owner: this.opts.owner } : {}),
      ...(behindNat !== undefined ? { behindNat } : {}),
    });
    this.nodeIdValue = reg.node_id;
    this.tunnels.nodeId = reg.node_id;
    this.beacons?.discoverAll();
    if (this.hostname) {
      await this.registry.setHostname(this.hostname).catch((e: unknown) => {
        this.log.warn('hostname not applied', { hostname: this.hostname, error: String(e) });
        throw e;
      });
    }
    if (this.tags.length) await this.registry.setTags(this.tags);
    if (this.isPublic) await this.registry.setVisibility(true);
    this.heartbeatFailures = 0;
    this.emit('registered', reg.node_id, listenAddr);
  }

  private scheduleHeartbeat(): void {
    const period = this.opts.heartbeatMs ?? 30_000;
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.heartbeat()
        .catch((e: unknown) => this.log.warn('heartbeat failed', { error: e instanceof Error ? e.message : String(e) }))
        .finally(() => {
          if (this.running) this.scheduleHeartbeat();
        });
    }, period);
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.registry.heartbeat();
      if (this.heartbeatFailures > 0) this.log.info('registry reachable again');
      this.heartbeatFailures = 0;
      this.beacons?.discoverAll();
    } catch (e) {
      this.heartbeatFailures++;
      this.log.warn('heartbeat failed', { failures: this.heartbeatFailures, error: String(e) });
      // The registry forgot us (restart without state, or reaped): register again, same key → same id.
      if (this.heartbeatFailures >= 3 || (isPilotError(e) && e.code === 'not_found')) {
        try {
          await this.register();
          this.log.info('re-registered', { node: this.nodeIdValue });
        } catch (e2) {
          this.log.warn('re-registration failed', { error: String(e2) });
        }
      }
    }
  }

  /** Asks a beacon (default ours) for our public endpoint (STUN-like), from the tunnel socket. */
  discover(timeoutMs = 2000, to?: UdpEndpoint): Promise<UdpEndpoint> {
    const target = to ?? this.tunnels.beacon;
    if (!target) return Promise.reject(new PilotError('invalid_state', 'no beacon configured'));
    const key = endpointKey(target);
    return new Promise((resolve, reject) => {
      const handler = (ep: UdpEndpoint, from: UdpEndpoint): void => {
        if (endpointKey(from) !== key && !(to === undefined && from.port === target.port)) return;
        this.clock.clearTimeout(t);
        this.discoverWaiters.delete(handler);
        resolve(ep);
      };
      const t = this.clock.setTimeout(() => {
        this.discoverWaiters.delete(handler);
        reject(new PilotError('timeout', `no discover reply from ${formatEndpoint(target)} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.discoverWaiters.add(handler);
      this.tunnels.sendBeacon({ type: 'discover', nodeId: this.nodeIdValue }, target);
    });
  }
  private readonly discoverWaiters = new Set<(ep: UdpEndpoint, from: UdpEndpoint) => void>();

  /**
   * What the beacon sees of our NAT (like `tailscale netcheck`): our public endpoint as seen by the
   * beacon and by the netcheck reflector (a second port), from the tunnel socket. Equal mappings →
   * endpoint-independent (hole punching works); different → endpoint-dependent (expect relay).
   */
  async netcheck(timeoutMs = 2000): Promise<NetcheckReport> {
    const beacon = this.tunnels.beacon;
    if (!beacon) throw new PilotError('invalid_state', 'no beacon configured');
    const alt = parseEndpoint(this.opts.netcheck ?? `${beacon.host}:${beacon.port + 1}`);
    const local = this.socket!.local();
    const [primary, secondary] = await Promise.allSettled([this.discover(timeoutMs, beacon), alt ? this.discover(timeoutMs, alt) : Promise.reject(new Error('none'))]);
    const report: NetcheckReport = {
      tunnelLocal: formatEndpoint(local),
      beacon: formatEndpoint(beacon),
      mapping: 'unknown',
      natType: 'unknown',
      hint: '',
    };
    if (alt) report.netcheckServer = formatEndpoint(alt);
    if (primary.status !== 'fulfilled') {
      report.hint = `the beacon at ${formatEndpoint(beacon)} did not answer: check --beacon`;
      return report;
    }
    const p = primary.value;
    this.publicEndpointValue = p;
    report.publicEndpoint = formatEndpoint(p);
    const behindNat = this.behindNat ?? true;
    report.portPreserved = p.port === local.port;
    if (secondary.status === 'fulfilled') {
      const q = secondary.value;
      report.publicEndpointAlt = formatEndpoint(q);
      report.mapping = q.host === p.host && q.port === p.port ? 'endpoint-independent' : 'endpoint-dependent';
    }
    if (!behindNat) {
      report.natType = 'none';
      report.hint = 'public address: peers can reach this node directly';
    } else if (report.mapping === 'endpoint-dependent') {
      report.natType = 'symmetric';
      report.hint = 'the NAT picks a new port per destination: hole punching will fail, traffic to other NATed peers goes through the relay';
    } else if (report.mapping === 'endpoint-independent') {
      report.natType = report.portPreserved ? 'port-preserving' : 'cone';
      report.hint = 'the NAT keeps one mapping for all destinations: hole punching works';
    } else {
      report.natType = 'unknown';
      report.hint = 'behind a NAT; the netcheck port did not answer, so the mapping behaviour is unknown';
    }
    return report;
  }

  private onBeacon(m: BeaconMessage, from: UdpEndpoint): void {
    if (m.type === 'discover_reply') {
      this.beacons?.answered(from);
      const ep = { host: m.ip, port: m.port };
      for (const w of [...this.discoverWaiters]) w(ep, from);
    }
  }

  peerRecord(nodeId: number): PeerRecord {
    return this.directory.record(nodeId);
  }

  // ---- targets and tunnels --------------------------------------------------------------------

  /** A hostname at the registry (PeerDirectory.resolveHostname: signed, its endpoint kept for the dial that follows). */
  resolveHostname(hostname: string, parent?: ParentLike): Promise<ResolveHostnameOk> {
    return this.directory.resolveHostname(hostname, parent);
  }

  /** `0:0000.0000.0007`, a decimal node id, or a hostname (resolved at the registry). */
  resolveTarget(text: string, parent?: ParentLike): Promise<ResolvedTarget> {
    return this.directory.resolveTarget(text, parent);
  }

  /** Makes sure frames can flow to `nodeId` (resolve at the registry, then key exchange / punch / relay). */
  async ensureTunnel(nodeId: number, parent?: ParentLike): Promise<void> {
    const tunnels = this.tunnels;
    // Our own address is always ready: its packets take the tunnel layer's loopback (self-tests).
    if (tunnels.isReady(nodeId)) return;
    const span = this.dials.begin(nodeId, parent);
    try {
      await this.establish(nodeId, span);
      if (span) this.dials.end(nodeId, span);
    } catch (e) {
      if (span) this.dials.end(nodeId, span, e);
      throw e;
    }
  }

  private async establish(nodeId: number, span: Span | undefined): Promise<void> {
    const tunnels = this.tunnels;
    let endpoint: UdpEndpoint | undefined;
    if (!tunnels.hasPeer(nodeId) || !tunnels.peerInfo(nodeId)?.endpoint) {
      endpoint = await this.directory.dialEndpoint(nodeId, span);
      // The peer's answer to our key exchange is judged against its registered key. Our registry
      // gave it with the endpoint (the public_key extension of resolve_ok / resolve_hostname_ok):
      // known now, nothing to do. From one that did not (the reference), the lookup starts here,
      // while our key exchange travels, not after the answer came.
      tunnels.prefetchKey(nodeId);
    }
    this.dials.keyExchange(nodeId);
    await tunnels.ensure(nodeId, endpoint);
    this.directory.backfill(nodeId);
  }

  // ---- streams -----------------------------------------------------------------------------

  private makeTable(): ConnectionTable {
    return new ConnectionTable(
      {
        send: (conn, seg) => this.sendSegment(conn.localPort, conn.remoteAddr, conn.remotePort, seg),
        sendRaw: (localPort, remote, remotePort, seg) => this.sendSegment(localPort, remote, remotePort, seg),
        data: (conn, chunk) => this.streams.get(conn)?.deliver(chunk),
        event: (conn, ev) => {
          if (ev.type === 'established') {
            const w = this.dialWaiters.get(conn);
            if (w) {
              this.dialWaiters.delete(conn);
              w.resolve(this.wrap(conn));
            }
            if (conn.role === 'responder' && this.tracer.enabled) {
              this.streamSpans.set(conn, this.tracer.start('stream', undefined, { 'peer.node_id': conn.remoteAddr.node, 'stream.port': conn.localPort }, 'server'));
            }
            if (conn.role === 'responder' && this.listenerCount('conn') > 0) {
              this.emit('conn', { type: 'accepted', id: conn.id, localPort: conn.localPort, remote: conn.remoteAddr, remotePort: conn.remotePort });
            }
          } else if (ev.type === 'drain') {
            this.streams.get(conn)?.drained();
          } else if (ev.type === 'closed') {
            const w = this.dialWaiters.get(conn);
            if (w) {
              this.dialWaiters.delete(conn);
              w.reject(dialError(ev.reason, conn));
            }
            this.streams.get(conn)?.finished(ev.reason, ev.lostBytes);
            const span = this.streamSpans.get(conn);
            if (span) {
              this.streamSpans.delete(conn);
              span.set('close.reason', ev.reason);
              span.end(ev.reason === 'fin' || ev.reason === 'aborted' ? 'ok' : 'error');
            }
            if (conn.state === 'CLOSED') this.streams.delete(conn);
            if (this.listenerCount('conn') > 0) {
              this.emit('conn', {
                type: 'closed',
                id: conn.id,
                localPort: conn.localPort,
                remote: conn.remoteAddr,
                remotePort: conn.remotePort,
                reason: ev.reason,
                inbound: conn.role === 'responder',
              });
            }
          }
        },
        incoming: (port) => {
          const l = this.portListeners.get(port);
          for (;;) {
            const c = this.table.accept(port);
            if (!c) break;
            const s = this.wrap(c);
            if (l) l(s);
            else s.abort();
          }
        },
        segmentSizeFor: (remote) => this.segmentSizeFor(remote.node),
        congestionFor: (remote) => this.congestionFor(remote.node),
        admit: (port, src) => {
          if (this.admission(src.node, port)) return true;
          this.counters.refusedUntrusted++;
          return false;
        },
        acksPending: () => {
          if (this.ackFlushScheduled) return;
          this.ackFlushScheduled = true;
          // setImmediate runs after the poll phase, i.e. after every datagram libuv read in this
          // batch was processed: one cumulative ACK for the batch (transport ackBatching).
          setImmediate(this.flushAcks);
        },
        removed: (conn) => {
          // An RST moves a connection to CLOSED (and removes it) before its 'closed' event is
          // flushed: keep the stream until that event has reached it.
          if (this.streams.get(conn)?.closed !== false) this.streams.delete(conn);
        },
      },
      {
        ...this.opts.table,
        // Beyond the reference's defaults, for lossy paths: keep retrying a segment longer before
        // giving up (16 transmissions, RTO capped at 10 s), and hold as many out-of-order segments
        // as the receive window has slots. manualConsume: a paused PilotStream (a reader that does
        // not keep up, e.g. a slow IPC client) keeps its chunks' window slots, so the window closes.
        transport: { ackBatching: true, maxTransmissions: 16, oooMax: 512, manualConsume: true, ...this.opts.table?.transport },
      },
    );
  }

  private ackFlushScheduled = false;
  private readonly flushAcks = (): void => {
    this.ackFlushScheduled = false;
    this.table.flushAcks(this.clock.now());
    this.rearm();
  };

  private wrap(conn: StreamConnection): PilotStream {
    let s = this.streams.get(conn);
    if (!s) {
      s = new PilotStream(conn, this.driver);
      this.streams.set(conn, s);
    }
    return s;
  }

  /**
   * Stream segments are marshalled into one reusable buffer: tunnels.send seals (or copies) the
   * packet before it returns and keeps no reference. `scratchBusy` guards against a re-entrant send
   * (an event listener sending while a send is in progress), which gets a fresh buffer.
   */
  private scratch = new Uint8Array(HEADER_SIZE + 4096);
  private scratchBusy = false;

  private sendSegment(localPort: number, remote: Address, remotePort: number, seg: Segment): void {
    const size = HEADER_SIZE + seg.payload.length;
    if (this.scratchBusy) {
      this.tunnels.send(remote.node, this.encodeSegment(localPort, remote, remotePort, seg, new Uint8Array(size)));
      return;
    }
    if (this.scratch.length < size) this.scratch = new Uint8Array(size);
    this.scratchBusy = true;
    try {
      this.tunnels.send(remote.node, this.encodeSegment(localPort, remote, remotePort, seg, this.scratch));
    } finally {
      this.scratchBusy = false;
    }
  }

  private encodeSegment(localPort: number, remote: Address, remotePort: number, seg: Segment, out: Uint8Array): Uint8Array {
    const n = encodePacketInto(
      {
        flags: seg.flags,
        protocol: PROTO_STREAM,
        src: this.address,
        dst: remote,
        srcPort: localPort,
        dstPort: remotePort,
        seq: seg.seq,
        ack: seg.ack,
        window: seg.window,
        payload: seg.payload,
      },
      out,
      0,
    );
    return out.subarray(0, n);
  }

  /**
   * Payload bytes per stream segment towards a peer: a full 4 KiB segment on loopback, else one that
   * fits a 1500-byte link with IPv6, UDP, the PILS frame, the packet header and a relay wrapper
   * (1500 − 40 − 8 − 36 − 34 − 9 = 1373 → 1360), so segments are never IP fragments: a lost
   * fragment loses the whole datagram and orphans fill the receiver's reassembly memory.
   */
  private segmentSizeFor(nodeId: number): number {
    const ep = this.tunnelsValue?.peerInfo(nodeId)?.endpoint;
    if (ep && (ep.startsWith('127.') || ep.startsWith('[::1]') || ep.startsWith('localhost'))) return 4096;
    return 1360;
  }

  /**
   * Congestion control towards a peer: on loopback Reno (no random loss, and the batched ACKs of a
   * fast local path are not modelled by BBR yet); across a network the BBR-style controller, which
   * paces at the measured bottleneck rate instead of halving on every random loss (BENCHMARKS.md
   * "Congestion control on a long, lossy path": 6.7 / 4.8 MB/s at 1 / 5 % loss on 40 ms, 100 Mbit/s,
   * where Reno moves 0.5 / 0.2). A `table.transport.congestion` given by the caller wins.
   */
  private congestionFor(nodeId: number): 'reno' | 'bbr' | undefined {
    if (this.opts.table?.transport?.congestion) return undefined;
    return this.segmentSizeFor(nodeId) === 4096 ? 'reno' : 'bbr';
  }

  /** Re-arms the single transport timer at the table's next deadline. */
  private rearm(): void {
    if (!this.running) return;
    const at = this.table.nextDeadline();
    if (at === undefined || at >= this.timerAt) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.table.tick(this.clock.now());
      this.rearm();
    }, Math.max(0, at - this.clock.now()));
  }

  /** Opens a stream to `target:port`. */
  async dial(target: Address | number, port: number, timeoutMs = 30_000, opts: { parent?: ParentLike } = {}): Promise<PilotStream> {
    const addr = typeof target === 'number' ? backboneAddress(target) : target;
    // The stream's lifetime span (one per stream, never per segment): dial → close.
    const span = this.tracer.start('stream', opts.parent, { 'peer.node_id': addr.node, 'stream.port': port }, 'client');
    let conn: StreamConnection;
    try {
      await this.ensureTunnel(addr.node, span);
      conn = this.table.dial(addr, port, this.clock.now(), { relayFallback: false });
    } catch (e) {
      span.fail(e);
      throw e;
    }
    if (span.recording) this.streamSpans.set(conn, span);
    const p = new Promise<PilotStream>((resolve, reject) => this.dialWaiters.set(conn, { resolve, reject }));
    this.rearm();
    let t: TimerHandle | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = this.clock.setTimeout(() => {
        if (this.dialWaiters.delete(conn)) conn.abort(this.clock.now());
        reject(new PilotError('timeout', `dial ${formatAddress(addr)}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
    });
    try {
      const stream = await Promise.race([p, timeout]);
      span.event('established');
      return stream;
    } catch (e) {
      if (this.streamSpans.get(conn) === span) this.streamSpans.delete(conn);
      span.fail(e);
      throw e;
    } finally {
      if (t) this.clock.clearTimeout(t);
    }
  }

  /** Accepts streams on `port`; returns a function that stops listening. */
  listen(port: number, onStream: Listener): () => void {
    if (this.portListeners.has(port)) throw new PilotError('already_exists', `port ${port} already bound`);
    this.portListeners.set(port, onStream);
    this.table.listen(port);
    return () => {
      if (this.portListeners.get(port) !== onStream) return;
      this.portListeners.delete(port);
      this.table.unlisten(port, this.clock.now());
      this.rearm();
    };
  }

  streamsList(): PilotStream[] {
    return [...this.streams.values()];
  }

  // ---- datagrams and control -------------------------------------------------------------------

  async sendDatagram(dst: Address, port: number, data: Uint8Array): Promise<void> {
    await this.ensureTunnel(dst.node);
    this.counters.datagramsOut++;
    this.tunnels.send(
      dst.node,
      encodePacket({
        flags: 0,
        protocol: PROTO_DATAGRAM,
        src: this.address,
        dst,
        srcPort: this.table.allocatePort(),
        dstPort: port,
        seq: 0,
        ack: 0,
        window: 0,
        payload: data,
      }),
    );
  }

  /**
   * One control ping (protocol 0x03 to port 0, answered by every node incl. the reference): RTT in
   * milliseconds over the established tunnel.
   */
  async controlPing(nodeId: number, timeoutMs = 3000): Promise<number> {
    // Sync fast path: an established tunnel needs no await (each one is a trip through the
    // microtask queue on a path measured in tens of microseconds).
    if (!this.tunnelsValue?.isReady(nodeId)) await this.ensureTunnel(nodeId);
    const seq = this.pingSeq++ >>> 0;
    const packet = encodePacket({
      flags: 0,
      protocol: PROTO_CONTROL,
      src: this.address,
      dst: backboneAddress(nodeId),
      srcPort: PING_REPLY_PORT,
      dstPort: PORTS.controlPing,
      seq,
      ack: 0,
      window: 0,
      payload: new Uint8Array(0),
    });
    return new Promise<number>((resolve, reject) => {
      const t = this.clock.setTimeout(() => {
        this.pingWaiters.delete(seq);
        reject(new PilotError('timeout', `no reply from node ${nodeId} within ${Math.round(timeoutMs)} ms`));
      }, timeoutMs);
      const done = (rtt: number): void => {
        this.clock.clearTimeout(t);
        resolve(rtt);
      };
      this.pingWaiters.set(seq, { resolve: done, sentAt: this.clock.now() });
      try {
        this.tunnels.send(nodeId, packet);
      } catch (e) {
        this.pingWaiters.delete(seq);
        this.clock.clearTimeout(t);
        reject(e as Error);
      }
    });
  }

  /** Records an RTT sample for the peer view (bounded history). */
  recordRtt(nodeId: number, rttMs: number): void {
    const p = this.peerRecord(nodeId);
    p.rtt.push(rttMs);
    if (p.rtt.length > 60) p.rtt.splice(0, p.rtt.length - 60);
    p.lastPingMs = this.clock.wallNow();
    this.emit('ping', nodeId, rttMs, this.tunnels.pathOf(nodeId) ?? 'pending');
  }

  // ---- incoming ---------------------------------------------------------------------------------

  private onPacket(bytes: Uint8Array, from: number): void {
    let pkt: Packet;
    try {
      pkt = decodePacket(bytes);
    } catch {
      this.counters.badPackets++;
      return;
    }
    const now = this.clock.now();
    switch (pkt.protocol) {
      case PROTO_STREAM:
        this.table.handleIncoming(
          { src: pkt.src, srcPort: pkt.srcPort, dstPort: pkt.dstPort, seg: { flags: pkt.flags, seq: pkt.seq, ack: pkt.ack, window: pkt.window, payload: pkt.payload } },
          now,
        );
        this.rearm();
        return;
      case PROTO_DATAGRAM:
        if (pkt.payload.length === 0) return;
        this.counters.datagramsIn++;
        this.emit('datagram', { src: pkt.src, srcPort: pkt.srcPort, dstPort: pkt.dstPort, data: pkt.payload });
        return;
      case PROTO_CONTROL:
        this.onControl(pkt, from);
        return;
      default:
        this.counters.badPackets++;
    }
  }

  private onControl(pkt: Packet, from: number): void {
    if (pkt.dstPort === PORTS.controlPing && (pkt.flags & FLAG_ACK) === 0) {
      this.counters.controlPings++;
      this.tunnels.send(
        from,
        encodePacket({
          flags: FLAG_ACK,
          protocol: PROTO_CONTROL,
          src: this.address,
          dst: pkt.src,
          srcPort: PORTS.controlPing,
          dstPort: pkt.srcPort,
          seq: pkt.seq,
          ack: (pkt.seq + 1) >>> 0,
          window: 0,
          payload: pkt.payload,
        }),
      );
      return;
    }
    if ((pkt.flags & FLAG_ACK) !== 0 && pkt.srcPort === PORTS.controlPing && pkt.dstPort === PING_REPLY_PORT) {
      const w = this.pingWaiters.get(pkt.seq);
      if (w) {
        this.pingWaiters.delete(pkt.seq);
        const rtt = this.clock.now() - w.sentAt;
        w.resolve(rtt);
        this.rttObserver?.(from, rtt);
      }
    }
  }

  private onTunnelEvent(ev: TunnelEvent): void {
    if (ev.type === 'peer_added') this.peerRecord(ev.nodeId);
    if (ev.type === 'path_changed') this.dials.pathChanged(ev);
    this.emit('tunnel', ev);
  }

  tunnelInfo(nodeId: number): PeerTunnelInfo | undefined {
    return this.tunnelsValue?.peerInfo(nodeId);
  }

  localAddresses(): string[] {
    return Object.values(os.networkInterfaces())
      .flat()
      .filter((i): i is os.NetworkInterfaceInfo => !!i)
      .map((i) => i.address);
  }
}

/** The source port our control pings use; replies come back to it. */
const PING_REPLY_PORT = 65535;
/** How long an endpoint from resolveTarget stands in for a resolve, and how many are kept. */

function dialError(reason: CloseReason, conn: StreamConnection): PilotError {
  const where = `${formatAddress(conn.remoteAddr)}:${conn.remotePort}`;
  if (reason === 'rst' || reason === 'refused') return new PilotError('connection_failed', `connection refused by ${where}`, 'is anything listening on that port?');
  if (reason === 'timeout') return new PilotError('timeout', `dial timeout to ${where}`);
  return new PilotError('connection_failed', `dial ${where} failed (${reason})`);
}

/** `a,b` or [`a`, `b,c`] → [`a`, `b`, `c`] (checked when the node starts). */
function listOf(v: string | readonly string[]): string[] {
  return (typeof v === 'string' ? [v] : [...v]).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
}
