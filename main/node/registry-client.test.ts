import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameDecoder, decodeJson, encodeJsonFrame } from '../wire/framing';
import { RegistryClient, RegistryError } from './registry-client';
import type { RegistryEvent } from '../wire/registry';
import type { Backbone } from '../backbone';
import { newIdentity, regAddr, startTestBackbone, waitFor } from '../backbone/testing/helpers';

/** A scripted registry: `answer(msg, connIndex)` returns a reply, 'close', or 'silent'. */
async function fakeRegistry(answer: (msg: Record<string, unknown>, conn: number) => Record<string, unknown> | 'close' | 'silent') {
  let conns = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    const idx = conns++;
    sockets.push(s);
    const dec = new FrameDecoder();
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      for (const f of dec.push(new Uint8Array(c))) {
        const r = answer(decodeJson(f) as Record<string, unknown>, idx);
        if (r === 'close') s.destroy();
        else if (r !== 'silent') s.write(encodeJsonFrame(r));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    connections: () => conns,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('RegistryClient error mapping', () => {
  it('maps a reference registry bare error to connection_failed and our codes through', async () => {
    const f = await fakeRegistry((m) =>
      m['type'] === 'lookup'
        ? { type: 'error', error: 'request failed' }
        : { type: 'error', error: 'request failed', code: 'rate_limited', hint: 'slow down' },
    );
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address });
    cleanups.push(() => c.close());
    const e1 = await c.lookup(1).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RegistryError);
    expect(e1).toMatchObject({ code: 'connection_failed', message: 'registry: request failed', wireCode: undefined });
    const e2 = await c.listNetworks().catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: 'unavailable', wireCode: 'rate_limited', hint: 'slow down' });
    expect(f.connections()).toBe(1); // error replies are not retried
  });

  it('rejects a reply of the wrong type', async () => {
    const f = await fakeRegistry(() => ({ type: 'something_else' }));
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address });
    cleanups.push(() => c.close());
    await expect(c.lookup(1)).rejects.toMatchObject({ code: 'internal' });
  });
});

describe('RegistryClient connection handling', () => {
  it('reconnects and retries once after the connection drops mid-request', async () => {
    const f = await fakeRegistry((m, conn) => (conn === 0 ? 'close' : { type: 'lookup_ok', node_id: m['node_id'] }));
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address, backoffMs: 5 });
    cleanups.push(() => c.close());
    expect(await c.lookup(5)).toMatchObject({ type: 'lookup_ok', node_id: 5 });
    expect(f.connections()).toBe(2);
  });

  it('gives up with timeout when the registry never answers (one retry)', async () => {
    const f = await fakeRegistry(() => 'silent');
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address, timeoutMs: 100, backoffMs: 5 });
    cleanups.push(() => c.close());
    await expect(c.lookup(1)).rejects.toMatchObject({ code: 'timeout' });
    expect(f.connections()).toBe(2);
  });

  it('fails with connection_failed after the reconnect attempts when nothing listens', async () => {
    const f = await fakeRegistry(() => 'silent');
    const addr = f.address;
    await f.close();
    const c = new RegistryClient({ address: addr, reconnectAttempts: 3, backoffMs: 5 });
    cleanups.push(() => c.close());
    await expect(c.lookup(1)).rejects.toMatchObject({ code: 'connection_failed' });
  });

  it('needs an identity and a node id for signed operations', async () => {
    const c = new RegistryClient({ address: '127.0.0.1:1' });
    await expect(c.heartbeat()).rejects.toMatchObject({ code: 'invalid_state' });
    expect(() => new RegistryClient({ address: 'nonsense' })).toThrow(/invalid registry address/);
  });
});

describe('RegistryClient against a real backbone', () => {
  let bb: Backbone | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await bb?.close();
    bb = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('serialises concurrent requests over one connection', async () => {
    bb = await startTestBackbone();
    const c = new RegistryClient({ address: regAddr(bb), identity: newIdentity() });
    cleanups.push(() => c.close());
    await c.register();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => c.updatePoloScore(c.nodeId!, i)));
    expect(results.map((r) => r.polo_score)).toEqual(Array.from({ length: 50 }, (_, i) => (i * (i + 1)) / 2));
    expect(bb.status().registry.connectionsTotal).toBe(1);
  });

  it('keeps working across a backbone restart (request retry and event re-subscription)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilot-rc-'));
    bb = await startTestBackbone({ dataDir: dir });
    const port = bb.registryAddress.port;
    const a = new RegistryClient({ address: regAddr(bb), identity: newIdentity(), backoffMs: 20 });
    const b = new RegistryClient({ address: regAddr(bb), identity: newIdentity(), backoffMs: 20 });
    cleanups.push(() => a.close(), () => b.close());
    await a.register();
    await b.register();
    await a.createNetwork('team');
    const events: RegistryEvent[] = [];
    const statuses: boolean[] = [];
    const sub = a.subscribeEvents({ onEvent: (e) => events.push(e), onStatus: (s) => statuses.push(s.connected) });
    await sub.ready;
    await bb.close();
    await waitFor(() => !sub.connected, 5000, 'subscription to notice the restart');
    bb = await startTestBackbone({ dataDir: dir, registry: `127.0.0.1:${port}` });
    await waitFor(() => sub.connected, 10_000, 're-subscription');
    expect(await b.joinNetwork('team')).toMatchObject({ type: 'join_network_ok' }); // b's old connection is dead: retried
    await waitFor(() => events.some((e) => e.event === 'member_joined' && e.node_id === b.nodeId), 5000, 'event after restart');
    // failed reconnect attempts while the backbone is down also report connected: false
    expect(statuses.filter((x, i) => i === 0 || x !== statuses[i - 1])).toEqual([true, false, true]);
    sub.close();
  });
});
