/**
 * The send side of a connection: the application's queued bytes, segmentation (Nagle for the sub-MSS
 * remainder), the window gate (pipe < cwnd and the peer's advertised window), transmissions and
 * retransmissions of exactly the original segments, cumulative and duplicate ACKs, the zero-window
 * probe and the `drain` event. What is lost and when the timers fire is decided by loss recovery
 * (recovery.ts, rack.ts, scoreboard.ts); how much may be in flight by the congestion controller.
 */
import type { TransportConfig } from './config';
import type { CongestionController } from './congestion';
import type { StreamContext } from './context';
import type { RateSampler } from './delivery-rate';
import { Pacer } from './pacing';
import type { Rack } from './rack';
import type { Receiver } from './receiver';
import { RECOVERY_NONE, type LossRecovery } from './recovery';
import type { Scoreboard, TxSeg } from './scoreboard';
import { EMPTY, FLAG_ACK, NONE } from './segment';
import { seqAdd, seqAfter, seqBefore, seqDiff } from './seq';

export class Sender {
  /** Oldest unacknowledged sequence. */
  sndUna = 0;
  /** Next sequence to send. */
  sndNxt = 0;
  /** Bytes written by the application and not yet sent. */
  pendingBytes = 0;
  /** Since when a sub-MSS remainder waits (Nagle; NONE: none waits). */
  nagleSince = NONE;
  /** A write was short: emit `drain` when the buffer has room again. */
  needDrain = false;
  /** The peer's advertised window, bytes (0 = no limit). */
  peerWindowBytes = 0;
  /** Next zero-window probe (NONE: none armed). */
  probeAt = NONE;
  /** Data waits only for the pacer: pump again at this time (NONE: not pacing-limited). */
  paceAt = NONE;
  private probeInterval: number;
  private pend: Uint8Array[] = [];
  private pendHead = 0;
  private pendOff = 0;
  // stats
  bytesSent = 0;
  retransmits = 0;
  private readonly ctx: StreamContext;
  private readonly config: TransportConfig;
  private readonly segmentSize: number;
  private readonly rx: Receiver;
  private readonly sb: Scoreboard;
  private readonly rack: Rack;
  private readonly lr: LossRecovery;
  private readonly cc: CongestionController;
  private readonly rate: RateSampler;
  private readonly pacer: Pacer;

  constructor(
    ctx: StreamContext,
    rx: Receiver,
    sb: Scoreboard,
    rack: Rack,
    lr: LossRecovery,
    cc: CongestionController,
    rate: RateSampler,
  ) {
    this.ctx = ctx;
    this.config = ctx.config;
    this.segmentSize = ctx.segmentSize;
    this.rx = rx;
    this.sb = sb;
    this.rack = rack;
    this.lr = lr;
    this.cc = cc;
    this.rate = rate;
    this.pacer = new Pacer(ctx.segmentSize);
    this.probeInterval = ctx.config.probeInitialMs;
  }

  /** Bytes `write()` would accept now. */
  free(): number {
    return Math.max(0, this.config.sendBufferBytes - this.pendingBytes - this.sb.unackedBytes);
  }

  /** Queues application data (the caller checked `free()`). */
  queue(chunk: Uint8Array): void {
    this.pend.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /** Bytes sent and not cumulatively acknowledged. */
  inFlight(): number {
    return this.sndNxt === this.sndUna ? 0 : Math.max(0, seqDiff(this.sndNxt, this.sndUna));
  }

  /** No new data may go out now: the network (pipe ≥ cwnd) or the peer's window is full. */
  windowClosed(): boolean {
    return this.sb.pipe >= this.cc.cwnd || this.peerWindowFull();
  }

  /**
   * The peer's advertised window (slots × MSS bytes, as the reference counts it; 0 = no limit) is used
   * up: in bytes, or in segments (each outstanding segment may take one of the receiver's slots, also
   * when it is shorter than the MSS: beyond them it drops what arrives above a hole).
   */
  private peerWindowFull(): boolean {
    const w = this.peerWindowBytes;
    return w > 0 && (this.inFlight() >= w || this.sb.size * this.config.mss >= w);
  }

  /**
   * Sends while the window gate and the pacer allow: segments deemed lost first, then queued data
   * (Nagle for the sub-MSS remainder; `finWait`: flush it). Returns true when nothing is left to send or to be
   * acknowledged and `finWait` (the FIN is due).
   */
  pump(now: number, finWait: boolean): boolean {
    const c = this.config;
    const mss = this.segmentSize;
    const sb = this.sb;
    const pacer = this.pacer;
    const rate = this.cc.pacingRate;
    let paced = false;
    // segments deemed lost go first, while the network has room (pipe < cwnd)
    while (sb.lostCount > 0 && sb.pipe < this.cc.cwnd) {
      if (!pacer.ready(now, rate)) {
        paced = true;
        break;
      }
      const s = sb.nextLost(this.sndUna);
      if (s === undefined || s.attempts >= c.maxTransmissions) break; // the RTO decides about it
      this.resend(s, now);
    }
    while (!paced && this.pendingBytes > 0) {
      const inFlight = this.inFlight();
      if (this.windowClosed()) {
        if (this.probeAt === NONE) this.probeAt = now + this.probeInterval;
        break;
      }
      let len: number;
      if (this.pendingBytes >= mss) {
        len = mss;
        this.nagleSince = NONE;
      } else if (finWait || inFlight === 0 || (this.nagleSince !== NONE && now - this.nagleSince >= c.nagleMs)) {
        len = this.pendingBytes;
      } else {
        if (this.nagleSince === NONE) this.nagleSince = now;
        break;
      }
      if (!pacer.ready(now, rate)) {
        paced = true;
        break;
      }
      this.sendNew(this.take(len), now);
    }
    this.paceAt = paced ? pacer.nextAt : NONE;
    if (this.pendingBytes === 0) {
      this.nagleSince = NONE;
      this.probeAt = NONE;
      this.probeInterval = c.probeInitialMs;
      // the window is open and nothing waits: rate samples from here on say less than the path can do
      if (sb.pipe < this.cc.cwnd && sb.lostCount === 0) this.rate.markAppLimited(sb.pipe);
      return finWait && sb.head === sb.q.length;
    }
    return false;
  }

  /** Removes `len` bytes from the pending chunks (a subarray when one chunk holds them all). */
  private take(len: number): Uint8Array {
    const pend = this.pend;
    let chunk = pend[this.pendHead]!;
    let avail = chunk.length - this.pendOff;
    let out: Uint8Array;
    if (avail >= len) {
      out = chunk.subarray(this.pendOff, this.pendOff + len);
      this.pendOff += len;
      if (this.pendOff === chunk.length) this.advanceChunk();
    } else {
      out = new Uint8Array(len);
      let o = 0;
      while (o < len) {
        chunk = pend[this.pendHead]!;
        avail = chunk.length - this.pendOff;
        const n = Math.min(avail, len - o);
        out.set(chunk.subarray(this.pendOff, this.pendOff + n), o);
        o += n;
        this.pendOff += n;
        if (this.pendOff === chunk.length) this.advanceChunk();
      }
    }
    this.pendingBytes -= len;
    return out;
  }

  private advanceChunk(): void {
    this.pend[this.pendHead++] = EMPTY;
    this.pendOff = 0;
    if (this.pendHead === this.pend.length) {
      this.pend.length = 0;
      this.pendHead = 0;
    } else if (this.pendHead >= 1024 && this.pendHead * 2 >= this.pend.length) {
      this.pend.splice(0, this.pendHead);
      this.pendHead = 0;
    }
  }

  private sendNew(payload: Uint8Array, now: number): void {
    const seq = this.sndNxt;
    const end = seqAdd(seq, payload.length);
    const sb = this.sb;
    if (sb.head === sb.q.length) this.lr.lastAckProgressAt = now; // timer starts with the first segment
    sb.add(seq, end, payload, now);
    this.lr.lastDataTxAt = now;
    this.sndNxt = end;
    this.bytesSent += payload.length;
    this.pacer.sent(payload.length, now, this.cc.pacingRate);
    this.ctx.lastActivity = now;
    this.rx.piggybacked();
    this.ctx.emit(FLAG_ACK, seq, this.rx.rcvNxt, this.rx.windowField(), payload);
  }

  /** Sends a tracked segment again, exactly as first sent (same seq, same payload). */
  private resend(s: TxSeg, now: number): void {
    this.sb.resent(s, now);
    this.lr.lastDataTxAt = now;
    this.retransmits++;
    this.pacer.sent(s.payload.length, now, this.cc.pacingRate);
    this.rx.piggybacked();
    this.ctx.emit(FLAG_ACK, s.seq, this.rx.rcvNxt, this.rx.windowField(), s.payload);
  }

  /**
   * A cumulative ACK field (`dupEligible`: the segment had no payload, so it may count as a duplicate;
   * SACK-carrying ACKs are judged by the scoreboard). Returns true when it acknowledged new data.
   */
  onAck(ack: number, dupEligible: boolean, now: number): boolean {
    if (seqAfter(ack, this.sndNxt) || seqBefore(ack, this.sndUna)) return false;
    const sb = this.sb;
    if (ack === this.sndUna) {
      if (dupEligible && sb.head < sb.q.length && this.lr.onDupAck()) {
        const c = this.config;
        // the reference's fast retransmit: the first non-SACKed segment is lost
        const h = sb.firstUnsacked();
        if (h !== undefined && !h.lost && h.attempts < c.maxTransmissions) sb.markLost(h);
        this.enterRecovery(now);
        this.cc.onDupAcks(c.dupAckThreshold);
      }
      return false;
    }
    const acked = seqDiff(ack, this.sndUna);
    this.sndUna = ack;
    this.lr.onProgress(now);
    sb.ackTo(ack, now);
    this.lr.onCumulativeAck(ack, acked);
    this.probeAt = NONE;
    this.probeInterval = this.config.probeInitialMs;
    return true;
  }

  /** After forward progress: a short write waits for room and there is enough of it again. */
  drainDue(): boolean {
    if (!this.needDrain || this.free() < this.config.sendBufferBytes / 4) return false;
    this.needDrain = false;
    return true;
  }

  /** Runs loss detection; the first loss starts fast recovery. */
  detectLosses(now: number): void {
    const lr = this.lr;
    if (this.rack.detect(this.sb, this.sndUna, lr.recovery !== RECOVERY_NONE, now) && lr.recovery === RECOVERY_NONE) {
      this.enterRecovery(now);
    }
  }

  /**
   * One congestion response per recovery (the controller's onLoss); the first lost segment goes out
   * at once (fast retransmit), the rest as pipe allows.
   */
  private enterRecovery(now: number): void {
    this.lr.enterFast(this.inFlight(), this.sndNxt);
    const h = this.sb.nextLost(this.sndUna);
    if (h !== undefined) this.resend(h, now);
  }

  /**
   * RTO expiry: every outstanding non-SACKed segment is deemed lost, cwnd restarts at one segment
   * (slow start up to ssthresh); the first non-SACKed segment goes out now. Returns false when that
   * segment has used up its transmissions: the connection gives up.
   */
  retransmitTimeout(now: number): boolean {
    const sb = this.sb;
    const cand = sb.firstUnsacked() ?? sb.q[sb.head];
    if (cand === undefined) return true;
    if (cand.attempts >= this.config.maxTransmissions) return false;
    this.lr.onTimeout(this.inFlight(), this.sndNxt);
    this.resend(cand.lost ? cand : (sb.nextLost(this.sndUna) ?? cand), now);
    return true;
  }

  /**
   * Tail loss probe: nothing came back for a PTO. One segment goes out regardless of cwnd — the next
   * lost one, else new data, else the highest outstanding segment — so that its ACK (with SACK)
   * shows what is missing and RACK can repair it without waiting for the RTO.
   */
  tailLossProbe(now: number): void {
    const c = this.config;
    const sb = this.sb;
    this.lr.onProbe();
    const lost = sb.nextLost(this.sndUna);
    if (lost !== undefined && lost.attempts < c.maxTransmissions) {
      this.resend(lost, now);
      return;
    }
    if (this.pendingBytes > 0 && !this.peerWindowFull()) {
      this.sendNew(this.take(Math.min(this.segmentSize, this.pendingBytes)), now);
      return;
    }
    const q = sb.q;
    for (let i = q.length - 1; i >= sb.head; i--) {
      const s = q[i]!;
      if (s.sacked || s.lost) continue;
      if (s.attempts < c.maxTransmissions) this.resend(s, now);
      return;
    }
  }

  /** Zero-window probe: an empty ACK at the next send seq; the interval doubles up to probeMaxMs. */
  probe(now: number): void {
    this.ctx.emit(FLAG_ACK, this.sndNxt, this.rx.rcvNxt, this.rx.windowField(), EMPTY);
    this.probeInterval = Math.min(this.probeInterval * 2, this.config.probeMaxMs);
    this.probeAt = now + this.probeInterval;
  }

  /** Forgets queued data and the timers of the send side (the connection is closing). */
  clear(): void {
    this.pend.length = 0;
    this.pendHead = 0;
    this.pendOff = 0;
    this.pendingBytes = 0;
    this.nagleSince = NONE;
    this.probeAt = NONE;
    this.paceAt = NONE;
    this.pacer.reset();
  }
}
