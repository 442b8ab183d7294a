/**
 * The receive side of a connection: in-order delivery with exact-boundary reassembly of out-of-order
 * segments (the reference's rule), the SACK blocks we advertise, our advertised window, and when to
 * acknowledge: every `delayedAckSegments` in-order segments or after `delayedAckMs`; at once for
 * out-of-order data, duplicates and a segment that fills a hole; after out-of-order data the next
 * QUICK_ACKS in-order segments are acknowledged at once (Linux "quickack"), so a sender recovering
 * with a small window is not held 40 ms per RTT. With `ackBatching` the plain every-Nth ACK waits
 * for the driver's flushAck. The ACK itself is sent by the connection (it carries our send sequence).
 */
import { encodeSack, type SackBlock } from '../wire/sack';
import type { TransportConfig } from './config';
import type { StreamContext } from './context';
import { EMPTY, NONE } from './segment';
import { seqAdd, seqAfter, seqDiff } from './seq';

interface OooSeg {
  seq: number;
  end: number;
  payload: Uint8Array;
}

/** In-order segments acknowledged at once after out-of-order data (Linux "quickack"). */
const QUICK_ACKS = 16;

export class Receiver {
  /** Next sequence expected from the peer. */
  rcvNxt = 0;
  /** Out-of-order segments, ordered by distance from rcvNxt. */
  readonly ooo: OooSeg[] = [];
  /** Seq of the out-of-order segment that arrived last (its block is listed first in SACK). */
  private lastOooSeq = NONE;
  /** In-order segments delivered since our last ACK went out. */
  segsSinceAck = 0;
  private quickAcks = 0;
  /** Delayed-ACK deadline (NONE: none pending). */
  delAckAt = NONE;
  /** `ackBatching`: an ACK was deferred to the next `flushAck` (reported once through `ackDue`). */
  ackDeferred = false;
  /** `manualConsume`: delivered segments the application has not consumed yet. */
  recvQueued = 0;
  /** Last time a peer keepalive was answered. */
  lastKeepaliveAnswer = -Infinity;
  // stats
  bytesRecv = 0;
  sackSent = 0;
  /** In-order segments refused because the window was full (manualConsume). */
  refusedFull = 0;
  private readonly ctx: StreamContext;
  private readonly config: TransportConfig;

  constructor(ctx: StreamContext) {
    this.ctx = ctx;
    this.config = ctx.config;
  }

  /**
   * A data segment at `seq`. `established` false (FIN_WAIT: the application closed): acknowledged
   * but not delivered. Returns true when an ACK must go out now.
   */
  onData(seq: number, payload: Uint8Array, now: number, established: boolean): boolean {
    if (!established) {
      if (seq === this.rcvNxt) this.rcvNxt = seqAdd(seq, payload.length);
      return true;
    }
    const d = seqDiff(seq, this.rcvNxt);
    if (d === 0) {
      if (this.windowFull()) {
        // manualConsume and the application stopped reading: the window is closed (the field
        // cannot say 0: the reference reads 0 as "no limit"). Not accepted, not acknowledged: the
        // sender retransmits later, and consumed() announces the window when it opens again.
        this.refusedFull++;
        return false;
      }
      this.deliver(payload);
      const ooo = this.ooo;
      let pulled = 0;
      let delivered = 1;
      while (ooo.length > pulled) {
        const o = ooo[pulled]!;
        const od = seqDiff(o.seq, this.rcvNxt);
        if (od > 0) break;
        pulled++;
        if (od === 0) {
          this.deliver(o.payload); // exact boundary only; stale overlaps are dropped
          delivered++;
        }
      }
      if (pulled > 0) ooo.splice(0, pulled);
      this.segsSinceAck += delivered;
      if (pulled > 0) this.quickAcks = QUICK_ACKS;
      const due = this.segsSinceAck >= this.config.delayedAckSegments || this.quickAcks > 0;
      if (ooo.length > 0) return true;
      // ackBatching defers only the plain every-2nd-segment ACK: one that closes a hole goes at once.
      if (due && (!this.config.ackBatching || pulled > 0)) return true;
      if (this.delAckAt === NONE) this.delAckAt = now + this.config.delayedAckMs;
      if (due && !this.ackDeferred) {
        this.ackDeferred = true;
        this.ctx.hooks.ackDue?.(this.ctx.conn);
      }
      return false;
    }
    if (d > 0) {
      this.storeOoo(seq, payload);
      this.lastOooSeq = seq;
      this.quickAcks = QUICK_ACKS;
    }
    // out of order: acknowledge at once; duplicate: re-acknowledge at once (our previous ACK may have been lost)
    return true;
  }

  /**
   * An ACK goes out now: its payload (our SACK blocks, or empty), and the delayed-ACK state is reset.
   */
  takeAck(): Uint8Array {
    let payload: Uint8Array = EMPTY;
    if (this.ooo.length > 0) {
      payload = encodeSack(this.sackBlocks());
      this.sackSent++;
    }
    this.segsSinceAck = 0;
    if (this.quickAcks > 0) this.quickAcks--;
    this.delAckAt = NONE;
    this.ackDeferred = false;
    return payload;
  }

  /** A data segment goes out: it carries our ACK. */
  piggybacked(): void {
    this.segsSinceAck = 0;
    this.delAckAt = NONE;
  }

  /** manualConsume: every receive slot holds data the application has not taken yet. */
  windowFull(): boolean {
    return this.config.manualConsume && this.recvQueued >= this.config.recvSlots;
  }

  /** Free receive slots, capped at 65535; never 0 (0 would mean "no limit" to the peer). */
  windowField(): number {
    let w = this.config.recvSlots;
    if (this.config.manualConsume) w -= this.recvQueued;
    if (w > 65_535) w = 65_535;
    return w < 1 ? 1 : w;
  }

  /** Drops out-of-order data and the pending delayed ACK (the connection is closing). */
  clear(): void {
    this.ooo.length = 0;
    this.delAckAt = NONE;
  }

  private deliver(payload: Uint8Array): void {
    this.rcvNxt = seqAdd(this.rcvNxt, payload.length);
    this.bytesRecv += payload.length;
    if (this.config.manualConsume) this.recvQueued++;
    this.ctx.queueData(payload);
  }

  private storeOoo(seq: number, payload: Uint8Array): void {
    const ooo = this.ooo;
    // binary search for the insertion point (ordered by distance from rcvNxt)
    const key = seqDiff(seq, this.rcvNxt);
    let lo = 0;
    let hi = ooo.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqDiff(ooo[mid]!.seq, this.rcvNxt) < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo < ooo.length && ooo[lo]!.seq === seq) return; // already held
    if (ooo.length >= this.config.oooMax) return; // full: dropped
    ooo.splice(lo, 0, { seq, end: seqAdd(seq, payload.length), payload });
  }

  /**
   * At most 4 SACK blocks (the wire limit): the block holding the segment that arrived last first,
   * then the lowest others (RFC 2018 §4). Listing the newest arrival makes every arrival reported at
   * least once, so a sender learns about data far above the first holes; the lowest blocks locate
   * the holes to repair first. (The reference lists the 4 lowest; any 1–4 blocks decode the same.)
   */
  private sackBlocks(): SackBlock[] {
    const blocks: SackBlock[] = [];
    const recent = this.lastOooSeq;
    let recentBlock: SackBlock | undefined;
    let cur: SackBlock | undefined;
    let curHasRecent = false;
    /** The 4th lowest block, used when no block holds the newest arrival. */
    let spare: SackBlock | undefined;
    const close = (): boolean => {
      if (cur === undefined) return false;
      if (curHasRecent) recentBlock = cur;
      else if (blocks.length < 3) blocks.push(cur);
      else spare ??= cur;
      return blocks.length >= 3 && recentBlock !== undefined;
    };
    for (const o of this.ooo) {
      if (cur !== undefined && !seqAfter(o.seq, cur.right)) {
        if (seqAfter(o.end, cur.right)) cur.right = o.end;
      } else {
        if (close()) {
          cur = undefined;
          break;
        }
        cur = { left: o.seq, right: o.end };
        curHasRecent = false;
      }
      if (o.seq === recent) curHasRecent = true;
    }
    close();
    if (recentBlock !== undefined) blocks.unshift(recentBlock);
    else if (spare !== undefined) blocks.push(spare);
    return blocks;
  }
}
