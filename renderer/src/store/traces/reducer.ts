import type { SpanView } from '../../../../shared/contract';
import type { RootAction } from '../actions';
import { LIMITS, appendBounded } from '../ring';
import { COLLECTED_LIMIT, type CollectedEntry, type TracesState } from './state';

/** Sets one collected entry, keeping the COLLECTED_LIMIT most recent. */
function putCollected(all: Record<string, CollectedEntry>, e: CollectedEntry): Record<string, CollectedEntry> {
  const rest = Object.values(all).filter((x) => x.traceId !== e.traceId);
  const kept = rest.sort((a, b) => b.at - a.at).slice(0, COLLECTED_LIMIT - 1);
  return Object.fromEntries([...kept, e].map((x) => [x.traceId, x]));
}

function indexOfSpan(spans: readonly SpanView[], spanId: string): number {
  // Newest last, and a replaced span is usually recent: scan from the end.
  for (let i = spans.length - 1; i >= 0; i--) if (spans[i]?.spanId === spanId) return i;
  return -1;
}

/** Merges spans in: a span already held (same spanId) is replaced in place, new ones are appended. */
function merge(spans: readonly SpanView[], incoming: readonly SpanView[]): SpanView[] {
  if (incoming.length === 1 && incoming[0]) {
    // The live case (one span per event): a linear scan, no index to build.
    const s = incoming[0];
    const i = indexOfSpan(spans, s.spanId);
    if (i < 0) return appendBounded(spans, [s], LIMITS.spans);
    const out = [...spans];
    out[i] = s;
    return out;
  }
  const index = new Map<string, number>();
  spans.forEach((s, i) => index.set(s.spanId, i));
  let out: SpanView[] | undefined;
  const added: SpanView[] = [];
  for (const s of incoming) {
    const i = index.get(s.spanId);
    if (i === undefined) {
      index.set(s.spanId, spans.length + added.length);
      added.push(s);
    } else if (i < spans.length) {
      out ??= [...spans];
      out[i] = s;
    } else added[i - spans.length] = s;
  }
  return appendBounded(out ?? spans, added, LIMITS.spans);
}

export function tracesReducer(state: TracesState, action: RootAction): TracesState {
  switch (action.type) {
    case 'spansLoaded':
      return { ...state, spans: merge(state.spans, [...action.spans].sort((a, b) => a.startMs - b.startMs)), loadedAt: action.at };
    case 'spanEnded':
      return { ...state, spans: merge(state.spans, [action.span]) };
    case 'spansEnded':
      return action.spans.length ? { ...state, spans: merge(state.spans, action.spans) } : state;
    case 'traceCollectStarted': {
      const prev = state.collected[action.traceId];
      return { ...state, collected: putCollected(state.collected, { ...prev, traceId: action.traceId, status: 'collecting', at: action.at }) };
    }
    case 'traceCollected':
      return { ...state, collected: putCollected(state.collected, { traceId: action.trace.traceId, status: 'done', trace: action.trace, at: action.at }) };
    case 'traceCollectFailed': {
      const prev = state.collected[action.traceId];
      const e: CollectedEntry = { traceId: action.traceId, status: 'failed', error: action.error, at: action.at };
      if (prev?.trace) e.trace = prev.trace;
      return { ...state, collected: putCollected(state.collected, e) };
    }
    default:
      return state;
  }
}
