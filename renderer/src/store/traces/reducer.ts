import type { SpanView } from '../../../../shared/contract';
import type { RootAction } from '../actions';
import { LIMITS, appendBounded } from '../ring';
import type { TracesState } from './state';

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
    default:
      return state;
  }
}
