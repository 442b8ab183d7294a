import type { CollectedTrace, SpanView } from '../../../../shared/contract';

/** A trace gathered from every node that took part (traces.collect), or the attempt in progress. */
export interface CollectedEntry {
  traceId: string;
  status: 'collecting' | 'done' | 'failed';
  trace?: CollectedTrace;
  error?: string;
  at: number;
}

export interface TracesState {
  /** Every span the page holds, oldest first, bounded (store/ring.ts LIMITS.spans); unique by spanId. */
  spans: SpanView[];
  loadedAt?: number;
  /** Collected traces by id, the most recent few (COLLECTED_LIMIT). */
  collected: Record<string, CollectedEntry>;
}

export const COLLECTED_LIMIT = 20;

export type TracesAction =
  | { type: 'spansLoaded'; spans: SpanView[]; at: number }
  | { type: 'spanEnded'; span: SpanView }
  /** Several live spans at once (the sync layer batches a frame's worth of span.ended events). */
  | { type: 'spansEnded'; spans: SpanView[] }
  | { type: 'traceCollectStarted'; traceId: string; at: number }
  | { type: 'traceCollected'; trace: CollectedTrace; at: number }
  | { type: 'traceCollectFailed'; traceId: string; error: string; at: number };

export const initialTracesState: TracesState = { spans: [], collected: {} };
