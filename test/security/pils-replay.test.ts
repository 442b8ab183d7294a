import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBackbone, type Backbone } from '../../main/backbone';
import { Identity, REPLAY_WINDOW_SIZE } from '../../main/crypto';
import { PilotNode } from '../../main/node/node';
import { silentLogger } from '../../main/util/log';
import { RawPeer, type Endpoint } from './raw-peer';

// Issue 10: PILS frames replayed, or reordered beyond the 256-frame replay window, at a live node
// over its real UDP socket. The sender is a registered peer that did a real key exchange with the
// node, so every frame here decrypts: only the replay window stands between it and the node.
describe('PILS replay window at a live node', () => {
  let bb: Backbone;
  let victim: PilotNode;
  let eve: RawPeer;
  let to: Endpoint;

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const registry = `127.0.0.1:${bb.registryAddress.port}`;
    victim = new PilotNode({ identity: Identity.generate(), registry, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0', log: silentLogger });
    await victim.start();
    to = { host: '127.0.0.1', port: victim.tunnelEndpoint!.port };
    eve = new RawPeer();
    await eve.start(registry);
    // The key exchange: the node checks our PILA against the registry and answers with its own.
    await eve.send(eve.pilaFrame(), to);
    await vi.waitFor(() => expect(eve.pilas.length).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
    eve.keyFrom(eve.pilas[0]!, victim.nodeId, victim.identity.publicKey);
  });
  afterAll(async () => {
    eve?.close();
    await victim?.stop();
    await bb?.close();
  });

  const replays = (): number => victim.tunnels.drops().replay ?? 0;
  /** Sends a ping frame and waits for its answer (the frame was accepted). */
  const accepted = async (frame: Uint8Array, seq: number, from: RawPeer = eve): Promise<void> => {
    await from.send(frame, to);
    await vi.waitFor(() => expect(from.pingReplies.has(seq)).toBe(true), { timeout: 5000, interval: 10 });
  };
  /** Sends a frame and waits until the node counted it as a replay; it did not answer it. */
  const refused = async (frame: Uint8Array): Promise<void> => {
    const before = replays();
    const pings = victim.counters.controlPings;
    await eve.send(frame, to);
    await vi.waitFor(() => expect(replays()).toBe(before + 1), { timeout: 5000, interval: 10 });
    // The replay check runs before the packet is handed on: counted as a drop, never as a ping.
    expect(victim.counters.controlPings).toBe(pings);
  };

  it('an exact copy of an accepted frame is dropped as replay', async () => {
    const s = eve.sealer(1);
    const f1 = eve.pingFrame(s, victim.address, 1);
    await accepted(f1, 1);
    await refused(f1);
    await refused(f1);
    // The session is intact: the next frame is accepted.
    await accepted(eve.pingFrame(s, victim.address, 2), 2);
  });

  it(`a frame reordered beyond the ${REPLAY_WINDOW_SIZE}-frame window is dropped as replay; within it, accepted once`, async () => {
    const hi = 10_000;
    const late = eve.pingFrame(eve.sealer(hi - REPLAY_WINDOW_SIZE), victim.address, 100); // never sent before, now too old
    const lateEdge = eve.pingFrame(eve.sealer(hi - REPLAY_WINDOW_SIZE + 1), victim.address, 101); // the oldest the window keeps
    const inWindow = eve.pingFrame(eve.sealer(hi - 100), victim.address, 102);
    await accepted(eve.pingFrame(eve.sealer(hi), victim.address, 103), 103);
    await refused(late);
    await accepted(lateEdge, 101);
    await accepted(inWindow, 102);
    await refused(inWindow); // reordered, then replayed
    await refused(lateEdge);
    expect(eve.pingReplies.has(100)).toBe(false);
  });

  it('a replayed old frame after a long gap is dropped, and the node keeps serving the peer', async () => {
    const s = eve.sealer(20_000);
    const old = eve.pingFrame(s, victim.address, 200);
    await accepted(old, 200);
    // push the window far ahead, then bring the old frame back
    for (let i = 0; i < 3; i++) await accepted(eve.pingFrame(eve.sealer(20_000 + 1000 * (i + 1)), victim.address, 201 + i), 201 + i);
    await refused(old);
    await accepted(eve.pingFrame(eve.sealer(30_000), victim.address, 210), 210);
    expect(victim.tunnels.drops().bad_tag ?? 0).toBe(0);
  });

  // Issue 15: a reference peer re-derives its state on every key exchange it receives (new prefix,
  // counter back to 1, wire.md §6.2). Replay state per prefix accepts that at once; a frame recorded
  // under a prefix that has been retired stays refused.
  it('a fresh nonce prefix restarting at counter 1 is accepted; a recorded frame of a retired prefix is refused', async () => {
    const p0 = eve.prefix;
    const recorded = eve.pingFrame(eve.sealer(40_000, p0), victim.address, 400);
    await accepted(recorded, 400);
    const fresh = (): Uint8Array => eve.backend.randomBytes(4);
    // Re-derivations: each new prefix starts again at counter 1 and is accepted at once.
    let seq = 401;
    for (let i = 0; i < 5; i++) {
      const s = eve.sealer(1, fresh());
      await accepted(eve.pingFrame(s, victim.address, seq), seq);
      seq++;
      await accepted(eve.pingFrame(s, victim.address, seq), seq);
      seq++;
    }
    // p0 is retired by now: its recorded frame, and even one of its counters never seen, are refused.
    await refused(recorded);
    await refused(eve.pingFrame(eve.sealer(50_000, p0), victim.address, seq));
    expect(eve.pingReplies.has(seq)).toBe(false);
  });

  // A key exchange carries no freshness: a third party that recorded a peer's PILA and some PILS frames
  // could, after the peer re-keyed, replay that PILA and bring back the old key with a fresh replay
  // window. The node remembers each peer's retired X25519 keys and refuses them ('stale_key').
  it('a recorded key exchange replayed after a re-key does not bring back the old key and its frames', async () => {
    const alice = new RawPeer();
    const mallory = dgram.createSocket('udp4');
    try {
      await alice.start(`127.0.0.1:${bb.registryAddress.port}`);
      await new Promise<void>((r) => mallory.bind(0, '127.0.0.1', () => r()));
      let malloryGot = 0;
      mallory.on('message', () => malloryGot++);
      const recordedPila = alice.pilaFrame();
      await alice.send(recordedPila, to);
      await vi.waitFor(() => expect(alice.pilas.length).toBe(1), { timeout: 10_000, interval: 10 });
      alice.keyFrom(alice.pilas[0]!, victim.nodeId, victim.identity.publicKey);
      const recorded = alice.pingFrame(alice.sealer(1), victim.address, 300);
      await accepted(recorded, 300, alice);
      // Alice re-keys (a restart, say): new X25519 key, new exchange.
      alice.x25519 = alice.backend.x25519Generate();
      await alice.send(alice.pilaFrame(), to);
      await vi.waitFor(() => expect(alice.pilas.length).toBe(2), { timeout: 10_000, interval: 10 });
      alice.keyFrom(alice.pilas[1]!, victim.nodeId, victim.identity.publicKey);
      // Mallory replays the recorded exchange, then the recorded frame.
      const dropsTotal = (): number => Object.values(victim.tunnels.drops()).reduce((a, b) => a + (b ?? 0), 0);
      const d0 = dropsTotal();
      const pings = victim.counters.controlPings;
      const send = (f: Uint8Array): Promise<void> => new Promise<void>((r) => mallory.send(f, to.port, to.host, () => r()));
      await send(recordedPila);
      await vi.waitFor(() => expect(malloryGot + dropsTotal()).toBeGreaterThan(d0), { timeout: 5000, interval: 10 });
      const d1 = dropsTotal();
      await send(recorded);
      await vi.waitFor(() => expect(victim.counters.controlPings - pings + dropsTotal()).toBeGreaterThan(d1), { timeout: 5000, interval: 10 });
      expect(victim.counters.controlPings).toBe(pings);
      expect(victim.tunnels.drops().stale_key ?? 0).toBeGreaterThan(0);
    } finally {
      mallory.close();
      alice.close();
    }
  });
});
