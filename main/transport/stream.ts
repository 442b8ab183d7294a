/**
 * One reliable stream connection: a pure translation of transport.md §3–§10 (no sockets, no timers,
 * no clock reads; `now` is passed in, milliseconds, monotonic).
 *
 * Inputs: `open` (initiator), `receive`, `write`, `close` (graceful), `abort`, `consumed`, `tick`.
 * Outputs go through the `StreamHooks` given at construction:
 *  - `send(conn, seg)` for every segment to transmit (called synchronously; must not call back into the
 *    connection);
 *  - `data(conn, chunk)` for every in-order segment payload (one call per segment, never coalesced);
 *  - `event(conn, ev)` for `established`, `dial_relay_hint`, `drain`, `closed`;
 *  - optional `schedule(conn, at)` when the connection's deadline moves EARLIER than the last time it
 *    reported (a scheduler heap keeps lazily-invalidated entries; see ConnectionTable);
 *  - optional `state(conn, prev)` synchronously on every state change (bookkeeping only);
 *  - optional `ackDue(conn)` when, with `ackBatching`, an ACK waits for the driver's `flushAck(now)`.
 * `data` and `event` callbacks are queued and delivered at the end of the public call, when the
 * connection is consistent; they may call back into it (e.g. write() from a data handler).
 * After any call, `nextDeadline()` is the one time at which the driver must call `tick(now)`.
 *
 * Wire behaviour follows the reference (ISN 0, exact packets of §4/§8, exact-boundary reassembly,
 * retransmission of exactly the original segments, window 0 = no limit). Deliberate differences, all
 * invisible to or accepted by a reference peer:
 *  - close() is graceful: queued data is flushed and retransmitted; the FIN goes out only when all of
 *    it is acknowledged, and is retransmitted (finRetransmits) until a FIN|ACK or RST arrives.
 *  - a FIN|ACK is never answered; a FIN arriving while our data is unacknowledged ends the stream
 *    (no half-close in the protocol) and `closed.lostBytes` reports what was discarded.
 *  - loss recovery (scoreboard.ts, rack.ts, recovery.ts): a SACK scoreboard with a pipe estimate,
 *    RACK-style loss detection (which also finds lost retransmissions), tail loss probes, and an RTO
 *    that deems the flight lost and restarts cwnd at one segment (the reference resets to the initial
 *    window). Three pure duplicate ACKs still start recovery as in the reference.
 *  - quick ACKs: after out-of-order data the receiver acknowledges the next 16 in-order segments at
 *    once (receiver.ts).
 *  - timers are exact deadlines instead of a 100 ms tick / 15 s sweep (keepalive at exactly 30 s).
 *  - the advertised window is never 0 (would mean "no limit"), at least 1 slot; the sender also keeps
 *    at most one outstanding segment per slot of the peer's window (segments shorter than the MSS
 *    would otherwise overflow the receiver's slots above a hole).
 *  - congestion control is chosen by the config (`congestion`: Reno-like, or BBR-style with pacing).
 *  - a peer keepalive (empty ACK, window 0, nothing outstanding) is answered once per 15 s so that the
 *    peer's idle timer is refreshed too.
 *
 * The parts (each a class over its own state, no I/O, wired together in the constructor below):
 *  - this file: the public API, handshake, close/FIN/TIME_WAIT, keepalive and idle timers, dispatch
 *    of incoming segments, the one deadline, stats;
 *  - sender.ts: queued bytes, segmentation and Nagle, the window gate, (re)transmissions, ACKs of our
 *    data, zero-window probe;
 *  - receiver.ts: delivery, out-of-order reassembly, SACK blocks, delayed/quick ACKs, our window;
 *  - loss recovery: scoreboard.ts (SACK scoreboard, pipe), rack.ts (RACK loss detection, RTT samples),
 *    recovery.ts (recovery phases, duplicate ACKs, tail-loss-probe and RTO timers), rtt.ts (RTO);
 *  - congestion.ts: the CongestionController interface, the Reno-like controller and the choice
 *    (config `congestion`); bbr.ts: the model-based one; delivery-rate.ts: its rate samples;
 *    pacing.ts: the pacer (a deadline of the connection while data waits for it);
 *  - context.ts: what they share (settings, segments out, queued data/events, activity time).
 */
import { PilotError } from '../../shared/errors';
import type { Address } from '../../shared/address';
import { decodeSack } from '../wire/sack';
import { makeTransportConfig, type TransportConfig } from './config';
import { makeCongestionController, type CongestionController } from './congestion';
import { StreamContext } from './context';
import { RateSampler } from './delivery-rate';
import { Rack } from './rack';
import { Receiver } from './receiver';
import { LossRecovery } from './recovery';
import { RttEstimator } from './rtt';
import { Scoreboard } from './scoreboard';
import { EMPTY, FLAG_ACK, FLAG_FIN, FLAG_RST, FLAG_SYN, NONE, type Segment } from './segment';
import { Sender } from './sender';
import { seqAdd } from './seq';
import type { CloseReason, StreamHooks, StreamOptions, StreamState, StreamStats } from './stream-types';

export { FLAG_ACK, FLAG_FIN, FLAG_RST, FLAG_SYN, type Segment } from './segment';
export type { CloseReason, StreamEvent, StreamHooks, StreamOptions, StreamState, StreamStats } from './stream-types';


export class StreamConnection {
  id: number;
  readonly localPort: number;
  readonly remoteAddr: Address;
  readonly remotePort: number;
  readonly role: 'initiator' | 'responder';
  readonly config: TransportConfig;
  /** Payload bytes per data segment (≤ MSS). */
  /** The congestion controller this connection runs. */
  readonly congestion: TransportConfig['congestion'];
  readonly segmentSize: number;
  readonly createdAt: number;
  /** Time of this connection's live entry in the driver's scheduler (owned by the scheduler). */
  scheduledAt = Infinity;

  private readonly hooks: StreamHooks;
  private readonly relayFallback: boolean;
  private _state: StreamState;
  private closeReason: CloseReason | undefined;
  /** close() was called in SYN_SENT with data queued: graceful close once established. */
  private closeRequested = false;

  // ---- the parts (see the top of this file)
  private readonly ctx: StreamContext;
  private readonly tx: Sender;
  private readonly rx: Receiver;
  private readonly sb: Scoreboard;
  private readonly rack: Rack;
  private readonly lr: LossRecovery;
  private readonly rtt: RttEstimator;
  private readonly cc: CongestionController;
  private readonly rate: RateSampler;

  // ---- timers / lifecycle
  private synAt = NONE;
  private synRto: number;
  private synRetries = 0;
  private timeWaitAt = NONE;
  private finSeq = 0;
  private finAcked = true;
  private finRetxAt = NONE;
  private finRetxLeft = 0;
  private finRto = 0;
  private lastKeepalive = NONE;
  private deadline: number | undefined;
  /** Nesting of public calls: queued data and events are delivered when the outermost one ends. */
  private depth = 0;

  // ---- stats
  private segsRecv = 0;
  private sackRecv = 0;

  constructor(opts: StreamOptions) {
    this.id = opts.id ?? 0;
    this.localPort = opts.localPort;
    this.remoteAddr = opts.remoteAddr;
    this.remotePort = opts.remotePort;
    this.role = opts.role;
    this.hooks = opts.hooks;
    this.relayFallback = opts.relayFallback ?? true;
    this.config = isFullConfig(opts.config) ? opts.config : makeTransportConfig(opts.config);
    const c = this.config;
    const seg = opts.segmentSize ?? c.mss;
    if (!Number.isInteger(seg) || seg < 64 || seg > c.mss) throw new PilotError('invalid_argument', `segmentSize must be 64..${c.mss}`);
    this.segmentSize = seg;
    this.ctx = new StreamContext(this, opts.hooks, c, seg, opts.now);
    this.congestion = opts.congestion ?? c.congestion;
    this.cc = makeCongestionController(this.congestion, c, seg);
    this.rtt = new RttEstimator(c);
    this.rack = new Rack(c, seg, this.rtt);
    this.rate = new RateSampler();
    this.sb = new Scoreboard(this.rack, this.rate);
    this.lr = new LossRecovery(c, this.sb, this.rack, this.rtt, this.cc);
    this.rx = new Receiver(this.ctx);
    this.tx = new Sender(this.ctx, this.rx, this.sb, this.rack, this.lr, this.cc, this.rate);
    this.synRto = c.synRtoMs;
    this.createdAt = opts.now;
    this._state = opts.role === 'initiator' ? 'CLOSED' : 'LISTEN';
  }

  // =====================================================================================
  // public API

  get state(): StreamState {
    return this._state;
  }

  /** Why the stream closed (set once `closed` was emitted). */
  get reason(): CloseReason | undefined {
    return this.closeReason;
  }

  /** Bytes `write()` would accept now. */
  get sendBufferFree(): number {
    return this.tx.free();
  }

  /** The application may write (state allows it and the buffer has room). */
  get writable(): boolean {
    return (this._state === 'ESTABLISHED' || this._state === 'SYN_SENT') && !this.closeRequested && this.sendBufferFree > 0;
  }

  /** Bytes written but not yet acknowledged (queued + in flight). */
  get bufferedAmount(): number {
    return this.tx.pendingBytes + this.sb.unackedBytes;
  }

  /** The one time at which `tick` must be called, or undefined when nothing is scheduled. */
  nextDeadline(): number | undefined {
    return this.deadline;
  }

  /** Initiator: send the SYN (transport.md §4) and start the dial timer (§9). */
  open(now: number): void {
    if (this.role !== 'initiator' || this._state !== 'CLOSED' || this.closeReason !== undefined) {
      throw new PilotError('invalid_state', `open() needs a fresh initiator connection (state ${this._state})`);
    }
    this.enter();
    try {
      this.setState('SYN_SENT');
      this.tx.sndNxt = 1;
      this.tx.sndUna = 0;
      this.emit(FLAG_SYN, 0, 0, this.rx.windowField(), EMPTY);
      this.synRto = this.config.synRtoMs;
      this.synAt = now + this.synRto;
      this.ctx.lastActivity = now;
    } finally {
      this.leave();
    }
  }

  /** A segment from the peer for this connection. */
  receive(seg: Segment, now: number): void {
    this.enter();
    try {
      this.segsRecv++;
      this.onSegment(seg, now);
    } finally {
      this.leave();
    }
  }

  /**
   * Queues application data (ownership of `data` passes to the connection: do not modify it afterwards).
   * Returns the number of bytes accepted (≤ `sendBufferFree`); on a short write a `drain` event follows
   * when room is available again. Allowed in SYN_SENT (sent once established) and ESTABLISHED.
   */
  write(data: Uint8Array, now: number): number {
    if ((this._state !== 'ESTABLISHED' && this._state !== 'SYN_SENT') || this.closeRequested) {
      throw new PilotError('invalid_state', `cannot write in state ${this._state}${this.closeRequested ? ' (closing)' : ''}`);
    }
    this.enter();
    try {
      const free = this.sendBufferFree;
      let n = data.length;
      if (n > free) {
        n = free;
        this.tx.needDrain = true;
      }
      if (n === 0) return 0;
      this.tx.queue(n === data.length ? data : data.subarray(0, n));
      if (this._state === 'ESTABLISHED') this.pump(now);
      return n;
    } finally {
      this.leave();
    }
  }

  /**
   * Graceful close: no more writes; every queued byte is still sent (Nagle flushed) and retransmitted
   * as needed, and the FIN goes out only once everything is acknowledged; then TIME_WAIT.
   * `closed` is emitted with reason 'fin' when the FIN is sent (or 'timeout' if the flush fails).
   */
  close(now: number): void {
    this.enter();
    try {
      switch (this._state) {
        case 'ESTABLISHED':
          this.setState('FIN_WAIT');
          this.rx.delAckAt = NONE;
          this.pump(now);
          break;
        case 'SYN_SENT':
          // data already written is still delivered once the handshake completes; otherwise cancel
          if (this.tx.pendingBytes > 0) this.closeRequested = true;
          else this.finishClosed('aborted');
          break;
        case 'SYN_RECV':
        case 'LISTEN':
          this.finishClosed('aborted');
          break;
        default:
          break; // FIN_WAIT, TIME_WAIT, CLOSED: already closing
      }
    } finally {
      this.leave();
    }
  }

  /** Immediate reset: RST to the peer (if it knows us), discard everything, CLOSED. */
  abort(now: number): void {
    this.enter();
    try {
      void now;
      if (this._state === 'CLOSED') return;
      if (this._state === 'ESTABLISHED' || this._state === 'FIN_WAIT' || this._state === 'SYN_RECV') this.sendRst();
      this.finishClosed('aborted');
    } finally {
      this.leave();
    }
  }

  /**
   * Daemon shutdown (§8): FIN to an established peer, then CLOSED at once (no TIME_WAIT, no flush).
   */
  terminate(now: number): void {
    this.enter();
    try {
      void now;
      if (this._state === 'CLOSED') return;
      if (this._state === 'ESTABLISHED' || this._state === 'FIN_WAIT') this.emit(FLAG_FIN, this.tx.sndNxt, 0, 0, EMPTY);
      this.finishClosed('aborted');
    } finally {
      this.leave();
    }
  }

  /**
   * With `manualConsume`: the application drained `segments` delivered chunks (frees window slots).
   * When this reopens a window that was full (the receiver was dropping new data), an ACK announces
   * the new window at once instead of waiting for the sender's retransmission.
   */
  consumed(segments: number): void {
    const wasFull = this.rx.windowFull();
    this.rx.recvQueued = Math.max(0, this.rx.recvQueued - segments);
    if (!wasFull || this.rx.windowFull()) return;
    this.enter();
    try {
      if (this._state === 'ESTABLISHED') this.sendAck();
    } finally {
      this.leave();
    }
  }

  /**
   * With `ackBatching`: sends the ACK deferred while the driver processed a batch of segments, unless
   * an outgoing segment already carried it. Harmless to call at any time.
   */
  flushAck(now: number): void {
    if (!this.rx.ackDeferred) return;
    this.enter();
    try {
      void now;
      this.rx.ackDeferred = false;
      if ((this._state === 'ESTABLISHED' || this._state === 'FIN_WAIT') && this.rx.segsSinceAck > 0) this.sendAck();
    } finally {
      this.leave();
    }
  }

  /** Handles every expired timer; call when `now >= nextDeadline()` (calling early is harmless). */
  tick(now: number): void {
    this.enter();
    try {
      this.onTick(now);
    } finally {
      this.leave();
    }
  }

  stats(): StreamStats {
    const { tx, rx, sb, lr, rtt, cc } = this;
    return {
      state: this._state,
      bytesSent: tx.bytesSent,
      bytesRecv: rx.bytesRecv,
      segsSent: this.ctx.segsSent,
      segsRecv: this.segsRecv,
      retransmits: tx.retransmits,
      fastRetx: lr.fastRetx,
      sackSent: rx.sackSent,
      sackRecv: this.sackRecv,
      dupAcks: lr.dupAckCount,
      cwnd: cc.cwnd,
      ssthresh: cc.ssthresh,
      inFlight: tx.inFlight(),
      unacked: sb.size,
      oooBuf: rx.ooo.length,
      peerRecvWin: tx.peerWindowBytes,
      recvWin: rx.windowField() * this.config.mss,
      srttMs: Math.round(rtt.srtt),
      rttvarMs: Math.round(rtt.rttvar),
      rtoMs: rtt.current(),
      timeouts: lr.timeouts,
      tlpProbes: lr.tlpProbes,
      lostMarked: sb.lostMarked,
      pipe: sb.pipe,
      inRecovery: lr.inRecovery,
    };
  }

  // =====================================================================================
  // re-entrancy and outputs

  private enter(): void {
    this.depth++;
  }

  private leave(): void {
    this.depth--;
    this.refreshDeadline();
    if (this.depth === 0) this.ctx.flush();
  }

  private setState(s: StreamState): void {
    const prev = this._state;
    if (prev === s) return;
    this._state = s;
    this.hooks.state?.(this, prev);
  }

  private emit(flags: number, seq: number, ack: number, window: number, payload: Uint8Array): void {
    this.ctx.emit(flags, seq, ack, window, payload);
  }

  private sendAck(): void {
    const payload = this.rx.takeAck();
    this.emit(FLAG_ACK, this.tx.sndNxt, this.rx.rcvNxt, this.rx.windowField(), payload);
  }

  private sendRst(): void {
    this.emit(FLAG_RST, 0, 0, 0, EMPTY);
  }

  private pump(now: number): void {
    const st = this._state;
    if (st !== 'ESTABLISHED' && st !== 'FIN_WAIT') return;
    if (this.tx.pump(now, st === 'FIN_WAIT')) this.sendFin(now);
  }

  // =====================================================================================
  // incoming segments

  private onSegment(seg: Segment, now: number): void {
    const f = seg.flags;
    const st = this._state;
    if (st === 'CLOSED') return;
    if (f & FLAG_RST) {
      this.onRst();
      return;
    }
    if (st === 'LISTEN') {
      if (f & FLAG_SYN && !(f & FLAG_ACK)) this.acceptSyn(seg, now);
      return;
    }
    if (st === 'SYN_SENT') {
      if ((f & (FLAG_SYN | FLAG_ACK)) === (FLAG_SYN | FLAG_ACK)) this.onSynAck(seg, now);
      else if (f & FLAG_FIN) this.onFin(seg, now);
      return;
    }
    if (f & FLAG_FIN) {
      this.onFin(seg, now);
      return;
    }
    if (f & FLAG_SYN) {
      // Retransmitted SYN (our SYN|ACK was lost): resend the SYN|ACK, seq = ISN 0 (§4 step 2).
      if (!(f & FLAG_ACK) && this.role === 'responder' && (st === 'ESTABLISHED' || st === 'FIN_WAIT')) {
        this.emit(FLAG_SYN | FLAG_ACK, 0, this.rx.rcvNxt, this.rx.windowField(), EMPTY);
      }
      return; // SYN|ACK outside SYN_SENT: ignored
    }
    if (!(f & FLAG_ACK)) return;
    if (st === 'TIME_WAIT') return;
    this.onAckSegment(seg, now);
  }

  private acceptSyn(seg: Segment, now: number): void {
    this.rx.rcvNxt = seqAdd(seg.seq, 1);
    this.tx.peerWindowBytes = seg.window * this.config.mss;
    this.ctx.lastActivity = now;
    this.emit(FLAG_SYN | FLAG_ACK, 0, this.rx.rcvNxt, this.rx.windowField(), EMPTY);
    this.tx.sndUna = 1;
    this.tx.sndNxt = 1;
    this.sb.highSack = 1;
    this.lr.lastAckProgressAt = now;
    this.setState('SYN_RECV');
    this.setState('ESTABLISHED'); // the reference does not wait for the final ACK
    this.ctx.queueEvent({ type: 'established' });
  }

  private onSynAck(seg: Segment, now: number): void {
    this.rx.rcvNxt = seqAdd(seg.seq, 1);
    this.tx.peerWindowBytes = seg.window * this.config.mss;
    this.tx.sndUna = 1;
    this.tx.sndNxt = 1;
    this.sb.highSack = 1;
    this.synAt = NONE;
    this.ctx.lastActivity = now;
    this.lr.lastAckProgressAt = now;
    this.setState('ESTABLISHED');
    this.emit(FLAG_ACK, this.tx.sndNxt, this.rx.rcvNxt, this.rx.windowField(), EMPTY);
    this.ctx.queueEvent({ type: 'established' });
    if (this.closeRequested) this.setState('FIN_WAIT');
    this.pump(now);
  }

  private onRst(): void {
    const st = this._state;
    if (st === 'TIME_WAIT') {
      this.toClosed();
      return;
    }
    this.finishClosed(st === 'SYN_SENT' ? 'refused' : 'rst');
  }

  private onFin(seg: Segment, now: number): void {
    const isFinAck = (seg.flags & FLAG_ACK) !== 0;
    this.ctx.lastActivity = now;
    if (this._state === 'TIME_WAIT') {
      if (isFinAck) {
        this.finAcked = true;
        this.finRetxAt = NONE;
      } else {
        // Never answer a FIN|ACK; answer a bare FIN (the peer may be retransmitting it).
        this.emit(FLAG_FIN | FLAG_ACK, this.tx.sndNxt, seqAdd(seg.seq, 1), 0, EMPTY);
        this.timeWaitAt = now + this.config.timeWaitMs;
      }
      return;
    }
    // No half-close (§8): the peer will not accept anything more from us. Queued and unacknowledged
    // bytes are discarded and reported as `lostBytes`.
    const lost = this.bufferedAmount;
    if (!isFinAck) this.emit(FLAG_FIN | FLAG_ACK, this.tx.sndNxt, seqAdd(seg.seq, 1), 0, EMPTY);
    this.finAcked = true;
    this.enterTimeWait(now);
    this.emitClosed('fin', lost);
  }

  private onAckSegment(seg: Segment, now: number): void {
    const { tx, sb } = this;
    this.ctx.lastActivity = now;
    tx.peerWindowBytes = seg.window * this.config.mss;
    const payload = seg.payload;
    const sack = payload.length > 0 ? decodeSack(payload) : undefined;
    const unaBefore = tx.sndUna;
    this.rack.beginAck();
    this.rate.beginAck();
    // only an ACK without payload is a duplicate (SACK-carrying ACKs are judged by the scoreboard)
    if (seg.ack !== 0 && tx.onAck(seg.ack, payload.length === 0, now) && this._state === 'ESTABLISHED' && tx.drainDue()) {
      this.ctx.queueEvent({ type: 'drain' });
    }
    if (this._state === 'CLOSED') return;
    if (sack !== undefined) {
      this.sackRecv++;
      if (sb.sack(sack, tx.sndUna, tx.sndNxt, now)) this.lr.tlpCount = 0;
    } else if (payload.length > 0) {
      if (this.rx.onData(seg.seq, payload, now, this._state === 'ESTABLISHED')) this.sendAck();
    } else if (
      seg.window === 0 &&
      this.config.answerKeepalive &&
      this._state === 'ESTABLISHED' &&
      tx.sndUna === unaBefore &&
      sb.head === sb.q.length &&
      now - this.rx.lastKeepaliveAnswer >= this.config.keepaliveMs / 2
    ) {
      // Keepalive from the peer: answer so that its idle timer is refreshed too (the reference never
      // answers; ours has a non-zero window so it is never answered back).
      this.rx.lastKeepaliveAnswer = now;
      this.sendAck();
    }
    if (this._state === 'ESTABLISHED' || this._state === 'FIN_WAIT') {
      // A pure ACK or one listing < 4 SACK blocks says everything the receiver holds (it always
      // attaches SACK when it has out-of-order data); data segments carry no SACK, so they say less.
      this.rack.endAck(sack !== undefined ? sack.length < 4 : payload.length === 0);
      tx.detectLosses(now);
      this.cc.onAckSample(this.rate.endAck(this.rack.minRtt), this.rack.ackRtt, sb.pipe, now);
      this.pump(now);
    }
  }

  // =====================================================================================
  // lifecycle

  private sendFin(now: number): void {
    this.finSeq = this.tx.sndNxt;
    this.emit(FLAG_FIN, this.finSeq, 0, 0, EMPTY);
    this.finAcked = false;
    this.finRetxLeft = this.config.finRetransmits;
    this.finRto = this.rtt.current();
    this.finRetxAt = this.finRetxLeft > 0 ? now + this.finRto : NONE;
    this.enterTimeWait(now);
    this.emitClosed('fin', 0);
  }

  private enterTimeWait(now: number): void {
    this.setState('TIME_WAIT');
    this.timeWaitAt = now + this.config.timeWaitMs;
    this.dropSendState();
    this.rx.clear();
    this.synAt = NONE;
  }

  private dropSendState(): void {
    this.sb.clear();
    this.tx.clear();
    this.lr.reset();
  }

  private emitClosed(reason: CloseReason, lostBytes: number): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.ctx.queueEvent({ type: 'closed', reason, lostBytes });
  }

  private finishClosed(reason: CloseReason, lost?: number): void {
    const lostBytes = lost ?? this.bufferedAmount;
    this.emitClosed(reason, lostBytes);
    this.toClosed();
  }

  private toClosed(): void {
    this.dropSendState();
    this.rx.clear();
    this.synAt = NONE;
    this.timeWaitAt = NONE;
    this.finRetxAt = NONE;
    this.setState('CLOSED');
  }

  private onTick(now: number): void {
    const c = this.config;
    const { tx, lr } = this;
    switch (this._state) {
      case 'SYN_SENT':
        if (this.synAt !== NONE && now >= this.synAt) this.onSynTimeout(now);
        return;
      case 'TIME_WAIT':
        if (this.finRetxAt !== NONE && now >= this.finRetxAt) {
          this.emit(FLAG_FIN, this.finSeq, 0, 0, EMPTY);
          this.finRetxLeft--;
          this.finRto = Math.min(this.finRto * 2, c.maxRtoMs);
          this.finRetxAt = this.finRetxLeft > 0 && !this.finAcked ? now + this.finRto : NONE;
        }
        if (now >= this.timeWaitAt) this.toClosed();
        return;
      case 'ESTABLISHED':
      case 'FIN_WAIT':
        break;
      default:
        return;
    }
    if (this.rx.delAckAt !== NONE && now >= this.rx.delAckAt) this.sendAck();
    if (this.rack.timerAt !== NONE && now >= this.rack.timerAt) {
      tx.detectLosses(now);
      this.pump(now);
    }
    const rtoAt = lr.rtoDeadline();
    if (rtoAt !== NONE && now >= rtoAt) {
      if (!tx.retransmitTimeout(now)) {
        // the segment the timer is for has used up its transmissions
        const lost = this.bufferedAmount;
        this.sendRst();
        this.finishClosed('timeout', lost);
        return;
      }
    } else {
      const ptoAt = lr.ptoDeadline(rtoAt);
      if (ptoAt !== NONE && now >= ptoAt) tx.tailLossProbe(now);
    }
    if (tx.probeAt !== NONE && now >= tx.probeAt) tx.probe(now); // zero-window probe
    if (tx.paceAt !== NONE && now >= tx.paceAt) this.pump(now); // the pacer lets the next segment go
    if (tx.nagleSince !== NONE && now - tx.nagleSince >= c.nagleMs) this.pump(now);
    if (this._state === 'ESTABLISHED') {
      if (now - this.ctx.lastActivity >= c.idleTimeoutMs) {
        this.idleClose(now);
        return;
      }
      if (now >= this.keepaliveDeadline()) {
        this.lastKeepalive = now;
        this.emit(FLAG_ACK, tx.sndNxt, this.rx.rcvNxt, 0, EMPTY);
      }
    }
  }

  private idleClose(now: number): void {
    const lost = this.bufferedAmount;
    this.emit(FLAG_FIN, this.tx.sndNxt, 0, 0, EMPTY);
    this.finAcked = true; // idle peer: do not insist
    this.enterTimeWait(now);
    this.emitClosed('idle', lost);
  }

  private onSynTimeout(now: number): void {
    const c = this.config;
    this.synRetries++;
    if (this.synRetries > c.dialMaxRetries) {
      this.finishClosed('timeout');
      return;
    }
    if (this.synRetries === c.dialRelayRetry && this.relayFallback) {
      this.ctx.queueEvent({ type: 'dial_relay_hint' });
      this.synRto = c.synRtoMs;
    }
    this.synRto = Math.min(this.synRto * 2, c.synRtoMaxMs);
    this.emit(FLAG_SYN, 0, 0, this.rx.windowField(), EMPTY);
    this.synAt = now + this.synRto;
  }

  private keepaliveDeadline(): number {
    const last = this.ctx.lastActivity;
    const base = this.lastKeepalive !== NONE && this.lastKeepalive > last ? this.lastKeepalive : last;
    return base + this.config.keepaliveMs;
  }

  private refreshDeadline(): void {
    let d = Infinity;
    switch (this._state) {
      case 'SYN_SENT':
        if (this.synAt !== NONE) d = this.synAt;
        break;
      case 'TIME_WAIT':
        d = this.timeWaitAt;
        if (this.finRetxAt !== NONE && this.finRetxAt < d) d = this.finRetxAt;
        break;
      case 'ESTABLISHED':
      case 'FIN_WAIT': {
        const { tx, lr } = this;
        const delAckAt = this.rx.delAckAt;
        if (delAckAt !== NONE && delAckAt < d) d = delAckAt;
        const r = lr.rtoDeadline();
        if (r !== NONE && r < d) d = r;
        const pto = lr.ptoDeadline(r);
        if (pto !== NONE && pto < d) d = pto;
        const rackAt = this.rack.timerAt;
        if (rackAt !== NONE && rackAt < d) d = rackAt;
        if (tx.probeAt !== NONE && tx.probeAt < d) d = tx.probeAt;
        if (tx.paceAt !== NONE && tx.paceAt < d) d = tx.paceAt;
        // the Nagle timer only matters while the window lets data out (else the next ACK pumps)
        if (tx.nagleSince !== NONE && tx.nagleSince + this.config.nagleMs < d && !tx.windowClosed()) {
          d = tx.nagleSince + this.config.nagleMs;
        }
        if (this._state === 'ESTABLISHED') {
          const k = this.keepaliveDeadline();
          if (k < d) d = k;
          const idle = this.ctx.lastActivity + this.config.idleTimeoutMs;
          if (idle < d) d = idle;
        }
        break;
      }
      default:
        break;
    }
    if (d === Infinity) {
      this.deadline = undefined;
      return;
    }
    this.deadline = d;
    if (d < this.scheduledAt) {
      this.scheduledAt = d;
      this.hooks.schedule?.(this, d);
    }
  }
}

function isFullConfig(c: Partial<TransportConfig> | TransportConfig | undefined): c is TransportConfig {
  return c !== undefined && Object.isFrozen(c) && 'manualConsume' in c && 'mss' in c;
}
