/**
 * In-memory test link: two ConnectionTables ("a" and "b") joined by a lossy link with seeded random
 * loss, duplication and reordering, driven by a FakeClock. The event loop jumps straight to the next
 * delivery or connection deadline, so simulated minutes cost milliseconds.
 */
import { FakeClock } from '../../util/clock';
import { backboneAddress, type Address } from '../../../shared/address';
import { ConnectionTable, type TableConfig } from '../table';
import { DeadlineHeap } from '../heap';
import type { Segment, StreamConnection, StreamEvent } from '../stream';
import type { TransportConfig } from '../config';
import { concatBytes } from '../../util/bytes';
import { mulberry32 } from '../../util/random';

/** Seeded PRNG for the link's loss/duplication/reordering and the test data. */
export const rng: (seed: number) => () => number = mulberry32;

export interface LinkOptions {
  /** One-way latency, ms. */
  latencyMs?: number;
  /** Probability that a packet is dropped. */
  loss?: number;
  /** Probability that a packet is delivered twice. */
  dup?: number;
  /** Probability that a packet gets an extra random delay of up to `reorderMs` (so it is overtaken). */
  reorder?: number;
  reorderMs?: number;
  /**
   * Bottleneck rate per direction, bytes per ms (0: unlimited). Packets queue behind each other
   * (payload + 64 bytes of headers); a packet that would wait longer than `queueBytes` takes to
   * drain is dropped (drop-tail), as at a congested router.
   */
  rateBytesPerMs?: number;
  queueBytes?: number;
}

export type Side = 'a' | 'b';

export interface Wire {
  from: Side;
  localPort: number;
  remotePort: number;
  seg: Segment;
}

interface Delivery {
  to: Side;
  src: Address;
  srcPort: number;
  dstPort: number;
  seg: Segment;
}

export interface PairOptions {
  seed?: number;
  link?: LinkOptions;
  transport?: Partial<TransportConfig>;
  table?: Partial<Omit<TableConfig, 'transport'>>;
  /** Payload bytes per data segment for every connection (default: the MSS). */
  segmentSize?: number;
}

export class LinkPair {
  readonly clock = new FakeClock(0);
  readonly addr: Record<Side, Address> = { a: backboneAddress(1), b: backboneAddress(2) };
  readonly a: ConnectionTable;
  readonly b: ConnectionTable;
  /** Every segment put on the wire, in order (only while `record` is true). */
  readonly wire: Wire[] = [];
  record = false;
  /** Keep received chunks (for `received()`); byte counts are always kept. */
  keepChunks = true;
  /** Received chunks per connection. */
  readonly chunks = new Map<StreamConnection, Uint8Array[]>();
  readonly events = new Map<StreamConnection, StreamEvent[]>();
  /** Received byte counts per connection. */
  readonly recvBytes = new Map<StreamConnection, number>();
  readonly stats = { sent: 0, dropped: 0, duplicated: 0, delivered: 0, queueDrops: 0 };
  /** Per direction: when the bottleneck finishes sending what is queued. */
  private readonly busyUntil: Record<Side, number> = { a: 0, b: 0 };
  private readonly writers = new Map<StreamConnection, { data: Uint8Array; off: number; close: boolean }>();
  private readonly rnd: () => number;
  private readonly link: Required<LinkOptions>;
  private readonly inflight = new DeadlineHeap<Delivery>();
  private order = 0;
  private readonly segmentSize: number | undefined;
  /** When set, decides per packet whether to drop it (on top of random loss). */
  dropIf: ((w: Wire) => boolean) | undefined;
  /** Called with each accepted connection on side b. */
  onAccept: ((c: StreamConnection) => void) | undefined;

  constructor(opts: PairOptions = {}) {
    this.rnd = rng(opts.seed ?? 1);
    this.link = { latencyMs: 5, loss: 0, dup: 0, reorder: 0, reorderMs: 10, rateBytesPerMs: 0, queueBytes: 256 * 1024, ...opts.link };
    const tableCfg = { ...opts.table, transport: opts.transport ?? {} };
    this.segmentSize = opts.segmentSize;
    this.a = new ConnectionTable(this.hooksFor('a'), tableCfg);
    this.b = new ConnectionTable(this.hooksFor('b'), tableCfg);
  }

  get now(): number {
    return this.clock.now();
  }

  table(side: Side): ConnectionTable {
    return side === 'a' ? this.a : this.b;
  }

  private hooksFor(side: Side): ConstructorParameters<typeof ConnectionTable>[0] {
    const table = (): ConnectionTable => this.table(side);
    return {
      send: (c, seg) => this.transmit(side, c.localPort, c.remotePort, seg),
      sendRaw: (lp, _remote, rp, seg) => this.transmit(side, lp, rp, seg),
      segmentSizeFor: () => this.segmentSize,
      data: (c, chunk) => {
        let l = this.chunks.get(c);
        if (!l) this.chunks.set(c, (l = []));
        if (this.keepChunks) l.push(chunk);
        this.recvBytes.set(c, (this.recvBytes.get(c) ?? 0) + chunk.length);
      },
      event: (c, ev) => {
        let l = this.events.get(c);
        if (!l) this.events.set(c, (l = []));
        l.push(ev);
        if (ev.type === 'drain' || ev.type === 'established') this.continueWriter(c);
      },
      incoming: (port) => {
        for (;;) {
          const c = table().accept(port);
          if (!c) break;
          this.onAccept?.(c);
        }
      },
    };
  }

  private transmit(from: Side, localPort: number, remotePort: number, seg: Segment): void {
    this.stats.sent++;
    const w: Wire = { from, localPort, remotePort, seg };
    if (this.record) this.wire.push(w);
    if (this.dropIf?.(w)) {
      this.stats.dropped++;
      return;
    }
    const L = this.link;
    if (L.loss > 0 && this.rnd() < L.loss) {
      this.stats.dropped++;
      return;
    }
    let queued = 0;
    if (L.rateBytesPerMs > 0) {
      const start = Math.max(this.now, this.busyUntil[from]);
      if ((start - this.now) * L.rateBytesPerMs > L.queueBytes) {
        this.stats.queueDrops++;
        this.stats.dropped++;
        return;
      }
      this.busyUntil[from] = start + (seg.payload.length + 64) / L.rateBytesPerMs;
      queued = this.busyUntil[from] - this.now;
    }
    const copies = L.dup > 0 && this.rnd() < L.dup ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delay = L.latencyMs + queued;
      if (L.reorder > 0 && this.rnd() < L.reorder) delay += this.rnd() * L.reorderMs;
      // a tiny increasing epsilon keeps FIFO order among equal delivery times
      const at = this.now + delay + ++this.order * 1e-9;
      this.inflight.push(at, {
        to: from === 'a' ? 'b' : 'a',
        src: this.addr[from],
        srcPort: localPort,
        dstPort: remotePort,
        seg,
      });
    }
  }

  /** Writes `data` on `c` as the send buffer allows (continuing on drain), then optionally closes. */
  sendAll(c: StreamConnection, data: Uint8Array, close: boolean): void {
    this.writers.set(c, { data, off: 0, close });
    this.continueWriter(c);
  }

  private continueWriter(c: StreamConnection): void {
    const w = this.writers.get(c);
    if (!w || (c.state !== 'ESTABLISHED' && c.state !== 'SYN_SENT')) return;
    while (w.off < w.data.length) {
      const n = c.write(w.data.subarray(w.off, Math.min(w.data.length, w.off + 65536)), this.now);
      if (n === 0) return;
      w.off += n;
    }
    this.writers.delete(c);
    if (w.close) c.close(this.now);
  }

  /** Concatenation of everything delivered on `c`. */
  received(c: StreamConnection): Uint8Array {
    return concatBytes(...(this.chunks.get(c) ?? []));
  }

  receivedCount(c: StreamConnection | undefined): number {
    return c === undefined ? 0 : (this.recvBytes.get(c) ?? 0);
  }

  eventsOf(c: StreamConnection): StreamEvent[] {
    return this.events.get(c) ?? [];
  }

  closedReason(c: StreamConnection): string | undefined {
    for (const e of this.eventsOf(c)) if (e.type === 'closed') return e.reason;
    return undefined;
  }

  /**
   * Runs the simulation until `until()` holds (checked after every step) or `maxMs` of simulated
   * time pass. Returns whether the condition was met.
   */
  run(until: () => boolean, maxMs: number): boolean {
    const end = this.now + maxMs;
    for (;;) {
      if (until()) return true;
      const tDel = this.inflight.peekAt();
      const tA = this.a.nextDeadline() ?? Infinity;
      const tB = this.b.nextDeadline() ?? Infinity;
      const t = Math.min(tDel, tA, tB);
      if (t === Infinity || t > end) {
        this.clock.advance(Math.max(0, end - this.now));
        return until();
      }
      if (t > this.now) this.clock.advance(t - this.now);
      const now = this.now;
      if (tDel <= now) {
        const d = this.inflight.pop()!;
        this.stats.delivered++;
        this.table(d.to).handleIncoming({ src: d.src, srcPort: d.srcPort, dstPort: d.dstPort, seg: d.seg }, now);
      } else {
        if (tA <= now) this.a.tick(now);
        if (tB <= now) this.b.tick(now);
      }
    }
  }

  /** Runs for `ms` of simulated time. */
  runFor(ms: number): void {
    this.run(() => false, ms);
  }
}

/** Deterministic test data: byte i = a seeded pseudo-random sequence. */
export function pattern(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  const r = rng(seed);
  for (let i = 0; i < n; i += 4) {
    const v = (r() * 4294967296) >>> 0;
    out[i] = v & 255;
    if (i + 1 < n) out[i + 1] = (v >>> 8) & 255;
    if (i + 2 < n) out[i + 2] = (v >>> 16) & 255;
    if (i + 3 < n) out[i + 3] = v >>> 24;
  }
  return out;
}
