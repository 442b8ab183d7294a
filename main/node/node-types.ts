/** The types of the node's public surface (node.ts): its options, events and the records it keeps. */
import type { Address } from '../../shared/address';
import type { NetcheckView, PathKind } from '../../shared/contract';
import type { CryptoBackend, Identity } from '../crypto';
import type { CloseReason, TableConfig } from '../transport';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { RegistryEvent } from '../wire/registry';
import type { Tracer } from '../observe/tracer';
import type { DatagramSocket } from './udp';
import type { TunnelEvent } from './tunnel-types';

export interface NodeOptions {
  identity: Identity;
  /**
   * Registry `host:port` (default 127.0.0.1:9000); several (`a:9000,b:9000` or an array) for backbone
   * instances sharing one directory, in order of preference: the node fails over between them.
   */
  registry?: string | readonly string[];
  /** Beacon `host:port` (default 127.0.0.1:9001); several as for `registry`: discovers go to all. */
  beacon?: string | readonly string[];
  /** With several beacons: how often each is sent a discover and the active one re-picked (default 5 s). */
  beaconProbeMs?: number;
  /** UDP tunnel listen address (default `0.0.0.0:0`). */
  listen?: string;
  hostname?: string;
  tags?: string[];
  public?: boolean;
  encrypt?: boolean;
  owner?: string;
  clock?: Clock;
  log?: Logger;
  backend?: CryptoBackend;
  heartbeatMs?: number;
  /** Tunnel timings (see TunnelOptions). */
  tunnel?: { punchAfterMs?: number; relayAfterMs?: number; establishTimeoutMs?: number; upgradeIntervalMs?: number; silenceRekeyMs?: number };
  table?: Partial<TableConfig>;
  /** The netcheck reflector `host:port` (default: the beacon's host, port + 1). */
  netcheck?: string;
  /** An already bound socket (tests); otherwise `listen` is bound. */
  socket?: DatagramSocket;
  /** The node's tracer (default: its own, with a 5000-span ring). */
  tracer?: Tracer;
  /** Tracing on (default) or off (benchmarks compare the two); ignored when `tracer` is given. */
  tracing?: boolean;
}

export interface DatagramMessage {
  src: Address;
  srcPort: number;
  dstPort: number;
  data: Uint8Array;
}

/**
 * A stream connection seen by the node: `accepted` when an inbound SYN became an established
 * connection (the accept queue of a listening port), `closed` when any connection finished, with the
 * transport's reason (fin: orderly close from either side; rst/refused: the peer reset it; idle: the
 * idle timeout; timeout: retransmissions gave up; aborted: closed locally without FIN).
 */
export type ConnEvent =
  | { type: 'accepted'; id: number; localPort: number; remote: Address; remotePort: number }
  | { type: 'closed'; id: number; localPort: number; remote: Address; remotePort: number; reason: CloseReason; inbound: boolean };

export interface NodeEvents {
  started: [];
  /** Registered (also after a re-registration) with the endpoint the registry was given. */
  registered: [nodeId: number, endpoint: string];
  stopped: [];
  datagram: [msg: DatagramMessage];
  tunnel: [ev: TunnelEvent];
  registry: [ev: RegistryEvent];
  registryStatus: [connected: boolean];
  ping: [nodeId: number, rttMs: number, path: PathKind];
  conn: [ev: ConnEvent];
}

export interface PeerRecord {
  nodeId: number;
  /** The peer's own report (registry `behind_nat`); undefined when it does not say. */
  behindNat?: boolean;
  hostname?: string;
  tags: string[];
  publicKey?: string;
  networks: number[];
  rtt: number[];
  lastPingMs?: number;
  lastRefreshed?: number;
}

export type NetcheckReport = NetcheckView;

export interface ResolvedTarget {
  nodeId: number;
  address: Address;
  hostname?: string;
}
