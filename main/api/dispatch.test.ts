import { describe, expect, it } from 'vitest';
import type { MethodArgs, MethodName, MethodResult } from '../../shared/contract';
import { dispatchRequest } from './dispatch';
import type { ConsoleService, ForwardingService } from './service';

// The boundary: each request is validated once, here — or, for a service in another process, there.
function recording(): { service: ConsoleService; calls: [MethodName, unknown][] } {
  const calls: [MethodName, unknown][] = [];
  return {
    calls,
    service: {
      async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
        calls.push([method, args]);
        return { name: 'OPS' } as MethodResult<M>;
      },
      on: () => () => undefined,
    },
  };
}

describe('dispatchRequest', () => {
  it('validates arguments before a local service sees them', async () => {
    const r = recording();
    expect(await dispatchRequest(r.service, { id: 1, method: 'groups.leave', params: { name: 'OPS' } })).toEqual({ id: 1, ok: true, result: { name: 'OPS' } });
    expect(await dispatchRequest(r.service, { id: 2, method: 'groups.leave', params: { name: 'OPS', extra: 1 } })).toMatchObject({ id: 2, ok: false, error: { code: 'invalid_argument' } });
    expect(await dispatchRequest(r.service, { id: 3, method: 'shell.exec', params: {} })).toMatchObject({ id: 3, ok: false, error: { code: 'not_found' } });
    expect(await dispatchRequest(r.service, { id: 4 })).toMatchObject({ id: 4, ok: false, error: { code: 'invalid_argument' } });
    expect(r.calls).toEqual([['groups.leave', { name: 'OPS' }]]);
  });

  it('forwards known methods unparsed to a service whose own boundary validates, and maps its errors', async () => {
    const forwarded: [MethodName, unknown][] = [];
    const service: ForwardingService = {
      call: () => Promise.reject(new Error('typed calls are not used by faces')),
      forward: async (method, params) => {
        forwarded.push([method, params]);
        if (method === 'peers.inspect') throw Object.assign(new Error('far side refused'), { code: 'ignored' });
        return { forwarded: method };
      },
      on: () => () => undefined,
    };
    expect(await dispatchRequest(service, { id: 1, method: 'groups.leave', params: { name: '' } })).toEqual({ id: 1, ok: true, result: { forwarded: 'groups.leave' } });
    expect(await dispatchRequest(service, { id: 2, method: 'node.info' })).toEqual({ id: 2, ok: true, result: { forwarded: 'node.info' } });
    expect(await dispatchRequest(service, { id: 3, method: 'shell.exec', params: {} })).toMatchObject({ id: 3, ok: false, error: { code: 'not_found' } });
    expect(await dispatchRequest(service, { id: 4, method: 'peers.inspect', params: { nodeId: 1 } })).toEqual({ id: 4, ok: false, error: { code: 'internal', message: 'far side refused' } });
    expect(forwarded).toEqual([
      ['groups.leave', { name: '' }],
      ['node.info', {}],
      ['peers.inspect', { nodeId: 1 }],
    ]);
  });
});
