/**
 * Congestion control: how many bytes may be in the network. New data goes out while the pipe estimate
 * (bytes sent and neither acknowledged, SACKed nor deemed lost) is below `cwnd`; loss recovery decides
 * what is lost and tells the controller, the controller decides the window. Pure and synchronous; no
 * allocation per call (it runs for every ACK).
 *
 * Two implementations, chosen by the transport config's `congestion` key (`makeCongestionController`,
 * called where the connection builds its parts): `RenoController` below (loss-based: halves on every
 * loss) and `BbrController` (bbr.ts: model-based, paces at the measured bottleneck rate and does not
 * back off on random loss). A controller may ask for pacing (`pacingRate`); the sender then spreads
 * its transmissions (pacing.ts) and the connection's deadline includes the next pacing slot.
 */
import { BbrController } from './bbr';
import type { TransportConfig } from './config';
import type { RateSample } from './delivery-rate';

export interface CongestionController {
  /** Congestion window, bytes. */
  readonly cwnd: number;
  /** Slow-start threshold, bytes (reported in the stream's stats). */
  readonly ssthresh: number;
  /**
   * A cumulative ACK acknowledged `acked` new bytes. Called after `onRecoveryEnd` when the same ACK
   * ended a recovery; `inFastRecovery` says whether a fast recovery is still going on.
   */
  onAck(acked: number, inFastRecovery: boolean): void;
  /**
   * Loss detected (duplicate ACKs, SACK or RACK) outside recovery: fast recovery starts, once per
   * recovery. `flight` = bytes sent and not cumulatively acknowledged.
   */
  onLoss(flight: number): void;
  /**
   * `segments` duplicate ACKs during fast recovery, each one a segment that left the network. Called
   * with the duplicate-ACK threshold right after `onLoss` when duplicate ACKs started the recovery,
   * then with 1 for every further duplicate ACK.
   */
  onDupAcks(segments: number): void;
  /**
   * Everything outstanding when the recovery started is acknowledged. `afterTimeout`: the recovery
   * was started by a retransmission timeout (else by loss detection).
   */
  onRecoveryEnd(afterTimeout: boolean): void;
  /**
   * The retransmission timer expired (every outstanding segment is now deemed lost). `repeated`: an
   * earlier timeout's recovery is still going on (no cumulative ACK reached its recovery point).
   */
  onRto(flight: number, repeated: boolean): void;
  /** Pacing rate, bytes per ms (Infinity: no pacing; the window alone decides). */
  readonly pacingRate: number;
  /**
   * Once per ACK, after the scoreboard, loss detection and the RTT estimate were updated: the
   * ACK's delivery-rate sample, its RTT sample (`rtt`, ms; Infinity when it had none), the pipe.
   */
  onAckSample(rs: RateSample, rtt: number, pipe: number, now: number): void;
}

/** The controller the config asks for. */
export function makeCongestionController(algorithm: TransportConfig['congestion'], config: TransportConfig, segmentSize: number): CongestionController {
  return algorithm === 'bbr' ? new BbrController(config, segmentSize) : new RenoController(config, segmentSize);
}

/**
 * Reno-like (RFC 5681 with RFC 6675 recovery): slow start below ssthresh, then one segment per cwnd of
 * acknowledged data; on loss ssthresh = half the flight (at least 2 segments) and cwnd = ssthresh,
 * inflated by one segment per duplicate ACK and deflated back when fast recovery ends; no growth during
 * fast recovery; on a timeout cwnd restarts at one segment (the RFC 5681 loss window) and ssthresh is
 * halved only on the first timeout of a recovery.
 */
export class RenoController implements CongestionController {
  cwnd: number;
  ssthresh: number;
  readonly pacingRate = Infinity;
  private readonly segmentSize: number;
  private readonly maxCwnd: number;

  constructor(config: TransportConfig, segmentSize: number) {
    this.cwnd = config.initialCwnd;
    this.ssthresh = config.initialSsthresh;
    this.maxCwnd = config.maxCwnd;
    this.segmentSize = segmentSize;
  }

  onAck(acked: number, inFastRecovery: boolean): void {
    if (inFastRecovery) return; // no growth during fast recovery (RFC 6675); slow start after a timeout
    if (this.cwnd < this.ssthresh) this.cwnd += acked;
    else this.cwnd += Math.max(1, Math.floor((this.segmentSize * acked) / this.cwnd));
    if (this.cwnd > this.maxCwnd) this.cwnd = this.maxCwnd;
  }

  onLoss(flight: number): void {
    this.ssthresh = this.half(flight);
    this.cwnd = this.ssthresh;
  }

  onDupAcks(segments: number): void {
    this.cwnd = Math.min(this.cwnd + segments * this.segmentSize, this.maxCwnd);
  }

  onRecoveryEnd(afterTimeout: boolean): void {
    if (!afterTimeout && this.cwnd > this.ssthresh) this.cwnd = this.ssthresh; // deflate
  }

  onRto(flight: number, repeated: boolean): void {
    if (!repeated) this.ssthresh = this.half(flight);
    this.cwnd = this.segmentSize;
  }

  onAckSample(): void {
    // window-based: the cumulative ACK (onAck) is all it needs
  }

  /** Half of what was really in flight (at most cwnd), at least 2 segments. */
  private half(flight: number): number {
    return Math.max(Math.floor(Math.min(this.cwnd, flight) / 2), 2 * this.segmentSize);
  }
}
