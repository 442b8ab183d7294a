import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBackbone, type Backbone } from '../../main/backbone';
import { Identity } from '../../main/crypto';
import { PilotNode } from '../../main/node/node';
import { RegistryClient, RegistryError } from '../../main/node/registry-client';
import { silentLogger } from '../../main/util/log';
import { decodeBeacon, encodeBeacon, type BeaconMessage } from '../../main/wire/beacon';

// Issue 10: a private node's endpoint asked for by an untrusted peer, at every door of a real
// backbone: registry lookup / resolve / find_nodes / punch, and the beacon's punch_request. The
// private node is a real PilotNode (registered, discovered at the beacon); the asker is a registered
// node with no trust pair and no shared group. Also covered elsewhere: registry-server.test.ts
// (resolve → permission_denied, find_nodes visibility), daemon/fleet.test.ts (real daemons).
describe("a private node's endpoint asked for by an untrusted peer", () => {
  let bb: Backbone;
  let priv: PilotNode;
  let asker: RegistryClient;
  let askerId = 0;
  let endpoint = '';

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const registry = `127.0.0.1:${bb.registryAddress.port}`;
    priv = new PilotNode({ identity: Identity.generate(), registry, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: false, listen: '127.0.0.1:0', hostname: 'quiet-one', tags: ['secret-gpu'], log: silentLogger });
    await priv.start();
    endpoint = `127.0.0.1:${priv.tunnelEndpoint!.port}`;
    asker = new RegistryClient({ address: registry, identity: Identity.generate() });
    askerId = (await asker.register({ listenAddr: '127.0.0.1:1' })).node_id;
  });
  afterAll(async () => {
    asker?.close();
    await priv?.stop();
    await bb?.close();
  });

  const portOf = (a: string): string => a.slice(a.lastIndexOf(':') + 1);

  it('registry lookup, resolve_hostname (signed or not) and find_nodes give no endpoint; resolve is refused', async () => {
    const lk = await asker.lookup(priv.nodeId);
    expect(lk.public).toBe(false);
    expect(lk.real_addr).toBeUndefined();
    expect(JSON.stringify(lk)).not.toContain(portOf(endpoint));
    expect(JSON.stringify(await asker.resolveHostname('quiet-one'))).not.toContain(portOf(endpoint));
    // our signed form (it answers with what resolve would give the asker): no endpoint, no key
    const signed = await asker.resolveHostname('quiet-one', undefined, { withEndpoint: true });
    expect(signed.node_id).toBe(priv.nodeId);
    expect(signed.real_addr).toBeUndefined();
    expect(JSON.stringify(signed)).not.toContain(portOf(endpoint));
    const e = await asker.resolve(priv.nodeId).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect((e as RegistryError).wireCode).toBe('permission_denied');
    const found = await asker.findNodes({ tags: ['secret-gpu'] });
    expect(found.nodes.map((n) => n.node_id)).not.toContain(priv.nodeId);
    // control: once trusted, the same question is answered
    await asker.reportTrust(priv.nodeId);
    expect((await asker.resolve(priv.nodeId)).real_addr).toBe(endpoint);
    expect((await asker.resolveHostname('quiet-one', undefined, { withEndpoint: true })).real_addr).toBe(endpoint);
    await asker.revokeTrust(priv.nodeId);
    expect(((await asker.resolve(priv.nodeId).catch((x: unknown) => x)) as RegistryError).wireCode).toBe('permission_denied');
    expect((await asker.resolveHostname('quiet-one', undefined, { withEndpoint: true })).real_addr).toBeUndefined();
  });

  // registry.md §8: the reference's `punch` returns both real_addrs without any trust check; its
  // daemon never calls it, so ours applies resolve's visibility rule (interop is unaffected).
  it('registry punch does not disclose the private endpoint to an untrusted requester', async () => {
    const r = await asker.punch(askerId, priv.nodeId).then(
      (x) => JSON.stringify(x),
      (x: unknown) => String((x as RegistryError).wireCode),
    );
    expect(r).not.toContain(portOf(endpoint));
  });

  // beacon.md §2: the reference's beacon answers an unauthenticated punch_request for any node id with
  // a punch_command carrying that node's endpoint. Ours forwards a punch towards a private node only
  // when the registry's visibility rule lets the requester see it, and the request comes from the
  // requester's registered endpoint (a reference daemon resolves first, and is refused such a target).
  it("the beacon's punch_request does not disclose the private endpoint to an untrusted requester", async () => {
    const sock = dgram.createSocket('udp4');
    const got: BeaconMessage[] = [];
    const sources = new Set<string>();
    sock.on('message', (m: Buffer, from: dgram.RemoteInfo) => {
      sources.add(String(from.port));
      if (m[0]! < 0x10) got.push(decodeBeacon(new Uint8Array(m)));
    });
    try {
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
      const send = (m: BeaconMessage): Promise<void> => new Promise<void>((r) => sock.send(encodeBeacon(m), bb.beaconAddress.port, '127.0.0.1', () => r()));
      await send({ type: 'punch_request', requester: askerId, target: priv.nodeId });
      // A discover right after: its reply comes after anything the beacon sent for the punch request.
      await send({ type: 'discover', nodeId: 0 });
      await vi.waitFor(() => expect(got.some((m) => m.type === 'discover_reply')).toBe(true), { timeout: 5000, interval: 10 });
      const leaked = got.filter((m) => m.type === 'punch_command' && String(m.port) === portOf(endpoint));
      expect(leaked).toEqual([]);
      // nor does the private node itself start punching towards the asker (its packets would carry it)
      expect(sources.has(portOf(endpoint))).toBe(false);
    } finally {
      sock.close();
    }
  });
});
