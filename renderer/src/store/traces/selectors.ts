import type { SpanView } from '../../../../shared/contract';
import type { RootState } from '../root';

export const selectSpans = (s: RootState) => s.traces.spans;
export const selectCollected = (traceId: string | undefined) => (s: RootState) => (traceId ? s.traces.collected[traceId] : undefined);

export interface TraceSummary {
  traceId: string;
  /** The root span's name (or the earliest span's, while the root has not arrived). */
  name: string;
  startMs: number;
  durationMs: number;
  spanCount: number;
  nodes: string[];
  status: 'ok' | 'error';
}

export function summarizeTraces(spans: readonly SpanView[]): TraceSummary[] {
  const byTrace = new Map<string, SpanView[]>();
  for (const s of spans) {
    const list = byTrace.get(s.traceId);
    if (list) list.push(s);
    else byTrace.set(s.traceId, [s]);
  }
  const out: TraceSummary[] = [];
  for (const [traceId, list] of byTrace) {
    const ids = new Set(list.map((s) => s.spanId));
    const roots = list.filter((s) => s.parentId === undefined || !ids.has(s.parentId));
    const root = roots.find((s) => s.parentId === undefined) ?? [...roots].sort((a, b) => a.startMs - b.startMs)[0] ?? list[0];
    let start = Infinity;
    let end = -Infinity;
    for (const s of list) {
      start = Math.min(start, s.startMs);
      end = Math.max(end, s.startMs + s.durationMs);
    }
    out.push({
      traceId,
      name: root?.name ?? '?',
      startMs: start,
      durationMs: end - start,
      spanCount: list.length,
      nodes: [...new Set(list.map((s) => s.node))].sort(),
      status: list.some((s) => s.status === 'error') ? 'error' : 'ok',
    });
  }
  return out.sort((a, b) => b.startMs - a.startMs);
}

export interface WaterfallRow {
  span: SpanView;
  depth: number;
  /** Offset from the trace's start, ms. */
  offsetMs: number;
}

export interface Waterfall {
  traceId: string;
  startMs: number;
  durationMs: number;
  rows: WaterfallRow[];
  nodes: string[];
}

/**
 * Orders a trace's spans depth-first (children by start time) for a waterfall. A span whose parent
 * has not arrived yet (it lives on another agent) shows at the top level until it does.
 */
export function buildWaterfall(spans: readonly SpanView[], traceId: string): Waterfall | undefined {
  const list = spans.filter((s) => s.traceId === traceId);
  if (list.length === 0) return undefined;
  const ids = new Set(list.map((s) => s.spanId));
  const children = new Map<string | undefined, SpanView[]>();
  for (const s of list) {
    const parent = s.parentId !== undefined && ids.has(s.parentId) ? s.parentId : undefined;
    const c = children.get(parent);
    if (c) c.push(s);
    else children.set(parent, [s]);
  }
  for (const c of children.values()) c.sort((a, b) => a.startMs - b.startMs || a.name.localeCompare(b.name));
  let start = Infinity;
  let end = -Infinity;
  for (const s of list) {
    start = Math.min(start, s.startMs);
    end = Math.max(end, s.startMs + s.durationMs);
  }
  const rows: WaterfallRow[] = [];
  const visit = (parent: string | undefined, depth: number): void => {
    for (const s of children.get(parent) ?? []) {
      rows.push({ span: s, depth, offsetMs: s.startMs - start });
      visit(s.spanId, depth + 1);
    }
  };
  visit(undefined, 0);
  return { traceId, startMs: start, durationMs: Math.max(end - start, 0), rows, nodes: [...new Set(list.map((s) => s.node))].sort() };
}
