import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackbone, type Backbone } from '../../main/backbone';
import { Identity } from '../../main/crypto';
import { PilotNode } from '../../main/node/node';
import { RegistryClient, RegistryError } from '../../main/node/registry-client';
import { silentLogger } from '../../main/util/log';

// Issue 10: hostname takeover attempts against a real registry over TCP, and one through a real
// node. A hostname belongs to the node that set it until that node (signed) gives it up; nobody else
// — another node, a new key re-registering under it, an impostor with the holder's id, a case or
// whitespace variant — may take it or make it resolve elsewhere.
describe('hostname takeover attempts', () => {
  let bb: Backbone;
  let reg: string;
  const clients: RegistryClient[] = [];
  const client = (identity = Identity.generate(), nodeId?: number): RegistryClient => {
    const c = new RegistryClient({ address: reg, identity, nodeId, timeoutMs: 5000 });
    clients.push(c);
    return c;
  };
  let alice: RegistryClient;
  const aliceKey = Identity.generate();
  let aliceId = 0;
  const NAME = 'alice-gpu';

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger, registerRatePerMin: 10_000 });
    reg = `127.0.0.1:${bb.registryAddress.port}`;
    alice = client(aliceKey);
    aliceId = (await alice.register({ hostname: NAME, owner: 'alice@example.org' })).node_id;
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await bb?.close();
  });

  const code = async (p: Promise<unknown>): Promise<string | undefined> => {
    const e = await p.then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e, 'the request should have been refused').toBeInstanceOf(RegistryError);
    return (e as RegistryError).wireCode;
  };
  const holder = async (): Promise<number> => (await client().resolveHostname(NAME)).node_id;

  it('another node cannot set a taken hostname', async () => {
    const bob = client();
    await bob.register();
    expect(await code(bob.setHostname(NAME))).toBe('already_exists');
    expect(await holder()).toBe(aliceId);
    expect((await bob.lookup(bob.nodeId!)).hostname).toBeUndefined();
  });

  it('a new key registering under a taken hostname gets a new node without it', async () => {
    const mallory = client();
    const r = await mallory.register({ hostname: NAME });
    expect(r.node_id).not.toBe(aliceId);
    expect(r.hostname).toBeUndefined();
    expect(await holder()).toBe(aliceId);
  });

  it("an impostor with the holder's node id but another key is refused everything that could free or move it", async () => {
    const impostor = client(Identity.generate(), aliceId);
    expect(await code(impostor.setHostname('elsewhere'))).toBe('bad_signature');
    expect(await code(impostor.setHostname(''))).toBe('bad_signature');
    expect(await code(impostor.deregister())).toBe('bad_signature');
    expect(await code(impostor.rotateKey(Identity.generate()))).toBe('bad_signature');
    expect(await holder()).toBe(aliceId);
    // A wrong owner string is not a credential: a new node, no hostname.
    const guess = client();
    const r = await guess.register({ owner: 'alice@example.com', hostname: NAME });
    expect(r.node_id).not.toBe(aliceId);
    expect(r.hostname).toBeUndefined();
    expect(await holder()).toBe(aliceId);
    expect((await client().lookup(aliceId)).public_key).toBe(aliceKey.publicKeyBase64);
  });

  it('case, whitespace and look-alike variants are refused, and never resolve to another node', async () => {
    const bob = client();
    const bobId = (await bob.register()).node_id;
    const variants = [
      'Alice-gpu',
      'ALICE-GPU',
      ' alice-gpu',
      'alice-gpu ',
      'alice-gpu\n',
      '\talice-gpu',
      'alice-gpu.',
      'alice\u2010gpu', // Unicode hyphen
      '\u0430lice-gpu', // Cyrillic a
      'alice-gpu\u200b', // zero-width space
      'ａlice-gpu', // full-width a
    ];
    for (const v of variants) {
      expect(await code(bob.setHostname(v)), JSON.stringify(v)).toBe('invalid_argument');
      const r = await client().register({ hostname: v });
      expect(r.hostname, JSON.stringify(v)).toBeUndefined();
      expect(r.hostname_error, JSON.stringify(v)).toEqual(expect.any(String));
      // resolving a variant finds nothing, or the holder — never bob or a newcomer
      const found = await client()
        .resolveHostname(v)
        .then((x) => x.node_id)
        .catch(() => undefined);
      expect([undefined, aliceId], JSON.stringify(v)).toContain(found);
    }
    expect((await bob.lookup(bobId)).hostname).toBeUndefined();
    expect(await holder()).toBe(aliceId);
  });

  it('the holder keeps it across a key rotation; only its own signed release frees it', async () => {
    const next = Identity.generate();
    await alice.rotateKey(next);
    expect(await holder()).toBe(aliceId);
    // the old key no longer speaks for alice
    const old = client(Identity.generate(), aliceId);
    expect(await code(old.setHostname(''))).toBe('bad_signature');
    await alice.setHostname('alice-gpu-2');
    const bob = client();
    await bob.register();
    expect(await bob.setHostname(NAME)).toMatchObject({ hostname: NAME });
    expect(await code(alice.setHostname(NAME))).toBe('already_exists');
  });

  it('a node started with a taken hostname refuses to start; the name still resolves to, and pings reach, the holder', async () => {
    const opts = { registry: reg, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0', log: silentLogger };
    const first = new PilotNode({ identity: Identity.generate(), hostname: 'edge-7', ...opts });
    const second = new PilotNode({ identity: Identity.generate(), hostname: 'edge-7', ...opts });
    const third = new PilotNode({ identity: Identity.generate(), ...opts });
    try {
      await first.start();
      const e = await second.start().then(
        () => undefined,
        (x: unknown) => x,
      );
      expect((e as RegistryError | undefined)?.wireCode).toBe('already_exists');
      await third.start();
      expect((await third.registry.resolveHostname('edge-7')).node_id).toBe(first.nodeId);
      expect((await third.resolveTarget('edge-7')).nodeId).toBe(first.nodeId);
      expect(await third.controlPing(first.nodeId)).toBeGreaterThan(0);
    } finally {
      await third.stop();
      await second.stop();
      await first.stop();
    }
  });
});
