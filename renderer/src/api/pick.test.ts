import { describe, expect, it } from 'vitest';
import type { ConsoleEvent, PilotBridge, RequestEnvelope, ResponseEnvelope } from '../../../shared/contract';
import { createEnvelopeClient } from '../../../shared/envelope-client';
import { ConsoleCallError } from './errors';
import { apiUrlFor, pickClient } from './pick';

// window.pilot as the preload builds it (main/electron/pilot-api.ts): the shared envelope client over
// a fake IPC that answers like main does.
function fakePilot(): { pilot: PilotBridge; sent: RequestEnvelope[]; emit: (e: ConsoleEvent) => void } {
  const sent: RequestEnvelope[] = [];
  const listeners = new Set<(e: ConsoleEvent) => void>();
  const pilot = createEnvelopeClient({
    request: async (r): Promise<ResponseEnvelope> => {
      sent.push(r);
      if (r.method === 'peers.inspect') return { id: r.id, ok: false, error: { code: 'not_found', message: 'no such peer' } };
      return { id: r.id, ok: true, result: { ok: r.method } };
    },
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  });
  return { pilot, sent, emit: (e) => listeners.forEach((l) => l(e)) };
}

const electronPage = (pilot: PilotBridge) => ({ pilot, location: { protocol: 'file:', host: '', search: '' } });

describe('the Electron client (window.pilot)', () => {
  it('calls contract methods through pilot.call', async () => {
    const f = fakePilot();
    const c = pickClient(electronPage(f.pilot))!;
    expect(await c.call('peers.ping', { target: 'alpha', count: 3 })).toEqual({ ok: 'peers.ping' });
    expect(await c.call('groups.join', { name: 'BACKBONE' })).toEqual({ ok: 'groups.join' });
    expect(f.sent.map((r) => [r.method, r.params])).toEqual([
      ['peers.ping', { target: 'alpha', count: 3 }],
      ['groups.join', { name: 'BACKBONE' }],
    ]);
    expect(c.kind).toBe('electron');
    expect(c.status()).toBe('open');
  });

  it('turns the preload’s plain-object rejections into ConsoleCallError', async () => {
    const err = await pickClient(electronPage(fakePilot().pilot))!.call('peers.inspect', { nodeId: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsoleCallError);
    expect(err).toMatchObject({ code: 'not_found', message: 'no such peer' });
  });

  it('subscribes through pilot.on and unsubscribes', () => {
    const f = fakePilot();
    const c = pickClient(electronPage(f.pilot))!;
    const got: unknown[] = [];
    const off = c.on('peer.pathChanged', (e) => got.push(e));
    f.emit({ event: 'peer.pathChanged', data: { nodeId: 1, from: 'relay', to: 'direct' } });
    off();
    f.emit({ event: 'peer.pathChanged', data: { nodeId: 2, from: 'relay', to: 'direct' } });
    expect(got).toEqual([{ nodeId: 1, from: 'relay', to: 'direct' }]);
  });
});

describe('pickClient', () => {
  it('derives the API socket from the page URL and its token', () => {
    expect(apiUrlFor({ protocol: 'http:', host: '127.0.0.1:4100', search: '?token=a%2Bb' })).toBe('ws://127.0.0.1:4100/api?token=a%2Bb');
    expect(apiUrlFor({ protocol: 'http:', host: '127.0.0.1:4100', search: '' })).toBeUndefined();
    expect(apiUrlFor({ protocol: 'file:', host: '', search: '?token=x' })).toBeUndefined();
  });

  it('prefers the Electron preload and has nothing without preload or token', () => {
    expect(pickClient(electronPage(fakePilot().pilot))?.kind).toBe('electron');
    expect(pickClient({ location: { protocol: 'http:', host: 'x', search: '' } })).toBeUndefined();
  });
});
