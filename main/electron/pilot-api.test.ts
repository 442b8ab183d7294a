import { describe, expect, it } from 'vitest';
import type { ConsoleEvent, RequestEnvelope, ResponseEnvelope } from '../../shared/contract';
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

describe('buildPilotApi (window.pilot)', () => {
  it('is the contract client: call and on, plain functions only (contextBridge copies it)', () => {
    const api = buildPilotApi(transport((r) => ({ id: r.id, ok: true, result: null })).t);
    expect(Object.keys(api).sort()).toEqual(['call', 'on']);
    expect(typeof api.call).toBe('function');
    expect(typeof api.on).toBe('function');
  });

  it('sends envelopes and resolves with the result', async () => {
    const tr = transport((r) => ({ id: r.id, ok: true, result: { method: r.method } }));
    const api = buildPilotApi(tr.t);
    expect(await api.call('peers.ping', { target: 'alpha', count: 2 })).toEqual({ method: 'peers.ping' });
    expect(await api.call('groups.join', { name: 'OPS' })).toEqual({ method: 'groups.join' });
    expect(tr.sent).toEqual([
      { id: 1, method: 'peers.ping', params: { target: 'alpha', count: 2 } },
      { id: 2, method: 'groups.join', params: { name: 'OPS' } },
    ]);
  });

  it('rejects with a plain, cloneable error object carrying the code', async () => {
    const api = buildPilotApi(transport((r) => ({ id: r.id, ok: false, error: { code: 'invalid_argument', message: 'bad' } })).t);
    const err: unknown = await api.call('peers.inspect', { nodeId: 1 }).catch((e: unknown) => e);
    expect(err).toEqual({ code: 'invalid_argument', message: 'bad' });
    expect(err).not.toBeInstanceOf(Error);
    const broken = buildPilotApi({ invoke: () => Promise.reject(new Error('ipc gone')), subscribe: () => () => undefined });
    await expect(broken.call('node.info', {})).rejects.toEqual({ code: 'unavailable', message: 'ipc gone' });
  });

  it('on delivers its event only, returns an unsubscribe, and shares one IPC listener', () => {
    const tr = transport((r) => ({ id: r.id, ok: true, result: null }));
    const api = buildPilotApi(tr.t);
    const got: unknown[] = [];
    const off = api.on('ping.reply', (d) => got.push(d));
    api.on('log', () => undefined);
    expect(tr.listeners.size).toBe(1);
    const reply = { target: 'a', nodeId: 2, reply: { seq: 0, rttMs: 1 } };
    tr.emit({ event: 'ping.reply', data: reply });
    tr.emit({ event: 'log', data: { t: '', level: 'info', msg: '', fields: {} } });
    tr.emit({ event: 'not.an.event', data: {} } as unknown as ConsoleEvent);
    off();
    tr.emit({ event: 'ping.reply', data: reply });
    expect(got).toEqual([reply]);
  });

  it('refuses a non-function handler and an unknown event name from the page', () => {
    const api = buildPilotApi(transport((r) => ({ id: r.id, ok: true, result: null })).t);
    expect(() => api.on('log', 'nope' as never)).toThrow();
    expect(() => api.on('shell.exec' as never, () => undefined)).toThrow();
  });
});
