/**
 * Task submit, port 1003 (services.md §4): one `type u32 ‖ length u32 ‖ JSON` frame per connection.
 *
 *   SUBMIT (1)         request {task_id, task_description, from_addr, to_addr} → response on the same
 *                      connection {task_id, status: 200|400, message}; accepted iff the submitter's polo
 *                      score ≥ ours. Stored in tasks/received/<id>.json with status NEW.
 *   STATUS_UPDATE (3)  {task_id, status, justification} → rewrites tasks/submitted/<id>.json. No reply.
 *   SEND_RESULTS (4)   {task_id, result_type, result_text? | filename?+file_data?, completed_at, time_*_ms?}
 *                      → tasks/results/<id>_<filename> or <id>_result.txt, submitted task COMPLETED,
 *                      polo: submitter −1, worker +reward. No reply.
 *
 * Differences from the reference, all compatible on the wire:
 *  - send-results sends SEND_RESULTS and the STATUS_UPDATE on two connections (the reference CLI puts
 *    both on one and the daemon drops the second);
 *  - STATUS_UPDATE / SEND_RESULTS are only honoured from the node the task was submitted to, once
 *    (no polo farming by replays); task ids must have the UUID-like form (they become file names);
 *  - a COMPLETED submitted task stays COMPLETED (a later status update only records its text);
 *  - trace context travels as optional JSON fields, which the reference's decoder (Go encoding/json
 *    into a struct, no DisallowUnknownFields) ignores: SUBMIT carries `trace_id`, `span_id` and a W3C
 *    `traceparent` naming the submitter's `task.submit` span; STATUS_UPDATE and SEND_RESULTS carry
 *    the `traceparent` of the worker's sending span. Each side records a server span under the
 *    remote parent; a received task keeps the `traceparent` of its `task.receive` span, so an agent
 *    working on it (pilotctl with TRACEPARENT) continues the same trace. Hostile values are ignored;
 *  - the submitter is notified (best effort) when its task is cancelled, expires or starts executing.
 * Timestamps in task files are RFC 3339 UTC, second precision.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFile, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { PORTS, formatAddress, parseAddress, type Address } from '../../../shared/address';
import { PilotError, isPilotError } from '../../../shared/errors';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../util/bytes';
import type { Logger } from '../../util/log';
import { ServiceFrameDecoder, TASK_TYPE, encodeServiceFrame, type ServiceFrame } from '../../wire/service';
import type { PilotNode } from '../node';
import { ROOT_PARENT, type ParentLike, type Span } from '../../observe/tracer';
import { isSpanId, isTraceId, parseTraceparent } from '../../observe/traceparent';
import type { PilotStream } from '../stream';
import { FrameReader, WorkSet, parseTime, rfc3339, safeBaseName, sendOneShot, targetAddress, writeOrRefused, type Target } from './common';
import { writeFileAtomic } from '../../util/atomic-file';
import { TASK_ID_RE, TASK_STATUSES, TERMINAL, newTaskId, taskReward, type SendResultsMessage, type StatusUpdate, type SubmitReport, type SubmitRequest, type SubmitResponse, type TaskCategory, type TaskEvents, type TaskFile, type TaskListEntry, type TaskResult } from './tasks-types';
import { DEFAULT_RETENTION, tasksToEvict } from './tasks-retention';

export * from './tasks-types';
export { bestMember, type BestMember } from './tasks-best';

export interface TaskOptions {
  /** A received task still NEW this long after creation is CANCELLED (default 1 min). */
  cancelNewAfterMs?: number;
  /** How often that is checked (default 10 s). */
  cancelCheckMs?: number;
  /** An accepted task at the head of the queue this old is EXPIRED, own polo −1 (default 1 h). */
  expireAfterMs?: number;
  /** How often that is checked (default 30 s). */
  expireCheckMs?: number;
  /**
   * Finished tasks (COMPLETED, SUCCEEDED, DECLINED, CANCELLED, EXPIRED) kept per direction, the
   * newest by last change (default 1000); older ones are evicted, their task files deleted (result
   * files stay). Checked when a task finishes and every expireCheckMs.
   */
  keepFinished?: number;
  /** Finished tasks last changed longer ago than this are evicted too (default 7 days). */
  keepFinishedMs?: number;
  /** Dial / reply timeouts for outgoing frames (default 10 s / 15 s). */
  dialTimeoutMs?: number;
  replyTimeoutMs?: number;
}

interface TaskRecord {
  category: TaskCategory;
  file: TaskFile;
  /** ms of the last change (keeps admission open a while after completion). */
  touched: number;
}

const GRACE_MS = DEFAULT_RETENTION.graceMs;

export class TaskService extends EventEmitter<TaskEvents> {
  readonly receivedDir: string;
  readonly submittedDir: string;
  readonly resultsDir: string;
  private readonly received = new Map<string, TaskRecord>();
  private readonly submitted = new Map<string, TaskRecord>();
  /** Received task ids in arrival order while NEW or ACCEPTED (the accept queue). */
  private readonly queueIds: string[] = [];
  private readonly work: WorkSet;
  private writes: Promise<void> = Promise.resolve();
  private stopListening: (() => void) | undefined;
  private timers: ReturnType<typeof setInterval>[] = [];
  private readonly o: Required<TaskOptions>;
  /** `evicted`: finished tasks dropped by retention (keepFinished / keepFinishedMs), both directions. */
  readonly counters = { submitsIn: 0, accepted: 0, refused: 0, statusUpdates: 0, results: 0, ignored: 0, evicted: 0 };

  constructor(
    private readonly node: PilotNode,
    readonly dir: string,
    opts: TaskOptions,
    private readonly log: Logger,
  ) {
    super();
    this.work = new WorkSet(log);
    this.receivedDir = path.join(dir, 'received');
    this.submittedDir = path.join(dir, 'submitted');
    this.resultsDir = path.join(dir, 'results');
    this.o = {
      cancelNewAfterMs: opts.cancelNewAfterMs ?? 60_000,
      cancelCheckMs: opts.cancelCheckMs ?? 10_000,
      expireAfterMs: opts.expireAfterMs ?? 3_600_000,
      expireCheckMs: opts.expireCheckMs ?? 30_000,
      dialTimeoutMs: opts.dialTimeoutMs ?? 10_000,
      replyTimeoutMs: opts.replyTimeoutMs ?? 15_000,
      keepFinished: opts.keepFinished ?? DEFAULT_RETENTION.maxTerminal,
      keepFinishedMs: opts.keepFinishedMs ?? DEFAULT_RETENTION.maxAgeMs,
    };
  }

  async start(): Promise<void> {
    await this.load('received', this.receivedDir, this.received);
    await this.load('submitted', this.submittedDir, this.submitted);
    const q = [...this.received.values()].filter((r) => r.file.status === 'NEW' || r.file.status === 'ACCEPTED');
    q.sort((a, b) => (parseTime(a.file.created_at) ?? 0) - (parseTime(b.file.created_at) ?? 0));
    this.queueIds.push(...q.map((r) => r.file.task_id));
    this.stopListening = this.node.listen(PORTS.taskSubmit, (s) => this.onStream(s));
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref?.();
      this.timers.push(t);
    };
    every(this.o.cancelCheckMs, () => this.cancelStale());
    every(this.o.expireCheckMs, () => {
      this.expireQueueHead();
      this.enforceRetention();
    });
    this.enforceRetention();
  }

  async stop(): Promise<void> {
    this.stopListening?.();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.settled();
  }

  /** Resolves when background notifications and file writes are done. */
  async settled(): Promise<void> {
    await this.work.settled();
    await this.writes;
  }

  private async load(category: TaskCategory, dir: string, into: Map<string, TaskRecord>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      try {
        const file = path.join(dir, n);
        const f = JSON.parse(await readFile(file, 'utf8')) as TaskFile;
        // The file is rewritten on every change: its mtime is the task's last change (retention's age).
        if (typeof f.task_id === 'string' && TASK_ID_RE.test(f.task_id)) into.set(f.task_id, { category, file: f, touched: (await stat(file)).mtimeMs });
      } catch (e) {
        this.log.warn('unreadable task file skipped', { file: n, error: String(e) });
      }
    }
  }

  // ---- queries ----

  get(taskId: string): { category: TaskCategory; task: TaskFile } | undefined {
    const r = this.received.get(taskId) ?? this.submitted.get(taskId);
    return r ? { category: r.category, task: { ...r.file } } : undefined;
  }

  list(category?: TaskCategory): { tasks: TaskListEntry[] } {
    const recs = [
      ...(category !== 'submitted' ? this.received.values() : []),
      ...(category !== 'received' ? this.submitted.values() : []),
    ];
    recs.sort((a, b) => (parseTime(a.file.created_at) ?? 0) - (parseTime(b.file.created_at) ?? 0) || a.file.task_id.localeCompare(b.file.task_id));
    return {
      tasks: recs.map((r) => ({
        task_id: r.file.task_id,
        description: r.file.task_description,
        status: r.file.status,
        from: r.file.from,
        to: r.file.to,
        created_at: r.file.created_at,
        category: r.category,
        ...(r.file.trace_id ? { trace_id: r.file.trace_id } : {}),
        ...(r.file.traceparent ? { traceparent: r.file.traceparent } : {}),
      })),
    };
  }

  queue(): { queue: { task_id: string; description: string; from: string; created_at: string }[]; count: number } {
    const queue = this.queueIds
      .map((id) => this.received.get(id))
      .filter((r): r is TaskRecord => !!r && (r.file.status === 'NEW' || r.file.status === 'ACCEPTED'))
      .map((r) => ({ task_id: r.file.task_id, description: r.file.task_description, from: r.file.from, created_at: r.file.created_at }));
    return { queue, count: queue.length };
  }

  /** Do we expect task frames from `peer` (a task we submitted to it is open, or closed recently)? */
  expectsFrom(peer: number): boolean {
    const now = this.node.clock.wallNow();
    for (const r of this.submitted.values()) {
      if (nodeOf(r.file.to) !== peer) continue;
      if (!TERMINAL.has(r.file.status) || now - r.touched < GRACE_MS) return true;
    }
    return false;
  }

  // ---- submitter side ----

  /** Submits a task to `target`; on acceptance the task is kept in tasks/submitted. */
  async submit(target: Target, description: string, opts: { parent?: ParentLike } = {}): Promise<SubmitReport> {
    if (description.trim() === '') throw new PilotError('invalid_argument', 'task description is empty', 'use --task "<description>"');
    const to = targetAddress(target);
    if (to.node === this.node.nodeId) throw new PilotError('invalid_argument', 'cannot submit a task to this node');
    const span = this.node.tracer.start('task.submit', opts.parent, { 'peer.node_id': to.node }, 'client');
    try {
      const r = await this.submitIn(span, to, description);
      span.set('task.id', r.task_id);
      span.set('task.status', r.status);
      span.end(r.accepted ? 'ok' : 'error');
      return r;
    } catch (e) {
      span.fail(e);
      throw e;
    }
  }

  private async submitIn(span: Span, to: Address, description: string): Promise<SubmitReport> {
    const taskId = newTaskId();
    // Tracing off: still a trace id in the files and logs, as before.
    const traceId = span.recording ? span.traceId : randomBytes(16).toString('hex');
    const spanId = span.recording ? span.spanId : randomBytes(8).toString('hex');
    const traceparent = span.traceparent();
    const req: SubmitRequest = {
      task_id: taskId,
      task_description: description,
      from_addr: formatAddress(this.node.address),
      to_addr: formatAddress(to),
      trace_id: traceId,
      span_id: spanId,
      ...(traceparent ? { traceparent } : {}),
    };
    const log = this.log.child({ task_id: taskId, trace_id: traceId });
    // Admit the worker's answers before they can arrive.
    const now = this.node.clock.wallNow();
    const rec: TaskRecord = {
      category: 'submitted',
      file: {
        task_id: taskId,
        task_description: description,
        created_at: rfc3339(now),
        status: 'NEW',
        status_justification: '',
        from: req.from_addr,
        to: req.to_addr,
        trace_id: traceId,
        span_id: spanId,
        ...(traceparent ? { traceparent } : {}),
      },
      touched: now,
    };
    this.submitted.set(taskId, rec);
    let resp: SubmitResponse;
    try {
      resp = await this.request(to, TASK_TYPE.SUBMIT, req, span);
    } catch (e) {
      this.submitted.delete(taskId);
      throw e;
    }
    const accepted = resp.status === 200;
    if (accepted) {
      this.persist(rec);
      await this.writes;
      log.info('task submitted', { to: req.to_addr });
    } else {
      this.submitted.delete(taskId);
      log.info('task refused', { to: req.to_addr, message: resp.message });
    }
    return { target: req.to_addr, task_id: taskId, task: description, status: resp.status, message: resp.message, accepted, trace_id: traceId, ...(traceparent ? { traceparent } : {}) };
  }

  /** One SUBMIT exchange: frame out, one frame back. */
  private async request(to: Target, type: number, body: object, parent: Span): Promise<SubmitResponse> {
    const s = await this.node.dial(targetAddress(to), PORTS.taskSubmit, this.o.dialTimeoutMs, { parent });
    const decoder = new ServiceFrameDecoder();
    const reader = new FrameReader<ServiceFrame>(s, (c) => decoder.push(Uint8Array.from(c)));
    try {
      await writeOrRefused(s, encodeServiceFrame(type, utf8(JSON.stringify(body))));
      const f = await reader.next(this.o.replyTimeoutMs);
      if (!f) throw new PilotError('connection_failed', 'task submit: connection closed without a response');
      const v = JSON.parse(fromUtf8(f.payload)) as Partial<SubmitResponse>;
      return { task_id: String(v.task_id ?? ''), status: Number(v.status ?? 0), message: String(v.message ?? '') };
    } finally {
      s.end();
    }
  }

  // ---- worker side (pilotctl task accept|decline|execute|send-results) ----

  private receivedTask(id: string): TaskRecord {
    const r = this.received.get(id);
    if (!r) throw new PilotError('not_found', `task not found: ${id}`, 'check pilotctl task list --type received');
    return r;
  }

  async accept(id: string): Promise<{ task_id: string; status: 'ACCEPTED'; message: string }> {
    const r = this.receivedTask(id);
    if (r.file.status !== 'NEW') throw new PilotError('invalid_state', `task ${id} is already ${r.file.status}`);
    const now = this.node.clock.wallNow();
    const created = parseTime(r.file.created_at) ?? now;
    if (now - created > this.o.cancelNewAfterMs) {
      this.cancel(r, now);
      throw new PilotError('expired', `task ${id} expired: not accepted within ${Math.round(this.o.cancelNewAfterMs / 1000)} s`);
    }
    r.file.status = 'ACCEPTED';
    r.file.status_justification = 'Task accepted';
    r.file.accepted_at = rfc3339(now);
    r.file.staged_at = rfc3339(now);
    r.file.time_idle_ms = Math.max(0, now - created);
    this.persist(r);
    this.counters.accepted++;
    const ok = await this.notify(r, 'ACCEPTED', 'Task accepted');
    return { task_id: id, status: 'ACCEPTED', message: ok ? 'Task accepted' : 'Task accepted (submitter notification failed)' };
  }

  async decline(id: string, justification: string): Promise<{ task_id: string; status: 'DECLINED'; justification: string; message: string }> {
    if (!justification) throw new PilotError('invalid_argument', 'a justification is required to decline a task');
    const r = this.receivedTask(id);
    if (r.file.status !== 'NEW' && r.file.status !== 'ACCEPTED') throw new PilotError('invalid_state', `task ${id} is already ${r.file.status}`);
    r.file.status = 'DECLINED';
    r.file.status_justification = justification;
    this.persist(r);
    this.dequeue(id);
    const ok = await this.notify(r, 'DECLINED', justification);
    return { task_id: id, status: 'DECLINED', justification, message: ok ? 'Task declined' : 'Task declined (submitter notification failed)' };
  }

  /** Starts the oldest accepted task. */
  async execute(): Promise<{ task_id: string; task_description: string; status: 'EXECUTING'; from: string }> {
    const r = this.queueIds.map((id) => this.received.get(id)).find((x) => x?.file.status === 'ACCEPTED');
    if (!r) throw new PilotError('not_found', 'no accepted tasks to execute', 'accept one first: pilotctl task accept --id <id>');
    const now = this.node.clock.wallNow();
    r.file.status = 'EXECUTING';
    r.file.status_justification = 'Task executing';
    r.file.execute_started_at = rfc3339(now);
    r.file.time_staged_ms = Math.max(0, now - (parseTime(r.file.accepted_at) ?? now));
    this.persist(r);
    this.dequeue(r.file.task_id);
    this.work.add(this.notify(r, 'EXECUTING', 'Task executing'), 'task status update', { task_id: r.file.task_id });
    return { task_id: r.file.task_id, task_description: r.file.task_description, status: 'EXECUTING', from: r.file.from };
  }

  /**
   * Sends the results: SEND_RESULTS on one connection, then a STATUS_UPDATE (SUCCEEDED) on another.
   * The task must be EXECUTING (or ACCEPTED: executed without `execute`).
   */
  async sendResults(
    id: string,
    result: TaskResult,
    times: { cpuMs?: number } = {},
    opts: { parent?: ParentLike } = {},
  ): Promise<{ task_id: string; status: 'SUCCEEDED'; sent_to: string; sent_type: 'text' | 'file'; filename?: string; file_size?: number }> {
    const r = this.receivedTask(id);
    if (r.file.status !== 'EXECUTING' && r.file.status !== 'ACCEPTED') throw new PilotError('invalid_state', `task ${id} is ${r.file.status}, not EXECUTING`);
    const span = this.node.tracer.start('task.send_results', opts.parent ?? r.file.traceparent, { 'task.id': id }, 'client');
    try {
      const out = await this.sendResultsIn(r, result, times, span);
      span.end();
      return out;
    } catch (e) {
      span.fail(e);
      throw e;
    }
  }

  private async sendResultsIn(
    r: TaskRecord,
    result: TaskResult,
    times: { cpuMs?: number },
    span: Span,
  ): Promise<{ task_id: string; status: 'SUCCEEDED'; sent_to: string; sent_type: 'text' | 'file'; filename?: string; file_size?: number }> {
    const id = r.file.task_id;
    const now = this.node.clock.wallNow();
    const started = parseTime(r.file.execute_started_at);
    const msg: SendResultsMessage = { task_id: id, result_type: 'text' in result ? 'text' : 'file', completed_at: rfc3339(now) };
    const tp = span.traceparent();
    if (tp) msg.traceparent = tp;
    if ('text' in result) msg.result_text = result.text;
    else {
      msg.filename = safeBaseName(result.filename);
      msg.file_data = toBase64(result.data);
    }
    const cpu = times.cpuMs ?? (started !== undefined ? Math.max(0, now - started) : 0);
    if (r.file.time_idle_ms) msg.time_idle_ms = r.file.time_idle_ms;
    if (r.file.time_staged_ms) msg.time_staged_ms = r.file.time_staged_ms;
    if (cpu) msg.time_cpu_ms = cpu;
    const to = parseAddress(r.file.from);
    await sendOneShot(this.node, to, PORTS.taskSubmit, encodeServiceFrame(TASK_TYPE.SEND_RESULTS, utf8(JSON.stringify(msg))), this.o.dialTimeoutMs, span);
    r.file.status = 'SUCCEEDED';
    r.file.status_justification = 'Results sent';
    r.file.completed_at = msg.completed_at;
    if (cpu) r.file.time_cpu_ms = cpu;
    this.persist(r);
    this.dequeue(id);
    await this.notify(r, 'SUCCEEDED', 'Results sent', span);
    this.log.info('task results sent', { task_id: id, to: r.file.from, type: msg.result_type, trace_id: r.file.trace_id });
    return {
      task_id: id,
      status: 'SUCCEEDED',
      sent_to: r.file.from,
      sent_type: msg.result_type,
      ...('text' in result ? {} : { filename: msg.filename!, file_size: result.data.length }),
    };
  }

  // ---- server ----

  private onStream(s: PilotStream): void {
    const decoder = new ServiceFrameDecoder();
    let got = false;
    s.stopBuffering();
    s.on('data', (chunk) => {
      if (got) return; // exactly one frame per connection
      let frames: ServiceFrame[];
      try {
        frames = decoder.push(Uint8Array.from(chunk));
      } catch (e) {
        this.log.warn('bad task frame, closing', { peer: s.remote.node, error: String(e) });
        s.abort();
        return;
      }
      const f = frames[0];
      if (!f) return;
      got = true;
      this.work.add(
        this.handle(f, s).finally(() => s.end()),
        'task frame handling',
        { peer: s.remote.node },
      );
    });
  }

  private async handle(f: ServiceFrame, s: PilotStream): Promise<void> {
    let body: Record<string, unknown>;
    try {
      const v = JSON.parse(fromUtf8(f.payload)) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      body = v as Record<string, unknown>;
    } catch (e) {
      this.counters.ignored++;
      this.log.warn('task frame is not a JSON object', { peer: s.remote.node, type: f.type, error: String(e) });
      return;
    }
    switch (f.type) {
      case TASK_TYPE.SUBMIT: {
        const span = this.serverSpan('task.receive', body, s);
        await this.onSubmit(body, s, span).finally(() => span.end());
        return;
      }
      case TASK_TYPE.STATUS_UPDATE: {
        const span = this.serverSpan('task.status', body, s);
        this.onStatusUpdate(body, s.remote.node);
        span.end();
        return;
      }
      case TASK_TYPE.SEND_RESULTS: {
        const span = this.serverSpan('task.results', body, s);
        await this.onResults(body, s.remote.node).finally(() => span.end());
        return;
      }
      default:
        this.counters.ignored++;
        this.log.debug('task frame type not handled', { peer: s.remote.node, type: f.type });
    }
  }

  /** A server span under the sender's span: its `traceparent`, else (older nodes) trace_id + span_id. */
  private serverSpan(name: string, body: Record<string, unknown>, s: PilotStream): Span {
    const tp = parseTraceparent(body['traceparent']);
    const parent: ParentLike = tp ?? (isTraceId(body['trace_id']) && isSpanId(body['span_id']) ? { traceId: body['trace_id'], spanId: body['span_id'] } : undefined);
    const span = this.node.tracer.start(name, parent ?? ROOT_PARENT, { 'peer.node_id': s.remote.node }, 'server');
    if (typeof body['task_id'] === 'string') span.set('task.id', body['task_id'].slice(0, 64));
    return span;
  }

  private async onSubmit(body: Record<string, unknown>, s: PilotStream, span: Span): Promise<void> {
    this.counters.submitsIn++;
    const taskId = typeof body['task_id'] === 'string' ? body['task_id'] : '';
    const description = typeof body['task_description'] === 'string' ? body['task_description'] : '';
    const submitter = s.remote.node;
    const reply = (status: number, message: string): void => {
      const resp: SubmitResponse = { task_id: taskId, status, message };
      span.set('task.status', status);
      if (status !== 200) span.set('error', message);
      try {
        if (!s.closed) s.write(encodeServiceFrame(TASK_TYPE.SUBMIT, utf8(JSON.stringify(resp))));
      } catch {
        // peer gone
      }
    };
    if (!TASK_ID_RE.test(taskId)) return reply(400, 'Invalid task id');
    if (description === '') return reply(400, 'Empty task description');
    if (this.received.has(taskId)) return reply(400, 'Duplicate task id');
    try {
      const [a, b] = await Promise.all([this.node.registry.getPoloScore(submitter), this.node.registry.getPoloScore(this.node.nodeId)]);
      if (a.polo_score < b.polo_score) {
        this.counters.refused++;
        return reply(400, `Polo score too low: submitter=${a.polo_score}, receiver=${b.polo_score}`);
      }
    } catch (e) {
      if (!(isPilotError(e, 'not_running'))) {
        this.log.warn('polo score check failed', { peer: submitter, error: String(e) });
        return reply(400, 'Failed to verify polo score');
      }
      // no registry: accept
    }
    const now = this.node.clock.wallNow();
    const file: TaskFile = {
      task_id: taskId,
      task_description: description,
      created_at: rfc3339(now),
      status: 'NEW',
      status_justification: '',
      from: formatAddress(s.remote),
      to: formatAddress(this.node.address),
    };
    if (typeof body['trace_id'] === 'string' && /^[0-9a-f]{32}$/.test(body['trace_id'])) file.trace_id = body['trace_id'];
    if (typeof body['span_id'] === 'string' && /^[0-9a-f]{16}$/.test(body['span_id'])) file.span_id = body['span_id'];
    const own = span.traceparent();
    if (own) {
      file.traceparent = own;
      file.trace_id = span.traceId;
    }
    const rec: TaskRecord = { category: 'received', file, touched: now };
    this.received.set(taskId, rec);
    this.queueIds.push(taskId);
    this.persist(rec);
    await this.writes;
    reply(200, 'Task received with status NEW');
    this.log.info('task received', { task_id: taskId, from: file.from, trace_id: file.trace_id });
    this.emit('received', { ...file });
  }

  private onStatusUpdate(body: Record<string, unknown>, peer: number): void {
    const r = this.submittedFrom(body, peer);
    if (!r) return;
    const status = typeof body['status'] === 'string' ? body['status'] : '';
    const justification = typeof body['justification'] === 'string' ? body['justification'] : '';
    if (!(TASK_STATUSES as readonly string[]).includes(status)) {
      this.counters.ignored++;
      return;
    }
    this.counters.statusUpdates++;
    if (r.file.status !== 'COMPLETED') r.file.status = status;
    r.file.status_justification = justification;
    this.persist(r);
    this.log.info('task status update', { task_id: r.file.task_id, status, trace_id: r.file.trace_id });
  }

  private async onResults(body: Record<string, unknown>, peer: number): Promise<void> {
    const r = this.submittedFrom(body, peer);
    if (!r) return;
    if (r.file.status === 'COMPLETED') {
      this.counters.ignored++;
      this.log.warn('duplicate task results ignored', { task_id: r.file.task_id, peer });
      return;
    }
    const id = r.file.task_id;
    let data: Uint8Array;
    let name: string;
    if (body['result_type'] === 'file') {
      name = `${id}_${safeBaseName(typeof body['filename'] === 'string' ? body['filename'] : 'result.bin')}`;
      try {
        data = fromBase64(typeof body['file_data'] === 'string' ? body['file_data'] : '');
      } catch {
        this.counters.ignored++;
        this.log.warn('task result file_data is not base64', { task_id: id });
        return;
      }
    } else {
      name = `${id}_result.txt`;
      data = utf8(typeof body['result_text'] === 'string' ? body['result_text'] : '');
    }
    const file = path.join(this.resultsDir, name);
    await writeFileAtomic(file, data, { mode: 0o600 });
    const num = (k: string): number | undefined => (typeof body[k] === 'number' && Number.isFinite(body[k]) && (body[k] as number) > 0 ? Math.round(body[k] as number) : undefined);
    const idle = num('time_idle_ms');
    const staged = num('time_staged_ms');
    const cpu = num('time_cpu_ms');
    r.file.status = 'COMPLETED';
    r.file.status_justification = 'Results received';
    r.file.completed_at = typeof body['completed_at'] === 'string' && parseTime(body['completed_at']) !== undefined ? body['completed_at'] : rfc3339(this.node.clock.wallNow());
    if (idle) r.file.time_idle_ms = idle;
    if (staged) r.file.time_staged_ms = staged;
    if (cpu) r.file.time_cpu_ms = cpu;
    this.persist(r);
    this.counters.results++;
    const reward = taskReward({ cpuMs: cpu, idleMs: idle, stagedMs: staged });
    await this.node.registry.updatePoloScore(this.node.nodeId, -1).catch((e: unknown) => this.log.warn('polo update failed', { error: String(e) }));
    await this.node.registry.updatePoloScore(peer, reward).catch((e: unknown) => this.log.warn('polo update failed', { peer, error: String(e) }));
    this.log.info('task results received', { task_id: id, from: r.file.to, bytes: data.length, reward, trace_id: r.file.trace_id });
    this.emit('result', { task_id: id, from: r.file.to, path: file, reward });
  }

  /** The submitted task a frame refers to, if `peer` is the node it was submitted to. */
  private submittedFrom(body: Record<string, unknown>, peer: number): TaskRecord | undefined {
    const id = typeof body['task_id'] === 'string' ? body['task_id'] : '';
    const r = this.submitted.get(id);
    if (!r || nodeOf(r.file.to) !== peer) {
      this.counters.ignored++;
      this.log.warn('task frame for an unknown task or from the wrong node ignored', { task_id: id, peer });
      return undefined;
    }
    return r;
  }

  // ---- background rules ----

  private cancel(r: TaskRecord, now: number): void {
    r.file.status = 'CANCELLED';
    r.file.status_justification = `Not accepted within ${Math.round(this.o.cancelNewAfterMs / 1000)} s`;
    r.touched = now;
    this.persist(r);
    this.dequeue(r.file.task_id);
    this.log.info('task cancelled (not accepted in time)', { task_id: r.file.task_id });
    this.work.add(this.notify(r, 'CANCELLED', r.file.status_justification), 'task status update', { task_id: r.file.task_id });
  }

  /** NEW tasks older than cancelNewAfterMs → CANCELLED. */
  cancelStale(): void {
    const now = this.node.clock.wallNow();
    for (const r of this.received.values()) {
      if (r.file.status !== 'NEW') continue;
      const created = parseTime(r.file.created_at) ?? now;
      if (now - created >= this.o.cancelNewAfterMs) this.cancel(r, now);
    }
  }

  /** The head of the accept queue, ACCEPTED for longer than expireAfterMs → EXPIRED, own polo −1. */
  expireQueueHead(): void {
    const now = this.node.clock.wallNow();
    for (;;) {
      const id = this.queueIds[0];
      if (id === undefined) return;
      const r = this.received.get(id);
      if (!r || (r.file.status !== 'NEW' && r.file.status !== 'ACCEPTED')) {
        this.queueIds.shift();
        continue;
      }
      if (r.file.status !== 'ACCEPTED') return;
      const since = parseTime(r.file.created_at) ?? now;
      if (now - since < this.o.expireAfterMs) return;
      this.queueIds.shift();
      r.file.status = 'EXPIRED';
      r.file.status_justification = 'Not executed in time';
      this.persist(r);
      this.log.info('accepted task expired', { task_id: id });
      this.work.add(this.node.registry.updatePoloScore(this.node.nodeId, -1), 'polo score update');
      this.work.add(this.notify(r, 'EXPIRED', r.file.status_justification), 'task status update', { task_id: id });
    }
  }

  private dequeue(id: string): void {
    const i = this.queueIds.indexOf(id);
    if (i >= 0) this.queueIds.splice(i, 1);
  }

  /** STATUS_UPDATE to the task's submitter on a new connection; false if it could not be delivered. */
  private async notify(r: TaskRecord, status: string, justification: string, parent?: Span): Promise<boolean> {
    const span = this.node.tracer.start('task.status_update', parent ?? r.file.traceparent, { 'task.id': r.file.task_id, 'task.status': status }, 'client');
    const upd: StatusUpdate = { task_id: r.file.task_id, status, justification };
    const tp = span.traceparent();
    if (tp) upd.traceparent = tp;
    try {
      await sendOneShot(this.node, parseAddress(r.file.from), PORTS.taskSubmit, encodeServiceFrame(TASK_TYPE.STATUS_UPDATE, utf8(JSON.stringify(upd))), this.o.dialTimeoutMs, span);
      span.end();
      return true;
    } catch (e) {
      span.fail(e);
      this.log.warn('submitter notification failed', { task_id: r.file.task_id, status, error: String(e) });
      return false;
    }
  }

  /**
   * Evicts finished tasks past the retention bounds (tasks-retention.ts), per direction: out of
   * memory, and their task files deleted after any pending write. Returns how many went.
   */
  enforceRetention(): number {
    const now = this.node.clock.wallNow();
    const policy = { maxTerminal: this.o.keepFinished, maxAgeMs: this.o.keepFinishedMs, graceMs: GRACE_MS };
    let n = 0;
    for (const [map, dir] of [
      [this.received, this.receivedDir],
      [this.submitted, this.submittedDir],
    ] as const) {
      const ids = tasksToEvict([...map.values()].map((r) => ({ id: r.file.task_id, status: r.file.status, touched: r.touched })), policy, now);
      for (const id of ids) {
        map.delete(id);
        const file = path.join(dir, `${id}.json`);
        this.writes = this.writes.then(() => unlink(file).catch((e: unknown) => this.log.warn('cannot delete an evicted task file', { file, error: String(e) })));
      }
      n += ids.length;
    }
    if (n > 0) {
      this.counters.evicted += n;
      this.log.info('finished tasks evicted', { count: n, keep: this.o.keepFinished, keep_ms: this.o.keepFinishedMs });
    }
    return n;
  }

  private persist(r: TaskRecord): void {
    r.touched = this.node.clock.wallNow();
    const snapshot = JSON.stringify(r.file, null, 2);
    const file = path.join(r.category === 'received' ? this.receivedDir : this.submittedDir, `${r.file.task_id}.json`);
    this.writes = this.writes.then(() => writeFileAtomic(file, snapshot, { mode: 0o600 }).catch((e: unknown) => this.log.error('cannot write task file', { file, error: String(e) })));
    this.emit('changed', { category: r.category, task: { ...r.file } });
    if (TERMINAL.has(r.file.status) && (r.category === 'received' ? this.received : this.submitted).size > this.o.keepFinished) this.enforceRetention();
  }
}

function nodeOf(addressText: string): number | undefined {
  try {
    return parseAddress(addressText).node;
  } catch {
    return undefined;
  }
}
