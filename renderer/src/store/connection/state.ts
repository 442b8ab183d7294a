import type { NodeInfoView } from '../../../../shared/contract';
import type { ConnectionStatus, TransportKind } from '../../api/types';

export interface CallFailure {
  method: string;
  code: string;
  message: string;
  at: number;
}

export interface ConnectionState {
  transport: TransportKind | 'none';
  status: ConnectionStatus;
  detail?: string;
  /** When the link last opened (ms since epoch). */
  openedAt?: number;
  reconnects: number;
  node?: NodeInfoView;
  nodeAt?: number;
  /** The latest failed call, shown until dismissed or replaced. */
  lastFailure?: CallFailure;
}

export type ConnectionAction =
  | { type: 'transportChanged'; transport: TransportKind | 'none'; status: ConnectionStatus; detail?: string; at: number }
  | { type: 'nodeUpdated'; node: NodeInfoView; at: number }
  | { type: 'callFailed'; failure: CallFailure }
  | { type: 'failureDismissed' };

export const initialConnectionState: ConnectionState = { transport: 'none', status: 'connecting', reconnects: 0 };
