import { describe, expect, it } from 'vitest';
import { EVENT_NAMES, METHOD_NAMES, eventHandlerName, splitMethod, type ConsoleEvent, type RequestEnvelope, type ResponseEnvelope } from '../../shared/contract';
import { buildPilotApi } from './pilot-api';

function transport(answer: (r: RequestEnvelope) => ResponseEnvelope | Promise<ResponseEnvelope>) {
  const sent: RequestEnvelope[] = [];
  const listeners = new Set<(e: ConsoleEvent) => void>();
  return {
    sent,
    emit: (e: ConsoleEvent) => listeners.forEach((l) => l(e)),
    listeners,
    t: {
      invoke: async (r: RequestEnvelope) => {
        sent.push(r);
        return answer(r);
      },
      subscribe: (l: (e: ConsoleEvent) => void) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
  };
}

describe('contract helpers', () => {
  it('names preload members from the contract', () => {
    expect(splitMethod('peers.ping')).toEqual({ domain: 'peers', name: 'ping' });
    expect(eventHandlerName('peer.pathChanged')).toBe('onPeerPathChanged');
    expect(eventHandlerName('log')).toBe('onLog');
  });
});

describe('buildPilotApi (window.pilot)', () => {
  it('has one named method per contract method, grouped by domain, and one onX per event', () => {
    const api = buildPilotApi(transport((r) => ({ id: r.id, ok: true, result: null })).t) as unknown as Record<string, Record<string, unknown>>;
    for (const m of METHOD_NAMES) {
      const { domain, name } = splitMethod(m);
      expect(typeof api[domain]?.[name], m).toBe('function');
    }
    for (const e of EVENT_NAMES) expect(typeof api['events']?.[eventHandlerName(e)], e).toBe('function');
  });

  it('sends envelopes and resolves with the result', async () => {
    const tr = transport((r) => ({ id: r.id, ok: true, result: { method: r.method } }));
    const api = buildPilotApi(tr.t);
    expect(await api.peers.ping({ target: 'alpha', count: 2 })).toEqual({ method: 'peers.ping' });
    expect(await api.groups.join({ name: 'OPS' })).toEqual({ method: 'groups.join' });
    expect(tr.sent).toEqual([
      { id: 1, method: 'peers.ping', params: { target: 'alpha', count: 2 } },
      { id: 2, method: 'groups.join', params: { name: 'OPS' } },
    ]);
  });

  it('rejects with a plain, cloneable error object carrying the code', async () => {
    const api = buildPilotApi(transport((r) => ({ id: r.id, ok: false, error: { code: 'invalid_argument', message: 'bad' } })).t);
    const err: unknown = await api.peers.inspect({ nodeId: 1 }).catch((e: unknown) => e);
    expect(err).toEqual({ code: 'invalid_argument', message: 'bad' });
    expect(err).not.toBeInstanceOf(Error);
    const broken = buildPilotApi({ invoke: () => Promise.reject(new Error('ipc gone')), subscribe: () => () => undefined });
    await expect(broken.node.info({})).rejects.toEqual({ code: 'unavailable', message: 'ipc gone' });
  });

  it('onX delivers its event only, returns an unsubscribe, and shares one IPC listener', () => {
    const tr = transport((r) => ({ id: r.id, ok: true, result: null }));
    const api = buildPilotApi(tr.t);
    const got: unknown[] = [];
    const off = api.events.onPingReply((d) => got.push(d));
    api.events.onLog(() => undefined);
    expect(tr.listeners.size).toBe(1);
    const reply = { target: 'a', nodeId: 2, reply: { seq: 0, rttMs: 1 } };
    tr.emit({ event: 'ping.reply', data: reply });
    tr.emit({ event: 'log', data: { t: '', level: 'info', msg: '', fields: {} } });
    off();
    tr.emit({ event: 'ping.reply', data: reply });
    expect(got).toEqual([reply]);
  });
});
