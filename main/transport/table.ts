/**
 * The connection table of one node (transport.md §2, §4, §8, wire.md §2): listeners and accept queues,
 * demultiplexing of incoming stream segments, RSTs for strays, SYN rate limits, connection limits,
 * ephemeral ports, and ONE deadline over all connections (a heap with lazily invalidated entries).
 * Pure: no sockets, no timers; `now` is passed in.
 *
 * Driver loop:
 *   - stream packet in  → `handleIncoming({src, srcPort, dstPort, seg}, now)`
 *   - app dial          → `dial(remote, port, now)` (SYN goes out through hooks.send)
 *   - app listen/accept → `listen(port)`, `hooks.incoming(port)` then `accept(port)`
 *   - app write/close   → `conn.write(data, now)`, `conn.close(now)`, `conn.abort(now)`
 *   - after any of these, re-arm ONE timer at `nextDeadline()`; when it fires call `tick(now)`.
 *   - with `transport.ackBatching`: `hooks.acksPending()` says ACKs wait; call `flushAcks(now)` once
 *     the current batch of incoming packets is processed (then re-arm).
 */
import { PilotError } from '../../shared/errors';
import { addressKey, type Address, EPHEMERAL_PORT_MIN, EPHEMERAL_PORT_MAX } from '../../shared/address';
import { makeTransportConfig, type TransportConfig } from './config';
import { DeadlineHeap } from './heap';
import {
  FLAG_ACK,
  FLAG_RST,
  FLAG_SYN,
  StreamConnection,
  type Segment,
  type StreamEvent,
  type StreamHooks,
  type StreamState,
} from './stream';

export interface IncomingSegment {
  src: Address;
  srcPort: number;
  dstPort: number;
  seg: Segment;
}

export interface TableHooks {
  /** A segment of `conn` to send to `conn.remoteAddr:conn.remotePort` from `conn.localPort`. */
  send(conn: StreamConnection, seg: Segment): void;
  /** A segment not tied to a connection (RST answers). */
  sendRaw(localPort: number, remote: Address, remotePort: number, seg: Segment): void;
  data(conn: StreamConnection, chunk: Uint8Array): void;
  event(conn: StreamConnection, ev: StreamEvent): void;
  /** A new connection waits in the accept queue of `port`. */
  incoming?(port: number): void;
  /** A connection left the table (CLOSED). */
  removed?(conn: StreamConnection): void;
  /** Payload bytes per data segment for a new connection to `remote` (default: the MSS). */
  segmentSizeFor?(remote: Address): number | undefined;
  /** Congestion control for a new connection to `remote` (default: the transport config's). */
  congestionFor?(remote: Address): TransportConfig['congestion'] | undefined;
  /** Admission control for a new SYN (e.g. trust); false → RST, no connection is created. */
  admit?(port: number, src: Address): boolean;
  /** `transport.ackBatching`: the first ACK of a batch was deferred; call `flushAcks(now)` soon. */
  acksPending?(): void;
}

export interface TableConfig {
  transport: Partial<TransportConfig>;
  maxConnsPerPort: number;
  maxConnsTotal: number;
  /** Active connections one remote node may hold with us; its further SYNs are reset (fairness). */
  maxConnsPerPeer: number;
  synRateGlobal: number;
  synRatePerSource: number;
  maxSynSources: number;
  synSourceIdleMs: number;
  defaultBacklog: number;
}

export const DEFAULT_TABLE_CONFIG: TableConfig = Object.freeze({
  transport: {},
  maxConnsPerPort: 1024,
  maxConnsTotal: 4096,
  maxConnsPerPeer: 256,
  synRateGlobal: 100,
  synRatePerSource: 10,
  maxSynSources: 4096,
  synSourceIdleMs: 10_000,
  defaultBacklog: 64,
});

interface Listener {
  port: number;
  backlog: number;
  queue: StreamConnection[];
}

interface Bucket {
  tokens: number;
  last: number;
}

const EMPTY = new Uint8Array(0);

function rstSegment(): Segment {
  return { flags: FLAG_RST, seq: 0, ack: 0, window: 0, payload: EMPTY };
}

function congestionOpt(c: TransportConfig['congestion'] | undefined): { congestion?: TransportConfig['congestion'] } {
  return c === undefined ? {} : { congestion: c };
}

function segmentSizeOpt(n: number | undefined): { segmentSize?: number } {
  return n === undefined ? {} : { segmentSize: n };
}

function isActive(s: StreamState): boolean {
  return s !== 'CLOSED' && s !== 'TIME_WAIT';
}

export class ConnectionTable {
  readonly config: TableConfig;
  readonly transport: TransportConfig;
  private readonly hooks: TableHooks;
  private readonly connHooks: StreamHooks;
  /** addressKey(remote) → (localPort·65536 + remotePort) → connection */
  private readonly byRemote = new Map<number, Map<number, StreamConnection>>();
  private readonly byId = new Map<number, StreamConnection>();
  private readonly listeners = new Map<number, Listener>();
  private readonly activePerPort = new Map<number, number>();
  private readonly activePerPeer = new Map<number, number>();
  /** SYNs reset because their node already held `maxConnsPerPeer` connections. */
  peerLimited = 0;
  private readonly counted = new Set<StreamConnection>();
  private activeTotal = 0;
  private nextId = 1;
  /** SYNs refused by the `admit` hook. */
  refused = 0;
  /** Connections that were still due right after their tick (deferred 1 ms; should stay 0). */
  timerSpins = 0;
  private nextEphemeral = EPHEMERAL_PORT_MIN;
  private readonly heap = new DeadlineHeap<StreamConnection>();
  private globalBucket: Bucket | undefined;
  private readonly sourceBuckets = new Map<number, Bucket>();
  /** Connections with an ACK deferred until `flushAcks` (ackBatching). */
  private ackQueue: StreamConnection[] = [];

  constructor(hooks: TableHooks, config?: Partial<TableConfig>) {
    this.hooks = hooks;
    this.config = Object.freeze({ ...DEFAULT_TABLE_CONFIG, ...config });
    this.transport = makeTransportConfig(this.config.transport);
    for (const k of ['maxConnsPerPort', 'maxConnsTotal', 'maxConnsPerPeer', 'synRateGlobal', 'synRatePerSource', 'maxSynSources', 'defaultBacklog'] as const) {
      const v = this.config[k];
      if (!Number.isInteger(v) || v < 0) throw new PilotError('invalid_argument', `table option ${k} must be a non-negative integer`);
    }
    this.connHooks = {
      send: (c, seg) => this.hooks.send(c, seg),
      data: (c, chunk) => this.hooks.data(c, chunk),
      event: (c, ev) => this.hooks.event(c, ev),
      schedule: (c, at) => this.heap.push(at, c),
      state: (c, prev) => this.onState(c, prev),
      ackDue: (c) => {
        this.ackQueue.push(c);
        if (this.ackQueue.length === 1) this.hooks.acksPending?.();
      },
    };
  }

  // ------------------------------------------------------------------ queries

  get size(): number {
    return this.byId.size;
  }

  /** Connections that are neither CLOSED nor TIME_WAIT. */
  get activeCount(): number {
    return this.activeTotal;
  }

  get(id: number): StreamConnection | undefined {
    return this.byId.get(id);
  }

  find(localPort: number, remote: Address, remotePort: number): StreamConnection | undefined {
    return this.byRemote.get(addressKey(remote))?.get(localPort * 65536 + remotePort);
  }

  connections(): IterableIterator<StreamConnection> {
    return this.byId.values();
  }

  isListening(port: number): boolean {
    return this.listeners.has(port);
  }

  // ------------------------------------------------------------------ listeners

  listen(port: number, backlog = this.config.defaultBacklog): void {
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new PilotError('invalid_argument', `port out of range: ${port}`);
    if (!Number.isInteger(backlog) || backlog < 1) throw new PilotError('invalid_argument', `backlog must be >= 1`);
    if (this.listeners.has(port)) throw new PilotError('already_exists', `port ${port} is already bound`);
    this.listeners.set(port, { port, backlog, queue: [] });
  }

  /** Stops listening; connections still waiting in the accept queue are reset. */
  unlisten(port: number, now: number): void {
    const l = this.listeners.get(port);
    if (!l) return;
    this.listeners.delete(port);
    for (const c of l.queue) c.abort(now);
  }

  /** Next connection waiting on `port` (skipping ones already CLOSED), or undefined. */
  accept(port: number): StreamConnection | undefined {
    const l = this.listeners.get(port);
    if (!l) return undefined;
    for (;;) {
      const c = l.queue.shift();
      if (c === undefined) return undefined;
      if (c.state !== 'CLOSED') return c;
    }
  }

  pendingAccepts(port: number): number {
    return this.listeners.get(port)?.queue.length ?? 0;
  }

  // ------------------------------------------------------------------ dial

  /** Allocates an ephemeral port and sends the SYN. Watch for `established` / `closed` events. */
  dial(remote: Address, remotePort: number, now: number, opts?: { relayFallback?: boolean; localPort?: number }): StreamConnection {
    if (this.activeTotal >= this.config.maxConnsTotal) {
      throw new PilotError('unavailable', `connection limit reached (${this.config.maxConnsTotal})`);
    }
    const localPort = opts?.localPort ?? this.allocatePort();
    const old = this.find(localPort, remote, remotePort);
    if (old) {
      if (isActive(old.state)) throw new PilotError('already_exists', `connection to that peer port from ${localPort} exists`);
      this.remove(old);
    }
    const conn = this.create(localPort, remote, remotePort, 'initiator', now, opts?.relayFallback ?? true);
    conn.open(now);
    return conn;
  }

  /** Next free ephemeral port: counter 49152..65535 wrapping, skipping ports in use (wire.md §2). */
  allocatePort(): number {
    const span = EPHEMERAL_PORT_MAX - EPHEMERAL_PORT_MIN + 1;
    for (let i = 0; i < span; i++) {
      const p = this.nextEphemeral;
      this.nextEphemeral = p === EPHEMERAL_PORT_MAX ? EPHEMERAL_PORT_MIN : p + 1;
      if ((this.activePerPort.get(p) ?? 0) === 0 && !this.listeners.has(p)) return p;
    }
    throw new PilotError('unavailable', 'no free ephemeral port');
  }

  // ------------------------------------------------------------------ incoming

  handleIncoming(pkt: IncomingSegment, now: number): void {
    const { seg } = pkt;
    const conn = this.find(pkt.dstPort, pkt.src, pkt.srcPort);
    if (conn) {
      conn.receive(seg, now);
      return;
    }
    const f = seg.flags;
    if (f & FLAG_RST) return; // never answer an RST
    if (!(f & FLAG_SYN) || f & FLAG_ACK) {
      this.hooks.sendRaw(pkt.dstPort, pkt.src, pkt.srcPort, rstSegment());
      return;
    }
    // a new SYN
    const l = this.listeners.get(pkt.dstPort);
    if (!l) {
      this.hooks.sendRaw(pkt.dstPort, pkt.src, pkt.srcPort, rstSegment());
      return;
    }
    if (!this.takeSynToken(addressKey(pkt.src), now)) return; // silently dropped
    if (this.hooks.admit && !this.hooks.admit(pkt.dstPort, pkt.src)) {
      this.refused++;
      this.hooks.sendRaw(pkt.dstPort, pkt.src, pkt.srcPort, rstSegment());
      return;
    }
    if ((this.activePerPeer.get(addressKey(pkt.src)) ?? 0) >= this.config.maxConnsPerPeer) {
      this.peerLimited++;
      this.hooks.sendRaw(pkt.dstPort, pkt.src, pkt.srcPort, rstSegment());
      return;
    }
    if (
      this.activeTotal >= this.config.maxConnsTotal ||
      (this.activePerPort.get(pkt.dstPort) ?? 0) >= this.config.maxConnsPerPort ||
      l.queue.length >= l.backlog
    ) {
      this.hooks.sendRaw(pkt.dstPort, pkt.src, pkt.srcPort, rstSegment());
      return;
    }
    const c = this.create(pkt.dstPort, pkt.src, pkt.srcPort, 'responder', now, false);
    c.receive(seg, now); // → SYN|ACK, ESTABLISHED
    l.queue.push(c);
    this.hooks.incoming?.(pkt.dstPort);
  }

  // ------------------------------------------------------------------ time

  /** The earliest time any connection needs `tick`, or undefined. */
  nextDeadline(): number | undefined {
    const heap = this.heap;
    for (;;) {
      const at = heap.peekAt();
      if (at === Infinity) return undefined;
      const c = heap.peekItem()!;
      if (c.scheduledAt === at && this.byId.get(c.id) === c) return at;
      heap.pop(); // stale entry
    }
  }

  /** Runs every connection whose deadline has passed. */
  tick(now: number): void {
    const heap = this.heap;
    let ticked: Set<StreamConnection> | undefined;
    while (heap.peekAt() <= now) {
      const at = heap.peekAt();
      const c = heap.pop()!;
      if (c.scheduledAt !== at || this.byId.get(c.id) !== c) continue;
      if (ticked?.has(c)) {
        // Still due right after its tick: a timer that cannot make progress now. Defer it by 1 ms
        // instead of spinning (a spin here would freeze the whole node); counted, it is a bug.
        this.timerSpins++;
        c.scheduledAt = now + 1;
        heap.push(now + 1, c);
        continue;
      }
      (ticked ??= new Set()).add(c);
      c.scheduledAt = Infinity;
      c.tick(now); // re-schedules itself if it still has a deadline
    }
  }

  /** Sends the ACKs deferred by `transport.ackBatching` (end of the driver's batch of packets). */
  flushAcks(now: number): void {
    const q = this.ackQueue;
    if (q.length === 0) return;
    this.ackQueue = [];
    for (const c of q) if (this.byId.get(c.id) === c) c.flushAck(now);
  }

  /** Daemon shutdown: FIN to every established connection, everything dropped without TIME_WAIT. */
  shutdown(now: number): void {
    for (const c of [...this.byId.values()]) {
      c.terminate(now);
      this.remove(c);
    }
    this.listeners.clear();
    this.heap.clear();
    this.ackQueue = [];
  }

  // ------------------------------------------------------------------ internals

  private create(
    localPort: number,
    remote: Address,
    remotePort: number,
    role: 'initiator' | 'responder',
    now: number,
    relayFallback: boolean,
  ): StreamConnection {
    const conn = new StreamConnection({
      id: this.nextId++,
      localPort,
      remoteAddr: remote,
      remotePort,
      role,
      now,
      hooks: this.connHooks,
      config: this.transport,
      relayFallback,
      ...segmentSizeOpt(this.hooks.segmentSizeFor?.(remote)),
      ...congestionOpt(this.hooks.congestionFor?.(remote)),
    });
    const ak = addressKey(remote);
    let m = this.byRemote.get(ak);
    if (!m) {
      m = new Map();
      this.byRemote.set(ak, m);
    }
    m.set(localPort * 65536 + remotePort, conn);
    this.byId.set(conn.id, conn);
    this.count(conn);
    return conn;
  }

  private count(c: StreamConnection): void {
    if (this.counted.has(c)) return;
    this.counted.add(c);
    this.activeTotal++;
    this.activePerPort.set(c.localPort, (this.activePerPort.get(c.localPort) ?? 0) + 1);
    const peer = addressKey(c.remoteAddr);
    this.activePerPeer.set(peer, (this.activePerPeer.get(peer) ?? 0) + 1);
  }

  private uncount(c: StreamConnection): void {
    if (!this.counted.delete(c)) return;
    this.activeTotal--;
    const n = (this.activePerPort.get(c.localPort) ?? 1) - 1;
    if (n <= 0) this.activePerPort.delete(c.localPort);
    else this.activePerPort.set(c.localPort, n);
    const peer = addressKey(c.remoteAddr);
    const m = (this.activePerPeer.get(peer) ?? 1) - 1;
    if (m <= 0) this.activePerPeer.delete(peer);
    else this.activePerPeer.set(peer, m);
  }

  private onState(c: StreamConnection, prev: StreamState): void {
    void prev;
    if (!isActive(c.state)) this.uncount(c);
    if (c.state === 'CLOSED') this.remove(c);
  }

  private remove(c: StreamConnection): void {
    this.uncount(c);
    if (this.byId.get(c.id) !== c) return;
    this.byId.delete(c.id);
    const ak = addressKey(c.remoteAddr);
    const m = this.byRemote.get(ak);
    if (m) {
      const k = c.localPort * 65536 + c.remotePort;
      if (m.get(k) === c) m.delete(k);
      if (m.size === 0) this.byRemote.delete(ak);
    }
    this.hooks.removed?.(c);
  }

  private takeSynToken(source: number, now: number): boolean {
    const cfg = this.config;
    const g = (this.globalBucket ??= { tokens: cfg.synRateGlobal, last: now });
    refill(g, now, cfg.synRateGlobal);
    let b = this.sourceBuckets.get(source);
    if (!b) {
      if (this.sourceBuckets.size >= cfg.maxSynSources) this.reapSources(now);
      if (this.sourceBuckets.size >= cfg.maxSynSources) return false;
      b = { tokens: cfg.synRatePerSource, last: now };
      this.sourceBuckets.set(source, b);
    } else {
      refill(b, now, cfg.synRatePerSource);
    }
    if (g.tokens < 1 || b.tokens < 1) return false;
    g.tokens -= 1;
    b.tokens -= 1;
    return true;
  }

  private reapSources(now: number): void {
    for (const [k, b] of this.sourceBuckets) {
      if (now - b.last >= this.config.synSourceIdleMs) this.sourceBuckets.delete(k);
    }
  }
}

function refill(b: Bucket, now: number, rate: number): void {
  const dt = now - b.last;
  if (dt > 0) {
    b.tokens = Math.min(rate, b.tokens + (dt * rate) / 1000);
    b.last = now;
  }
}
