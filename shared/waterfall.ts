/**
 * Layout of a collected trace's waterfall (used by `pilotctl trace` and the console's Traces view):
 * one lane per node, in the order the nodes were asked; inside a lane the spans in tree order
 * (a child under its parent, siblings by start), each with its depth and its start/end relative to
 * the trace's first span on the collector's clock (`adjustedStartMs`: node clock offsets applied).
 * Pure: no DOM, no Node.
 */
import type { CollectedSpan, CollectedTrace, TraceNodeView } from './contract';

export interface WaterfallRow {
  span: CollectedSpan;
  depth: number;
  /** ms from the trace's start, on the collector's clock. */
  startMs: number;
  endMs: number;
}

export interface WaterfallLane {
  node: TraceNodeView;
  label: string;
  rows: WaterfallRow[];
}

export interface Waterfall {
  traceId: string;
  /** adjustedStartMs of the earliest span (absolute, collector's clock). */
  t0: number;
  totalMs: number;
  lanes: WaterfallLane[];
}

export function laneLabel(n: TraceNodeView): string {
  return n.hostname ? `${n.hostname} (${n.address})` : n.address;
}

export function layoutWaterfall(t: CollectedTrace): Waterfall {
  const spans = t.spans;
  const t0 = spans.length ? Math.min(...spans.map((s) => s.adjustedStartMs)) : 0;
  const end = spans.length ? Math.max(...spans.map((s) => s.adjustedStartMs + s.durationMs)) : 0;
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const depthOf = (s: CollectedSpan): number => {
    let d = 0;
    let p = s.parentId ? byId.get(s.parentId) : undefined;
    const seen = new Set<string>([s.spanId]);
    while (p && !seen.has(p.spanId) && p.lane === s.lane) {
      seen.add(p.spanId);
      d++;
      p = p.parentId ? byId.get(p.parentId) : undefined;
    }
    return d;
  };
  const lanes: WaterfallLane[] = [];
  const known = new Set(t.nodes.map((n) => n.address));
  const nodes = [...t.nodes];
  for (const s of spans) {
    if (!known.has(s.lane)) {
      known.add(s.lane);
      nodes.push({ address: s.lane, nodeId: 0, self: false, offsetMs: 0, spans: 0 });
    }
  }
  for (const node of nodes) {
    const mine = spans.filter((s) => s.lane === node.address);
    const ids = new Set(mine.map((s) => s.spanId));
    const children = new Map<string, CollectedSpan[]>();
    const roots: CollectedSpan[] = [];
    for (const s of mine) {
      if (s.parentId && ids.has(s.parentId) && s.parentId !== s.spanId) {
        const list = children.get(s.parentId) ?? [];
        list.push(s);
        children.set(s.parentId, list);
      } else roots.push(s);
    }
    const byStart = (a: CollectedSpan, b: CollectedSpan): number => a.adjustedStartMs - b.adjustedStartMs;
    const rows: WaterfallRow[] = [];
    const visited = new Set<string>();
    const walk = (s: CollectedSpan): void => {
      if (visited.has(s.spanId)) return;
      visited.add(s.spanId);
      rows.push({ span: s, depth: depthOf(s), startMs: s.adjustedStartMs - t0, endMs: s.adjustedStartMs - t0 + s.durationMs });
      for (const c of (children.get(s.spanId) ?? []).sort(byStart)) walk(c);
    };
    for (const r of roots.sort(byStart)) walk(r);
    for (const s of mine) walk(s); // cycles or odd parents: still shown
    lanes.push({ node, label: laneLabel(node), rows });
  }
  return { traceId: t.traceId, t0, totalMs: end - t0, lanes };
}

/** `0.42 ms`, `12.3 ms`, `1.25 s`. */
export function formatMs(ms: number): string {
  const a = Math.abs(ms);
  if (a >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (a >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}
