import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBackbone, type Backbone } from '../../main/backbone';
import { Identity } from '../../main/crypto';
import { PilotNode } from '../../main/node/node';
import { silentLogger } from '../../main/util/log';
import { RawPeer, type Endpoint } from './raw-peer';

// Issue 10, found while writing the replay tests: a peer's *current* key exchange, recorded and
// replayed by a third party from another address, must not redirect the node's traffic for that peer.
// A PILA carries no freshness: one with the key the node already holds, from another address, moves
// nothing (tunnel-rules.ts kxMayMoveEndpoint); the peer's authenticated PILS frames do.
describe("a replayed current key exchange from another address", () => {
  let bb: Backbone;
  let victim: PilotNode;
  let alice: RawPeer;
  let to: Endpoint;

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const registry = `127.0.0.1:${bb.registryAddress.port}`;
    victim = new PilotNode({ identity: Identity.generate(), registry, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0', log: silentLogger });
    await victim.start();
    to = { host: '127.0.0.1', port: victim.tunnelEndpoint!.port };
    alice = new RawPeer();
    await alice.start(registry);
  });
  afterAll(async () => {
    alice?.close();
    await victim?.stop();
    await bb?.close();
  });

  it("does not move the peer's endpoint to the replayer", async () => {
    const pila = alice.pilaFrame();
    await alice.send(pila, to);
    await vi.waitFor(() => expect(alice.pilas.length).toBe(1), { timeout: 10_000, interval: 10 });
    alice.keyFrom(alice.pilas[0]!, victim.nodeId, victim.identity.publicKey);
    await alice.send(alice.pingFrame(alice.sealer(1), victim.address, 1), to);
    await vi.waitFor(() => expect(alice.pingReplies.has(1)).toBe(true), { timeout: 10_000, interval: 10 });
    expect(victim.tunnels.peerInfo(alice.nodeId)?.endpoint).toBe(`127.0.0.1:${alice.port}`);

    const mallory = dgram.createSocket('udp4');
    try {
      await new Promise<void>((r) => mallory.bind(0, '127.0.0.1', () => r()));
      const kx = victim.tunnels.peerInfo(alice.nodeId)!.counters.keyExchangesReceived;
      await new Promise<void>((r) => mallory.send(pila, to.port, to.host, () => r()));
      // judged once the node counted it as a received exchange, or dropped it
      const drops = (): number => Object.values(victim.tunnels.drops()).reduce((a, b) => a + (b ?? 0), 0);
      const d0 = drops();
      await vi.waitFor(() => expect(victim.tunnels.peerInfo(alice.nodeId)!.counters.keyExchangesReceived - kx + drops() - d0).toBeGreaterThan(0), {
        timeout: 5000,
        interval: 10,
      });
      expect(victim.tunnels.peerInfo(alice.nodeId)?.endpoint).toBe(`127.0.0.1:${alice.port}`);
      // and a ping from the node still reaches Alice
      await alice.send(alice.pingFrame(alice.sealer(2), victim.address, 2), to);
      await vi.waitFor(() => expect(alice.pingReplies.has(2)).toBe(true), { timeout: 5000, interval: 10 });
    } finally {
      mallory.close();
    }
  });
});
