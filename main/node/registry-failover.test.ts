import { afterEach, describe, expect, it } from 'vitest';
import { isPilotError } from '../../shared/errors';
import { newIdentity } from '../backbone/testing/helpers';
import { RegistryClient } from './registry-client';
import { scriptedRegistry, type ScriptedAnswer } from './testing/scripted-registry';

// The registry client's failover over real TCP sockets, against two scripted registries (each
// answers with its own marker so the test sees which one replied). The feature test with real
// backbone instances sharing an etcd directory is test/etcd/failover.test.ts.

const KEY = 'q'.repeat(43) + '=';
/** A lookup_ok whose hostname says which registry answered. */
const lookupOk = (id: number, by: string): Record<string, unknown> => ({
  type: 'lookup_ok',
  node_id: id,
  address: `0:0000.0000.${id.toString(16).toUpperCase().padStart(4, '0')}`,
  networks: [0],
  public_key: KEY,
  public: true,
  hostname: by,
  polo_score: 0,
});

function standard(name: string, overrides: Record<string, (m: Record<string, unknown>) => ScriptedAnswer> = {}) {
  return scriptedRegistry((m) => {
    const o = overrides[String(m['type'])];
    if (o) return o(m);
    switch (m['type']) {
      case 'lookup':
        return lookupOk(Number(m['node_id']), name);
      case 'subscribe_events':
        return { type: 'subscribe_events_ok', node_id: Number(m['node_id']) };
      case 'create_network':
        return { type: 'create_network_ok', network_id: 7, name: String(m['name']), join_rule: 'open', address: '7:0007.0000.0003' };
      default:
        return { error: 'unknown request' };
    }
  });
}

describe('registry client with several registries', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const f of cleanup.splice(0).reverse()) await f();
  });

  it('moves to the next registry when the current one dies, counts the failover and reports it once', async () => {
    const a = await standard('reg-a');
    const b = await standard('reg-b');
    cleanup.push(a.kill, b.kill);
    const moves: string[] = [];
    const rc = new RegistryClient({ address: `${a.address},${b.address}`, backoffMs: 20, onFailover: (from, to) => moves.push(`${from}->${to}`) });
    cleanup.push(() => rc.close());
    expect(rc.addresses).toEqual([a.address, b.address]);

    expect((await rc.lookup(5)).hostname).toBe('reg-a');
    expect(rc.current).toBe(a.address);
    await a.kill();
    expect((await rc.lookup(6)).hostname).toBe('reg-b');
    expect((await rc.lookup(7)).hostname).toBe('reg-b');
    expect(rc.current).toBe(b.address);
    expect(rc.stats().failovers).toBe(1);
    expect(moves).toEqual([`${a.address}->${b.address}`]);
  });

  it('starts on the second registry when the first is down from the start (no failover counted)', async () => {
    const a = await standard('reg-a');
    await a.kill();
    const b = await standard('reg-b');
    cleanup.push(b.kill);
    const rc = new RegistryClient({ address: [a.address, b.address], backoffMs: 20 });
    cleanup.push(() => rc.close());
    expect((await rc.lookup(5)).hostname).toBe('reg-b');
    expect(rc.stats().failovers).toBe(0);
  });

  it('sends an idempotent request in flight again on the next registry', async () => {
    const a = await standard('reg-a', { lookup: () => 'close' });
    const b = await standard('reg-b');
    cleanup.push(a.kill, b.kill);
    const rc = new RegistryClient({ address: [a.address, b.address], backoffMs: 20 });
    cleanup.push(() => rc.close());
    expect((await rc.lookup(9)).hostname).toBe('reg-b');
    expect(a.seen).toEqual(['lookup']);
    expect(b.seen).toEqual(['lookup']);
  });

  it('does not send a non-idempotent request in flight to another registry: connection_failed, with a hint', async () => {
    const a = await standard('reg-a', { create_network: () => 'close' });
    const b = await standard('reg-b');
    cleanup.push(a.kill, b.kill);
    const rc = new RegistryClient({ address: [a.address, b.address], identity: newIdentity(), nodeId: 3, backoffMs: 20 });
    cleanup.push(() => rc.close());
    const err = await rc.createNetwork('ops').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPilotError(err) && err.code).toBe('connection_failed');
    expect(isPilotError(err) && err.hint).toMatch(/may have been applied/);
    expect(b.seen).not.toContain('create_network');
    // the next request goes to the next registry
    expect((await rc.lookup(1)).hostname).toBe('reg-b');
  });

  it('one registry: a request in flight is retried once on a new connection, as before (also a non-idempotent one)', async () => {
    let first = true;
    const a = await standard('reg-a', {
      create_network: (m) => {
        if (first) {
          first = false;
          return 'close';
        }
        return { type: 'create_network_ok', network_id: 7, name: String(m['name']), join_rule: 'open', address: '7:0007.0000.0003' };
      },
    });
    cleanup.push(a.kill);
    const rc = new RegistryClient({ address: a.address, identity: newIdentity(), nodeId: 3, backoffMs: 20 });
    cleanup.push(() => rc.close());
    expect((await rc.createNetwork('ops')).network_id).toBe(7);
    expect(a.seen).toEqual(['create_network', 'create_network']);
    expect(rc.stats().failovers).toBe(0);
  });

  it('the event subscription follows: re-subscribes on the next registry when its registry dies', async () => {
    const a = await standard('reg-a');
    const b = await standard('reg-b');
    cleanup.push(a.kill, b.kill);
    const rc = new RegistryClient({ address: [a.address, b.address], identity: newIdentity(), nodeId: 3, backoffMs: 20 });
    cleanup.push(() => rc.close());
    const states: boolean[] = [];
    let resubscribed: () => void = () => undefined;
    const again = new Promise<void>((r) => (resubscribed = r));
    const sub = rc.subscribeEvents({
      onEvent: () => undefined,
      onStatus: (s) => {
        states.push(s.connected);
        if (s.connected && states.length > 1) resubscribed();
      },
    });
    await sub.ready;
    expect(a.seen).toContain('subscribe_events');
    await a.kill();
    await again;
    expect(b.seen).toContain('subscribe_events');
    expect(states).toEqual([true, false, true]);
    expect(sub.connected).toBe(true);
    expect(rc.current).toBe(b.address);
  });

  it('every registry down: the typed error names the registry and the hint says what to check', async () => {
    const a = await standard('reg-a');
    const b = await standard('reg-b');
    await a.kill();
    await b.kill();
    const rc = new RegistryClient({ address: [a.address, b.address], backoffMs: 5, reconnectAttempts: 2 });
    cleanup.push(() => rc.close());
    const err = await rc.lookup(1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isPilotError(err) && err.code).toBe('connection_failed');
    expect(isPilotError(err) && err.hint).toMatch(/backbone running/);
  });
});
