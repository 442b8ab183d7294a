import { describe, expect, it } from 'vitest';
import type { PilotApi } from '../../../shared/contract';
import { ConsoleCallError } from './errors';
import { apiUrlFor, pickClient } from './pick';
import { preloadClient } from './preload';

// A stand-in for what main/electron/pilot-api.ts exposes as window.pilot: the same shape.
function fakePilot(): { pilot: PilotApi; calls: [string, unknown][]; emit: (name: string, data: unknown) => void } {
  const calls: [string, unknown][] = [];
  const subs = new Map<string, Set<(d: unknown) => void>>();
  const domain = (d: string) =>
    new Proxy(
      {},
      {
        get: (_t, name: string) => async (args: unknown) => {
          calls.push([`${d}.${name}`, args]);
          if (name === 'inspect') throw { code: 'not_found', message: 'no such peer' };
          return { ok: `${d}.${name}` };
        },
      },
    );
  const events = new Proxy(
    {},
    {
      get: (_t, name: string) => (h: (d: unknown) => void) => {
        const set = subs.get(name) ?? new Set();
        subs.set(name, set);
        set.add(h);
        return () => set.delete(h);
      },
    },
  );
  const pilot = { node: domain('node'), peers: domain('peers'), groups: domain('groups'), events } as unknown as PilotApi;
  return { pilot, calls, emit: (name, data) => subs.get(name)?.forEach((h) => h(data)) };
}

describe('preloadClient', () => {
  it('routes contract methods to window.pilot.<domain>.<name>', async () => {
    const f = fakePilot();
    const c = preloadClient(f.pilot);
    expect(await c.call('peers.ping', { target: 'alpha', count: 3 })).toEqual({ ok: 'peers.ping' });
    expect(await c.call('groups.join', { name: 'BACKBONE' })).toEqual({ ok: 'groups.join' });
    expect(f.calls).toEqual([
      ['peers.ping', { target: 'alpha', count: 3 }],
      ['groups.join', { name: 'BACKBONE' }],
    ]);
    expect(c.kind).toBe('electron');
    expect(c.status()).toBe('open');
  });

  it('turns the preload’s plain-object rejections into ConsoleCallError', async () => {
    const err = await preloadClient(fakePilot().pilot).call('peers.inspect', { nodeId: 4 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConsoleCallError);
    expect(err).toMatchObject({ code: 'not_found', message: 'no such peer' });
  });

  it('subscribes through pilot.events.onX and unsubscribes', () => {
    const f = fakePilot();
    const c = preloadClient(f.pilot);
    const got: unknown[] = [];
    const off = c.on('peer.pathChanged', (e) => got.push(e));
    f.emit('onPeerPathChanged', { nodeId: 1 });
    off();
    f.emit('onPeerPathChanged', { nodeId: 2 });
    expect(got).toEqual([{ nodeId: 1 }]);
  });
});

describe('pickClient', () => {
  it('derives the API socket from the page URL and its token', () => {
    expect(apiUrlFor({ protocol: 'http:', host: '127.0.0.1:4100', search: '?token=a%2Bb' })).toBe('ws://127.0.0.1:4100/api?token=a%2Bb');
    expect(apiUrlFor({ protocol: 'http:', host: '127.0.0.1:4100', search: '' })).toBeUndefined();
    expect(apiUrlFor({ protocol: 'file:', host: '', search: '?token=x' })).toBeUndefined();
  });

  it('prefers the Electron preload and has nothing without preload or token', () => {
    expect(pickClient({ pilot: fakePilot().pilot, location: { protocol: 'file:', host: '', search: '' } })?.kind).toBe('electron');
    expect(pickClient({ location: { protocol: 'http:', host: 'x', search: '' } })).toBeUndefined();
  });
});
