import type { TrustRequestView, TrustedPeerView } from '../../../../shared/contract';
import { dispatch } from '../root';
import type { TrustDecision } from './state';

export const trustPendingLoaded = (requests: TrustRequestView[]): void => dispatch({ type: 'trustPendingLoaded', requests });
export const trustListLoaded = (peers: TrustedPeerView[]): void => dispatch({ type: 'trustListLoaded', peers });
export const trustRequested = (request: TrustRequestView): void => dispatch({ type: 'trustRequested', request });
export const trustDecisionStarted = (nodeId: number, decision: TrustDecision): void => dispatch({ type: 'trustDecisionStarted', nodeId, decision });
export const trustDecisionFailed = (nodeId: number, message: string): void => dispatch({ type: 'trustDecisionFailed', nodeId, message });
export const trustNotificationsRestored = (): void => dispatch({ type: 'trustNotificationsRestored' });
export const trustNotificationDismissed = (nodeId: number): void => dispatch({ type: 'trustNotificationDismissed', nodeId });
