import type { CollectedTrace, SpanView } from '../../../../shared/contract';
import { dispatch } from '../root';

export const spansLoaded = (spans: SpanView[], at = Date.now()): void => dispatch({ type: 'spansLoaded', spans, at });
export const spanEnded = (span: SpanView): void => dispatch({ type: 'spanEnded', span });
export const spansEnded = (spans: SpanView[]): void => dispatch({ type: 'spansEnded', spans });
export const traceCollectStarted = (traceId: string, at = Date.now()): void => dispatch({ type: 'traceCollectStarted', traceId, at });
export const traceCollected = (trace: CollectedTrace, at = Date.now()): void => dispatch({ type: 'traceCollected', trace, at });
export const traceCollectFailed = (traceId: string, error: string, at = Date.now()): void => dispatch({ type: 'traceCollectFailed', traceId, error, at });
