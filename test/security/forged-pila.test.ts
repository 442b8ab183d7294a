import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBackbone, type Backbone } from '../../main/backbone';
import { Identity, getCrypto, signPila } from '../../main/crypto';
import { PilotNode } from '../../main/node/node';
import { silentLogger } from '../../main/util/log';
import { encodePILA } from '../../main/wire/tunnel';
import { RawPeer, type Endpoint } from './raw-peer';

// Issue 10: forged PILA signatures, and a key exchange from a node id whose registered key differs,
// at a live node over its real UDP socket. Beyond main/node/forged.test.ts (another key claiming a
// peer's id; the peer's key with an all-zero signature), this covers the man-in-the-middle forms:
// a peer's genuine signature with the X25519 key swapped, a genuine signature moved to another
// sender id, and the node's own id. None may establish a session; the genuine exchange then does.
describe('forged key exchanges at a live node', () => {
  let bb: Backbone;
  let victim: PilotNode;
  let alice: RawPeer; // registered, honest
  let bob: RawPeer; // registered, plays the forger
  let to: Endpoint;

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const registry = `127.0.0.1:${bb.registryAddress.port}`;
    victim = new PilotNode({ identity: Identity.generate(), registry, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0', log: silentLogger });
    await victim.start();
    to = { host: '127.0.0.1', port: victim.tunnelEndpoint!.port };
    alice = new RawPeer();
    bob = new RawPeer();
    await alice.start(registry);
    await bob.start(registry);
  });
  afterAll(async () => {
    alice?.close();
    bob?.close();
    await victim?.stop();
    await bb?.close();
  });

  const drops = (): Record<string, number> => victim.tunnels.drops() as Record<string, number>;

  it('drops each forgery under its reason, establishes nothing, then accepts the genuine exchange', async () => {
    const genuine = alice.pilaFrame();
    const mitm = getCrypto().x25519Generate();
    const forgeries: [string, Uint8Array][] = [
      // Alice's genuine signature, the X25519 key swapped for the forger's
      ['bad_signature', encodePILA({ sender: alice.nodeId, x25519Public: mitm.publicKey, ed25519Public: alice.identity.publicKey, signature: genuine.slice(72, 136) })],
      // Bob's valid exchange relabelled as Alice's: Alice's registered key differs from the one sent
      ['key_mismatch', encodePILA({ sender: alice.nodeId, x25519Public: bob.x25519.publicKey, ed25519Public: bob.identity.publicKey, signature: signPila(bob.identity, bob.nodeId, bob.x25519.publicKey) })],
      // Bob's key and signature, but signed for another sender id than the one claimed
      ['bad_signature', encodePILA({ sender: bob.nodeId, x25519Public: bob.x25519.publicKey, ed25519Public: bob.identity.publicKey, signature: signPila(bob.identity, alice.nodeId, bob.x25519.publicKey) })],
      // Alice's key with Bob's signature over Alice's challenge
      ['bad_signature', encodePILA({ sender: alice.nodeId, x25519Public: alice.x25519.publicKey, ed25519Public: alice.identity.publicKey, signature: signPila(bob.identity, alice.nodeId, alice.x25519.publicKey) })],
      // the node's own id
      ['not_for_us', encodePILA({ sender: victim.nodeId, x25519Public: bob.x25519.publicKey, ed25519Public: bob.identity.publicKey, signature: signPila(bob.identity, victim.nodeId, bob.x25519.publicKey) })],
      // an id nobody registered
      ['unknown_key', encodePILA({ sender: 0x00ee_0001, x25519Public: bob.x25519.publicKey, ed25519Public: bob.identity.publicKey, signature: signPila(bob.identity, 0x00ee_0001, bob.x25519.publicKey) })],
    ];
    const before = drops();
    const want: Record<string, number> = {};
    for (const [reason, frame] of forgeries) {
      want[reason] = (want[reason] ?? 0) + 1;
      await bob.send(frame, to);
    }
    await vi.waitFor(
      () => {
        const d = drops();
        for (const [reason, n] of Object.entries(want)) expect(d[reason] ?? 0, reason).toBe((before[reason] ?? 0) + n);
      },
      { timeout: 10_000, interval: 20 },
    );
    // no session for Alice's id: the node answered nobody with its own exchange
    expect(alice.pilas).toHaveLength(0);
    expect(bob.pilas).toHaveLength(0);
    expect(victim.tunnels.isReady(alice.nodeId)).toBe(false);
    // the control: Alice's genuine exchange establishes the session, and a ping goes through
    await alice.send(genuine, to);
    await vi.waitFor(() => expect(alice.pilas.length).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
    alice.keyFrom(alice.pilas[0]!, victim.nodeId, victim.identity.publicKey);
    await alice.send(alice.pingFrame(alice.sealer(1), victim.address, 1), to);
    await vi.waitFor(() => expect(alice.pingReplies.has(1)).toBe(true), { timeout: 10_000, interval: 20 });
  });
});
