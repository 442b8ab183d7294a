/**
 * Delivery rate estimation (draft-cheng-iccrg-delivery-rate-estimation): every transmission records
 * how much had been delivered and when; when that segment is known delivered (cumulatively ACKed or
 * SACKed, the first time), the data delivered since then over the longer of the send and ACK
 * intervals is one rate sample. One sample per ACK (the most recently sent segment it delivered).
 * Model-based congestion control (bbr.ts) reads it; pure, no allocation per call.
 */

/** What a transmission remembers (fields of the scoreboard's TxSeg). */
export interface RateSnapshot {
  /** Time of the last transmission, ms. */
  sentAt: number;
  /** Bytes delivered on the connection when it was sent. */
  dlv: number;
  /** Time of the last delivery before it was sent. */
  dlvAt: number;
  /** Send time of the first segment of the flight it belongs to (start of the send interval). */
  firstAt: number;
  /** The sender had nothing more to send then: the rate it reveals is a lower bound. */
  appLimited: boolean;
  payload: Uint8Array;
}

/** One ACK's sample (reused object: read it during the call that hands it out). */
export interface RateSample {
  /** A rate was measured (a delivered segment had a snapshot, and the interval is at least min RTT). */
  valid: boolean;
  /** Bytes per ms. */
  rate: number;
  /** Bytes delivered over the interval. */
  delivered: number;
  /** The interval, ms. */
  interval: number;
  /** Bytes delivered on the connection when the sampled segment was sent (round counting). NONE-like -1: no segment. */
  priorDelivered: number;
  appLimited: boolean;
  /** Bytes newly delivered (cumulative ACK + SACK) by this ACK. */
  acked: number;
  /** Bytes delivered on the connection so far. */
  totalDelivered: number;
}

export class RateSampler {
  /** Bytes delivered so far (cumulatively ACKed or SACKed). */
  delivered = 0;
  /** Time of the last delivery. */
  deliveredAt = 0;
  /** Send time of the segment whose delivery was last seen (start of the next send interval). */
  firstSentAt = 0;
  /** Nonzero: samples until `delivered` passes it are app-limited. */
  appLimitedUntil = 0;
  private readonly sample: RateSample = {
    valid: false,
    rate: 0,
    delivered: 0,
    interval: 0,
    priorDelivered: -1,
    appLimited: false,
    acked: 0,
    totalDelivered: 0,
  };
  // the ACK being processed
  private priorDelivered = -1;
  private sendElapsed = 0;
  private ackElapsed = 0;
  private sampleAppLimited = false;
  private ackStart = 0;

  /** A segment is (re)transmitted; `nothingOutstanding`: it starts a flight after an idle period. */
  onSend(s: RateSnapshot, now: number, nothingOutstanding: boolean): void {
    if (nothingOutstanding) {
      this.firstSentAt = now;
      this.deliveredAt = now;
    }
    s.dlv = this.delivered;
    s.dlvAt = this.deliveredAt;
    s.firstAt = this.firstSentAt;
    s.appLimited = this.appLimitedUntil !== 0;
  }

  /** The sender ran out of data with the window open (`pipe` bytes in flight). */
  markAppLimited(pipe: number): void {
    this.appLimitedUntil = this.delivered + pipe || 1;
  }

  /** Before an ACK is processed. */
  beginAck(): void {
    this.priorDelivered = -1;
    this.ackStart = this.delivered;
  }

  /** `s` is known delivered for the first time. */
  onDelivered(s: RateSnapshot, now: number): void {
    this.delivered += s.payload.length;
    this.deliveredAt = now;
    if (s.dlv >= this.priorDelivered) {
      this.priorDelivered = s.dlv;
      this.sampleAppLimited = s.appLimited;
      this.sendElapsed = s.sentAt - s.firstAt;
      this.ackElapsed = now - s.dlvAt;
      this.firstSentAt = s.sentAt;
    }
  }

  /** After the ACK: the sample (valid when the interval is at least `minRtt`, if one is known). */
  endAck(minRtt: number): RateSample {
    const rs = this.sample;
    if (this.appLimitedUntil !== 0 && this.delivered > this.appLimitedUntil) this.appLimitedUntil = 0;
    rs.acked = this.delivered - this.ackStart;
    rs.totalDelivered = this.delivered;
    rs.priorDelivered = this.priorDelivered;
    rs.valid = false;
    if (this.priorDelivered < 0) return rs;
    rs.appLimited = this.sampleAppLimited;
    rs.delivered = this.delivered - this.priorDelivered;
    const interval = Math.max(this.sendElapsed, this.ackElapsed);
    rs.interval = interval;
    if (interval <= 0 || (minRtt !== Infinity && interval < minRtt)) return rs;
    rs.rate = rs.delivered / interval;
    rs.valid = true;
    return rs;
  }
}
