import type { PathKind, PeerDetail, PeerView, TrustState } from '../../../../shared/contract';
import { dispatch } from '../root';

export const peersLoaded = (peers: PeerView[], at = Date.now()): void => dispatch({ type: 'peersLoaded', peers, at });
export const peerSeen = (peer: PeerView, at = Date.now()): void => dispatch({ type: 'peerSeen', peer, at });
export const pathChanged = (e: { nodeId: number; from: PathKind; to: PathKind; endpoint?: string }, at = Date.now()): void =>
  dispatch({ type: 'pathChanged', ...e, at });
export const peerInspected = (detail: PeerDetail, at = Date.now()): void => dispatch({ type: 'peerInspected', detail, at });
export const trustChanged = (e: { nodeId: number; state: TrustState }, at = Date.now()): void => dispatch({ type: 'trustChanged', ...e, at });
