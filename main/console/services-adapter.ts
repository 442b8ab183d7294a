/**
 * What the console contract needs from the node's built-in services (trust, tasks), as one small
 * interface. `adaptServices` (next to the services) implements it; the node service depends only
 * on this.
 */
import type { TaskSubmitReport, TaskView, TrustedPeerView, TrustRequestView, TrustState } from '../../shared/contract';

export type TrustEvent = { type: 'request'; request: TrustRequestView } | { type: 'changed'; nodeId: number; state: TrustState };

export interface ServicesAdapter {
  trustState(nodeId: number): TrustState;
  trustPending(): Promise<TrustRequestView[]>;
  trustList(): Promise<TrustedPeerView[]>;
  trustRequest(nodeId: number, justification: string): Promise<{ nodeId: number; status: string }>;
  trustApprove(nodeId: number): Promise<{ nodeId: number; status: string }>;
  trustReject(nodeId: number, reason: string): Promise<{ nodeId: number; status: string }>;
  trustRevoke(nodeId: number): Promise<{ nodeId: number; status: string }>;
  taskSubmit(req: { target?: string; tag?: string; description: string }): Promise<TaskSubmitReport>;
  taskList(category?: 'received' | 'submitted'): Promise<TaskView[]>;
  onTrust(fn: (ev: TrustEvent) => void): () => void;
}
