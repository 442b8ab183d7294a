import type { PathKind, PeerDetail, PeerView, TrustState } from '../../../../shared/contract';

export interface PeersState {
  byId: Record<number, PeerView>;
  /** When this page last heard of each peer (ms since epoch), for peers the node reports no lastSeen. */
  heardAt: Record<number, number>;
  /** The latest `peers.inspect` answer per peer. */
  details: Record<number, { detail: PeerDetail; at: number }>;
  loadedAt?: number;
}

export type PeersAction =
  | { type: 'peersLoaded'; peers: PeerView[]; at: number }
  | { type: 'peerSeen'; peer: PeerView; at: number }
  | { type: 'pathChanged'; nodeId: number; from: PathKind; to: PathKind; endpoint?: string; at: number }
  | { type: 'peerInspected'; detail: PeerDetail; at: number }
  | { type: 'trustChanged'; nodeId: number; state: TrustState; at: number };

export const initialPeersState: PeersState = { byId: {}, heardAt: {}, details: {} };
