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
 *  - loss recovery keeps a SACK scoreboard (SACK marks are kept, not cleared on a new cumulative ACK)
 *    and a `pipe` estimate (bytes sent and neither acknowledged, SACKed nor deemed lost). A segment is
 *    deemed lost when 3 segments' worth of data above it is SACKed (RFC 6675), or, RACK style
 *    (RFC 8985), when a segment sent after it was delivered and one RTT plus a reordering window has
 *    passed since it was sent — which also finds lost retransmissions. Lost segments go out first,
 *    then new data, while pipe < cwnd. One cwnd reduction per recovery (ssthresh = flight/2, at least
 *    2 segments). Three pure duplicate ACKs still start recovery as in the reference.
 *  - tail loss probe (RFC 8985 §7): with data outstanding and no ACK for 2·SRTT, one segment (new
 *    data, else the highest outstanding one) is sent so that the ACK reveals a lost tail without an RTO.
 *  - RTO: every outstanding non-SACKed segment is deemed lost and cwnd restarts at one segment
 *    (RFC 5681 loss window; the reference resets to the initial window). Backoff doubles on every
 *    timeout and resets when new data is acknowledged; the timer restarts on forward progress.
 *  - quick ACKs: after out-of-order data the receiver acknowledges the next 16 in-order segments at
 *    once (no delayed ACK), so a sender recovering with a small window is not held 40 ms per RTT.
 *  - timers are exact deadlines instead of a 100 ms tick / 15 s sweep (keepalive at exactly 30 s).
 *  - the advertised window is never 0 (would mean "no limit"), at least 1 slot.
 *  - a peer keepalive (empty ACK, window 0, nothing outstanding) is answered once per 15 s so that the
 *    peer's idle timer is refreshed too.
 */
import { PilotError } from '../../shared/errors';
import type { Address } from '../../shared/address';
import { decodeSack, encodeSack, type SackBlock } from '../wire/sack';
import { makeTransportConfig, type TransportConfig } from './config';
import { seqAdd, seqAfter, seqBefore, seqDiff } from './seq';

export const FLAG_SYN = 0x1;
export const FLAG_ACK = 0x2;
export const FLAG_FIN = 0x4;
export const FLAG_RST = 0x8;

/** The stream-relevant part of a packet; the driver maps it to/from the wire Packet (ports/addresses). */
export interface Segment {
  flags: number;
  seq: number;
  ack: number;
  window: number;
  payload: Uint8Array;
}

export type StreamState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'ESTABLISHED'
  | 'FIN_WAIT'
  | 'CLOSE_WAIT'
  | 'TIME_WAIT';

export type CloseReason = 'fin' | 'rst' | 'timeout' | 'refused' | 'aborted' | 'idle';

export type StreamEvent =
  | { type: 'established' }
  /** The 3rd SYN retry expired: the node may switch the peer to relay (transport.md §9). */
  | { type: 'dial_relay_hint' }
  /** The send buffer has room again after a short write. */
  | { type: 'drain' }
  /**
   * The stream is finished for the application: no more data events, writes throw.
   * `lostBytes` = bytes written but not acknowledged by the peer (discarded).
   */
  | { type: 'closed'; reason: CloseReason; lostBytes: number };

export interface StreamHooks {
  send(conn: StreamConnection, seg: Segment): void;
  data(conn: StreamConnection, chunk: Uint8Array): void;
  event(conn: StreamConnection, ev: StreamEvent): void;
  schedule?(conn: StreamConnection, at: number): void;
  state?(conn: StreamConnection, prev: StreamState): void;
  /** `ackBatching`: an ACK is due; the driver calls `flushAck(now)` once its current batch is done. */
  ackDue?(conn: StreamConnection): void;
}

export interface StreamOptions {
  id?: number;
  localPort: number;
  remoteAddr: Address;
  remotePort: number;
  role: 'initiator' | 'responder';
  now: number;
  hooks: StreamHooks;
  config?: Partial<TransportConfig> | TransportConfig;
  /**
   * Payload bytes per data segment (default: the MSS, 4096). A node picks less for paths whose MTU
   * would fragment a 4 KiB segment; the window unit stays the MSS (transport.md §5.2).
   */
  segmentSize?: number;
  /** Initiator: emit `dial_relay_hint` and reset the SYN timer base at the 3rd retry (default true). */
  relayFallback?: boolean;
}

/** Counters and gauges for `pilotctl connections` (cli.md §2.1 conn_list). */
export interface StreamStats {
  state: StreamState;
  bytesSent: number;
  bytesRecv: number;
  segsSent: number;
  segsRecv: number;
  retransmits: number;
  fastRetx: number;
  sackSent: number;
  sackRecv: number;
  dupAcks: number;
  cwnd: number;
  ssthresh: number;
  inFlight: number;
  unacked: number;
  oooBuf: number;
  peerRecvWin: number;
  recvWin: number;
  srttMs: number;
  rttvarMs: number;
  rtoMs: number;
  timeouts: number;
  /** Tail loss probes sent. */
  tlpProbes: number;
  /** Segments deemed lost (SACK/RACK/duplicate ACKs/RTO), each time one was. */
  lostMarked: number;
  /** Bytes believed in the network (sent, not acknowledged, not SACKed, not deemed lost). */
  pipe: number;
  inRecovery: boolean;
}

/** A data segment awaiting acknowledgement. Retransmissions resend exactly `seq` + `payload`. */
interface TxSeg {
  seq: number;
  end: number;
  payload: Uint8Array;
  /** Time of the last transmission. */
  sentAt: number;
  attempts: number;
  sacked: boolean;
  /** Deemed lost and not yet retransmitted (not counted in `pipe`). */
  lost: boolean;
}

interface OooSeg {
  seq: number;
  end: number;
  payload: Uint8Array;
}

type Outbox = Uint8Array | StreamEvent;

const EMPTY: Uint8Array = new Uint8Array(0);
const NONE = -1;

const RECOVERY_NONE = 0;
const RECOVERY_FAST = 1;
const RECOVERY_TIMEOUT = 2;

/** In-order segments acknowledged at once after out-of-order data (Linux "quickack"). */
const QUICK_ACKS = 16;
/** Floor of the tail-loss-probe timeout, ms (timer and event-loop granularity). */
const MIN_PTO_MS = 4;
/** Consecutive tail loss probes (each after twice the previous timeout) before the RTO has to act. */
const MAX_TLPS = 3;

export class StreamConnection {
  id: number;
  readonly localPort: number;
  readonly remoteAddr: Address;
  readonly remotePort: number;
  readonly role: 'initiator' | 'responder';
  readonly config: TransportConfig;
  /** Payload bytes per data segment (≤ MSS). */
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

  // ---- send side
  private sndUna = 0;
  private sndNxt = 0;
  private q: (TxSeg | undefined)[] = [];
  private qHead = 0;
  private unackedBytesInQ = 0;
  private sackedCount = 0;
  private highSack = 0;
  private pend: Uint8Array[] = [];
  private pendHead = 0;
  private pendOff = 0;
  private pendingBytes = 0;
  private nagleSince = NONE;
  private needDrain = false;
  private cwnd: number;
  private ssthresh: number;
  private dupAcks = 0;
  private recovery = RECOVERY_NONE;
  private recoveryPoint = 0;
  /** Bytes in the network: sent, not acknowledged, not SACKed, not deemed lost. */
  private pipe = 0;
  private lostCount = 0;
  /** No segment below this seq is marked lost. */
  private lostScanSeq = 0;
  /** Outstanding segments sent more than once (RACK must look at them even without SACK). */
  private retxOutstanding = 0;
  // RACK (RFC 8985): the most recently sent segment known to be delivered
  private rackXmitAt = -Infinity;
  private rackEnd = 0;
  private rackRtt = 0;
  /** The RACK segment was a retransmission (later-sent than original segments still outstanding). */
  private rackRetx = false;
  private minRtt = Infinity;
  /** Smallest RTT of a segment sent once and delivered by the ACK being processed (one sample per ACK). */
  private ackRtt = Infinity;
  private reorderSeen = false;
  private rackTimerAt = NONE;
  /** The last ACK listed fewer than 4 SACK blocks: everything the receiver holds is known. */
  private sackComplete = true;
  // tail loss probe
  private lastDataTxAt = 0;
  /** Tail loss probes sent since the last forward progress. */
  private tlpCount = 0;
  private srtt = 0;
  private rttvar = 0;
  private hasRtt = false;
  /** Base RTO from the RTT estimator; the timer uses base × backoff (backoff reset on forward progress). */
  private rto: number;
  private backoff = 1;
  private lastAckProgressAt = 0;
  private peerWindowBytes = 0;
  private probeAt = NONE;
  private probeInterval: number;

  // ---- receive side
  private rcvNxt = 0;
  private ooo: OooSeg[] = [];
  /** Seq of the out-of-order segment that arrived last (its block is listed first in SACK). */
  private lastOooSeq = NONE;
  private segsSinceAck = 0;
  private quickAcks = 0;
  private delAckAt = NONE;
  /** `ackBatching`: an ACK was deferred to the next `flushAck` (reported once through `ackDue`). */
  private ackDeferred = false;
  private recvQueued = 0;
  private lastKeepaliveAnswer = -Infinity;

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
  private lastActivity: number;
  private lastKeepalive = NONE;
  private deadline: number | undefined;

  // ---- output queue for data/events (flushed at the end of public calls)
  private outbox: Outbox[] = [];
  private outIdx = 0;
  private depth = 0;

  // ---- stats
  private bytesSent = 0;
  private bytesRecv = 0;
  private segsSent = 0;
  private segsRecv = 0;
  private retransmits = 0;
  private fastRetx = 0;
  private sackSent = 0;
  private sackRecv = 0;
  private dupAckCount = 0;
  private timeouts = 0;
  private tlpProbes = 0;
  private lostMarked = 0;

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
    this.cwnd = c.initialCwnd;
    this.ssthresh = c.initialSsthresh;
    this.rto = c.initialRtoMs;
    this.probeInterval = c.probeInitialMs;
    this.synRto = c.synRtoMs;
    this.createdAt = opts.now;
    this.lastActivity = opts.now;
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
    return Math.max(0, this.config.sendBufferBytes - this.pendingBytes - this.unackedBytesInQ);
  }

  /** The application may write (state allows it and the buffer has room). */
  get writable(): boolean {
    return (this._state === 'ESTABLISHED' || this._state === 'SYN_SENT') && !this.closeRequested && this.sendBufferFree > 0;
  }

  /** Bytes written but not yet acknowledged (queued + in flight). */
  get bufferedAmount(): number {
    return this.pendingBytes + this.unackedBytesInQ;
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
      this.sndNxt = 1;
      this.sndUna = 0;
      this.emit(FLAG_SYN, 0, 0, this.windowField(), EMPTY);
      this.synRto = this.config.synRtoMs;
      this.synAt = now + this.synRto;
      this.lastActivity = now;
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
        this.needDrain = true;
      }
      if (n === 0) return 0;
      this.pend.push(n === data.length ? data : data.subarray(0, n));
      this.pendingBytes += n;
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
          this.delAckAt = NONE;
          this.pump(now);
          break;
        case 'SYN_SENT':
          // data already written is still delivered once the handshake completes; otherwise cancel
          if (this.pendingBytes > 0) this.closeRequested = true;
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
      if (this._state === 'ESTABLISHED' || this._state === 'FIN_WAIT') this.emit(FLAG_FIN, this.sndNxt, 0, 0, EMPTY);
      this.finishClosed('aborted');
    } finally {
      this.leave();
    }
  }

  /** With `manualConsume`: the application drained `segments` delivered chunks (frees window slots). */
  consumed(segments: number): void {
    this.recvQueued = Math.max(0, this.recvQueued - segments);
  }

  /**
   * With `ackBatching`: sends the ACK deferred while the driver processed a batch of segments, unless
   * an outgoing segment already carried it. Harmless to call at any time.
   */
  flushAck(now: number): void {
    if (!this.ackDeferred) return;
    this.enter();
    try {
      void now;
      this.ackDeferred = false;
      if ((this._state === 'ESTABLISHED' || this._state === 'FIN_WAIT') && this.segsSinceAck > 0) this.sendAck();
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
    return {
      state: this._state,
      bytesSent: this.bytesSent,
      bytesRecv: this.bytesRecv,
      segsSent: this.segsSent,
      segsRecv: this.segsRecv,
      retransmits: this.retransmits,
      fastRetx: this.fastRetx,
      sackSent: this.sackSent,
      sackRecv: this.sackRecv,
      dupAcks: this.dupAckCount,
      cwnd: this.cwnd,
      ssthresh: this.ssthresh,
      inFlight: this.inFlight(),
      unacked: this.q.length - this.qHead,
      oooBuf: this.ooo.length,
      peerRecvWin: this.peerWindowBytes,
      recvWin: this.windowField() * this.config.mss,
      srttMs: Math.round(this.srtt),
      rttvarMs: Math.round(this.rttvar),
      rtoMs: this.currentRto(),
      timeouts: this.timeouts,
      tlpProbes: this.tlpProbes,
      lostMarked: this.lostMarked,
      pipe: this.pipe,
      inRecovery: this.recovery !== RECOVERY_NONE,
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
    if (this.depth === 0) this.flush();
  }

  private flush(): void {
    const box = this.outbox;
    // A callback may re-enter (write/close/abort) and flush nested: both loops share outIdx, so the
    // order of deliveries is preserved.
    while (this.outIdx < box.length) {
      const item = box[this.outIdx++]!;
      if (item instanceof Uint8Array) this.hooks.data(this, item);
      else this.hooks.event(this, item);
    }
    box.length = 0;
    this.outIdx = 0;
  }

  private emitEvent(ev: StreamEvent): void {
    this.outbox.push(ev);
  }

  private setState(s: StreamState): void {
    const prev = this._state;
    if (prev === s) return;
    this._state = s;
    this.hooks.state?.(this, prev);
  }

  private emit(flags: number, seq: number, ack: number, window: number, payload: Uint8Array): void {
    this.segsSent++;
    this.hooks.send(this, { flags, seq, ack, window, payload });
  }

  /** Free receive slots, capped at 65535; never 0 (0 would mean "no limit" to the peer). */
  private windowField(): number {
    let w = this.config.recvSlots;
    if (this.config.manualConsume) w -= this.recvQueued;
    if (w > 65_535) w = 65_535;
    return w < 1 ? 1 : w;
  }

  private inFlight(): number {
    return this.sndNxt === this.sndUna ? 0 : Math.max(0, seqDiff(this.sndNxt, this.sndUna));
  }

  // =====================================================================================
  // receive path

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
        this.emit(FLAG_SYN | FLAG_ACK, 0, this.rcvNxt, this.windowField(), EMPTY);
      }
      return; // SYN|ACK outside SYN_SENT: ignored
    }
    if (!(f & FLAG_ACK)) return;
    if (st === 'TIME_WAIT') return;
    this.onAckSegment(seg, now);
  }

  private acceptSyn(seg: Segment, now: number): void {
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.peerWindowBytes = seg.window * this.config.mss;
    this.lastActivity = now;
    this.emit(FLAG_SYN | FLAG_ACK, 0, this.rcvNxt, this.windowField(), EMPTY);
    this.sndUna = 1;
    this.sndNxt = 1;
    this.highSack = 1;
    this.lastAckProgressAt = now;
    this.setState('SYN_RECV');
    this.setState('ESTABLISHED'); // the reference does not wait for the final ACK
    this.emitEvent({ type: 'established' });
  }

  private onSynAck(seg: Segment, now: number): void {
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.peerWindowBytes = seg.window * this.config.mss;
    this.sndUna = 1;
    this.sndNxt = 1;
    this.highSack = 1;
    this.synAt = NONE;
    this.lastActivity = now;
    this.lastAckProgressAt = now;
    this.setState('ESTABLISHED');
    this.emit(FLAG_ACK, this.sndNxt, this.rcvNxt, this.windowField(), EMPTY);
    this.emitEvent({ type: 'established' });
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
    this.lastActivity = now;
    if (this._state === 'TIME_WAIT') {
      if (isFinAck) {
        this.finAcked = true;
        this.finRetxAt = NONE;
      } else {
        // Never answer a FIN|ACK; answer a bare FIN (the peer may be retransmitting it).
        this.emit(FLAG_FIN | FLAG_ACK, this.sndNxt, seqAdd(seg.seq, 1), 0, EMPTY);
        this.timeWaitAt = now + this.config.timeWaitMs;
      }
      return;
    }
    // No half-close (§8): the peer will not accept anything more from us. Queued and unacknowledged
    // bytes are discarded and reported as `lostBytes`.
    const lost = this.pendingBytes + this.unackedBytesInQ;
    if (!isFinAck) this.emit(FLAG_FIN | FLAG_ACK, this.sndNxt, seqAdd(seg.seq, 1), 0, EMPTY);
    this.finAcked = true;
    this.enterTimeWait(now);
    this.emitClosed('fin', lost);
  }

  private onAckSegment(seg: Segment, now: number): void {
    this.lastActivity = now;
    this.peerWindowBytes = seg.window * this.config.mss;
    const payload = seg.payload;
    const sack = payload.length > 0 ? decodeSack(payload) : undefined;
    const unaBefore = this.sndUna;
    this.ackRtt = Infinity;
    // only an ACK without payload is a duplicate (SACK-carrying ACKs are judged by the scoreboard)
    if (seg.ack !== 0) this.processAck(seg.ack, payload.length === 0, now);
    if (this._state === 'CLOSED') return;
    if (sack !== undefined) {
      this.sackRecv++;
      this.applySack(sack, now);
    } else if (payload.length > 0) {
      this.receiveData(seg.seq, payload, now);
    } else if (
      seg.window === 0 &&
      this.config.answerKeepalive &&
      this._state === 'ESTABLISHED' &&
      this.sndUna === unaBefore &&
      this.qHead === this.q.length &&
      now - this.lastKeepaliveAnswer >= this.config.keepaliveMs / 2
    ) {
      // Keepalive from the peer: answer so that its idle timer is refreshed too (the reference never
      // answers; ours has a non-zero window so it is never answered back).
      this.lastKeepaliveAnswer = now;
      this.sendAck();
    }
    if (this._state === 'ESTABLISHED' || this._state === 'FIN_WAIT') {
      // A pure ACK or one listing < 4 SACK blocks says everything the receiver holds (it always
      // attaches SACK when it has out-of-order data); data segments carry no SACK, so they say less.
      this.sackComplete = sack !== undefined ? sack.length < 4 : payload.length === 0;
      if (this.ackRtt !== Infinity) {
        this.rttSample(this.ackRtt);
        if (this.ackRtt < this.minRtt) this.minRtt = this.ackRtt;
      }
      this.detectLosses(now);
      this.pump(now);
    }
  }

  private receiveData(seq: number, payload: Uint8Array, now: number): void {
    if (this._state !== 'ESTABLISHED') {
      // FIN_WAIT: the application closed; acknowledge but do not deliver.
      if (seq === this.rcvNxt) this.rcvNxt = seqAdd(seq, payload.length);
      this.sendAck();
      return;
    }
    const d = seqDiff(seq, this.rcvNxt);
    if (d === 0) {
      const firstOut = this.outbox.length;
      this.deliver(payload);
      const ooo = this.ooo;
      let pulled = 0;
      while (ooo.length > pulled) {
        const o = ooo[pulled]!;
        const od = seqDiff(o.seq, this.rcvNxt);
        if (od > 0) break;
        pulled++;
        if (od === 0) this.deliver(o.payload); // exact boundary only; stale overlaps are dropped
      }
      if (pulled > 0) ooo.splice(0, pulled);
      this.segsSinceAck += this.outbox.length - firstOut;
      if (pulled > 0) this.quickAcks = QUICK_ACKS;
      const due = this.segsSinceAck >= this.config.delayedAckSegments || this.quickAcks > 0;
      if (ooo.length > 0) this.sendAck();
      // ackBatching defers only the plain every-2nd-segment ACK: one that closes a hole goes at once.
      else if (due && (!this.config.ackBatching || pulled > 0)) this.sendAck();
      else {
        if (this.delAckAt === NONE) this.delAckAt = now + this.config.delayedAckMs;
        if (due && !this.ackDeferred) {
          this.ackDeferred = true;
          this.hooks.ackDue?.(this);
        }
      }
    } else if (d > 0) {
      this.storeOoo(seq, payload);
      this.lastOooSeq = seq;
      this.quickAcks = QUICK_ACKS;
      this.sendAck();
    } else {
      this.sendAck(); // duplicate: re-acknowledge at once (our previous ACK may have been lost)
    }
  }

  private deliver(payload: Uint8Array): void {
    this.rcvNxt = seqAdd(this.rcvNxt, payload.length);
    this.bytesRecv += payload.length;
    if (this.config.manualConsume) this.recvQueued++;
    this.outbox.push(payload);
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

  private sendAck(): void {
    let payload: Uint8Array = EMPTY;
    if (this.ooo.length > 0) {
      payload = encodeSack(this.sackBlocks());
      this.sackSent++;
    }
    this.segsSinceAck = 0;
    if (this.quickAcks > 0) this.quickAcks--;
    this.delAckAt = NONE;
    this.ackDeferred = false;
    this.emit(FLAG_ACK, this.sndNxt, this.rcvNxt, this.windowField(), payload);
  }

  // =====================================================================================
  // acknowledgements, congestion control, loss recovery

  private processAck(ack: number, dupEligible: boolean, now: number): void {
    if (seqAfter(ack, this.sndNxt) || seqBefore(ack, this.sndUna)) return;
    const c = this.config;
    const seg = this.segmentSize;
    if (ack === this.sndUna) {
      if (dupEligible && this.qHead < this.q.length) {
        this.dupAcks++;
        this.dupAckCount++;
        if (this.dupAcks === c.dupAckThreshold) {
          if (this.recovery === RECOVERY_NONE) {
            // the reference's fast retransmit: the first non-SACKed segment is lost
            const h = this.firstUnsacked();
            if (h !== undefined && !h.lost && h.attempts < c.maxTransmissions) this.markLost(h);
            this.enterRecovery(now);
            this.cwnd = Math.min(this.ssthresh + c.dupAckThreshold * seg, c.maxCwnd);
          }
        } else if (this.dupAcks > c.dupAckThreshold && this.recovery === RECOVERY_FAST) {
          this.cwnd = Math.min(this.cwnd + seg, c.maxCwnd); // each duplicate: one segment left the network
        }
      }
      return;
    }
    const acked = seqDiff(ack, this.sndUna);
    this.sndUna = ack;
    this.dupAcks = 0;
    this.backoff = 1; // the path delivers again
    this.lastAckProgressAt = now;
    this.tlpCount = 0;
    const q = this.q;
    const highBefore = this.highSack;
    // An ACK covering a retransmission also covers segments that waited behind the hole at the
    // receiver: their send times say nothing about the path (Karn), so no RTT sample from this ACK.
    let heldBack = false;
    while (this.qHead < q.length) {
      const s = q[this.qHead]!;
      if (seqAfter(s.end, ack)) break;
      if (s.sacked) this.sackedCount--;
      else {
        if (s.lost) this.lostCount--;
        else this.pipe -= s.payload.length;
        if (s.attempts === 1 && seqBefore(s.end, highBefore)) this.reorderSeen = true; // a hole filled late
        this.delivered(s, now);
      }
      if (s.attempts > 1) {
        this.retxOutstanding--;
        heldBack = true;
      }
      this.unackedBytesInQ -= s.payload.length;
      q[this.qHead++] = undefined;
    }
    if (this.qHead === q.length) {
      q.length = 0;
      this.qHead = 0;
    } else if (this.qHead >= 1024 && this.qHead * 2 >= q.length) {
      q.splice(0, this.qHead);
      this.qHead = 0;
    }
    if (heldBack) this.ackRtt = Infinity;
    if (seqBefore(this.highSack, ack)) this.highSack = ack;
    if (this.recovery !== RECOVERY_NONE && !seqBefore(ack, this.recoveryPoint)) {
      if (this.recovery === RECOVERY_FAST && this.cwnd > this.ssthresh) this.cwnd = this.ssthresh; // deflate
      this.recovery = RECOVERY_NONE;
    }
    // no growth during fast recovery (RFC 6675); slow start after a timeout
    if (this.recovery !== RECOVERY_FAST) {
      if (this.cwnd < this.ssthresh) this.cwnd += acked;
      else this.cwnd += Math.max(1, Math.floor((seg * acked) / this.cwnd));
      if (this.cwnd > c.maxCwnd) this.cwnd = c.maxCwnd;
    }
    this.probeAt = NONE;
    this.probeInterval = c.probeInitialMs;
    if (this.needDrain && this.sendBufferFree >= c.sendBufferBytes / 4 && this._state === 'ESTABLISHED') {
      this.needDrain = false;
      this.emitEvent({ type: 'drain' });
    }
  }

  /** A segment is known to have arrived (cumulatively acknowledged or SACKed): RTT and RACK state. */
  private delivered(s: TxSeg, now: number): void {
    const rtt = now - s.sentAt;
    if (rtt < 0) return;
    if (s.attempts === 1) {
      if (rtt < this.ackRtt) this.ackRtt = rtt;
    } else if (rtt < this.minRtt) {
      return; // faster than any round trip: an earlier transmission arrived, the time says nothing
    }
    if (s.sentAt > this.rackXmitAt || (s.sentAt === this.rackXmitAt && seqAfter(s.end, this.rackEnd))) {
      this.rackXmitAt = s.sentAt;
      this.rackEnd = s.end;
      this.rackRtt = rtt;
      this.rackRetx = s.attempts > 1;
    }
  }

  private rttSample(r: number): void {
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

  /**
   * One congestion response per recovery: ssthresh = half the flight (at least 2 segments),
   * cwnd = ssthresh; the first lost segment goes out at once (fast retransmit), the rest as pipe allows.
   */
  private enterRecovery(now: number): void {
    const seg = this.segmentSize;
    const flight = Math.min(this.cwnd, this.inFlight());
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * seg);
    this.cwnd = this.ssthresh;
    this.recovery = RECOVERY_FAST;
    this.recoveryPoint = this.sndNxt;
    this.fastRetx++;
    const h = this.nextLost();
    if (h !== undefined) this.resend(h, now);
  }

  /** Index of the first tracked segment whose seq ≥ `seq` (binary search over the deque). */
  private indexAtOrAfter(seq: number): number {
    const q = this.q;
    let lo = this.qHead;
    let hi = q.length;
    const base = this.sndUna;
    const key = seqDiff(seq, base);
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (seqDiff(q[mid]!.seq, base) < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private applySack(blocks: SackBlock[], now: number): void {
    const q = this.q;
    const highBefore = this.highSack;
    for (const b of blocks) {
      let left = b.left;
      let right = b.right;
      if (!seqAfter(right, left)) continue;
      if (seqBefore(left, this.sndUna)) left = this.sndUna;
      if (seqAfter(right, this.sndNxt)) right = this.sndNxt;
      for (let i = this.indexAtOrAfter(left); i < q.length; i++) {
        const s = q[i]!;
        if (seqAfter(s.end, right)) break;
        if (s.sacked) continue;
        s.sacked = true;
        this.sackedCount++;
        this.tlpCount = 0;
        if (s.lost) {
          s.lost = false; // it arrived after all (late, or the retransmission did)
          this.lostCount--;
        } else {
          this.pipe -= s.payload.length;
        }
        if (s.attempts === 1 && seqBefore(s.end, highBefore)) this.reorderSeen = true;
        this.delivered(s, now);
        if (seqAfter(s.end, this.highSack)) this.highSack = s.end;
      }
    }
  }

  /** RACK reordering window: none while recovering without seen reordering, else min RTT / 4. */
  private reoWnd(): number {
    if (!this.reorderSeen && this.recovery !== RECOVERY_NONE) return 0;
    const w = this.minRtt === Infinity ? 0 : this.minRtt / 4;
    return this.hasRtt && this.srtt < w ? this.srtt : w;
  }

  /**
   * Marks lost every outstanding segment that (a) has dupAckThreshold segments' worth of data SACKed
   * above it (sent once), or (b) was sent before a segment now known delivered and has not arrived
   * within that segment's RTT plus the reordering window (RACK; finds lost retransmissions too).
   * When the receiver's last SACK list was full (4 blocks), segments above the highest SACK are not
   * judged: the receiver may hold them without saying so. Arms the RACK timer for the earliest
   * segment that is not yet overdue. Starts recovery on the first loss.
   */
  private detectLosses(now: number): void {
    this.rackTimerAt = NONE;
    // Without SACKs and retransmissions, every outstanding segment was sent after everything delivered.
    if (this.sackedCount === 0 && this.retxOutstanding === 0 && !this.rackRetx) return;
    if (this.rackXmitAt === -Infinity) return;
    const c = this.config;
    const dupLimit = seqAdd(this.highSack, -c.dupAckThreshold * this.segmentSize);
    const reo = this.reoWnd();
    const q = this.q;
    const stop = this.sackComplete ? q.length : this.indexAtOrAfter(this.highSack);
    let next = NONE;
    let marked = false;
    for (let i = this.qHead; i < stop; i++) {
      const s = q[i]!;
      if (s.sacked || s.lost || s.attempts >= c.maxTransmissions) continue;
      let lost = s.attempts === 1 && this.sackedCount > 0 && !seqAfter(s.end, dupLimit);
      if (!lost && (s.sentAt < this.rackXmitAt || (s.sentAt === this.rackXmitAt && !seqAfter(s.end, this.rackEnd)))) {
        const at = s.sentAt + this.rackRtt + reo;
        if (at <= now) lost = true;
        else if (next === NONE || at < next) next = at;
      }
      if (lost) {
        this.markLost(s);
        marked = true;
      }
    }
    this.rackTimerAt = next;
    if (marked && this.recovery === RECOVERY_NONE) this.enterRecovery(now);
  }

  private markLost(s: TxSeg): void {
    if (this.lostCount === 0 || seqBefore(s.seq, this.lostScanSeq)) this.lostScanSeq = s.seq;
    s.lost = true;
    this.lostCount++;
    this.lostMarked++;
    this.pipe -= s.payload.length;
  }

  /** The lowest segment marked lost. */
  private nextLost(): TxSeg | undefined {
    if (this.lostCount === 0) return undefined;
    const q = this.q;
    let from = this.lostScanSeq;
    if (seqBefore(from, this.sndUna)) from = this.sndUna;
    for (let i = this.indexAtOrAfter(from); i < q.length; i++) {
      const s = q[i]!;
      if (s.lost) {
        this.lostScanSeq = s.seq;
        return s;
      }
    }
    return undefined;
  }

  private firstUnsacked(): TxSeg | undefined {
    const q = this.q;
    if (this.sackedCount === 0) return q[this.qHead];
    for (let i = this.qHead; i < q.length; i++) if (!q[i]!.sacked) return q[i];
    return undefined;
  }

  /** Sends a tracked segment again, exactly as first sent (same seq, same payload). */
  private resend(s: TxSeg, now: number): void {
    if (s.lost) {
      s.lost = false;
      this.lostCount--;
      this.pipe += s.payload.length;
    }
    if (s.attempts === 1) this.retxOutstanding++;
    s.attempts++;
    s.sentAt = now;
    this.lastDataTxAt = now;
    this.retransmits++;
    this.segsSinceAck = 0;
    this.delAckAt = NONE;
    this.emit(FLAG_ACK, s.seq, this.rcvNxt, this.windowField(), s.payload);
  }

  /**
   * RTO expiry: every outstanding non-SACKed segment is deemed lost, cwnd restarts at one segment
   * (slow start up to ssthresh); the first non-SACKed segment goes out now.
   */
  private onRetransmitTimeout(now: number): void {
    const c = this.config;
    const cand = this.firstUnsacked() ?? this.q[this.qHead];
    if (cand === undefined) return;
    if (cand.attempts >= c.maxTransmissions) {
      const lost = this.pendingBytes + this.unackedBytesInQ;
      this.sendRst();
      this.finishClosed('timeout', lost);
      return;
    }
    const seg = this.segmentSize;
    if (this.recovery !== RECOVERY_TIMEOUT) {
      this.ssthresh = Math.max(Math.floor(Math.min(this.cwnd, this.inFlight()) / 2), 2 * seg);
    }
    this.cwnd = seg;
    this.recovery = RECOVERY_TIMEOUT;
    this.recoveryPoint = this.sndNxt;
    const q = this.q;
    for (let i = this.qHead; i < q.length; i++) {
      const s = q[i]!;
      if (!s.sacked && !s.lost) this.markLost(s);
    }
    this.rackTimerAt = NONE;
    this.tlpCount = 0;
    if (this.rto * this.backoff < c.maxRtoMs) this.backoff *= 2;
    this.timeouts++;
    this.resend(cand.lost ? cand : (this.nextLost() ?? cand), now);
  }

  /**
   * Probe timeout: 2·SRTT (plus the delayed-ACK time when one segment is out), at least MIN_PTO_MS,
   * doubling with each probe that brought nothing back; at most MAX_TLPS probes per silence.
   */
  private ptoDeadline(rto: number = this.rtoDeadline()): number {
    // not between an RTO and the next forward progress: the backoff paces a silent peer
    if (this.tlpCount >= MAX_TLPS || this.backoff > 1 || this.qHead === this.q.length) return NONE;
    let pto: number;
    if (this.hasRtt) {
      pto = 2 * this.srtt;
      if (this.q.length - this.qHead === 1) pto += this.config.delayedAckMs;
      if (pto < MIN_PTO_MS) pto = MIN_PTO_MS;
    } else {
      pto = this.config.initialRtoMs;
    }
    pto *= 1 << this.tlpCount;
    const base = this.lastDataTxAt > this.lastAckProgressAt ? this.lastDataTxAt : this.lastAckProgressAt;
    const at = base + pto;
    return rto !== NONE && at >= rto ? NONE : at;
  }

  /**
   * Tail loss probe: nothing came back for a PTO. One segment goes out regardless of cwnd — the next
   * lost one, else new data, else the highest outstanding segment — so that its ACK (with SACK)
   * shows what is missing and RACK can repair it without waiting for the RTO.
   */
  private tailLossProbe(now: number): void {
    const c = this.config;
    this.tlpCount++;
    this.tlpProbes++;
    const lost = this.nextLost();
    if (lost !== undefined && lost.attempts < c.maxTransmissions) {
      this.resend(lost, now);
      return;
    }
    if (this.pendingBytes > 0 && !this.peerWindowFull()) {
      this.sendNew(this.take(Math.min(this.segmentSize, this.pendingBytes)), now);
      return;
    }
    const q = this.q;
    for (let i = q.length - 1; i >= this.qHead; i--) {
      const s = q[i]!;
      if (s.sacked || s.lost) continue;
      if (s.attempts < c.maxTransmissions) this.resend(s, now);
      return;
    }
  }

  /** No new data may go out now: the network (pipe ≥ cwnd) or the peer's window is full. */
  private windowClosed(): boolean {
    return this.pipe >= this.cwnd || this.peerWindowFull();
  }

  /** The peer's advertised window (slots × MSS bytes, as the reference counts it; 0 = no limit) is used up. */
  private peerWindowFull(): boolean {
    return this.peerWindowBytes > 0 && this.inFlight() >= this.peerWindowBytes;
  }

  // =====================================================================================
  // send path

  /** Sends queued data while the window gate allows (Nagle for the sub-MSS remainder). */
  private pump(now: number): void {
    const st = this._state;
    if (st !== 'ESTABLISHED' && st !== 'FIN_WAIT') return;
    const c = this.config;
    const mss = this.segmentSize;
    // segments deemed lost go first, while the network has room (pipe < cwnd)
    while (this.lostCount > 0 && this.pipe < this.cwnd) {
      const s = this.nextLost();
      if (s === undefined || s.attempts >= c.maxTransmissions) break; // the RTO decides about it
      this.resend(s, now);
    }
    while (this.pendingBytes > 0) {
      const inFlight = this.inFlight();
      if (this.windowClosed()) {
        if (this.probeAt === NONE) this.probeAt = now + this.probeInterval;
        break;
      }
      let len: number;
      if (this.pendingBytes >= mss) {
        len = mss;
        this.nagleSince = NONE;
      } else if (st === 'FIN_WAIT' || inFlight === 0 || (this.nagleSince !== NONE && now - this.nagleSince >= c.nagleMs)) {
        len = this.pendingBytes;
      } else {
        if (this.nagleSince === NONE) this.nagleSince = now;
        break;
      }
      this.sendNew(this.take(len), now);
    }
    if (this.pendingBytes === 0) {
      this.nagleSince = NONE;
      this.probeAt = NONE;
      this.probeInterval = c.probeInitialMs;
      if (st === 'FIN_WAIT' && this.qHead === this.q.length) this.sendFin(now);
    }
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
    if (this.qHead === this.q.length) this.lastAckProgressAt = now; // timer starts with the first segment
    this.q.push({ seq, end, payload, sentAt: now, attempts: 1, sacked: false, lost: false });
    this.unackedBytesInQ += payload.length;
    this.pipe += payload.length;
    this.lastDataTxAt = now;
    this.sndNxt = end;
    this.bytesSent += payload.length;
    this.lastActivity = now;
    this.segsSinceAck = 0;
    this.delAckAt = NONE;
    this.emit(FLAG_ACK, seq, this.rcvNxt, this.windowField(), payload);
  }

  private sendFin(now: number): void {
    this.finSeq = this.sndNxt;
    this.emit(FLAG_FIN, this.finSeq, 0, 0, EMPTY);
    this.finAcked = false;
    this.finRetxLeft = this.config.finRetransmits;
    this.finRto = this.currentRto();
    this.finRetxAt = this.finRetxLeft > 0 ? now + this.finRto : NONE;
    this.enterTimeWait(now);
    this.emitClosed('fin', 0);
  }

  private sendRst(): void {
    this.emit(FLAG_RST, 0, 0, 0, EMPTY);
  }

  // =====================================================================================
  // lifecycle

  private enterTimeWait(now: number): void {
    this.setState('TIME_WAIT');
    this.timeWaitAt = now + this.config.timeWaitMs;
    this.dropSendState();
    this.ooo.length = 0;
    this.delAckAt = NONE;
    this.synAt = NONE;
  }

  private dropSendState(): void {
    this.q.length = 0;
    this.qHead = 0;
    this.unackedBytesInQ = 0;
    this.sackedCount = 0;
    this.pend.length = 0;
    this.pendHead = 0;
    this.pendOff = 0;
    this.pendingBytes = 0;
    this.nagleSince = NONE;
    this.probeAt = NONE;
    this.recovery = RECOVERY_NONE;
    this.pipe = 0;
    this.lostCount = 0;
    this.retxOutstanding = 0;
    this.rackTimerAt = NONE;
    this.tlpCount = 0;
  }

  private emitClosed(reason: CloseReason, lostBytes: number): void {
    if (this.closeReason !== undefined) return;
    this.closeReason = reason;
    this.emitEvent({ type: 'closed', reason, lostBytes });
  }

  private finishClosed(reason: CloseReason, lost?: number): void {
    const lostBytes = lost ?? this.pendingBytes + this.unackedBytesInQ;
    this.emitClosed(reason, lostBytes);
    this.toClosed();
  }

  private toClosed(): void {
    this.dropSendState();
    this.ooo.length = 0;
    this.delAckAt = NONE;
    this.synAt = NONE;
    this.timeWaitAt = NONE;
    this.finRetxAt = NONE;
    this.setState('CLOSED');
  }

  private onTick(now: number): void {
    const c = this.config;
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
    if (this.delAckAt !== NONE && now >= this.delAckAt) this.sendAck();
    if (this.rackTimerAt !== NONE && now >= this.rackTimerAt) {
      this.detectLosses(now);
      this.pump(now);
    }
    const rtoAt = this.rtoDeadline();
    if (rtoAt !== NONE && now >= rtoAt) {
      this.onRetransmitTimeout(now);
      if ((this._state as StreamState) === 'CLOSED') return;
    } else {
      const ptoAt = this.ptoDeadline(rtoAt);
      if (ptoAt !== NONE && now >= ptoAt) this.tailLossProbe(now);
    }
    if (this.probeAt !== NONE && now >= this.probeAt) {
      // zero-window probe: empty ACK at the next send seq
      this.emit(FLAG_ACK, this.sndNxt, this.rcvNxt, this.windowField(), EMPTY);
      this.probeInterval = Math.min(this.probeInterval * 2, c.probeMaxMs);
      this.probeAt = now + this.probeInterval;
    }
    if (this.nagleSince !== NONE && now - this.nagleSince >= c.nagleMs) this.pump(now);
    if (this._state === 'ESTABLISHED') {
      if (now - this.lastActivity >= c.idleTimeoutMs) {
        this.idleClose(now);
        return;
      }
      if (now >= this.keepaliveDeadline()) {
        this.lastKeepalive = now;
        this.emit(FLAG_ACK, this.sndNxt, this.rcvNxt, 0, EMPTY);
      }
    }
  }

  private idleClose(now: number): void {
    const lost = this.pendingBytes + this.unackedBytesInQ;
    this.emit(FLAG_FIN, this.sndNxt, 0, 0, EMPTY);
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
      this.emitEvent({ type: 'dial_relay_hint' });
      this.synRto = c.synRtoMs;
    }
    this.synRto = Math.min(this.synRto * 2, c.synRtoMaxMs);
    this.emit(FLAG_SYN, 0, 0, this.windowField(), EMPTY);
    this.synAt = now + this.synRto;
  }

  private keepaliveDeadline(): number {
    const base = this.lastKeepalive !== NONE && this.lastKeepalive > this.lastActivity ? this.lastKeepalive : this.lastActivity;
    return base + this.config.keepaliveMs;
  }

  private rtoDeadline(): number {
    if (this.qHead === this.q.length) return NONE;
    const cand = this.firstUnsacked() ?? this.q[this.qHead]!;
    const base = cand.sentAt > this.lastAckProgressAt ? cand.sentAt : this.lastAckProgressAt;
    return base + this.currentRto();
  }

  private currentRto(): number {
    return Math.min(this.rto * this.backoff, this.config.maxRtoMs);
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
        if (this.delAckAt !== NONE && this.delAckAt < d) d = this.delAckAt;
        const r = this.rtoDeadline();
        if (r !== NONE && r < d) d = r;
        const pto = this.ptoDeadline(r);
        if (pto !== NONE && pto < d) d = pto;
        if (this.rackTimerAt !== NONE && this.rackTimerAt < d) d = this.rackTimerAt;
        if (this.probeAt !== NONE && this.probeAt < d) d = this.probeAt;
        // the Nagle timer only matters while the window lets data out (else the next ACK pumps)
        if (this.nagleSince !== NONE && this.nagleSince + this.config.nagleMs < d && !this.windowClosed()) {
          d = this.nagleSince + this.config.nagleMs;
        }
        if (this._state === 'ESTABLISHED') {
          const k = this.keepaliveDeadline();
          if (k < d) d = k;
          const idle = this.lastActivity + this.config.idleTimeoutMs;
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
