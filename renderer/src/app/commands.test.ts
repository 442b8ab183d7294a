import { afterEach, describe, expect, it } from 'vitest';
import type { MethodArgs, MethodName, MethodResult } from '../../../shared/contract';
import type { ConsoleTransport } from '../api/types';
import { pingAnswered } from '../store/pings/actions';
import { getState, resetStore } from '../store/root';
import type { NodeInfoView } from '../../../shared/contract';
import { group } from '../testing/fixtures';
import { setClient } from './client';
import { approveTrust, joinGroup, pingPeer, runNetcheck } from './commands';

// Checks that each user intent records its outcome in the store; the transport is a table of answers.
function answering(table: Partial<{ [M in MethodName]: (a: MethodArgs<M>) => MethodResult<M> }>): { t: ConsoleTransport; seen: [MethodName, unknown][] } {
  const seen: [MethodName, unknown][] = [];
  const t: ConsoleTransport = {
    kind: 'websocket',
    status: () => 'open',
    onStatus: () => () => undefined,
    async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      seen.push([method, args]);
      const f = table[method] as ((a: MethodArgs<M>) => MethodResult<M>) | undefined;
      if (!f) throw { code: 'permission_denied', message: `${method} refused` };
      return f(args);
    },
    on: () => () => undefined,
    close: () => undefined,
  };
  return { t, seen };
}

afterEach(() => {
  setClient(undefined);
  resetStore();
});

describe('commands', () => {
  it('joinGroup: pending, then the node’s view of the group', async () => {
    const { t } = answering({ 'groups.join': ({ name }) => group(name, { joined: true, members: 3 }), 'groups.list': () => [group('OPS', { joined: true, members: 3 })] });
    setClient(t);
    const p = joinGroup('OPS');
    expect(getState().groups.pending['OPS']).toBe('join');
    await p;
    expect(getState().groups.pending['OPS']).toBeUndefined();
    expect(getState().groups.byName['OPS']).toMatchObject({ joined: true, members: 3 });
  });

  it('joinGroup: a refusal shows on the group', async () => {
    setClient(answering({}).t);
    await joinGroup('TRADING');
    expect(getState().groups.errors['TRADING']).toBe('join: groups.join refused');
  });

  it('pingPeer passes count and interval; its replies are the ping.reply events, not repeated from the result', async () => {
    const reply = { seq: 0, rttMs: 1, path: 'direct' } as const;
    const { t, seen } = answering({
      'peers.ping': ({ target }) => {
        expect(getState().pings.byPeer[4]?.running).toBeDefined();
        pingAnswered({ nodeId: 4, target, reply }); // what sync.ts does with the event while the ping runs
        return { target, address: 'a', nodeId: 4, replies: [reply], stats: { sent: 1, received: 1, minMs: 1 } };
      },
    });
    setClient(t);
    await pingPeer(4, 'alpha', { count: 3, intervalMs: 100 });
    expect(seen[0]?.[1]).toMatchObject({ target: 'alpha', count: 3, intervalMs: 100 });
    expect(getState().pings.byPeer[4]?.samples).toHaveLength(1);
    expect(getState().pings.byPeer[4]?.running).toBeUndefined();
  });

  it('approveTrust settles the request; a failure keeps it with the reason', async () => {
    setClient(answering({ 'trust.approve': ({ nodeId }) => ({ nodeId, status: 'approved' }) }).t);
    await approveTrust(7);
    expect(getState().trust.deciding[7]).toBeUndefined();
    setClient(answering({}).t);
    await approveTrust(8);
    expect(getState().trust.errors[8]).toBe('trust.approve refused');
  });

  it('runNetcheck: running, then the report; node.info is reloaded for the public endpoint', async () => {
    const report = { tunnelLocal: '127.0.0.1:4000', beacon: '127.0.0.1:9001', publicEndpoint: '127.0.0.1:4000', mapping: 'endpoint-independent', natType: 'none', hint: 'public' } as const;
    const info = { nodeId: 5, hostname: 'self', publicEndpoint: '127.0.0.1:4000' } as NodeInfoView;
    const { t, seen } = answering({ 'node.netcheck': () => ({ ...report }), 'node.info': () => info });
    setClient(t);
    const p = runNetcheck();
    expect(getState().netcheck.running).toBeDefined();
    await p;
    expect(getState().netcheck.running).toBeUndefined();
    expect(getState().netcheck.report).toMatchObject({ natType: 'none', publicEndpoint: '127.0.0.1:4000' });
    expect(seen.map(([m]) => m)).toEqual(['node.netcheck', 'node.info']);
    expect(getState().connection.node).toBe(info);
  });

  it('runNetcheck: a refusal keeps its code and hint in the slice, not as a call-failure toast', async () => {
    const t: ConsoleTransport = { ...answering({}).t, call: () => Promise.reject({ code: 'not_running', message: 'daemon is not running', hint: 'start it with: pilotctl daemon start' }) };
    setClient(t);
    await runNetcheck();
    expect(getState().netcheck.error).toEqual({ code: 'not_running', message: 'daemon is not running', hint: 'start it with: pilotctl daemon start' });
    expect(getState().netcheck.running).toBeUndefined();
    expect(getState().connection.lastFailure).toBeUndefined();
  });
});
