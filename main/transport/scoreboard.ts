/**
 * The SACK scoreboard (RFC 6675): every data segment sent and not yet cumulatively acknowledged, in
 * sequence order, each marked SACKed or deemed lost, with the `pipe` estimate (bytes sent and neither
 * acknowledged, SACKed nor deemed lost). SACK marks are kept, not cleared by a later cumulative ACK.
 * Deliveries (cumulative or SACKed) are reported to RACK. No I/O; the sender decides what to send.
 */
import type { SackBlock } from '../wire/sack';
import type { RateSampler } from './delivery-rate';
import type { Rack } from './rack';
import { seqAfter, seqBefore, seqDiff } from './seq';

/** A data segment awaiting acknowledgement. Retransmissions resend exactly `seq` + `payload`. */
export interface TxSeg {
  seq: number;
  end: number;
  payload: Uint8Array;
  /** Time of the last transmission. */
  sentAt: number;
  attempts: number;
  sacked: boolean;
  /** Deemed lost and not yet retransmitted (not counted in `pipe`). */
  lost: boolean;
  // delivery-rate snapshot at the last transmission (delivery-rate.ts)
  dlv: number;
  dlvAt: number;
  firstAt: number;
  appLimited: boolean;
}

export class Scoreboard {
  /** Outstanding segments from index `head` on (a deque: acknowledged entries are cleared, then spliced). */
  readonly q: (TxSeg | undefined)[] = [];
  head = 0;
  /** Payload bytes of the outstanding segments. */
  unackedBytes = 0;
  sackedCount = 0;
  /** The highest sequence known to have arrived (cumulative ACK or SACK). */
  highSack = 0;
  /** Bytes in the network: sent, not acknowledged, not SACKed, not deemed lost. */
  pipe = 0;
  lostCount = 0;
  /** No segment below this seq is marked lost. */
  lostScanSeq = 0;
  /** Outstanding segments sent more than once (RACK must look at them even without SACK). */
  retxOutstanding = 0;
  /** Segments deemed lost, each time one was (stats). */
  lostMarked = 0;
  private readonly rack: Rack;
  private readonly rate: RateSampler;

  constructor(rack: Rack, rate: RateSampler) {
    this.rack = rack;
    this.rate = rate;
  }

  /** Number of outstanding segments. */
  get size(): number {
    return this.q.length - this.head;
  }

  /** A new segment was sent. */
  add(seq: number, end: number, payload: Uint8Array, now: number): void {
    const s: TxSeg = { seq, end, payload, sentAt: now, attempts: 1, sacked: false, lost: false, dlv: 0, dlvAt: 0, firstAt: 0, appLimited: false };
    this.rate.onSend(s, now, this.head === this.q.length);
    this.q.push(s);
    this.unackedBytes += payload.length;
    this.pipe += payload.length;
  }

  /** `s` is being sent again: back in the pipe if it was deemed lost. */
  resent(s: TxSeg, now: number): void {
    if (s.lost) {
      s.lost = false;
      this.lostCount--;
      this.pipe += s.payload.length;
    }
    if (s.attempts === 1) this.retxOutstanding++;
    s.attempts++;
    s.sentAt = now;
    this.rate.onSend(s, now, false);
  }

  /** Removes the segments the cumulative ACK `ack` covers (every one ends at or below it). */
  ackTo(ack: number, now: number): void {
    const q = this.q;
    const rack = this.rack;
    const highBefore = this.highSack;
    // An ACK covering a retransmission also covers segments that waited behind the hole at the
    // receiver: their send times say nothing about the path (Karn), so no RTT sample from this ACK.
    let heldBack = false;
    while (this.head < q.length) {
      const s = q[this.head]!;
      if (seqAfter(s.end, ack)) break;
      if (s.sacked) this.sackedCount--;
      else {
        if (s.lost) this.lostCount--;
        else this.pipe -= s.payload.length;
        if (s.attempts === 1 && seqBefore(s.end, highBefore)) rack.reorderSeen = true; // a hole filled late
        rack.delivered(s, now);
        this.rate.onDelivered(s, now);
      }
      if (s.attempts > 1) {
        this.retxOutstanding--;
        heldBack = true;
      }
      this.unackedBytes -= s.payload.length;
      q[this.head++] = undefined;
    }
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    if (heldBack) rack.ackRtt = Infinity;
    if (seqBefore(this.highSack, ack)) this.highSack = ack;
  }

  /**
   * Marks SACKed the segments the blocks cover (clamped to [una, nxt)). Returns whether any segment
   * was newly SACKed.
   */
  sack(blocks: SackBlock[], una: number, nxt: number, now: number): boolean {
    const q = this.q;
    const rack = this.rack;
    const highBefore = this.highSack;
    let any = false;
    for (const b of blocks) {
      let left = b.left;
      let right = b.right;
      if (!seqAfter(right, left)) continue;
      if (seqBefore(left, una)) left = una;
      if (seqAfter(right, nxt)) right = nxt;
      for (let i = this.indexAtOrAfter(left, una); i < q.length; i++) {
        const s = q[i]!;
        if (seqAfter(s.end, right)) break;
        if (s.sacked) continue;
        s.sacked = true;
        this.sackedCount++;
        any = true;
        if (s.lost) {
          s.lost = false; // it arrived after all (late, or the retransmission did)
          this.lostCount--;
        } else {
          this.pipe -= s.payload.length;
        }
        if (s.attempts === 1 && seqBefore(s.end, highBefore)) rack.reorderSeen = true;
        rack.delivered(s, now);
        this.rate.onDelivered(s, now);
        if (seqAfter(s.end, this.highSack)) this.highSack = s.end;
      }
    }
    return any;
  }

  markLost(s: TxSeg): void {
    if (this.lostCount === 0 || seqBefore(s.seq, this.lostScanSeq)) this.lostScanSeq = s.seq;
    s.lost = true;
    this.lostCount++;
    this.lostMarked++;
    this.pipe -= s.payload.length;
  }

  /** Every outstanding segment neither SACKed nor already lost is deemed lost (RTO). */
  markAllLost(): void {
    const q = this.q;
    for (let i = this.head; i < q.length; i++) {
      const s = q[i]!;
      if (!s.sacked && !s.lost) this.markLost(s);
    }
  }

  /** The lowest segment marked lost (`una`: the lowest outstanding sequence). */
  nextLost(una: number): TxSeg | undefined {
    if (this.lostCount === 0) return undefined;
    const q = this.q;
    let from = this.lostScanSeq;
    if (seqBefore(from, una)) from = una;
    for (let i = this.indexAtOrAfter(from, una); i < q.length; i++) {
      const s = q[i]!;
      if (s.lost) {
        this.lostScanSeq = s.seq;
        return s;
      }
    }
    return undefined;
  }

  firstUnsacked(): TxSeg | undefined {
    const q = this.q;
    if (this.sackedCount === 0) return q[this.head];
    for (let i = this.head; i < q.length; i++) if (!q[i]!.sacked) return q[i];
    return undefined;
  }

  /** Index of the first outstanding segment whose seq ≥ `seq` (binary search; `base` ≤ every seq held). */
  indexAtOrAfter(seq: number, base: number): number {
    const q = this.q;
    let lo = this.head;
    let hi = q.length;
    const key = seqDiff(seq, base);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqDiff(q[mid]!.seq, base) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Forgets every outstanding segment (the connection is closing). */
  clear(): void {
    this.q.length = 0;
    this.head = 0;
    this.unackedBytes = 0;
    this.sackedCount = 0;
    this.pipe = 0;
    this.lostCount = 0;
    this.retxOutstanding = 0;
  }
}
