/**
 * Loss detection (RFC 8985 RACK, with the RFC 6675 duplicate threshold): what the deliveries reported
 * by the scoreboard say about the segments still outstanding. A segment is deemed lost when
 * dupAckThreshold segments' worth of data above it is SACKed (sent once), or when a segment sent after
 * it was delivered and one RTT plus a reordering window has passed since it was sent — which also
 * finds lost retransmissions. Also the per-ACK RTT sample (one per ACK, Karn's rule).
 */
import type { TransportConfig } from './config';
import type { RttEstimator } from './rtt';
import type { Scoreboard, TxSeg } from './scoreboard';
import { NONE } from './segment';
import { seqAdd, seqAfter } from './seq';

export class Rack {
  /** Send time of the most recently sent segment known to be delivered. */
  xmitAt = -Infinity;
  /** Its end sequence (ties in `xmitAt` are broken by the higher end). */
  end = 0;
  /** Its round trip, ms. */
  rtt = 0;
  /** It was a retransmission (later-sent than original segments still outstanding). */
  retx = false;
  minRtt = Infinity;
  /** Smallest RTT of a segment sent once and delivered by the ACK being processed (one sample per ACK). */
  ackRtt = Infinity;
  /** A hole was filled by a segment sent once after later data had arrived: the path reorders. */
  reorderSeen = false;
  /** When the earliest segment not yet overdue becomes overdue (NONE: no timer). */
  timerAt = NONE;
  /** The last ACK listed fewer than 4 SACK blocks: everything the receiver holds is known. */
  sackComplete = true;
  private readonly config: TransportConfig;
  private readonly segmentSize: number;
  private readonly rttEst: RttEstimator;

  constructor(config: TransportConfig, segmentSize: number, rtt: RttEstimator) {
    this.config = config;
    this.segmentSize = segmentSize;
    this.rttEst = rtt;
  }

  /** A segment is known to have arrived (cumulatively acknowledged or SACKed): RTT and RACK state. */
  delivered(s: TxSeg, now: number): void {
    const rtt = now - s.sentAt;
    if (rtt < 0) return;
    if (s.attempts === 1) {
      if (rtt < this.ackRtt) this.ackRtt = rtt;
    } else if (rtt < this.minRtt) {
      return; // faster than any round trip: an earlier transmission arrived, the time says nothing
    }
    if (s.sentAt > this.xmitAt || (s.sentAt === this.xmitAt && seqAfter(s.end, this.end))) {
      this.xmitAt = s.sentAt;
      this.end = s.end;
      this.rtt = rtt;
      this.retx = s.attempts > 1;
    }
  }

  /** Before an ACK is processed. */
  beginAck(): void {
    this.ackRtt = Infinity;
  }

  /**
   * After an ACK was processed (established): `sackComplete` as above; the ACK's RTT sample, if any,
   * goes to the estimator.
   */
  endAck(sackComplete: boolean): void {
    this.sackComplete = sackComplete;
    if (this.ackRtt !== Infinity) {
      this.rttEst.sample(this.ackRtt);
      if (this.ackRtt < this.minRtt) this.minRtt = this.ackRtt;
    }
  }

  /** RACK reordering window: none while recovering without seen reordering, else min RTT / 4. */
  reoWnd(inRecovery: boolean): number {
    if (!this.reorderSeen && inRecovery) return 0;
    const w = this.minRtt === Infinity ? 0 : this.minRtt / 4;
    const est = this.rttEst;
    return est.hasRtt && est.srtt < w ? est.srtt : w;
  }

  /**
   * Marks lost every outstanding segment that (a) has dupAckThreshold segments' worth of data SACKed
   * above it (sent once), or (b) was sent before a segment now known delivered and has not arrived
   * within that segment's RTT plus the reordering window. When the receiver's last SACK list was full
   * (4 blocks), segments above the highest SACK are not judged: the receiver may hold them without
   * saying so. Arms the timer for the earliest segment that is not yet overdue. Returns whether any
   * segment was marked (`una`: the lowest outstanding sequence).
   */
  detect(sb: Scoreboard, una: number, inRecovery: boolean, now: number): boolean {
    this.timerAt = NONE;
    // Without SACKs and retransmissions, every outstanding segment was sent after everything delivered.
    if (sb.sackedCount === 0 && sb.retxOutstanding === 0 && !this.retx) return false;
    if (this.xmitAt === -Infinity) return false;
    const c = this.config;
    const dupLimit = seqAdd(sb.highSack, -c.dupAckThreshold * this.segmentSize);
    const reo = this.reoWnd(inRecovery);
    const q = sb.q;
    const stop = this.sackComplete ? q.length : sb.indexAtOrAfter(sb.highSack, una);
    let next = NONE;
    let marked = false;
    for (let i = sb.head; i < stop; i++) {
      const s = q[i]!;
      if (s.sacked || s.lost || s.attempts >= c.maxTransmissions) continue;
      let lost = s.attempts === 1 && sb.sackedCount > 0 && !seqAfter(s.end, dupLimit);
      if (!lost && (s.sentAt < this.xmitAt || (s.sentAt === this.xmitAt && !seqAfter(s.end, this.end)))) {
        const at = s.sentAt + this.rtt + reo;
        if (at <= now) lost = true;
        else if (next === NONE || at < next) next = at;
      }
      if (lost) {
        sb.markLost(s);
        marked = true;
      }
    }
    this.timerAt = next;
    return marked;
  }
}
