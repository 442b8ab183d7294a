/**
 * What the console contract needs from the node's built-in services (trust, tasks), as one small
 * interface. `adaptServices` (next to the services) implements it; the node service depends only
 * on this.
 */
import { PilotError } from '../../shared/errors';
import { backboneAddress, formatAddress } from '../../shared/address';
import type { MethodResult, TaskSubmitReport, TaskView, TrustedPeerView, TrustRequestView, TrustState } from '../../shared/contract';
import type { PilotNode } from '../node/node';
import { bestMember, type Services } from '../node/services';

export type TrustEvent = { type: 'request'; request: TrustRequestView } | { type: 'changed'; nodeId: number; state: TrustState };

export interface ServicesAdapter {
  trustState(nodeId: number): TrustState;
  trustPending(): Promise<TrustRequestView[]>;
  trustList(): Promise<TrustedPeerView[]>;
  trustRequest(nodeId: number, justification: string): Promise<{ nodeId: number; status: string }>;
  trustApprove(nodeId: number): Promise<{ nodeId: number; status: string }>;
  trustReject(nodeId: number, reason: string): Promise<{ nodeId: number; status: string }>;
  trustRevoke(nodeId: number): Promise<{ nodeId: number; status: string }>;
  taskSubmit(req: { target?: string; tag?: string; description: string; traceparent?: string }): Promise<TaskSubmitReport>;
  taskList(category?: 'received' | 'submitted'): Promise<TaskView[]>;
  taskQueue(): Promise<MethodResult<'tasks.queue'>>;
  taskAccept(taskId: string): Promise<MethodResult<'tasks.accept'>>;
  taskDecline(taskId: string, justification: string): Promise<MethodResult<'tasks.decline'>>;
  taskExecute(): Promise<MethodResult<'tasks.execute'>>;
  taskSendResults(taskId: string, result: { text: string } | { filename: string; data: Uint8Array }, traceparent?: string): Promise<MethodResult<'tasks.sendResults'>>;
  onTrust(fn: (ev: TrustEvent) => void): () => void;
}

/** The adapter over the node's built-in services (main/node/services). */
export function adaptServices(node: PilotNode, services: Services): ServicesAdapter {
  const trust = services.trust;
  const tasks = (): NonNullable<Services['tasks']> => {
    if (!services.tasks) throw new PilotError('unavailable', 'task submit is disabled on this node');
    return services.tasks;
  };
  const status = (r: { node_id: number; status: string }): { nodeId: number; status: string } => ({ nodeId: r.node_id, status: r.status });
  return {
    trustState: (id) => trust.stateOf(id),
    trustPending: async () => trust.listPending(),
    trustList: async () => trust.listTrusted(),
    trustRequest: async (id, j) => status(await trust.request(id, j)),
    trustApprove: async (id) => status(await trust.approve(id)),
    trustReject: async (id, reason) => status(await trust.reject(id, reason)),
    trustRevoke: async (id) => status(await trust.revoke(id)),
    async taskSubmit(req) {
      let nodeId: number;
      let chosenBy: string | undefined;
      if (req.target) nodeId = (await node.resolveTarget(req.target, req.traceparent)).nodeId;
      else if (req.tag) {
        const best = await bestMember(node, { tag: req.tag });
        nodeId = best.nodeId;
        chosenBy = best.reason;
      } else throw new PilotError('invalid_argument', 'task submit needs a target or a tag', 'pilotctl task submit <host> --task "…" or --tag <tag>');
      const r = await tasks().submit(nodeId, req.description, req.traceparent ? { parent: req.traceparent } : {});
      const report: TaskSubmitReport = {
        target: req.target ?? `#${req.tag}`,
        address: formatAddress(backboneAddress(nodeId)),
        taskId: r.task_id,
        status: r.status,
        message: r.message,
        accepted: r.accepted,
        traceId: r.trace_id,
      };
      if (r.traceparent) report.traceparent = r.traceparent;
      if (chosenBy) report.chosenBy = chosenBy;
      return report;
    },
    async taskList(category) {
      return tasks()
        .list(category)
        .tasks.map((t): TaskView => ({
          taskId: t.task_id,
          description: t.description,
          status: t.status,
          from: t.from,
          to: t.to,
          createdAt: t.created_at,
          category: t.category,
          ...(t.trace_id ? { traceId: t.trace_id } : {}),
          ...(t.traceparent ? { traceparent: t.traceparent } : {}),
        }));
    },
    async taskQueue() {
      return tasks()
        .queue()
        .queue.map((q) => ({ taskId: q.task_id, description: q.description, from: q.from, createdAt: q.created_at }));
    },
    async taskAccept(taskId) {
      const r = await tasks().accept(taskId);
      return { taskId: r.task_id, status: r.status, message: r.message };
    },
    async taskDecline(taskId, justification) {
      const r = await tasks().decline(taskId, justification);
      return { taskId: r.task_id, status: r.status, message: r.message };
    },
    async taskExecute() {
      const r = await tasks().execute();
      return { taskId: r.task_id, description: r.task_description, status: r.status, from: r.from };
    },
    async taskSendResults(taskId, result, traceparent) {
      const r = await tasks().sendResults(taskId, result, {}, traceparent ? { parent: traceparent } : {});
      const out: MethodResult<'tasks.sendResults'> = { taskId: r.task_id, status: r.status, sentTo: r.sent_to, sentType: r.sent_type };
      if (r.filename !== undefined) out.filename = r.filename;
      if (r.file_size !== undefined) out.fileSize = r.file_size;
      return out;
    },
    onTrust(fn) {
      const onRequest = (request: TrustRequestView): void => fn({ type: 'request', request });
      const onChanged = (c: { nodeId: number; state: TrustState }): void => fn({ type: 'changed', nodeId: c.nodeId, state: c.state });
      trust.on('request', onRequest);
      trust.on('changed', onChanged);
      return () => {
        trust.off('request', onRequest);
        trust.off('changed', onChanged);
      };
    },
  };
}
