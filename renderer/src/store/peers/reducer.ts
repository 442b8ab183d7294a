import type { PeerView } from '../../../../shared/contract';
import type { RootAction } from '../actions';
import type { PeersState } from './state';

function patchPeer(state: PeersState, nodeId: number, patch: Partial<PeerView>, at: number): PeersState {
  const peer = state.byId[nodeId];
  if (!peer) return state;
  const detail = state.details[nodeId];
  return {
    ...state,
    byId: { ...state.byId, [nodeId]: { ...peer, ...patch } },
    heardAt: { ...state.heardAt, [nodeId]: at },
    details: detail ? { ...state.details, [nodeId]: { ...detail, detail: { ...detail.detail, ...patch } } } : state.details,
  };
}

export function peersReducer(state: PeersState, action: RootAction): PeersState {
  switch (action.type) {
    case 'peersLoaded': {
      const byId: Record<number, PeerView> = {};
      const heardAt: Record<number, number> = {};
      for (const p of action.peers) {
        byId[p.nodeId] = p;
        heardAt[p.nodeId] = state.heardAt[p.nodeId] ?? action.at;
      }
      return { ...state, byId, heardAt, loadedAt: action.at };
    }
    case 'peerSeen':
      return {
        ...state,
        byId: { ...state.byId, [action.peer.nodeId]: action.peer },
        heardAt: { ...state.heardAt, [action.peer.nodeId]: action.at },
      };
    case 'pathChanged': {
      const patch: Partial<PeerView> = { path: action.to };
      if (action.endpoint !== undefined) patch.endpoint = action.endpoint;
      const next = patchPeer(state, action.nodeId, patch, action.at);
      const d = next.details[action.nodeId];
      if (!d) return next;
      return { ...next, details: { ...next.details, [action.nodeId]: { ...d, detail: { ...d.detail, pathChanges: d.detail.pathChanges + 1 } } } };
    }
    case 'trustChanged':
      return patchPeer(state, action.nodeId, { trust: action.state }, action.at);
    case 'peerInspected': {
      const { detail } = action;
      // The detail is newer than the row: refresh the row's fields from it too.
      const row: PeerView = {
        nodeId: detail.nodeId,
        address: detail.address,
        tags: detail.tags,
        groups: detail.groups,
        path: detail.path,
        rttHistory: detail.rttHistory,
        trust: detail.trust,
        encrypted: detail.encrypted,
        authenticated: detail.authenticated,
      };
      if (detail.hostname !== undefined) row.hostname = detail.hostname;
      if (detail.endpoint !== undefined) row.endpoint = detail.endpoint;
      if (detail.rttMs !== undefined) row.rttMs = detail.rttMs;
      if (detail.lastSeenMs !== undefined) row.lastSeenMs = detail.lastSeenMs;
      return {
        ...state,
        byId: { ...state.byId, [detail.nodeId]: row },
        details: { ...state.details, [detail.nodeId]: { detail, at: action.at } },
      };
    }
    default:
      return state;
  }
}
