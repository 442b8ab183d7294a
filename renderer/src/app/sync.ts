/**
 * Keeps the store a projection of the node: every pushed event calls its module-level action, and
 * each time the link (re)opens the page loads a fresh snapshot (the events it missed are gone).
 */
import type { MethodName } from '../../../shared/contract';
import { toCallError } from '../api/errors';
import type { ConsoleTransport } from '../api/types';
import { callFailed, nodeUpdated, transportChanged } from '../store/connection/actions';
import { groupChanged, groupsLoaded } from '../store/groups/actions';
import { logAppended, logsLoaded } from '../store/logs/actions';
import { pathChanged, peerSeen, peersLoaded, trustChanged } from '../store/peers/actions';
import { pingAnswered } from '../store/pings/actions';
import { demoChanged, taskUpdated, tasksLoaded } from '../store/tasks/actions';
import { TASK_LIMIT } from '../store/tasks/state';
import { spanEnded, spansLoaded } from '../store/traces/actions';
import { trustListLoaded, trustPendingLoaded, trustRequested } from '../store/trust/actions';

export interface SyncOptions {
  /** Coalescing delay for list reloads triggered by events (groups, trust). */
  reloadDelayMs?: number;
  spanLimit?: number;
  logLimit?: number;
}

function reportFailure(method: MethodName, e: unknown): void {
  const err = toCallError(e);
  callFailed({ method, code: err.code, message: err.message, at: Date.now() });
}

/** Loads everything the views show. Failures are reported per call; the rest still loads. */
export async function loadSnapshot(client: ConsoleTransport, opts: SyncOptions = {}): Promise<void> {
  const jobs: Promise<void>[] = [
    client.call('node.info', {}).then((n) => nodeUpdated(n), (e: unknown) => reportFailure('node.info', e)),
    client.call('peers.list', {}).then((p) => peersLoaded(p), (e: unknown) => reportFailure('peers.list', e)),
    client.call('groups.list', {}).then((g) => groupsLoaded(g), (e: unknown) => reportFailure('groups.list', e)),
    client.call('trust.pending', {}).then((r) => trustPendingLoaded(r), (e: unknown) => reportFailure('trust.pending', e)),
    client.call('trust.list', {}).then((r) => trustListLoaded(r), (e: unknown) => reportFailure('trust.list', e)),
    client.call('traces.list', { limit: opts.spanLimit ?? 2000 }).then((s) => spansLoaded(s), (e: unknown) => reportFailure('traces.list', e)),
    client.call('tasks.list', { limit: TASK_LIMIT }).then((t) => tasksLoaded(t), (e: unknown) => reportFailure('tasks.list', e)),
    // A console without the demo workload answers available: false; an older node, not at all (quietly).
    client.call('demo.status', {}).then((d) => demoChanged(d), () => undefined),
    client.call('logs.tail', { limit: opts.logLimit ?? 2000 }).then((l) => logsLoaded(l), (e: unknown) => reportFailure('logs.tail', e)),
  ];
  await Promise.all(jobs);
}

/** Runs `job` once, `delayMs` after the last of a burst of triggers. */
function coalesce(delayMs: number, job: () => void): { trigger(): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    trigger() {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        job();
      }, delayMs);
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Wires a client to the store; returns the function that unwires it. */
export function connectStore(client: ConsoleTransport, opts: SyncOptions = {}): () => void {
  const delay = opts.reloadDelayMs ?? 150;
  const reloadGroups = coalesce(delay, () => {
    client.call('groups.list', {}).then(groupsLoaded, (e: unknown) => reportFailure('groups.list', e));
  });
  const reloadTrust = coalesce(delay, () => {
    client.call('trust.list', {}).then(trustListLoaded, (e: unknown) => reportFailure('trust.list', e));
  });

  const offs = [
    client.on('peer.updated', (p) => peerSeen(p)),
    client.on('peer.pathChanged', (e) => pathChanged(e)),
    client.on('ping.reply', (e) => pingAnswered(e)),
    client.on('groups.changed', (e) => {
      groupChanged(e);
      if (!e.group) reloadGroups.trigger();
    }),
    client.on('trust.requested', (r) => trustRequested(r)),
    client.on('trust.changed', (e) => {
      trustChanged(e);
      reloadTrust.trigger();
    }),
    client.on('span.ended', (s) => spanEnded(s)),
    client.on('log', (l) => logAppended(l)),
    client.on('node.updated', (n) => nodeUpdated(n)),
    client.on('task.updated', (t) => taskUpdated(t)),
    client.on('demo.changed', (d) => demoChanged(d)),
    client.onStatus((status, detail) => {
      transportChanged(client.kind, status, detail);
      if (status === 'open') void loadSnapshot(client, opts);
    }),
  ];
  transportChanged(client.kind, client.status());
  if (client.status() === 'open') void loadSnapshot(client, opts);
  return () => {
    for (const off of offs) off();
    reloadGroups.cancel();
    reloadTrust.cancel();
  };
}
