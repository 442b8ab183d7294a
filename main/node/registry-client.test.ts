import { describe, it, expect, afterEach, vi } from 'vitest';
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FrameDecoder, MAX_FRAME, decodeJson, encodeFrame, encodeJsonFrame } from '../wire/framing';
import { RegistryClient, RegistryError, RegistryProtocolError } from './registry-client';
import type { RegistryEvent } from '../wire/registry';
import type { Backbone } from '../backbone';
import { newIdentity, regAddr, startTestBackbone } from '../backbone/testing/helpers';

type Answer = Record<string, unknown> | 'close' | 'silent' | { frames: unknown[] } | { bytes: Uint8Array };

/**
 * A scripted registry: `answer(msg, connIndex)` returns a reply, 'close', 'silent', several JSON
 * frames (`{frames}`: any JSON values, e.g. a reply and then pushed events) or raw bytes.
 */
async function fakeRegistry(answer: (msg: Record<string, unknown>, conn: number) => Answer) {
  let conns = 0;
  let requests = 0;
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    const idx = conns++;
    sockets.push(s);
    const dec = new FrameDecoder();
    s.on('error', () => undefined);
    s.on('data', (c: Buffer) => {
      for (const f of dec.push(new Uint8Array(c))) {
        requests++;
        const r = answer(decodeJson(f) as Record<string, unknown>, idx);
        if (r === 'close') s.destroy();
        else if (r === 'silent') continue;
        else if ('bytes' in r && r.bytes instanceof Uint8Array) s.write(r.bytes);
        else if ('frames' in r && Array.isArray(r.frames)) for (const x of r.frames) s.write(encodeJsonFrame(x));
        else s.write(encodeJsonFrame(r));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `127.0.0.1:${port}`,
    connections: () => conns,
    requests: () => requests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const KEY = 'q'.repeat(43) + '=';
/** A complete, valid lookup_ok for node `id`. */
function lookupOk(id: unknown): Record<string, unknown> {
  const n = typeof id === 'number' ? id : 0;
  const hex = (x: number): string => x.toString(16).toUpperCase().padStart(4, '0');
  return {
    type: 'lookup_ok',
    node_id: n,
    address: `0:0000.${hex(n >>> 16)}.${hex(n & 0xffff)}`,
    networks: [0],
    public_key: KEY,
    public: false,
    polo_score: 0,
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('RegistryClient error mapping', () => {
  it('maps a reference registry bare error to a refusal (unavailable) and our codes through', async () => {
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
    // It answered: a refusal without a reason (registry-errors.ts), not a connection failure.
    expect(e1).toMatchObject({ code: 'unavailable', message: 'registry: request failed', wireCode: undefined });
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

describe('RegistryClient against a malformed or hostile registry (real TCP)', () => {
  const bad: [string, unknown][] = [
    ['missing fields', { type: 'lookup_ok', node_id: 1 }],
    ['an id of the wrong type', { ...lookupOk(1), node_id: '1' }],
    ['a negative id', { ...lookupOk(1), node_id: -1 }],
    ['an id above 2^32-1', { ...lookupOk(1), node_id: 2 ** 32 }],
    ['a fractional id', { ...lookupOk(1), node_id: 1.5 }],
    ['a key of the wrong size', { ...lookupOk(1), public_key: 'AAAA' }],
    ['an address that is not one', { ...lookupOk(1), address: 'x'.repeat(5000) }],
    ['a hostname with terminal escapes', { ...lookupOk(1), hostname: '\u001b[31mevil' }],
    ['an oversized tag', { ...lookupOk(1), tags: ['a'.repeat(1000)] }],
    ['a network id out of range', { ...lookupOk(1), networks: [0, 70_000] }],
    ['a null score (Infinity written by JSON)', { ...lookupOk(1), polo_score: null }],
    ['a real_addr without a port', { ...lookupOk(1), public: true, real_addr: 'example.com' }],
    ['an array', [lookupOk(1)]],
    ['a number', 42],
    ['a string', 'lookup_ok'],
    ['null', null],
    ['the wrong reply type', { ...lookupOk(1), type: 'resolve_ok' }],
  ];

  it.each(bad)('rejects a reply with %s as RegistryProtocolError, only that call, and keeps the connection', async (_what, reply) => {
    const f = await fakeRegistry((m) => (m['node_id'] === 666 ? { frames: [reply] } : lookupOk(m['node_id'])));
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address });
    cleanups.push(() => c.close());
    const e = await c.lookup(666).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryProtocolError);
    expect(e).toMatchObject({ code: 'internal', requestType: 'lookup', message: expect.stringMatching(/^registry: malformed reply to lookup: /) });
    expect((e as RegistryProtocolError).hint).toContain(f.address);
    expect(c.stats().malformedReplies).toBe(1);
    expect(f.requests()).toBe(1); // not retried
    expect(await c.lookup(7)).toMatchObject({ type: 'lookup_ok', node_id: 7 });
    expect(f.connections()).toBe(1); // framing was intact: same connection
  });

  it('drops unknown fields and accepts what a reference registry omits', async () => {
    // an own "__proto__" key, as JSON.parse creates it (an object literal would set the prototype instead)
    const hostile = JSON.stringify(lookupOk(3)).replace(/}$/, ',"__proto__":{"polluted":true},"extra":"xxxx"}');
    const f = await fakeRegistry((m) =>
      m['type'] === 'lookup'
        ? { bytes: encodeFrame(new TextEncoder().encode(hostile)) }
        : { type: 'list_networks_ok', networks: [{ id: 0, name: 'backbone', members: 5, join_rule: 'open' }] },
    );
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address });
    cleanups.push(() => c.close());
    const r = await c.lookup(3);
    expect(r).toEqual(lookupOk(3));
    expect(Object.getPrototypeOf(r)).toBe(Object.prototype);
    expect(Object.hasOwn(r, '__proto__')).toBe(false);
    expect(await c.listNetworks()).toEqual({
      type: 'list_networks_ok',
      networks: [{ id: 0, name: 'backbone', members: 5, online: 0, join_rule: 'open' }],
    });
  });

  it('rejects invalid JSON without retrying and reconnects for the next call', async () => {
    const f = await fakeRegistry((m, conn) => (conn === 0 ? { bytes: encodeFrame(new TextEncoder().encode('{"type":')) } : lookupOk(m['node_id'])));
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address, backoffMs: 5 });
    cleanups.push(() => c.close());
    await expect(c.lookup(1)).rejects.toMatchObject({ name: 'RegistryProtocolError', code: 'internal', message: expect.stringContaining('invalid JSON') });
    expect(f.requests()).toBe(1);
    expect(await c.lookup(2)).toMatchObject({ node_id: 2 });
    expect(f.connections()).toBe(2);
    expect(c.stats().malformedReplies).toBe(1);
  });

  it('rejects an oversize frame as soon as its length is seen and reconnects for the next call', async () => {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, MAX_FRAME + 1);
    const f = await fakeRegistry((m, conn) => (conn === 0 ? { bytes: header } : lookupOk(m['node_id'])));
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address, backoffMs: 5 });
    cleanups.push(() => c.close());
    await expect(c.lookup(1)).rejects.toMatchObject({ name: 'RegistryProtocolError', message: expect.stringContaining('exceeds') });
    expect(await c.lookup(2)).toMatchObject({ node_id: 2 });
    expect(f.connections()).toBe(2);
  });

  it('reads hostile code and hint fields of an error reply as absent', async () => {
    const f = await fakeRegistry((m) =>
      m['node_id'] === 1 ? { type: 'error', error: 'request failed', code: { evil: true }, hint: 5 } : { error: 'x', code: 'not_found', hint: 'h'.repeat(10_000) },
    );
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address });
    cleanups.push(() => c.close());
    const e1 = await c.lookup(1).catch((x: unknown) => x);
    expect(e1).toBeInstanceOf(RegistryError);
    expect(e1).toMatchObject({ code: 'unavailable', wireCode: undefined, hint: undefined });
    const e2 = await c.lookup(2).catch((x: unknown) => x);
    expect(e2).toMatchObject({ code: 'not_found', wireCode: 'not_found', hint: undefined });
  });

  it('drops and counts malformed pushed events, delivers the valid ones, survives a throwing handler', async () => {
    const ev = (over: Record<string, unknown>): Record<string, unknown> => ({
      type: 'event',
      event: 'trust_changed',
      time: '2026-01-01T00:00:00.000Z',
      node_id: 1,
      peer_id: 2,
      trusted: true,
      ...over,
    });
    const malformed = [
      ev({ event: 'no_such_event' }),
      ev({ node_id: 'one' }),
      ev({ node_id: -5 }),
      ev({ time: undefined }),
      ev({ name: 'NOT A NAME' }),
      ev({ reason: 'because' }),
    ];
    const f = await fakeRegistry((m) =>
      m['type'] === 'subscribe_events'
        ? { frames: [{ type: 'subscribe_events_ok', node_id: 1 }, ev({ peer_id: 10 }), ...malformed, ev({ peer_id: 11 }), ev({ peer_id: 12 })] }
        : 'silent',
    );
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address, identity: newIdentity(), nodeId: 1 });
    cleanups.push(() => c.close());
    const got: RegistryEvent[] = [];
    const sub = c.subscribeEvents({
      onEvent: (e) => {
        got.push(e);
        if (e.peer_id === 11) throw new Error('handler bug');
      },
    });
    await sub.ready;
    await vi.waitFor(() => expect(got, 'the valid events').toHaveLength(3), { timeout: 5000 });
    expect(got.map((e) => e.peer_id)).toEqual([10, 11, 12]);
    expect(c.stats().droppedEvents).toBe(malformed.length);
    expect(sub.connected).toBe(true);
    sub.close();
  });

  it('rejects ready when the subscribe reply is malformed', async () => {
    const f = await fakeRegistry(() => ({ type: 'subscribe_events_ok', node_id: 'me' }));
    cleanups.push(f.close);
    const c = new RegistryClient({ address: f.address, identity: newIdentity(), nodeId: 1 });
    cleanups.push(() => c.close());
    const sub = c.subscribeEvents({ onEvent: () => undefined });
    await expect(sub.ready).rejects.toBeInstanceOf(RegistryProtocolError);
    expect(sub.connected).toBe(false);
  });
});

describe('RegistryClient connection handling', () => {
  it('reconnects and retries once after the connection drops mid-request', async () => {
    const f = await fakeRegistry((m, conn) => (conn === 0 ? 'close' : lookupOk(m['node_id'])));
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
    await vi.waitFor(() => expect(sub.connected, 'subscription to notice the restart').toBe(false), { timeout: 5000 });
    bb = await startTestBackbone({ dataDir: dir, registry: `127.0.0.1:${port}` });
    await vi.waitFor(() => expect(sub.connected, 're-subscription').toBe(true), { timeout: 10_000 });
    expect(await b.joinNetwork('team')).toMatchObject({ type: 'join_network_ok' }); // b's old connection is dead: retried
    await vi.waitFor(() => expect(events.some((e) => e.event === 'member_joined' && e.node_id === b.nodeId), 'event after restart').toBe(true), { timeout: 5000 });
    // failed reconnect attempts while the backbone is down also report connected: false
    expect(statuses.filter((x, i) => i === 0 || x !== statuses[i - 1])).toEqual([true, false, true]);
    sub.close();
  });
});
