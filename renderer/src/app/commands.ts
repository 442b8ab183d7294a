/**
 * What the user can ask for, as functions the views call: each calls the node through the client
 * and records the outcome with the store's actions. No view talks to the client directly.
 */
import type { GroupView, MethodArgs, MethodName, MethodResult } from '../../../shared/contract';
import { toCallError } from '../api/errors';
import { callFailed, nodeUpdated } from '../store/connection/actions';
import { broadcastSent, groupCreated, groupJoined, groupLeft, groupMembersLoaded, groupRequested, groupRequestFailed, groupsLoaded } from '../store/groups/actions';
import { logsLoaded } from '../store/logs/actions';
import { netcheckFailed, netcheckFinished, netcheckStarted } from '../store/netcheck/actions';
import { peerInspected, trustChanged } from '../store/peers/actions';
import { pingFailed, pingFinished, pingStarted, pingsCleared } from '../store/pings/actions';
import { spansLoaded, traceCollectFailed, traceCollectStarted, traceCollected } from '../store/traces/actions';
import { trustDecisionFailed, trustDecisionStarted, trustNotificationDismissed } from '../store/trust/actions';
import { getClient } from './client';

async function call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
  try {
    return await getClient().call(method, args);
  } catch (e) {
    const err = toCallError(e);
    callFailed({ method, code: err.code, message: err.message, at: Date.now() });
    throw err;
  }
}

const quietly = (p: Promise<unknown>): void => {
  p.catch(() => undefined); // already reported through callFailed
};

// ---- this node ------------------------------------------------------------------------------

/** Reloads `node.info` (loaded once per connect; uptime, traffic and the public endpoint move on). */
export async function refreshNodeInfo(): Promise<void> {
  nodeUpdated(await call('node.info', {}));
}

/**
 * Asks the node what the beacon (and its netcheck port) see of its NAT. The outcome lands in the
 * netcheck slice, a failure with its code and hint; node.info is reloaded after a run because the
 * node records the public endpoint the beacon reported.
 */
export async function runNetcheck(): Promise<void> {
  const run = netcheckStarted();
  try {
    netcheckFinished(run, await getClient().call('node.netcheck', {}));
  } catch (e) {
    const err = toCallError(e);
    netcheckFailed(run, err.hint === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, hint: err.hint });
    return;
  }
  await refreshNodeInfo().catch(() => undefined); // a failure is reported through callFailed
}

// ---- peers ----------------------------------------------------------------------------------

export interface PingOptions {
  count: number;
  intervalMs: number;
}
export const DEFAULT_PING: PingOptions = { count: 10, intervalMs: 250 };

const continuous = new Set<number>();

/**
 * Sends `count` echo requests to a peer. Its replies reach the store one way only, as `ping.reply`
 * events while it runs (sync.ts); the call's end just ends the run.
 */
export async function pingPeer(nodeId: number, target: string, opts: PingOptions = DEFAULT_PING): Promise<void> {
  const run = pingStarted(nodeId, target);
  try {
    await getClient().call('peers.ping', { target, count: opts.count, intervalMs: opts.intervalMs, timeoutMs: Math.max(10_000, opts.count * (opts.intervalMs + 5000)) });
    pingFinished(nodeId, run);
  } catch (e) {
    pingFailed(nodeId, run, toCallError(e).message);
  }
}

/** Pings in bursts until stopPinging; one burst at a time. */
export function startPinging(nodeId: number, target: string, opts: PingOptions = DEFAULT_PING): void {
  if (continuous.has(nodeId)) return;
  continuous.add(nodeId);
  void (async () => {
    while (continuous.has(nodeId)) {
      await pingPeer(nodeId, target, opts);
      if (continuous.has(nodeId)) await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
  })();
}

export function stopPinging(nodeId: number): void {
  continuous.delete(nodeId);
}

export const isPingingContinuously = (nodeId: number): boolean => continuous.has(nodeId);

export const clearPings = (nodeId: number): void => pingsCleared(nodeId);

export async function inspectPeer(nodeId: number): Promise<void> {
  peerInspected(await call('peers.inspect', { nodeId }));
}

/** Keeps a peer's detail fresh while a view shows it; returns the function that stops. */
export function watchPeer(nodeId: number, everyMs = 2000): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = async (): Promise<void> => {
    await inspectPeer(nodeId).catch(() => undefined);
    if (!stopped) timer = setTimeout(() => void tick(), everyMs);
  };
  void tick();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  };
}

// ---- groups ---------------------------------------------------------------------------------

async function groupOp<T>(name: string, op: 'join' | 'leave' | 'create' | 'broadcast', run: () => Promise<T>, done: (r: T) => void): Promise<void> {
  groupRequested(name, op);
  try {
    done(await run());
  } catch (e) {
    groupRequestFailed(name, op, toCallError(e).message);
  }
}

const reloadGroups = (): void => quietly(call('groups.list', {}).then((g) => groupsLoaded(g)));

export const joinGroup = (name: string, token?: string): Promise<void> =>
  groupOp(name, 'join', () => getClient().call('groups.join', token ? { name, token } : { name }), (g: GroupView) => {
    groupJoined(g);
    reloadGroups();
  });

export const leaveGroup = (name: string): Promise<void> =>
  groupOp(name, 'leave', () => getClient().call('groups.leave', { name }), () => {
    groupLeft(name);
    reloadGroups();
  });

export const createGroup = (name: string, joinRule: 'open' | 'token' | 'invite', token?: string): Promise<void> =>
  groupOp(name, 'create', () => getClient().call('groups.create', token ? { name, joinRule, token } : { name, joinRule }), (g: GroupView) => {
    groupCreated(g);
    reloadGroups();
  });

export const broadcastToGroup = (name: string, message: string): Promise<void> =>
  groupOp(name, 'broadcast', () => getClient().call('groups.broadcast', { name, message }), (r) => broadcastSent(r));

export async function loadGroupMembers(name: string): Promise<void> {
  groupMembersLoaded(name, await call('groups.members', { name }));
}

// ---- trust ----------------------------------------------------------------------------------

export async function approveTrust(nodeId: number): Promise<void> {
  trustDecisionStarted(nodeId, 'approve');
  try {
    await getClient().call('trust.approve', { nodeId });
    trustChanged({ nodeId, state: 'trusted' });
  } catch (e) {
    trustDecisionFailed(nodeId, toCallError(e).message);
  }
}

export async function rejectTrust(nodeId: number): Promise<void> {
  trustDecisionStarted(nodeId, 'reject');
  try {
    await getClient().call('trust.reject', { nodeId });
    trustChanged({ nodeId, state: 'none' });
  } catch (e) {
    trustDecisionFailed(nodeId, toCallError(e).message);
  }
}

export const dismissTrustNotification = (nodeId: number): void => trustNotificationDismissed(nodeId);

export async function requestTrust(target: string, justification: string): Promise<void> {
  const r = await call('trust.request', justification ? { target, justification } : { target });
  trustChanged({ nodeId: r.nodeId, state: 'pending_out' });
}

// ---- traces and logs ------------------------------------------------------------------------

/** Fetches every span of one trace the node can gather (its own and its peers'). */
export async function loadTrace(traceId: string): Promise<void> {
  spansLoaded(await call('traces.get', { traceId }));
}

/**
 * Gathers a trace's spans from every node that took part (the node asks its peers over the trace
 * query port; clock offsets estimated there). The outcome lands in the traces slice.
 */
export async function collectTrace(traceId: string): Promise<void> {
  traceCollectStarted(traceId);
  try {
    traceCollected(await call('traces.collect', { traceId }));
  } catch (e) {
    traceCollectFailed(traceId, toCallError(e).message);
  }
}

export async function reloadLogs(limit = 2000): Promise<void> {
  logsLoaded(await call('logs.tail', { limit }));
}

export { quietly };
