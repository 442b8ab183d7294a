import { describe, expect, it } from 'vitest';
import type { IpcMainInvokeEvent } from 'electron';
import type { ConsoleEvents, MethodArgs, MethodName, MethodResult, ResponseEnvelope } from '../../shared/contract';
import { Emitter } from '../../shared/emitter';
import type { ConsoleService } from '../api/service';
import { CALL_CHANNEL, EVENT_CHANNEL } from './channels';
import { registerConsoleIpc, trustedRendererUrl } from './ipc';

type Handler = (e: IpcMainInvokeEvent, ...args: unknown[]) => Promise<unknown>;

function setup() {
  const handlers = new Map<string, Handler>();
  const ipcMain = {
    handle: (ch: string, h: Handler) => void handlers.set(ch, h),
    removeHandler: (ch: string) => void handlers.delete(ch),
  };
  const hub = new Emitter<ConsoleEvents>();
  const calls: [MethodName, unknown][] = [];
  const service: ConsoleService = {
    async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      calls.push([method, args]);
      return { name: 'OPS' } as MethodResult<M>;
    },
    on: (l) => hub.onAny(l),
  };
  const sent: [string, unknown][] = [];
  const win = { destroyed: false, send: (ch: string, d: unknown) => void sent.push([ch, d]), isDestroyed() { return this.destroyed; } };
  const off = registerConsoleIpc({ ipcMain, service, targets: () => [win], isTrustedSender: trustedRendererUrl('http://localhost:5173') });
  const invoke = (url: string, req: unknown) => handlers.get(CALL_CHANNEL)?.({ senderFrame: { url } } as unknown as IpcMainInvokeEvent, req) as Promise<ResponseEnvelope>;
  return { handlers, hub, calls, sent, win, off, invoke };
}

describe('registerConsoleIpc', () => {
  it('validates and runs requests from the console page', async () => {
    const s = setup();
    expect(await s.invoke('file:///app/out/renderer/index.html', { id: 1, method: 'groups.leave', params: { name: 'OPS' } })).toEqual({ id: 1, ok: true, result: { name: 'OPS' } });
    expect(await s.invoke('http://localhost:5173/', { id: 2, method: 'groups.leave', params: { name: '' } })).toMatchObject({ id: 2, ok: false, error: { code: 'invalid_argument' } });
    expect(await s.invoke('file:///x', { id: 3, method: 'shell.exec', params: {} })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await s.invoke('file:///x', 'garbage')).toMatchObject({ ok: false, error: { code: 'invalid_argument' } });
    expect(s.calls).toEqual([['groups.leave', { name: 'OPS' }]]);
  });

  it('refuses requests from any other page', async () => {
    const s = setup();
    expect(await s.invoke('https://evil.example/', { id: 1, method: 'node.info', params: {} })).toMatchObject({ ok: false, error: { code: 'permission_denied' } });
    expect(s.calls).toEqual([]);
  });

  it('forwards service events to live windows, and unregisters', () => {
    const s = setup();
    s.hub.emit('trust.changed', { nodeId: 3, state: 'trusted' });
    s.win.destroyed = true;
    s.hub.emit('trust.changed', { nodeId: 4, state: 'none' });
    expect(s.sent).toEqual([[EVENT_CHANNEL, { event: 'trust.changed', data: { nodeId: 3, state: 'trusted' } }]]);
    s.off();
    expect(s.handlers.size).toBe(0);
    expect(s.hub.size).toBe(0);
  });
});
