import type { SpanView } from '../../../../shared/contract';
import { dispatch } from '../root';

export const spansLoaded = (spans: SpanView[], at = Date.now()): void => dispatch({ type: 'spansLoaded', spans, at });
export const spanEnded = (span: SpanView): void => dispatch({ type: 'spanEnded', span });
