import type { PathKind, PingReply } from '../../../../shared/contract';
import type { RootAction } from '../actions';
import { LIMITS, appendBounded } from '../ring';
import type { PathMark, PeerPings, PingSample, PingsState } from './state';

function emptyPeer(nodeId: number, target: string): PeerPings {
  return { nodeId, target, lastRun: 0, samples: [], marks: [] };
}

function sampleOf(reply: PingReply, run: number, at: number): PingSample {
  const s: PingSample = { run, seq: reply.seq, at };
  if (reply.rttMs !== undefined) s.rttMs = reply.rttMs;
  if (reply.path !== undefined) s.path = reply.path;
  if (reply.error !== undefined) s.error = reply.error;
  return s;
}

function lastPath(p: PeerPings): PathKind | undefined {
  const m = p.marks[p.marks.length - 1];
  if (m) return m.to;
  for (let i = p.samples.length - 1; i >= 0; i--) {
    const path = p.samples[i]?.path;
    if (path) return path;
  }
  return undefined;
}

/** Adds a marker when the path really changes (events and replies may both report the same change). */
function markPath(p: PeerPings, to: PathKind, at: number, from?: PathKind): PeerPings {
  const prev = lastPath(p);
  if (prev === to) return p;
  if (prev === undefined && from === undefined) {
    // First sight of a path: a baseline, not a change.
    return { ...p, marks: appendBounded(p.marks, [{ at, to }], LIMITS.pathMarks) };
  }
  const mark: PathMark = { at, to, from: prev ?? (from as PathKind) };
  return { ...p, marks: appendBounded(p.marks, [mark], LIMITS.pathMarks) };
}

function put(state: PingsState, p: PeerPings): PingsState {
  return { ...state, byPeer: { ...state.byPeer, [p.nodeId]: p } };
}

export function pingsReducer(state: PingsState, action: RootAction): PingsState {
  switch (action.type) {
    case 'pingStarted': {
      const p = state.byPeer[action.nodeId] ?? emptyPeer(action.nodeId, action.target);
      const next: PeerPings = { ...p, target: action.target, running: action.run, lastRun: action.run };
      delete next.error;
      return put(state, next);
    }
    case 'pingAnswered': {
      let p = state.byPeer[action.nodeId] ?? emptyPeer(action.nodeId, action.target);
      const run = p.running ?? 0;
      if (action.reply.path) p = markPath(p, action.reply.path, action.at);
      return put(state, { ...p, samples: appendBounded(p.samples, [sampleOf(action.reply, run, action.at)], LIMITS.pingSamples) });
    }
    case 'pingFinished': {
      // The replies came as ping.reply events (the one way they arrive); the call's end ends the run.
      const p = state.byPeer[action.nodeId];
      if (!p || p.running !== action.run) return state;
      const next: PeerPings = { ...p };
      delete next.running;
      return put(state, next);
    }
    case 'pingFailed': {
      const p = state.byPeer[action.nodeId];
      if (!p) return state;
      const next: PeerPings = { ...p, error: action.message };
      if (next.running === action.run) delete next.running;
      return put(state, next);
    }
    case 'pathChanged': {
      const p = state.byPeer[action.nodeId];
      if (!p) return state; // markers matter only for peers this page pings
      return put(state, markPath(p, action.to, action.at, action.from));
    }
    case 'pingsCleared': {
      const p = state.byPeer[action.nodeId];
      if (!p) return state;
      return put(state, { ...p, samples: [], marks: [] });
    }
    default:
      return state;
  }
}
