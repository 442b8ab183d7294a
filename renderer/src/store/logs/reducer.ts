import type { LogLine } from '../../../../shared/contract';
import type { RootAction } from '../actions';
import { LIMITS, appendBounded } from '../ring';
import type { LogEntry, LogsState } from './state';

const PEER_FIELDS = ['peer', 'nodeId', 'node_id', 'peer_id', 'peerId', 'remote'] as const;

/** The node id a log line is about, from the first of its fields that holds one. */
export function peerOfLine(line: LogLine): number | undefined {
  for (const k of PEER_FIELDS) {
    const v = line.fields[k];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
    if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  }
  return undefined;
}

function entries(lines: readonly LogLine[], firstSeq: number): LogEntry[] {
  return lines.map((line, i) => {
    const e: LogEntry = { seq: firstSeq + i, line };
    const peer = peerOfLine(line);
    if (peer !== undefined) e.peer = peer;
    return e;
  });
}

export function logsReducer(state: LogsState, action: RootAction): LogsState {
  switch (action.type) {
    case 'logsLoaded':
      // A fresh tail from the node replaces what the page had (it is the node's own ring).
      return { entries: entries(action.lines.slice(-LIMITS.logs), state.nextSeq), nextSeq: state.nextSeq + action.lines.length };
    case 'logsAppended': {
      if (action.lines.length === 0) return state;
      // Lines past the ring's size would be dropped at once: keep their numbers, not them.
      const kept = action.lines.slice(-LIMITS.logs);
      return { entries: appendBounded(state.entries, entries(kept, state.nextSeq + action.lines.length - kept.length), LIMITS.logs), nextSeq: state.nextSeq + action.lines.length };
    }
    case 'logAppended':
      return { entries: appendBounded(state.entries, entries([action.line], state.nextSeq), LIMITS.logs), nextSeq: state.nextSeq + 1 };
    default:
      return state;
  }
}
