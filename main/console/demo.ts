/**
 * The demo fleet's agents, so work flows from the first second without a click:
 *  - a specialist agent per demo node, talking to its node over the node's IPC socket as any agent
 *    would (pilotctl's path): it takes each received task (accept, execute), does its small job
 *    (demo-jobs.ts) — the papers specialist first submits a sub-task to a news specialist and waits
 *    for its results — and sends the results, each step under the received task's traceparent, so
 *    coordinator -> papers -> news is one trace across three nodes;
 *  - the coordinator's workload on the console's own node: every 3-5 s (jittered) it asks the
 *    backbone for the best member by capability (tasks.submit by tag), submits the next research
 *    step and waits for its results. It can be paused (`demo.setPaused`); its counters are
 *    `demo.status` and each change is a `demo.changed` event.
 */
import type { ConsoleEvents, DemoView, MethodArgs, MethodName, MethodResult } from '../../shared/contract';
import { PilotError } from '../../shared/errors';
import type { ConsoleEventListener, ConsoleService } from '../api/service';
import type { Logger } from '../util/log';
import { contextRequest, demoRequest, fxJob, newsJob, papersJob, type DemoRole } from './demo-jobs';

/** What an agent needs of a node: its console contract (a local service or an IPC client). */
export interface Caller {
  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>>;
}

export interface DemoTimings {
  /** How often an idle specialist looks at its queue (default 500 ms). */
  pollMs?: number;
  /** Pause between the coordinator's tasks: min and max, picked uniformly (default 3000-5000 ms). */
  intervalMs?: [number, number];
  /** How long a submitter waits for a task's results (default 30 s). */
  resultTimeoutMs?: number;
}

const DEFAULTS: Required<DemoTimings> = { pollMs: 500, intervalMs: [3000, 5000], resultTimeoutMs: 30_000 };

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Waits for a submitted task's text results (polling `tasks.result`; not_found means not yet). */
export async function awaitResult(node: Caller, taskId: string, signal: AbortSignal, t: Required<DemoTimings>): Promise<string> {
  const deadline = Date.now() + t.resultTimeoutMs;
  for (;;) {
    try {
      const r = await node.call('tasks.result', { taskId });
      return r.text ?? `(${r.bytes} bytes in ${r.filename ?? 'a file'})`;
    } catch (e) {
      if (!(e instanceof Object && (e as { code?: unknown }).code === 'not_found')) throw e;
    }
    if (signal.aborted) throw new PilotError('unavailable', 'the demo stopped');
    if (Date.now() > deadline) throw new PilotError('timeout', `no results for task ${taskId} within ${Math.round(t.resultTimeoutMs / 1000)} s`);
    await pause(Math.min(250, t.pollMs), signal);
  }
}

/** Takes the next received task, if any, through accept -> execute -> job -> send results. Returns whether it did one. */
export async function serveOne(role: DemoRole, node: Caller, signal: AbortSignal, timings: DemoTimings = {}, now: () => number = Date.now): Promise<boolean> {
  const t = { ...DEFAULTS, ...timings };
  const queue = await node.call('tasks.queue', {});
  const head = queue[0];
  if (!head) return false;
  try {
    await node.call('tasks.accept', { taskId: head.taskId });
  } catch (e) {
    // Already accepted (an earlier run of this agent stopped half-way): execute it all the same.
    if ((e as { code?: unknown }).code !== 'invalid_state') throw e;
  }
  const ex = await node.call('tasks.execute', {});
  const { traceparent } = await node.call('tasks.get', { taskId: ex.taskId });
  let text: string;
  switch (role) {
    case 'news':
      text = newsJob(ex.description);
      break;
    case 'fx':
      text = fxJob(ex.description, now());
      break;
    case 'papers': {
      // Ask a news specialist for context first, as a sub-task in this task's trace.
      let context: string | undefined;
      try {
        const sub = await node.call('tasks.submit', { tag: 'news', description: contextRequest(ex.description), ...(traceparent ? { traceparent } : {}) });
        if (sub.accepted) context = await awaitResult(node, sub.taskId, signal, t);
      } catch (e) {
        context = `(no context: ${e instanceof Error ? e.message : String(e)})`;
      }
      text = papersJob(ex.description, context);
      break;
    }
  }
  await node.call('tasks.sendResults', { taskId: ex.taskId, text, ...(traceparent ? { traceparent } : {}) });
  return true;
}

/** A specialist's loop until `signal` aborts; errors are logged and counted, never fatal. */
export async function runSpecialist(role: DemoRole, node: Caller, signal: AbortSignal, log: Logger, timings: DemoTimings = {}): Promise<void> {
  const t = { ...DEFAULTS, ...timings };
  let errors = 0;
  while (!signal.aborted) {
    let served = false;
    try {
      served = await serveOne(role, node, signal, t);
    } catch (e) {
      if (signal.aborted) break;
      errors++;
      // The first error and every 20th: a daemon that went away should not flood the log.
      if (errors === 1 || errors % 20 === 0) log.warn('demo specialist step failed', { role, errors, error: e instanceof Error ? e.message : String(e) });
    }
    if (!served) await pause(t.pollMs, signal);
  }
}

/** The coordinator's research workload over the console's node. */
export class DemoWorkload {
  private readonly t: Required<DemoTimings>;
  private readonly abort = new AbortController();
  private readonly listeners = new Set<ConsoleEventListener>();
  private state: DemoView = { available: true, paused: false, submitted: 0, completed: 0, failed: 0 };
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly node: Caller,
    private readonly log: Logger,
    timings: DemoTimings = {},
    private readonly random: () => number = Math.random,
  ) {
    this.t = { ...DEFAULTS, ...timings };
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  view(): DemoView {
    return { ...this.state };
  }

  setPaused(paused: boolean): DemoView {
    if (this.state.paused !== paused) {
      this.update({ paused });
      this.log.info(paused ? 'demo workload paused' : 'demo workload resumed');
      if (!paused) this.wake?.();
    }
    return this.view();
  }

  /** Subscribes to `demo.changed`. */
  on(listener: ConsoleEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start(): void {
    this.loop ??= this.run().catch((e: unknown) => this.log.error('demo workload stopped', { error: e instanceof Error ? e.message : String(e) }));
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.wake?.();
    this.listeners.clear();
    await this.loop;
  }

  private update(patch: Partial<DemoView>): void {
    this.state = { ...this.state, ...patch };
    const data: ConsoleEvents['demo.changed'] = this.view();
    for (const l of this.listeners) l('demo.changed', data);
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let n = 0;
    while (!signal.aborted) {
      if (this.state.paused) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const req = demoRequest(n++);
      try {
        const r = await this.node.call('tasks.submit', { tag: req.tag, description: req.description });
        this.update({ submitted: this.state.submitted + 1 });
        if (!r.accepted) throw new PilotError('permission_denied', `#${req.tag} refused the task: ${r.message}`);
        await awaitResult(this.node, r.taskId, signal, this.t);
        const { lastError: _drop, ...rest } = this.state;
        this.state = rest;
        this.update({ completed: this.state.completed + 1 });
      } catch (e) {
        if (signal.aborted) break;
        const msg = e instanceof Error ? e.message : String(e);
        this.update({ failed: this.state.failed + 1, lastError: `${req.tag}: ${msg}` });
        this.log.warn('demo task failed', { tag: req.tag, error: msg });
      }
      const [lo, hi] = this.t.intervalMs;
      await pause(lo + this.random() * (hi - lo), signal);
    }
  }
}

/** The console's service with the demo workload's methods and events added. */
export function withDemo(base: ConsoleService, demo: DemoWorkload): ConsoleService {
  return {
    call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      if (method === 'demo.status') return Promise.resolve(demo.view() as MethodResult<M>);
      if (method === 'demo.setPaused') return Promise.resolve(demo.setPaused((args as MethodArgs<'demo.setPaused'>).paused) as MethodResult<M>);
      return base.call(method, args);
    },
    on(listener) {
      const offs = [base.on(listener), demo.on(listener)];
      return () => offs.forEach((off) => off());
    },
  };
}
