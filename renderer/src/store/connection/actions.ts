import type { NodeInfoView } from '../../../../shared/contract';
import type { ConnectionStatus, TransportKind } from '../../api/types';
import { dispatch } from '../root';
import type { CallFailure } from './state';

export const transportChanged = (transport: TransportKind | 'none', status: ConnectionStatus, detail?: string, at = Date.now()): void =>
  dispatch(detail === undefined ? { type: 'transportChanged', transport, status, at } : { type: 'transportChanged', transport, status, detail, at });
export const nodeUpdated = (node: NodeInfoView, at = Date.now()): void => dispatch({ type: 'nodeUpdated', node, at });
export const callFailed = (failure: CallFailure): void => dispatch({ type: 'callFailed', failure });
export const failureDismissed = (): void => dispatch({ type: 'failureDismissed' });
