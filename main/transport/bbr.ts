/**
 * A BBR-style congestion controller (simplified BBRv1, draft-cardwell-iccrg-bbr-congestion-control):
 * it builds a model of the path — bottleneck bandwidth = windowed max of the delivery rate over the
 * last 10 round trips, min RTT = windowed min over 10 s — and sends at that rate (pacing) with about
 * two bandwidth-delay products in flight. Random loss does not shrink the model, so a long path with
 * 1-5 % loss keeps most of its bandwidth, where Reno halves its window on every loss.
 *
 * States: STARTUP (pacing gain 2/ln 2 until the bandwidth stops growing by 25 % for 3 rounds or the
 * RTT shows a queue building; its window is capped at the configured initial slow-start threshold,
 * as Reno's slow start is, so a buffer under one BDP is not overrun),
 * DRAIN (empties the queue STARTUP built), PROBE_BW (pacing gain cycling 1.25, 0.75, 1 x 6, one
 * phase per min RTT), PROBE_RTT (every 10 s without a new min RTT: 4 segments in flight for 200 ms
 * and a round, so that flows sharing a bottleneck see its empty-queue RTT and converge to fair
 * shares). Loss recovery: the window is kept on random loss (the model, not the loss, decides); loss
 * while a queue stands bounds the window (inflight_hi, BBRv2-like, AIMD so shared bottlenecks stay fair);
 * after a retransmission timeout it restarts at one segment and grows back by what is delivered,
 * and the window from before is restored when the recovery ends.
 *
 * Pure and synchronous (time is passed in); no allocation per call.
 */
import type { TransportConfig } from './config';
import type { CongestionController } from './congestion';
import type { RateSample } from './delivery-rate';

export const BBR_STARTUP = 0;
export const BBR_DRAIN = 1;
export const BBR_PROBE_BW = 2;
export const BBR_PROBE_RTT = 3;
export const BBR_STATE_NAMES = ['startup', 'drain', 'probe_bw', 'probe_rtt'] as const;

/** 2/ln 2: the smallest gain that doubles the sending rate every round trip. */
export const BBR_HIGH_GAIN = 2.885;
export const BBR_CYCLE = [1.25, 0.75, 1, 1, 1, 1, 1, 1] as const;
const BW_WINDOW_ROUNDS = 10;
export const BBR_MIN_RTT_WINDOW_MS = 10_000;
export const BBR_PROBE_RTT_MS = 200;
const CWND_GAIN = 2;
const FULL_BW_THRESHOLD = 1.25;
const FULL_BW_ROUNDS = 3;
/**
 * STARTUP also ends on a growing queue (checkStartupQueue), after this many RTT samples in a round:
 * with a buffer under one BDP, waiting for the bandwidth to stop growing would overflow it.
 */
const STARTUP_RTT_SAMPLES = 8;
/** Loss with the RTT at least this times the min RTT counts as congestive (a queue overflowed). */
const CONGESTIVE_RTT = 1.3;
/** The window bound after congestive loss, as a fraction of what was in flight. */
const INFLIGHT_HI_BETA = 0.85;
/** Segments in flight during PROBE_RTT and the floor of the window. */
const MIN_SEGMENTS = 4;

export class BbrController implements CongestionController {
  cwnd: number;
  /** Not used by BBR; reports the window saved before the last timeout (0: none). */
  ssthresh = 0;
  /** Bytes per ms (Infinity until the first RTT sample). */
  pacingRate = Infinity;
  state = BBR_STARTUP;
  /** Bottleneck bandwidth estimate, bytes per ms. */
  btlBw = 0;
  /** Min RTT estimate, ms (Infinity: none yet). */
  minRtt = Infinity;
  /** Round trips counted so far. */
  round = 0;
  filledPipe = false;
  pacingGain = BBR_HIGH_GAIN;
  cwndGain = BBR_HIGH_GAIN;
  cycleIndex = 0;
  private minRttAt = 0;
  private readonly bwRounds = new Float64Array(BW_WINDOW_ROUNDS);
  private nextRoundDelivered = 0;
  private fullBw = 0;
  // STARTUP's queue check: smallest RTT sample of the last and of the current round, samples this round
  private lastRoundMinRtt = Infinity;
  private roundMinRtt = Infinity;
  private roundRttSamples = 0;
  private fullBwCount = 0;
  private cycleAt = 0;
  private probeRttDoneAt = 0;
  private probeRttRoundDone = false;
  private priorCwnd = 0;
  /** Upper bound of the window learnt from congestive loss (Infinity: none). */
  inflightHi = Infinity;
  /** The last RTT sample, ms. */
  private lastRtt = Infinity;
  private inTimeoutRecovery = false;
  private readonly seg: number;
  private readonly maxCwnd: number;
  private readonly minCwnd: number;
  /** STARTUP's window cap (the configured initial slow-start threshold). */
  private readonly startupCap: number;

  constructor(config: TransportConfig, segmentSize: number) {
    this.cwnd = config.initialCwnd;
    this.maxCwnd = config.maxCwnd;
    this.startupCap = Math.max(config.initialSsthresh, config.initialCwnd);
    this.seg = segmentSize;
    this.minCwnd = Math.min(MIN_SEGMENTS * segmentSize, config.initialCwnd);
  }

  /** Bandwidth-delay product at `gain`, bytes (the initial window while no model exists). */
  bdp(gain: number): number {
    if (this.btlBw === 0 || this.minRtt === Infinity) return this.cwnd;
    return gain * this.btlBw * this.minRtt;
  }

  onAck(): void {
    // the window follows the model in onAckSample
  }

  /**
   * Loss starts a recovery. Random loss does not change the model: the window stays. Loss while a
   * queue stands (the last RTT sample at least CONGESTIVE_RTT x min RTT) is the bottleneck's queue
   * overflowing: the window is bounded at INFLIGHT_HI_BETA of what was in flight (BBRv2's
   * inflight_hi), and that bound grows back by one segment per round trip (AIMD: flows that share
   * a bottleneck converge to equal windows).
   */
  onLoss(flight: number): void {
    if (this.minRtt === Infinity || this.lastRtt < this.minRtt * CONGESTIVE_RTT) return;
    const hi = Math.max(this.minCwnd, Math.floor(INFLIGHT_HI_BETA * Math.min(flight, this.cwnd)));
    if (hi < this.inflightHi) this.inflightHi = hi;
    if (this.cwnd > this.inflightHi) this.cwnd = this.inflightHi;
  }

  onDupAcks(): void {
    // no window inflation: the pipe estimate (SACK scoreboard) already discounts what left the network
  }

  onRecoveryEnd(afterTimeout: boolean): void {
    if (afterTimeout && this.priorCwnd > this.cwnd) this.cwnd = this.priorCwnd;
    this.inTimeoutRecovery = false;
  }

  onRto(): void {
    if (!this.inTimeoutRecovery) {
      this.priorCwnd = Math.max(this.cwnd, this.priorCwnd);
      this.ssthresh = this.priorCwnd;
    }
    this.inTimeoutRecovery = true;
    this.cwnd = this.seg;
  }

  onAckSample(rs: RateSample, rtt: number, pipe: number, now: number): void {
    // round trips: a round ends when a segment sent after the previous round's end is delivered
    let roundStart = false;
    if (rs.priorDelivered >= 0 && rs.priorDelivered >= this.nextRoundDelivered) {
      this.nextRoundDelivered = rs.totalDelivered;
      this.round++;
      roundStart = true;
      this.bwRounds[this.round % BW_WINDOW_ROUNDS] = 0;
    }
    // bottleneck bandwidth: max over the last rounds (app-limited samples only when they raise it)
    if (rs.valid && (!rs.appLimited || rs.rate >= this.btlBw)) {
      const i = this.round % BW_WINDOW_ROUNDS;
      if (rs.rate > this.bwRounds[i]!) this.bwRounds[i] = rs.rate;
    }
    let bw = 0;
    for (let i = 0; i < BW_WINDOW_ROUNDS; i++) if (this.bwRounds[i]! > bw) bw = this.bwRounds[i]!;
    this.btlBw = bw;
    // min RTT over a window of 10 s
    const expired = this.minRtt !== Infinity && now - this.minRttAt > BBR_MIN_RTT_WINDOW_MS;
    if (this.state === BBR_STARTUP) this.checkStartupQueue(roundStart, rtt);
    if (rtt !== Infinity) this.lastRtt = rtt;
    if (rtt !== Infinity && (rtt <= this.minRtt || expired)) {
      this.minRtt = rtt;
      this.minRttAt = now;
    }
    this.updateState(roundStart, expired, pipe, now);
    this.updatePacing(rtt);
    this.updateCwnd(rs.acked);
  }

  /**
   * HyStart++-style delay check (RFC 9406 §4.2): once a round has STARTUP_RTT_SAMPLES RTT samples,
   * if even the smallest of them exceeds the last round's smallest by clamp(that / 8, 4 ms, 16 ms),
   * a queue is building: the bottleneck is full, and the delivery rate there is its bandwidth.
   */
  private checkStartupQueue(roundStart: boolean, rtt: number): void {
    if (roundStart) {
      this.lastRoundMinRtt = this.roundMinRtt;
      this.roundMinRtt = Infinity;
      this.roundRttSamples = 0;
    }
    if (rtt === Infinity) return;
    if (rtt < this.roundMinRtt) this.roundMinRtt = rtt;
    const last = this.lastRoundMinRtt;
    if (++this.roundRttSamples < STARTUP_RTT_SAMPLES || last === Infinity || this.btlBw === 0) return;
    const thresh = Math.min(Math.max(last / 8, 4), 16);
    if (this.roundMinRtt >= last + thresh) this.filledPipe = true;
  }

  private updateState(roundStart: boolean, minRttExpired: boolean, pipe: number, now: number): void {
    if (this.state === BBR_STARTUP && roundStart && !this.filledPipe) {
      if (this.btlBw >= this.fullBw * FULL_BW_THRESHOLD) {
        this.fullBw = this.btlBw;
        this.fullBwCount = 0;
      } else if (++this.fullBwCount >= FULL_BW_ROUNDS) {
        this.filledPipe = true;
      }
    }
    if (this.state === BBR_STARTUP && this.filledPipe) {
      this.state = BBR_DRAIN;
      this.pacingGain = 1 / BBR_HIGH_GAIN;
      this.cwndGain = BBR_HIGH_GAIN;
    }
    if (this.state === BBR_DRAIN && pipe <= this.bdp(1)) this.enterProbeBw(now);
    if (this.state === BBR_PROBE_BW) this.advanceCycle(pipe, now);
    if (minRttExpired && this.state !== BBR_PROBE_RTT) {
      this.state = BBR_PROBE_RTT;
      this.pacingGain = 1;
      this.cwndGain = 1;
      this.priorCwnd = Math.max(this.priorCwnd, this.cwnd);
      this.probeRttDoneAt = 0;
    }
    if (this.state === BBR_PROBE_RTT) {
      if (this.probeRttDoneAt === 0 && pipe <= this.minCwnd) {
        this.probeRttDoneAt = now + BBR_PROBE_RTT_MS;
        this.probeRttRoundDone = false;
        this.nextRoundDelivered = 0; // the next delivered segment starts a round
      } else if (this.probeRttDoneAt !== 0) {
        if (roundStart) this.probeRttRoundDone = true;
        if (this.probeRttRoundDone && now >= this.probeRttDoneAt) {
          this.minRttAt = now;
          if (this.priorCwnd > this.cwnd) this.cwnd = this.priorCwnd;
          this.priorCwnd = 0;
          if (this.filledPipe) this.enterProbeBw(now);
          else {
            this.state = BBR_STARTUP;
            this.pacingGain = BBR_HIGH_GAIN;
            this.cwndGain = BBR_HIGH_GAIN;
          }
        }
      }
    }
  }

  private enterProbeBw(now: number): void {
    this.state = BBR_PROBE_BW;
    this.cwndGain = CWND_GAIN;
    // start in a cruising phase (BBR picks one at random, never the draining 0.75 one)
    this.cycleIndex = 2 + (this.round % (BBR_CYCLE.length - 2));
    this.pacingGain = BBR_CYCLE[this.cycleIndex]!;
    this.cycleAt = now;
  }

  private advanceCycle(pipe: number, now: number): void {
    const g = this.pacingGain;
    const phaseOver = now - this.cycleAt > this.minRtt;
    // probing up lasts until the extra is in flight; draining ends early once the queue is gone
    const next = g > 1 ? phaseOver && pipe >= this.bdp(g) : g < 1 ? phaseOver || pipe <= this.bdp(1) : phaseOver;
    if (!next) return;
    this.cycleIndex = (this.cycleIndex + 1) % BBR_CYCLE.length;
    this.pacingGain = BBR_CYCLE[this.cycleIndex]!;
    this.cycleAt = now;
  }

  private updatePacing(rtt: number): void {
    if (this.btlBw === 0) {
      // no model yet: the initial window per round trip, at the startup gain
      const r = this.minRtt !== Infinity ? this.minRtt : rtt;
      if (r !== Infinity && r > 0) this.pacingRate = (BBR_HIGH_GAIN * this.cwnd) / r;
      return;
    }
    const rate = this.pacingGain * this.btlBw;
    // while starting up, never pace slower than before (the estimate only grows)
    if (this.filledPipe || rate > this.pacingRate || this.pacingRate === Infinity) this.pacingRate = rate;
  }

  private updateCwnd(acked: number): void {
    if (this.state === BBR_PROBE_RTT) {
      if (this.cwnd > this.minCwnd) this.cwnd = this.minCwnd;
      return;
    }
    // the model's window plus a few segments for delayed/batched ACKs
    let target = this.bdp(this.cwndGain) + 3 * this.seg;
    if (target < this.minCwnd) target = this.minCwnd;
    if (this.inflightHi !== Infinity) {
      // additive increase of the bound (one segment per window delivered), as Reno's window grows
      this.inflightHi += (this.seg * acked) / this.inflightHi;
      if (target > this.inflightHi) target = this.inflightHi;
    }
    if (this.filledPipe) this.cwnd = Math.min(this.cwnd + acked, target);
    else if (this.cwnd < target || this.btlBw === 0) this.cwnd = Math.min(this.cwnd + acked, this.startupCap);
    if (this.cwnd < this.minCwnd) this.cwnd = this.minCwnd;
    if (this.cwnd > this.maxCwnd) this.cwnd = this.maxCwnd;
    this.cwnd = Math.floor(this.cwnd); // whole bytes, as the stats show it
  }
}
