import type { RootAction } from '../actions';
import type { ConnectionState } from './state';

export function connectionReducer(state: ConnectionState, action: RootAction): ConnectionState {
  switch (action.type) {
    case 'transportChanged': {
      const next: ConnectionState = { ...state, transport: action.transport, status: action.status };
      if (action.detail === undefined) delete next.detail;
      else next.detail = action.detail;
      if (action.status === 'open') next.openedAt = action.at;
      if (action.status === 'reconnecting' && state.status === 'open') next.reconnects = state.reconnects + 1;
      return next;
    }
    case 'nodeUpdated':
      return { ...state, node: action.node, nodeAt: action.at };
    case 'callFailed':
      return { ...state, lastFailure: action.failure };
    case 'failureDismissed': {
      if (!state.lastFailure) return state;
      const next = { ...state };
      delete next.lastFailure;
      return next;
    }
    default:
      return state;
  }
}
