import { afterEach, describe, expect, it } from 'vitest';
import type { ConsoleEvents, EventName, MethodArgs, MethodName, MethodResult } from '../../../shared/contract';
import type { ConnectionStatus, ConsoleTransport } from '../api/types';
import { getState, resetStore } from '../store/root';
import { group, peer } from '../testing/fixtures';
import { connectStore } from './sync';

// A scripted transport: answers from a table, emits events on demand. It stands in for the link,
// not for a node: what is checked is that events and snapshots land in the store.
function scripted(answers: Partial<{ [M in MethodName]: () => MethodResult<M> }>) {
  const handlers = new Map<string, Set<(d: unknown) => void>>();
  const statusListeners = new Set<(s: ConnectionStatus) => void>();
  const calls: MethodName[] = [];
  let status: ConnectionStatus = 'connecting';
  const t: ConsoleTransport = {
    kind: 'websocket',
    status: () => status,
    onStatus: (l) => {
      statusListeners.add(l);
      return () => statusListeners.delete(l);
    },
    async call<M extends MethodName>(method: M, _args: MethodArgs<M>): Promise<MethodResult<M>> {
      calls.push(method);
      const a = answers[method] as (() => MethodResult<M>) | undefined;
      if (!a) throw { code: 'not_found', message: `no ${method}` };
      return a();
    },
    on<E extends EventName>(event: E, h: (d: ConsoleEvents[E]) => void) {
      const set = handlers.get(event) ?? new Set();
      handlers.set(event, set);
      const w = (d: unknown) => h(d as ConsoleEvents[E]);
      set.add(w);
      return () => set.delete(w);
    },
    close: () => undefined,
  };
  return {
    t,
    calls,
    open: () => {
      status = 'open';
      statusListeners.forEach((l) => l('open'));
    },
    emit: <E extends EventName>(e: E, d: ConsoleEvents[E]) => handlers.get(e)?.forEach((h) => h(d)),
    listenerCount: () => [...handlers.values()].reduce((n, s) => n + s.size, 0),
  };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => resetStore());

describe('connectStore', () => {
  it('loads a snapshot each time the link opens and reports calls that fail', async () => {
    const s = scripted({ 'peers.list': () => [peer(1), peer(2)], 'groups.list': () => [group('BACKBONE')], 'traces.list': () => [], 'logs.tail': () => [], 'trust.pending': () => [], 'trust.list': () => [], 'tasks.list': () => [] });
    const off = connectStore(s.t);
    expect(getState().connection.status).toBe('connecting');
    s.open();
    await flush();
    expect(getState().connection.status).toBe('open');
    expect(Object.keys(getState().peers.byId)).toEqual(['1', '2']);
    expect(Object.keys(getState().groups.byName)).toEqual(['BACKBONE']);
    expect(getState().connection.lastFailure).toMatchObject({ method: 'node.info', code: 'not_found' });
    off();
  });

  it('events call the slice actions', async () => {
    const s = scripted({});
    const off = connectStore(s.t);
    s.emit('peer.updated', peer(5, { rttMs: 3 }));
    s.emit('peer.pathChanged', { nodeId: 5, from: 'direct', to: 'relay' });
    s.emit('log', { t: 'x', level: 'warn', msg: 'hm', fields: { peer: 5 } });
    s.emit('span.ended', { traceId: 't', spanId: 's', name: 'dial', node: 'a', startMs: 0, durationMs: 1, status: 'ok', attrs: {} });
    s.emit('trust.requested', { nodeId: 5, justification: 'hi', receivedAt: 1 });
    s.emit('ping.reply', { target: 'host-5', nodeId: 5, reply: { seq: 0, rttMs: 2, path: 'relay' } });
    s.emit('task.updated', { taskId: 'k', description: 'cite: x', status: 'NEW', from: 'a', to: 'b', createdAt: '2026-12-03T01:00:00Z', category: 'submitted' });
    s.emit('demo.changed', { available: true, paused: true, submitted: 1, completed: 0, failed: 0 });
    const st = getState();
    expect(st.tasks.byId['k']?.status).toBe('NEW');
    expect(st.tasks.demo?.paused).toBe(true);
    expect(st.peers.byId[5]).toMatchObject({ path: 'relay', rttMs: 3 });
    expect(st.logs.entries[0]?.peer).toBe(5);
    expect(st.traces.spans).toHaveLength(1);
    expect(st.trust.pending[5]?.justification).toBe('hi');
    expect(st.pings.byPeer[5]?.samples).toHaveLength(1);
    off();
    expect(s.listenerCount()).toBe(0);
  });

  it('a membership change without the group’s projection reloads the group list', async () => {
    let members = 1;
    const s = scripted({ 'groups.list': () => [group('OPS', { members })] });
    const off = connectStore(s.t, { reloadDelayMs: 1 });
    members = 2;
    s.emit('groups.changed', { name: 'OPS', event: 'member_joined', nodeId: 9 });
    s.emit('groups.changed', { name: 'OPS', event: 'member_joined', nodeId: 10 });
    await expect.poll(() => getState().groups.byName['OPS']?.members).toBe(2);
    expect(s.calls.filter((c) => c === 'groups.list')).toHaveLength(1); // coalesced
    expect(getState().groups.recent).toHaveLength(2);
    off();
  });
});
