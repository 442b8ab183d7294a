/**
 * Transport constants (transport.md §1) with their defaults. Every connection gets a validated copy;
 * tests and the node may override single values.
 */
import { PilotError } from '../../shared/errors';

export interface TransportConfig {
  /** Max segment payload; also the unit of the window field. */
  readonly mss: number;
  /** Receive queue slots per connection; the advertised window is the free slots. */
  readonly recvSlots: number;
  /** Max out-of-order segments held by the receiver. */
  readonly oooMax: number;
  readonly initialCwnd: number;
  readonly initialSsthresh: number;
  readonly maxCwnd: number;
  readonly initialRtoMs: number;
  readonly minRtoMs: number;
  readonly maxRtoMs: number;
  /** The `G` term of RFC 6298: RTO = SRTT + max(G, 4·RTTVAR). */
  readonly clockGranularityMs: number;
  /** Transmissions of one segment (first send counts as 1) before RST + close('timeout'). */
  readonly maxTransmissions: number;
  readonly nagleMs: number;
  readonly delayedAckMs: number;
  readonly delayedAckSegments: number;
  readonly dupAckThreshold: number;
  readonly probeInitialMs: number;
  readonly probeMaxMs: number;
  readonly keepaliveMs: number;
  readonly idleTimeoutMs: number;
  readonly timeWaitMs: number;
  readonly synRtoMs: number;
  readonly synRtoMaxMs: number;
  /** At this SYN retry the dialer may switch the peer to relay (event `dial_relay_hint`). */
  readonly dialRelayRetry: number;
  /** The dial fails when the retry counter exceeds this. */
  readonly dialMaxRetries: number;
  /** Bound of (queued + unacknowledged) bytes on the send side: `write()` accepts at most the free part. */
  readonly sendBufferBytes: number;
  /** FIN retransmissions in TIME_WAIT while no FIN|ACK / RST came back (the reference never retransmits). */
  readonly finRetransmits: number;
  /** Answer a peer keepalive (empty ACK, window 0) with an ACK, at most once per keepaliveMs/2. */
  readonly answerKeepalive: boolean;
  /**
   * false: delivered data counts as consumed at once (advertised window stays at recvSlots).
   * true: the driver reports consumption with `consumed(n)` and the window shrinks meanwhile.
   */
  readonly manualConsume: boolean;
  /**
   * false (reference behaviour): the ACK due after every `delayedAckSegments` in-order segments goes
   * out at once. true: it is deferred until the driver calls `flushAck` (the table's `flushAcks`),
   * which a driver does at the end of the batch of datagrams it is processing, so a burst of N
   * segments read together is acknowledged by one cumulative ACK instead of N/2 (fewer datagrams,
   * fewer syscalls and seals on both ends). Out-of-order data, duplicates and a segment that fills a
   * hole are still acknowledged at once, and the delayed-ACK timer stays armed as a fallback. Only for
   * drivers that flush.
   */
  readonly ackBatching: boolean;
  /**
   * Congestion controller: 'reno' (loss-based, halves the window on every loss, no pacing) or 'bbr'
   * (model-based: paces at the measured bottleneck rate, keeps its window on random loss; bbr.ts).
   */
  readonly congestion: CongestionAlgorithm;
}

export const CONGESTION_ALGORITHMS = ['reno', 'bbr'] as const;
export type CongestionAlgorithm = (typeof CONGESTION_ALGORITHMS)[number];

export const DEFAULT_TRANSPORT_CONFIG: TransportConfig = Object.freeze({
  mss: 4096,
  recvSlots: 512,
  oooMax: 128,
  initialCwnd: 10 * 4096,
  initialSsthresh: 524_288,
  maxCwnd: 1_048_576,
  initialRtoMs: 1000,
  minRtoMs: 200,
  maxRtoMs: 10_000,
  clockGranularityMs: 10,
  maxTransmissions: 8,
  nagleMs: 40,
  delayedAckMs: 40,
  delayedAckSegments: 2,
  dupAckThreshold: 3,
  probeInitialMs: 500,
  probeMaxMs: 30_000,
  keepaliveMs: 30_000,
  idleTimeoutMs: 120_000,
  timeWaitMs: 10_000,
  synRtoMs: 1000,
  synRtoMaxMs: 8000,
  dialRelayRetry: 3,
  dialMaxRetries: 6,
  sendBufferBytes: 4 * 1024 * 1024,
  finRetransmits: 3,
  answerKeepalive: true,
  manualConsume: false,
  ackBatching: false,
  congestion: 'reno',
});

const BOOL_KEYS = new Set<keyof TransportConfig>(['answerKeepalive', 'manualConsume', 'ackBatching']);

/** Defaults overridden by `partial`; throws `invalid_argument` on a bad value or unknown key. */
export function makeTransportConfig(partial?: Partial<TransportConfig>): TransportConfig {
  if (partial === undefined) return DEFAULT_TRANSPORT_CONFIG;
  const out: Record<string, number | boolean | string> = { ...DEFAULT_TRANSPORT_CONFIG };
  for (const [k, v] of Object.entries(partial)) {
    if (!(k in DEFAULT_TRANSPORT_CONFIG)) throw new PilotError('invalid_argument', `unknown transport option ${k}`);
    if (v === undefined) continue;
    if (k === 'congestion') {
      if (!(CONGESTION_ALGORITHMS as readonly unknown[]).includes(v)) {
        throw new PilotError('invalid_argument', `transport option congestion must be one of ${CONGESTION_ALGORITHMS.join(', ')}, got ${String(v)}`);
      }
    } else if (BOOL_KEYS.has(k as keyof TransportConfig)) {
      if (typeof v !== 'boolean') throw new PilotError('invalid_argument', `transport option ${k} must be a boolean`);
    } else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new PilotError('invalid_argument', `transport option ${k} must be a non-negative number, got ${String(v)}`);
    }
    out[k] = v;
  }
  const c = out as unknown as TransportConfig;
  const bad = (why: string): never => {
    throw new PilotError('invalid_argument', `invalid transport config: ${why}`);
  };
  if (!Number.isInteger(c.mss) || c.mss < 1 || c.mss > 65_535 - 64) bad('mss must be an integer 1..65471');
  if (!Number.isInteger(c.recvSlots) || c.recvSlots < 1) bad('recvSlots must be a positive integer');
  if (!Number.isInteger(c.oooMax)) bad('oooMax must be an integer');
  if (c.initialCwnd < c.mss || c.maxCwnd < c.initialCwnd) bad('need mss <= initialCwnd <= maxCwnd');
  if (c.minRtoMs <= 0 || c.maxRtoMs < c.minRtoMs) bad('need 0 < minRtoMs <= maxRtoMs');
  if (c.initialRtoMs < c.minRtoMs || c.initialRtoMs > c.maxRtoMs) bad('initialRtoMs outside [minRtoMs, maxRtoMs]');
  if (!Number.isInteger(c.maxTransmissions) || c.maxTransmissions < 1) bad('maxTransmissions must be >= 1');
  if (!Number.isInteger(c.delayedAckSegments) || c.delayedAckSegments < 1) bad('delayedAckSegments must be >= 1');
  if (!Number.isInteger(c.dupAckThreshold) || c.dupAckThreshold < 1) bad('dupAckThreshold must be >= 1');
  if (c.probeInitialMs <= 0 || c.probeMaxMs < c.probeInitialMs) bad('need 0 < probeInitialMs <= probeMaxMs');
  if (c.synRtoMs <= 0 || c.synRtoMaxMs < c.synRtoMs) bad('need 0 < synRtoMs <= synRtoMaxMs');
  if (c.keepaliveMs <= 0 || c.idleTimeoutMs <= 0 || c.timeWaitMs < 0) bad('keepalive/idle must be > 0');
  if (c.sendBufferBytes < c.mss) bad('sendBufferBytes must be >= mss');
  return Object.freeze(c);
}
