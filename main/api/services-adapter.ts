/**
 * What the console contract needs from the node's built-in services (trust, tasks), as one small
 * interface. `adaptServices` (next to the services) implements it; the node service depends only
 * on this.
 */
import { PilotError } from '../../shared/errors';
import { backboneAddress, formatAddress } from '../../shared/address';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { MethodResult, TaskResultView, TaskSubmitReport, TaskView, TrustedPeerView, TrustRequestView, TrustState } from '../../shared/contract';
import type { PilotNode } from '../node/node';
import { bestMember, type Services } from '../node/services';
import type { TaskFile } from '../node/services/tasks';

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
  taskGet(taskId: string): Promise<TaskView>;
  taskQueue(): Promise<MethodResult<'tasks.queue'>>;
  taskAccept(taskId: string): Promise<MethodResult<'tasks.accept'>>;
  taskDecline(taskId: string, justification: string): Promise<MethodResult<'tasks.decline'>>;
  taskExecute(): Promise<MethodResult<'tasks.execute'>>;
  taskSendResults(taskId: string, result: { text: string } | { filename: string; data: Uint8Array }, traceparent?: string): Promise<MethodResult<'tasks.sendResults'>>;
  /** The results a submitted task got back (not_found until they arrived). */
  taskResult(taskId: string): Promise<TaskResultView>;
  onTrust(fn: (ev: TrustEvent) => void): () => void;
  /** Every change of a task this node submitted or received. */
  onTask(fn: (task: TaskView) => void): () => void;
}

const RESULT_TEXT_MAX = 64 * 1024;
/** Task durations kept (the newest); tasks still open that are tracked. */
const DURATIONS_KEPT = 2000;

/**
 * How long each task took, to the millisecond, as this node saw it: task files keep whole seconds
 * (the reference's format), too coarse for tasks that take a few ms. Bounded; lost on restart.
 */
function taskTimer(t: Services['tasks'], now: () => number): { durationOf(id: string): number | undefined } {
  const open = new Map<string, number>();
  const took = new Map<string, number>();
  t?.on('changed', ({ category, task }) => {
    const id = task.task_id;
    const done = category === 'submitted' ? task.status === 'COMPLETED' : task.status === 'SUCCEEDED' || task.status === 'COMPLETED';
    const over = ['DECLINED', 'CANCELLED', 'EXPIRED'].includes(task.status);
    if (!open.has(id) && !took.has(id) && !done && !over) {
      open.set(id, now());
      if (open.size > DURATIONS_KEPT) open.delete(open.keys().next().value!);
    } else if (open.has(id) && (done || over)) {
      if (done) {
        took.set(id, now() - open.get(id)!);
        if (took.size > DURATIONS_KEPT) took.delete(took.keys().next().value!);
      }
      open.delete(id);
    }
  });
  return { durationOf: (id) => took.get(id) };
}

/** The adapter over the node's built-in services (main/node/services). */
export function adaptServices(node: PilotNode, services: Services): ServicesAdapter {
  const trust = services.trust;
  const timer = taskTimer(services.tasks, () => performance.now());
  const viewOf = (category: 'received' | 'submitted', task: TaskFile): TaskView => {
    const v: TaskView = { taskId: task.task_id, description: task.task_description, status: task.status, from: task.from, to: task.to, createdAt: task.created_at, category };
    if (task.completed_at) v.completedAt = task.completed_at;
    if (task.trace_id) v.traceId = task.trace_id;
    if (task.traceparent) v.traceparent = task.traceparent;
    const took = timer.durationOf(task.task_id);
    if (took !== undefined) v.durationMs = Math.round(took * 10) / 10;
    return v;
  };
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
        .tasks.map((t): TaskView => {
          const v: TaskView = {
            taskId: t.task_id,
            description: t.description,
            status: t.status,
            from: t.from,
            to: t.to,
            createdAt: t.created_at,
            category: t.category,
            ...(t.trace_id ? { traceId: t.trace_id } : {}),
            ...(t.traceparent ? { traceparent: t.traceparent } : {}),
          };
          const done = tasks().get(t.task_id)?.task.completed_at;
          if (done) v.completedAt = done;
          const took = timer.durationOf(t.task_id);
          if (took !== undefined) v.durationMs = Math.round(took * 10) / 10;
          return v;
        });
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
    async taskGet(taskId) {
      const t = tasks().get(taskId);
      if (!t) throw new PilotError('not_found', `no task ${taskId}`, 'pilotctl task list');
      return viewOf(t.category, t.task);
    },
    async taskResult(taskId) {
      const t = tasks().get(taskId);
      if (!t || t.category !== 'submitted') throw new PilotError('not_found', `no submitted task ${taskId}`);
      if (['DECLINED', 'CANCELLED', 'EXPIRED'].includes(t.task.status)) throw new PilotError('invalid_state', `task ${taskId} is ${t.task.status}: no results will come`);
      if (!t.task.completed_at) throw new PilotError('not_found', `task ${taskId} has no results yet (${t.task.status})`);
      // Text results have a fixed name; a file's name is the sender's (looked up only then).
      const text = await fs.readFile(path.join(tasks().resultsDir, `${taskId}_result.txt`)).catch(() => undefined);
      if (text) return { taskId, bytes: text.length, text: text.subarray(0, RESULT_TEXT_MAX).toString('utf8') };
      const name = (await fs.readdir(tasks().resultsDir)).find((n) => n.startsWith(`${taskId}_`));
      if (!name) throw new PilotError('not_found', `the results of task ${taskId} are gone`);
      const data = await fs.readFile(path.join(tasks().resultsDir, name));
      return { taskId, bytes: data.length, filename: name.slice(taskId.length + 1) };
    },
    onTask(fn) {
      const t = services.tasks;
      if (!t) return () => undefined;
      const onChanged = (c: { category: 'received' | 'submitted'; task: TaskFile }): void => fn(viewOf(c.category, c.task));
      t.on('changed', onChanged);
      return () => t.off('changed', onChanged);
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
