/** The public types of a stream connection (re-exported by stream.ts). */
import type { Address } from '../../shared/address';
import type { TransportConfig } from './config';
import type { Segment } from './segment';
import type { StreamConnection } from './stream';

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
  /** Congestion control for this connection (default: the config's `congestion`). */
  congestion?: TransportConfig['congestion'];
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
