/**
 * Loss recovery state and timers: the recovery phase (fast recovery after detected loss, or after a
 * retransmission timeout, until everything outstanding at its start is acknowledged), duplicate ACKs,
 * the tail-loss-probe timer (RFC 8985 §7) and the retransmission timer (RFC 6298) with its backoff.
 * It decides and counts; the sender (sender.ts) performs the transmissions that follow, and the
 * congestion controller hears about every phase change.
 *
 *  - three pure duplicate ACKs start recovery as in the reference (the first non-SACKed segment is lost);
 *  - one cwnd reduction per recovery; lost segments go out first, then new data, while pipe < cwnd;
 *  - tail loss probe: with data outstanding and no ACK for 2·SRTT, one segment (new data, else the
 *    highest outstanding one) goes out so that its ACK reveals a lost tail without an RTO; up to
 *    MAX_TLPS per silence, each after twice the previous timeout;
 *  - RTO: every outstanding non-SACKed segment is deemed lost, cwnd restarts at one segment (RFC 5681
 *    loss window; the reference resets to the initial window); the backoff doubles on every timeout and resets when new data is acknowledged; the timer restarts on
 *    forward progress.
 */
import type { TransportConfig } from './config';
import type { CongestionController } from './congestion';
import type { Rack } from './rack';
import type { RttEstimator } from './rtt';
import type { Scoreboard } from './scoreboard';
import { NONE } from './segment';
import { seqBefore } from './seq';

export const RECOVERY_NONE = 0;
export const RECOVERY_FAST = 1;
export const RECOVERY_TIMEOUT = 2;

/** Floor of the tail-loss-probe timeout, ms (timer and event-loop granularity). */
const MIN_PTO_MS = 4;
/** Consecutive tail loss probes (each after twice the previous timeout) before the RTO has to act. */
const MAX_TLPS = 3;

export class LossRecovery {
  recovery = RECOVERY_NONE;
  /** sndNxt when the recovery started: an ACK at or beyond it ends the recovery. */
  recoveryPoint = 0;
  /** Consecutive duplicate ACKs. */
  dupAcks = 0;
  /** Time of the last forward progress (the RTO and probe timers count from it, or from a later send). */
  lastAckProgressAt = 0;
  /** Time of the last data transmission, new or repeated. */
  lastDataTxAt = 0;
  /** Tail loss probes sent since the last forward progress. */
  tlpCount = 0;
  // stats
  fastRetx = 0;
  dupAckCount = 0;
  timeouts = 0;
  tlpProbes = 0;
  private readonly config: TransportConfig;
  private readonly sb: Scoreboard;
  private readonly rack: Rack;
  private readonly rtt: RttEstimator;
  private readonly cc: CongestionController;

  constructor(config: TransportConfig, sb: Scoreboard, rack: Rack, rtt: RttEstimator, cc: CongestionController) {
    this.config = config;
    this.sb = sb;
    this.rack = rack;
    this.rtt = rtt;
    this.cc = cc;
  }

  get inRecovery(): boolean {
    return this.recovery !== RECOVERY_NONE;
  }

  /**
   * A duplicate ACK. Returns true when it reaches the threshold outside recovery: the caller marks
   * the first non-SACKed segment lost and starts fast recovery (the reference's fast retransmit).
   */
  onDupAck(): boolean {
    this.dupAcks++;
    this.dupAckCount++;
    const thr = this.config.dupAckThreshold;
    if (this.dupAcks === thr) return this.recovery === RECOVERY_NONE;
    if (this.dupAcks > thr && this.recovery === RECOVERY_FAST) this.cc.onDupAcks(1); // one segment left the network
    return false;
  }

  /** New data was acknowledged: the path delivers again. */
  onProgress(now: number): void {
    this.dupAcks = 0;
    this.rtt.backoff = 1;
    this.lastAckProgressAt = now;
    this.tlpCount = 0;
  }

  /** After a cumulative ACK up to `ack` acknowledged `acked` new bytes: recovery end, window growth. */
  onCumulativeAck(ack: number, acked: number): void {
    if (this.recovery !== RECOVERY_NONE && !seqBefore(ack, this.recoveryPoint)) {
      this.cc.onRecoveryEnd(this.recovery === RECOVERY_TIMEOUT);
      this.recovery = RECOVERY_NONE;
    }
    this.cc.onAck(acked, this.recovery === RECOVERY_FAST);
  }

  /** Loss detected outside recovery: one congestion response, fast recovery until `sndNxt` is acknowledged. */
  enterFast(flight: number, sndNxt: number): void {
    this.cc.onLoss(flight);
    this.recovery = RECOVERY_FAST;
    this.recoveryPoint = sndNxt;
    this.fastRetx++;
  }

  /** The retransmission timer expired: the flight is deemed lost, the timer backs off. */
  onTimeout(flight: number, sndNxt: number): void {
    this.cc.onRto(flight, this.recovery === RECOVERY_TIMEOUT);
    this.recovery = RECOVERY_TIMEOUT;
    this.recoveryPoint = sndNxt;
    this.sb.markAllLost();
    this.rack.timerAt = NONE;
    this.tlpCount = 0;
    this.rtt.backOff();
    this.timeouts++;
  }

  /** A tail loss probe goes out. */
  onProbe(): void {
    this.tlpCount++;
    this.tlpProbes++;
  }

  /** When the retransmission timer expires (NONE: nothing outstanding). */
  rtoDeadline(): number {
    const sb = this.sb;
    if (sb.head === sb.q.length) return NONE;
    const cand = sb.firstUnsacked() ?? sb.q[sb.head]!;
    const base = cand.sentAt > this.lastAckProgressAt ? cand.sentAt : this.lastAckProgressAt;
    return base + this.rtt.current();
  }

  /**
   * Probe timeout: 2·SRTT (plus the delayed-ACK time when one segment is out), at least MIN_PTO_MS,
   * doubling with each probe that brought nothing back; at most MAX_TLPS probes per silence. NONE
   * when no probe is due before the RTO deadline `rto`.
   */
  ptoDeadline(rto: number = this.rtoDeadline()): number {
    const sb = this.sb;
    const est = this.rtt;
    // not between an RTO and the next forward progress: the backoff paces a silent peer
    if (this.tlpCount >= MAX_TLPS || est.backoff > 1 || sb.head === sb.q.length) return NONE;
    let pto: number;
    if (est.hasRtt) {
      pto = 2 * est.srtt;
      if (sb.q.length - sb.head === 1) pto += this.config.delayedAckMs;
      if (pto < MIN_PTO_MS) pto = MIN_PTO_MS;
    } else {
      pto = this.config.initialRtoMs;
    }
    pto *= 1 << this.tlpCount;
    const base = this.lastDataTxAt > this.lastAckProgressAt ? this.lastDataTxAt : this.lastAckProgressAt;
    const at = base + pto;
    return rto !== NONE && at >= rto ? NONE : at;
  }

  /** The connection is closing: no recovery, no timers. */
  reset(): void {
    this.recovery = RECOVERY_NONE;
    this.rack.timerAt = NONE;
    this.tlpCount = 0;
  }
}
