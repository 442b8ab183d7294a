import type { RootAction } from '../actions';
import type { TrustSliceState } from './state';

function without<T>(rec: Record<number, T>, key: number): Record<number, T> {
  if (!(key in rec)) return rec;
  const next = { ...rec };
  delete next[key];
  return next;
}

export function trustReducer(state: TrustSliceState, action: RootAction): TrustSliceState {
  switch (action.type) {
    case 'trustPendingLoaded': {
      const pending: TrustSliceState['pending'] = {};
      for (const r of action.requests) pending[r.nodeId] = r;
      return { ...state, pending };
    }
    case 'trustListLoaded': {
      const trusted: TrustSliceState['trusted'] = {};
      for (const p of action.peers) trusted[p.nodeId] = p;
      return { ...state, trusted };
    }
    case 'trustRequested':
      return {
        ...state,
        pending: { ...state.pending, [action.request.nodeId]: action.request },
        dismissed: without(state.dismissed, action.request.nodeId),
        errors: without(state.errors, action.request.nodeId),
      };
    case 'trustDecisionStarted':
      return { ...state, deciding: { ...state.deciding, [action.nodeId]: action.decision }, errors: without(state.errors, action.nodeId) };
    case 'trustDecisionFailed':
      return { ...state, deciding: without(state.deciding, action.nodeId), errors: { ...state.errors, [action.nodeId]: action.message } };
    case 'trustNotificationDismissed':
      return { ...state, dismissed: { ...state.dismissed, [action.nodeId]: true } };
    case 'trustNotificationsRestored':
      return Object.keys(state.dismissed).length ? { ...state, dismissed: {} } : state;
    case 'trustChanged': {
      // Any answer settles the request; the trusted list itself is reloaded by app/sync.ts.
      const next = { ...state, pending: without(state.pending, action.nodeId), deciding: without(state.deciding, action.nodeId), dismissed: without(state.dismissed, action.nodeId) };
      if (action.state === 'pending_in') return state;
      if (action.state !== 'trusted') return { ...next, trusted: without(next.trusted, action.nodeId) };
      return next;
    }
    default:
      return state;
  }
}
