/** Per-peer tunnel state, owned and mutated by TunnelManager (tunnels.ts). */
import type { KeyPair, TunnelCipher } from '../crypto';
import type { TimerHandle } from '../util/clock';
import type { PathKind, PeerCounters } from './tunnel-types';
import type { UdpEndpoint } from './udp';

export class Peer {
  path: PathKind = 'pending';
  /**
   * Our X25519 key pair towards this peer: a fresh one per tunnel session and for every re-key we
   * start (forward secrecy between sessions).
   */
  x25519: KeyPair;
  /** The endpoint the registry gave for this peer (path labels: reached there = direct). */
  registered: UdpEndpoint | undefined;
  /** When we last re-keyed on our own (a silent peer), -Infinity if never. */
  lastRekey = -Infinity;
  /** The first send after the last receive. */
  unansweredSince = -Infinity;
  /** Relayed peer: when the next direct probe is due, and the gap that led to it (doubling). */
  nextProbeAt = -Infinity;
  probeGap: number | undefined;
  endpoint: UdpEndpoint | undefined;
  relay = false;
  punchInvolved = false;
  punchRequestedAt = -Infinity;
  peerX25519: Uint8Array | undefined;
  peerEd25519: Uint8Array | undefined;
  cipher: TunnelCipher | undefined;
  authenticated = false;
  queue: Uint8Array[] = [];
  lastKxSent = -Infinity;
  lastRecv = -Infinity;
  lastDirectRecv = -Infinity;
  lastSend = -Infinity;
  pathChanges = 0;
  waiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  establishing: { started: number; timer: TimerHandle | undefined } | undefined;
  counters: PeerCounters = {
    bytesIn: 0,
    bytesOut: 0,
    framesIn: 0,
    framesOut: 0,
    keyExchangesSent: 0,
    keyExchangesReceived: 0,
    relayedIn: 0,
    relayedOut: 0,
    drops: {},
  };
  constructor(
    readonly nodeId: number,
    x25519: KeyPair,
  ) {
    this.x25519 = x25519;
  }
}
