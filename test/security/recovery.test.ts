import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBackbone, type Backbone } from '../../main/backbone';
import { Identity } from '../../main/crypto';
import { PilotNode } from '../../main/node/node';
import { silentLogger } from '../../main/util/log';
import { bytesEqual } from '../../main/util/bytes';
import { decodePILA } from '../../main/wire/tunnel';
import { RawPeer, type Endpoint } from './raw-peer';

// Issue 15, "Recovery": a reference peer that drops its state for us (after `untrust`) keeps its
// X25519 key, cannot decrypt our frames, never asks for a key exchange and answers one only from a
// new or changed key. The node notices the silence and re-keys by itself with a fresh X25519 key;
// the peer (a RawPeer behaving like the reference) answers, and frames flow again.
describe('tunnel recovery after a peer drops its state', () => {
  let bb: Backbone;
  let node: PilotNode;
  let ref: RawPeer;
  let to: Endpoint;

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    node = new PilotNode({
      identity: Identity.generate(),
      registry: `127.0.0.1:${bb.registryAddress.port}`,
      beacon: `127.0.0.1:${bb.beaconAddress.port}`,
      public: true,
      listen: '127.0.0.1:0',
      log: silentLogger,
      tunnel: { upgradeIntervalMs: 100, silenceRekeyMs: 600 },
    });
    await node.start();
    to = { host: '127.0.0.1', port: node.tunnelEndpoint!.port };
    ref = new RawPeer();
    await ref.start(`127.0.0.1:${bb.registryAddress.port}`);
  });
  afterAll(async () => {
    ref?.close();
    await node?.stop();
    await bb?.close();
  });

  it('re-keys with a fresh X25519 key when the peer goes silent, and the peer is reached again', async () => {
    await ref.send(ref.pilaFrame(), to);
    await vi.waitFor(() => expect(ref.pilas.length).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
    ref.keyFrom(ref.pilas[0]!, node.nodeId, node.identity.publicKey);
    const firstKey = decodePILA(ref.pilas[0]!).x25519Public;
    const s1 = ref.sealer(1);
    await ref.send(ref.pingFrame(s1, node.address, 1), to);
    await vi.waitFor(() => expect(ref.pingReplies.has(1)).toBe(true), { timeout: 5000, interval: 10 });
    expect(node.tunnels.isReady(ref.nodeId)).toBe(true);

    // The peer drops its state. The node keeps sending (pings) and hears nothing back.
    ref.forgetSession();
    const before = ref.pilas.length;
    let unanswered = 0;
    await vi.waitFor(
      () => {
        node.controlPing(ref.nodeId, 300).catch(() => unanswered++);
        expect(ref.pilas.length).toBeGreaterThan(before);
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(ref.undecryptable).toBeGreaterThan(0);
    expect(unanswered).toBeGreaterThan(0);
    const rekey = ref.pilas[ref.pilas.length - 1]!;
    const newKey = decodePILA(rekey).x25519Public;
    expect(bytesEqual(newKey, firstKey)).toBe(false); // a fresh key: the reference answers only a changed one

    // The peer does what the reference does with a changed key: re-derives and answers with its own.
    ref.keyFrom(rekey, node.nodeId, node.identity.publicKey);
    ref.prefix = ref.backend.randomBytes(4);
    await ref.send(ref.pilaFrame(), to);
    const s2 = ref.sealer(1);
    await vi.waitFor(
      async () => {
        await ref.send(ref.pingFrame(s2, node.address, 2), to);
        expect(ref.pingReplies.has(2)).toBe(true);
      },
      { timeout: 5000, interval: 50 },
    );
    // And the node's own traffic reaches the peer again.
    const opened = ref.opened;
    await node.controlPing(ref.nodeId, 300).catch(() => undefined); // the peer opens it (and, like this test peer, does not answer)
    await vi.waitFor(() => expect(ref.opened).toBeGreaterThan(opened), { timeout: 5000, interval: 20 });
  });
});
