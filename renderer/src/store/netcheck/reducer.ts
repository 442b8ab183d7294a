import type { RootAction } from '../actions';
import type { NetcheckState } from './state';

export function netcheckReducer(state: NetcheckState, action: RootAction): NetcheckState {
  switch (action.type) {
    case 'netcheckStarted': {
      const next: NetcheckState = { ...state, running: action.run, lastRun: action.run, startedAt: action.at };
      delete next.error;
      return next;
    }
    case 'netcheckFinished': {
      if (action.run !== state.lastRun) return state; // an older run answering late
      const next: NetcheckState = { ...state, report: action.report, reportAt: action.at, finishedAt: action.at };
      delete next.running;
      delete next.error;
      return next;
    }
    case 'netcheckFailed': {
      if (action.run !== state.lastRun) return state;
      const next: NetcheckState = { ...state, error: action.error, finishedAt: action.at };
      delete next.running;
      return next;
    }
    default:
      return state;
  }
}
