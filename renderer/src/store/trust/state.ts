import type { TrustRequestView, TrustedPeerView } from '../../../../shared/contract';

export type TrustDecision = 'approve' | 'reject';

export interface TrustSliceState {
  /** Requests waiting for this node's answer, by requesting node id. */
  pending: Record<number, TrustRequestView>;
  trusted: Record<number, TrustedPeerView>;
  deciding: Record<number, TrustDecision>;
  errors: Record<number, string>;
  /** Requests whose notification the user closed without answering (they stay in `pending`). */
  dismissed: Record<number, true>;
}

export type TrustAction =
  | { type: 'trustPendingLoaded'; requests: TrustRequestView[] }
  | { type: 'trustListLoaded'; peers: TrustedPeerView[] }
  | { type: 'trustRequested'; request: TrustRequestView }
  | { type: 'trustDecisionStarted'; nodeId: number; decision: TrustDecision }
  | { type: 'trustDecisionFailed'; nodeId: number; message: string }
  | { type: 'trustNotificationDismissed'; nodeId: number }
  | { type: 'trustNotificationsRestored' };

export const initialTrustState: TrustSliceState = { pending: {}, trusted: {}, deciding: {}, errors: {}, dismissed: {} };
