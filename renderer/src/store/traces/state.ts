import type { SpanView } from '../../../../shared/contract';

export interface TracesState {
  /** Every span the page holds, oldest first, bounded (store/ring.ts LIMITS.spans); unique by spanId. */
  spans: SpanView[];
  loadedAt?: number;
}

export type TracesAction = { type: 'spansLoaded'; spans: SpanView[]; at: number } | { type: 'spanEnded'; span: SpanView };

export const initialTracesState: TracesState = { spans: [] };
