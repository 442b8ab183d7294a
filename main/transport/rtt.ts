/** RTT estimation and the retransmission timeout (RFC 6298), with exponential backoff. */
import type { TransportConfig } from './config';

export class RttEstimator {
  srtt = 0;
  rttvar = 0;
  /** A sample was taken (before it, the RTO is the configured initial one). */
  hasRtt = false;
  /** Base RTO from the estimator; the timer uses base × backoff (see `current`). */
  rto: number;
  /** Doubles on every timeout while base × backoff < maxRtoMs; back to 1 when new data is acknowledged. */
  backoff = 1;
  private readonly config: TransportConfig;

  constructor(config: TransportConfig) {
    this.config = config;
    this.rto = config.initialRtoMs;
  }

  /** One RTT sample, ms (a negative one is ignored). */
  sample(r: number): void {
    if (r < 0) return;
    if (!this.hasRtt) {
      this.srtt = r;
      this.rttvar = r / 2;
      this.hasRtt = true;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    const c = this.config;
    const rto = this.srtt + Math.max(c.clockGranularityMs, 4 * this.rttvar);
    this.rto = Math.min(c.maxRtoMs, Math.max(c.minRtoMs, rto));
  }

  /** The retransmission timeout in force: base × backoff, at most maxRtoMs. */
  current(): number {
    return Math.min(this.rto * this.backoff, this.config.maxRtoMs);
  }

  /** A timeout expired: double the backoff unless the timer is already at its maximum. */
  backOff(): void {
    if (this.rto * this.backoff < this.config.maxRtoMs) this.backoff *= 2;
  }
}
