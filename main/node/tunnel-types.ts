/** Types of the tunnel layer (tunnels.ts), shared by its pure rules (tunnel-rules.ts). */
import type { PeerTrafficCounters } from '../../shared/contract';
import type { CryptoBackend, Identity } from '../crypto';
import type { BeaconMessage } from '../wire/beacon';
import type { Clock } from '../util/clock';
import type { Logger } from '../util/log';
import type { DatagramSocket, UdpEndpoint } from './udp';

export type PathKind = 'pending' | 'direct' | 'punched' | 'relay';

export type DropReason =
  | 'malformed'
  | 'unknown_magic'
  | 'plaintext_refused'
  | 'unauthenticated_kx'
  | 'bad_signature'
  | 'unknown_key'
  | 'key_mismatch'
  | 'no_session'
  | 'bad_tag'
  | 'replay'
  | 'spoofed_source'
  | 'queue_overflow'
  | 'not_for_us'
  /** A correctly signed key exchange whose X25519 key is unusable (a low-order point). */
  | 'bad_key'
  /** A signed key exchange offering a key the peer already replaced: a recorded exchange replayed. */
  | 'stale_key'
  /** A key exchange over its sender's budget (10/s, burst 20), dropped before any crypto. */
  | 'rate_limited'
  /** A key exchange refused because too many are already waiting on registry lookups. */
  | 'busy'
  /** A frame that made our own code throw: a bug, logged with its stack; the node keeps serving. */
  | 'internal_error';

export interface PeerCounters extends PeerTrafficCounters {
  drops: Partial<Record<DropReason, number>>;
}

export interface PeerTunnelInfo {
  nodeId: number;
  path: PathKind;
  endpoint?: string;
  encrypted: boolean;
  authenticated: boolean;
  peerKeyFingerprint?: string;
  lastRecvMs?: number;
  lastSendMs?: number;
  pathChanges: number;
  counters: PeerCounters;
}

export type TunnelEvent =
  | { type: 'peer_added'; nodeId: number }
  | { type: 'key_exchanged'; nodeId: number; rekey: boolean; relayed: boolean }
  | { type: 'path_changed'; nodeId: number; from: PathKind; to: PathKind; endpoint?: string }
  | { type: 'dropped'; nodeId?: number; reason: DropReason };

/**
 * Stages of establishing a tunnel, for the node's dial spans (observation only: no decision
 * depends on the observer).
 */
export type DialStage =
  | { stage: 'punch_request'; nodeId: number; elapsedMs: number }
  | { stage: 'relay_fallback'; nodeId: number; elapsedMs: number; reason: 'no_direct_answer' | 'no_endpoint' }
  /** An endpoint the dial sends its key exchange to: the registered one (or one known before), or one the beacon observed and named in a punch command. */
  | { stage: 'endpoint'; nodeId: number; elapsedMs: number; endpoint: string; source: 'registry' | 'known' | 'beacon' }
  /** `endpoint`: where the peer's answer came from (absent on a relayed tunnel). */
  | { stage: 'established'; nodeId: number; elapsedMs: number; path: PathKind; endpoint?: string }
  | { stage: 'failed'; nodeId: number; elapsedMs: number; error: string };

export interface TunnelOptions {
  identity: Identity;
  socket: DatagramSocket;
  clock: Clock;
  log: Logger;
  backend?: CryptoBackend;
  beacon?: UdpEndpoint;
  /**
   * Whether a datagram from `from` comes from one of our beacons (relay deliveries and punch commands
   * are taken only from them); default: from `beacon`. With several beacons, any of them.
   */
  isBeacon?: (from: UdpEndpoint) => boolean;
  encrypt?: boolean;
  /** Ed25519 key of a node as registered at the registry (undefined: unknown). */
  lookupKey: (nodeId: number) => Promise<Uint8Array | undefined>;
  /** A decrypted, CRC-unchecked inner packet from `from`. */
  onPacket: (packet: Uint8Array, from: number) => void;
  onBeacon?: (msg: BeaconMessage, from: UdpEndpoint) => void;
  onEvent?: (ev: TunnelEvent) => void;
  /** Observer of tunnel establishment stages (tracing); must not throw. */
  onDialStage?: (s: DialStage) => void;
  /** Direct key exchange attempts before asking the beacon to coordinate a punch. */
  punchAfterMs?: number;
  /** Give up on direct and switch to relay after this long. */
  relayAfterMs?: number;
  /** Fail a tunnel that has no key exchange after this long. */
  establishTimeoutMs?: number;
  /** How often relayed peers are probed for a direct path. */
  upgradeIntervalMs?: number;
  /** Key exchange resend interval while waiting. */
  kxRetryMs?: number;
  /**
   * Re-key with a fresh X25519 key when we kept sending to a peer for this long and heard nothing
   * back (checked every `upgradeIntervalMs`).
   */
  silenceRekeyMs?: number;
  /** Whether this node sits behind a NAT (from the beacon's view; undefined: unknown). */
  selfBehindNat?: () => boolean | undefined;
  /** Whether a peer reported sitting behind a NAT (registry `behind_nat`; undefined: not reported). */
  peerBehindNat?: (nodeId: number) => boolean | undefined;
}
