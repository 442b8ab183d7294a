import type { RootAction } from '../actions';
import { pairKey, probeKey, type FleetState } from './state';

/** At most this many histories and stories are kept (the user's recent picks). */
const MAX_KEPT = 50;

function bounded<T>(rec: Record<string, T>, key: string, value: T): Record<string, T> {
  const next: Record<string, T> = { ...rec };
  delete next[key];
  next[key] = value;
  const keys = Object.keys(next);
  for (const k of keys.slice(0, Math.max(0, keys.length - MAX_KEPT))) delete next[k];
  return next;
}

export function fleetReducer(state: FleetState, action: RootAction): FleetState {
  switch (action.type) {
    case 'fleetMatrixRequested':
      return { ...state, loading: true };
    case 'fleetMatrixReceived': {
      // A sweep older than the one shown (two requests crossing) changes nothing.
      if (state.matrix && action.matrix.takenAt < state.matrix.takenAt) return { ...state, loading: false };
      const next: FleetState = { ...state, matrix: action.matrix, matrixAt: action.at, loading: false };
      delete next.error;
      return next;
    }
    case 'fleetMatrixFailed':
      return { ...state, loading: false, error: action.error };
    case 'fleetPairSelected':
      return { ...state, selected: action.a < action.b ? { a: action.a, b: action.b } : { a: action.b, b: action.a } };
    case 'fleetHistoryReceived':
      return { ...state, histories: bounded(state.histories, pairKey(action.history.a, action.history.b), action.history) };
    case 'fleetProbeStarted':
      return { ...state, probes: bounded(state.probes, probeKey(action.from, action.to), { status: 'running', at: action.at }) };
    case 'fleetProbeAnswered':
      return { ...state, probes: bounded(state.probes, probeKey(action.from, action.to), { status: 'done', at: action.at, value: action.result }) };
    case 'fleetProbeFailed':
      return { ...state, probes: bounded(state.probes, probeKey(action.from, action.to), { status: 'failed', at: action.at, error: action.error }) };
    case 'whyRequested':
      return { ...state, why: bounded(state.why, action.key, { status: 'running', at: action.at }) };
    case 'whyAnswered':
      return { ...state, why: bounded(state.why, action.key, { status: 'done', at: action.at, value: action.view }) };
    case 'whyFailed':
      return { ...state, why: bounded(state.why, action.key, { status: 'failed', at: action.at, error: action.error }) };
    default:
      return state;
  }
}
