import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { backboneAddress, formatAddress } from '../../shared/address';
import { Identity } from '../crypto';
import { createLogger, type LogRecord } from '../util/log';
import { PilotNode } from './node';
import { RegistryError } from './registry-client';
import { registryErrorMeaning } from './registry-errors';
import { scriptedRegistry, type ScriptedRegistry } from './testing/scripted-registry';

// Issue 15, "Reference registry replies": a reference registry answers a refusal with a bare
// `{"error":"<reason>","type":"error"}` (no code; the documented version always says "request
// failed", registry.md §1.1) and refuses our `subscribe_events` extension the same way. The reason
// must reach the user as it was said, with a code that fits, and the refused subscription must be
// noted once while the node carries on.

describe('registry error replies: meaning', () => {
  it('keeps a reference reason as the message, with the code and hint that fit it', () => {
    const m = (error: string): ReturnType<typeof registryErrorMeaning> => registryErrorMeaning({ error, type: 'error' });
    expect(m('node is private')).toMatchObject({ code: 'permission_denied', message: 'registry: node is private', hint: expect.stringMatching(/handshake/) as unknown });
    expect(m('node 42 not found')).toMatchObject({ code: 'not_found', message: 'registry: node 42 not found' });
    expect(m('unknown message type: subscribe_events')).toMatchObject({ code: 'unavailable', hint: expect.stringMatching(/Pilot Fleet backbone/) as unknown });
    expect(m('rate limit exceeded')).toMatchObject({ code: 'unavailable' });
    expect(m('hostname "a" already in use')).toMatchObject({ code: 'already_exists' });
    expect(m('invalid signature')).toMatchObject({ code: 'bad_signature' });
    expect(m('something odd')).toMatchObject({ code: 'internal', message: 'registry: something odd', hint: undefined });
    // The documented reference's generic reply is a refusal without a reason, not a connection failure.
    expect(m('request failed')).toMatchObject({ code: 'unavailable', message: 'registry: request failed', hint: expect.stringMatching(/without a reason/) as unknown });
    expect(registryErrorMeaning({ type: 'error', error: '' })).toMatchObject({ code: 'unavailable', message: 'registry: request failed' });
  });

  it('our own replies go by their code, whatever the text', () => {
    expect(registryErrorMeaning({ type: 'error', error: 'request failed', code: 'not_found', hint: 'no such node' })).toEqual({
      code: 'not_found',
      message: 'registry: request failed',
      hint: 'no such node',
      wireCode: 'not_found',
    });
    expect(registryErrorMeaning({ type: 'error', error: 'request failed', code: 'rate_limited' })).toMatchObject({ code: 'unavailable', wireCode: 'rate_limited' });
  });

  it('a hostile reason is cut to one printable line', () => {
    const m = registryErrorMeaning({ type: 'error', error: `private\n\u0007${'x'.repeat(5000)}` });
    expect(m.message.includes('\n') || m.message.includes('\u0007')).toBe(false);
    expect(m.message.length).toBeLessThan(260);
    expect(m.code).toBe('permission_denied');
  });
});

/**
 * A registry over real TCP that answers like the reference: the node's own calls succeed, a resolve
 * of anyone else is refused with `reason`, and every type it does not know (our extensions)
 * gets the bare error `unknown`.
 */
async function referenceRegistry(opts: { resolveRefusal: string; unknown: string }): Promise<ScriptedRegistry> {
  const keys = new Map<number, string>();
  let next = 1;
  const err = (error: string): Record<string, unknown> => ({ error, type: 'error' });
  const addr = (id: number): string => formatAddress(backboneAddress(id));
  return scriptedRegistry((m) => {
    switch (m['type']) {
      case 'register': {
        const id = next++;
        keys.set(id, String(m['public_key']));
        return { address: addr(id), network_id: 0, node_id: id, public_key: m['public_key'], type: 'register_ok' };
      }
      case 'heartbeat':
        return { time: Math.floor(Date.now() / 1000), type: 'heartbeat_ok' };
      case 'set_visibility':
        return { node_id: m['node_id'], type: 'set_visibility_ok', visibility: m['public'] ? 'public' : 'private' };
      case 'set_hostname':
        return { hostname: m['hostname'], node_id: m['node_id'], type: 'set_hostname_ok' };
      case 'poll_handshakes':
        return { requests: [], responses: [], type: 'poll_handshakes_ok' };
      case 'lookup': {
        const id = Number(m['node_id']);
        const key = keys.get(id);
        if (!key) return err(`node ${id} not found`);
        return { address: addr(id), networks: [0], node_id: id, polo_score: 0, public: false, public_key: key, type: 'lookup_ok' };
      }
      case 'resolve':
        return err(opts.resolveRefusal);
      default:
        return err(opts.unknown);
    }
  });
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A UDP port that takes datagrams and never answers: a beacon that is not there. */
async function silentBeacon(): Promise<string> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  return `127.0.0.1:${s.address().port}`;
}

describe('our node beside a reference registry', () => {
  for (const unknown of ['request failed', 'unknown message type: subscribe_events']) {
    it(`notes the refused event subscription once and carries on (refusal "${unknown}")`, async () => {
      const reg = await referenceRegistry({ resolveRefusal: unknown === 'request failed' ? 'request failed' : 'node is private', unknown });
      cleanups.push(() => reg.close());
      const logs: LogRecord[] = [];
      const node = new PilotNode({
        identity: Identity.generate(),
        registry: reg.address,
        beacon: await silentBeacon(),
        listen: '127.0.0.1:0',
        log: createLogger({ level: 'debug', sinks: [(r) => logs.push(r)] }),
      });
      cleanups.push(() => node.stop());
      await node.start();
      expect(node.nodeId).toBe(1);

      // The refusal settles the subscription: noted once, never asked again.
      await expect.poll(() => logs.filter((l) => l.msg === 'registry event subscription refused').length).toBe(1);
      const refusal = logs.find((l) => l.msg === 'registry event subscription refused')!;
      expect(String(refusal['error'])).toContain(`registry: ${unknown}`);

      // The node keeps working with the registry: its own lookups and heartbeats still succeed.
      expect((await node.registry.lookup(1)).node_id).toBe(1);
      await node.registry.heartbeat();
      await node.registry.heartbeat();
      expect(reg.count('subscribe_events')).toBe(1);
      expect(logs.filter((l) => l.msg === 'registry event subscription refused')).toHaveLength(1);

      // A refusal keeps its reason and meaning instead of "connection failed".
      const e = await node.registry.resolve(7).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RegistryError);
      if (unknown === 'request failed') {
        expect(e).toMatchObject({ code: 'unavailable', message: 'registry: request failed' });
      } else {
        expect(e).toMatchObject({ code: 'permission_denied', message: 'registry: node is private' });
        expect((e as RegistryError).hint).toMatch(/pilotctl handshake/);
      }
      const missing = await node.registry.lookup(4242).catch((x: unknown) => x);
      expect(missing).toMatchObject({ code: 'not_found', message: 'registry: node 4242 not found' });

      // ... and a dial that needs the refused resolve says why, not "connection failed".
      const dial = await node.dial(backboneAddress(7), 7).catch((x: unknown) => x);
      expect(dial).toMatchObject({ code: 'permission_denied' });
      expect(String((dial as Error).message)).toMatch(/will not give out its endpoint \(it is private, or unknown\)/);
      expect(reg.count('subscribe_events')).toBe(1);
    });
  }
});
