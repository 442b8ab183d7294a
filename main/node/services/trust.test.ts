import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile } from 'node:fs/promises';
import { TrustStore } from './trust-store';
import { sendMessage } from './data-exchange';
import { echo } from './echo';
import { TestNet, waitFor, type Peer } from './testkit';
import type { TrustChange } from './trust';

// Real backbone + real nodes over UDP on 127.0.0.1, in process.
let net: TestNet;
beforeAll(async () => {
  net = await TestNet.start();
});
afterAll(async () => {
  await net?.close();
});

const becomes = (p: Peer, nodeId: number, state: TrustChange['state']): Promise<unknown> =>
  p.svc.trust.stateOf(nodeId) === state ? Promise.resolve() : waitFor<[TrustChange]>(p.svc.trust, 'changed', (c) => c.nodeId === nodeId && c.state === state);

describe('trust handshake (port 444)', () => {
  it('request → pending → approve: both trusted, mirrored to the registry, persisted and reloaded', async () => {
    const a = await net.peer({ public: false });
    const b = await net.peer({ public: true });
    // A is private: B cannot resolve it yet.
    await expect(b.node.registry.resolve(a.node.nodeId)).rejects.toThrow();

    const pending = waitFor(b.svc.trust, 'request');
    expect(await a.svc.trust.request(b.node.nodeId, 'let me in')).toEqual({ node_id: b.node.nodeId, status: 'sent', via: 'direct' });
    const [req] = await pending;
    expect(req).toMatchObject({ nodeId: a.node.nodeId, justification: 'let me in', publicKey: a.identity.publicKeyBase64 });
    expect(a.svc.trust.stateOf(b.node.nodeId)).toBe('pending_out');
    expect(b.svc.trust.pendingJson().pending).toEqual([
      { justification: 'let me in', node_id: a.node.nodeId, public_key: a.identity.publicKeyBase64, received_at: expect.any(Number) },
    ]);

    const aTrusts = becomes(a, b.node.nodeId, 'trusted');
    expect(await b.svc.trust.approve(a.node.nodeId)).toEqual({ node_id: a.node.nodeId, status: 'approved' });
    await aTrusts;
    await Promise.all([a.svc.settled(), b.svc.settled()]);

    expect(b.svc.trust.trustedJson().trusted).toEqual([
      { approved_at: expect.any(Number), mutual: false, network: 0, node_id: a.node.nodeId, public_key: a.identity.publicKeyBase64 },
    ]);
    expect(a.svc.trust.listTrusted()).toMatchObject([{ nodeId: b.node.nodeId, mutual: true, publicKey: b.identity.publicKeyBase64 }]);
    expect(b.svc.trust.pendingJson().pending).toEqual([]);
    // report_trust reached the registry: B may now resolve private A.
    expect((await b.node.registry.resolve(a.node.nodeId)).node_id).toBe(a.node.nodeId);

    // trust.json on disk, and reloaded after a restart of the services.
    const onDisk = JSON.parse(await readFile(b.svc.trustFile, 'utf8')) as { trusted: { node_id: number }[] };
    expect(onDisk.trusted.map((t) => t.node_id)).toEqual([a.node.nodeId]);
    expect((await TrustStore.load(a.svc.trustFile)).isTrusted(b.node.nodeId)).toBe(true);
    await b.svc.stop();
    const { startServices } = await import('./index');
    b.svc = await startServices(b.node, { dataDir: b.dir });
    expect(b.svc.trust.isTrusted(a.node.nodeId)).toBe(true);
  });

  it('reject clears the request on both sides', async () => {
    const a = await net.peer({ public: true });
    const b = await net.peer({ public: true });
    const pending = waitFor(b.svc.trust, 'request');
    await a.svc.trust.request(b.node.nodeId, 'hello');
    await pending;
    const cleared = becomes(a, b.node.nodeId, 'none');
    expect(await b.svc.trust.reject(a.node.nodeId, 'no thanks')).toEqual({ node_id: a.node.nodeId, status: 'rejected' });
    await cleared;
    expect(b.svc.trust.stateOf(a.node.nodeId)).toBe('none');
    expect(a.svc.trust.isTrusted(b.node.nodeId)).toBe(false);
  });

  it('revoke removes trust on both sides and at the registry', async () => {
    const a = await net.peer({ public: false });
    const b = await net.peer({ public: true });
    const pending = waitFor(b.svc.trust, 'request');
    await a.svc.trust.request(b.node.nodeId);
    await pending;
    const aTrusts = becomes(a, b.node.nodeId, 'trusted');
    await b.svc.trust.approve(a.node.nodeId);
    await aTrusts;
    await b.svc.settled();
    expect((await b.node.registry.resolve(a.node.nodeId)).node_id).toBe(a.node.nodeId);

    const bForgets = becomes(b, a.node.nodeId, 'none');
    expect(await a.svc.trust.revoke(b.node.nodeId)).toEqual({ node_id: b.node.nodeId, status: 'revoked' });
    await bForgets;
    expect(a.svc.trust.isTrusted(b.node.nodeId)).toBe(false);
    await expect(b.node.registry.resolve(a.node.nodeId)).rejects.toThrow();
    await expect(a.svc.trust.revoke(b.node.nodeId)).rejects.toMatchObject({ code: 'not_found', message: `handshake revoke: node ${b.node.nodeId} was not trusted` });
  });

  // Issue 15: only a pending request of ours can be approved. An approval relayed through the
  // registry that arrives after we revoked (our request is gone) must not re-create trust.
  it('a registry-relayed approval arriving after a revoke does not re-create trust', async () => {
    const a = await net.peer({ public: true });
    const b = await net.peer({ public: true });
    const pending = waitFor(b.svc.trust, 'request');
    await a.svc.trust.request(b.node.nodeId);
    await pending;
    const aTrusts = becomes(a, b.node.nodeId, 'trusted');
    await b.svc.trust.approve(a.node.nodeId);
    await aTrusts;
    // b's approve also answered through the registry: that relayed copy may still be in flight here.
    await a.svc.trust.revoke(b.node.nodeId);
    await a.svc.settled();
    expect(a.svc.trust.stateOf(b.node.nodeId)).toBe('none');
    // b's approval arrives late, through the registry's inbox.
    await b.node.registry.respondHandshake(a.node.nodeId, true).catch(() => undefined);
    await a.svc.trust.poll();
    await a.svc.settled();
    expect(a.svc.trust.stateOf(b.node.nodeId)).toBe('none');
    expect(a.svc.trust.isTrusted(b.node.nodeId)).toBe(false);
  });

  it('auto-approves a mutual request', async () => {
    const a = await net.peer({ public: true });
    const b = await net.peer({ public: true });
    const pending = waitFor(b.svc.trust, 'request');
    await a.svc.trust.request(b.node.nodeId, 'a→b');
    await pending;
    const both = Promise.all([becomes(a, b.node.nodeId, 'trusted'), becomes(b, a.node.nodeId, 'trusted')]);
    await b.svc.trust.request(a.node.nodeId, 'b→a');
    await both;
    expect(a.svc.trust.listTrusted()[0]).toMatchObject({ nodeId: b.node.nodeId, mutual: true });
    expect(b.svc.trust.listTrusted()[0]).toMatchObject({ nodeId: a.node.nodeId, mutual: true });
    expect(a.svc.trust.listPending()).toEqual([]);
    expect(b.svc.trust.listPending()).toEqual([]);
  });

  it('auto-approves a request from a node sharing a group', async () => {
    const a = await net.peer({ public: false });
    const b = await net.peer({ public: false });
    const g = await a.node.registry.createNetwork(`lab-${a.node.nodeId}`);
    await b.node.registry.joinNetwork(g.network_id);
    const bTrusts = becomes(b, a.node.nodeId, 'trusted');
    const aTrusts = becomes(a, b.node.nodeId, 'trusted');
    expect((await a.svc.trust.request(b.node.nodeId, 'group mate')).via).toBe('direct');
    await Promise.all([aTrusts, bTrusts]);
    expect(b.svc.trust.trustedJson().trusted[0]).toMatchObject({ node_id: a.node.nodeId, network: g.network_id, mutual: false });
    expect(b.svc.trust.listPending()).toEqual([]);
  });

  it('relays the handshake through the registry when the target is private', async () => {
    const a = await net.peer({ public: false });
    const b = await net.peer({ public: false });
    const pending = waitFor(b.svc.trust, 'request');
    expect(await a.svc.trust.request(b.node.nodeId, 'via registry')).toMatchObject({ status: 'sent', via: 'relay' });
    const [req] = await pending;
    expect(req).toMatchObject({ nodeId: a.node.nodeId, justification: 'via registry' });
    const aTrusts = becomes(a, b.node.nodeId, 'trusted');
    await b.svc.trust.approve(a.node.nodeId);
    await aTrusts;
    await b.svc.settled();
    // the relayed request carried no key: filled in from the registry
    expect(b.svc.trust.listTrusted()[0]).toMatchObject({ nodeId: a.node.nodeId, publicKey: a.identity.publicKeyBase64 });
    expect((await a.node.registry.resolve(b.node.nodeId)).node_id).toBe(b.node.nodeId);
  });
});

describe('trust enforcement', () => {
  it('a private node refuses streams from an untrusted peer until it approves it', async () => {
    const a = await net.peer({ public: true });
    const b = await net.peer({ public: false });
    // B reaches A first (A is public), so A has a tunnel to private B, as any earlier contact would give.
    await b.node.controlPing(a.node.nodeId);

    await expect(sendMessage(a.node, b.node.nodeId, 'TEXT', 'hi')).rejects.toMatchObject({ code: 'connection_failed', message: expect.stringMatching(/connection refused/) });
    await expect(echo(a.node, b.node.nodeId, new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ message: expect.stringMatching(/connection refused/) });
    expect(b.node.counters.refusedUntrusted).toBeGreaterThanOrEqual(2);
    // The other way round works: A is public.
    expect((await sendMessage(b.node, a.node.nodeId, 'TEXT', 'hello public')).reply).toBe('ACK TEXT 12 bytes');

    // Port 444 stays open, so A can ask; once B approves, A gets in.
    const pending = waitFor(b.svc.trust, 'request');
    expect((await a.svc.trust.request(b.node.nodeId, 'please')).via).toBe('direct');
    await pending;
    await b.svc.trust.approve(a.node.nodeId);
    expect((await sendMessage(a.node, b.node.nodeId, 'TEXT', 'hi')).reply).toBe('ACK TEXT 2 bytes');
    expect(await echo(a.node, b.node.nodeId, new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('policy "open" accepts everyone (reference behaviour)', async () => {
    const a = await net.peer({ public: true });
    const b = await net.peer({ public: false, trust: { policy: 'open' } });
    await b.node.controlPing(a.node.nodeId);
    expect((await sendMessage(a.node, b.node.nodeId, 'TEXT', 'hi')).reply).toBe('ACK TEXT 2 bytes');
  });
});
