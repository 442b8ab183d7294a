import type { TrustRequestView } from '../../../../shared/contract';
import type { RootState } from '../root';
import type { TrustSliceState } from './state';

export const selectTrust = (s: RootState) => s.trust;

/** Requests to show as notifications: pending and not dismissed, newest first. */
export function notifications(t: TrustSliceState): TrustRequestView[] {
  return Object.values(t.pending)
    .filter((r) => !t.dismissed[r.nodeId])
    .sort((a, b) => b.receivedAt - a.receivedAt || a.nodeId - b.nodeId);
}
