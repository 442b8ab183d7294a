import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackbone, type Backbone } from '../backbone';
import { Identity, getCrypto, signPila } from '../crypto';
import { encodePILA, encodePILS, encodePILT } from '../wire/tunnel';
import { encodeBeacon } from '../wire/beacon';
import { encodePacket, PROTO_CONTROL } from '../wire/packet';
import { silentLogger } from '../util/log';
import { PilotNode } from './node';

// Malformed and forged frames sent at a node's real tunnel socket are dropped and counted, never
// crash it, and the node keeps serving its real peers.
describe('malformed and forged frames', () => {
  let bb: Backbone;
  let victim: PilotNode;
  let friend: PilotNode;
  let attacker: dgram.Socket;

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const opts = { registry: `127.0.0.1:${bb.registryAddress.port}`, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0' };
    victim = new PilotNode({ identity: Identity.generate(), ...opts });
    friend = new PilotNode({ identity: Identity.generate(), ...opts });
    await victim.start();
    await friend.start();
    attacker = dgram.createSocket('udp4');
    await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    attacker?.close();
    await friend?.stop();
    await victim?.stop();
    await bb?.close();
  });

  const fire = async (frames: Uint8Array[]): Promise<void> => {
    const port = victim.tunnelEndpoint!.port;
    for (const f of frames) await new Promise<void>((r) => attacker.send(f, port, '127.0.0.1', () => r()));
    // A control ping round trip from the friend proves the victim has processed what came before.
    await friend.controlPing(victim.nodeId);
  };

  it('drops garbage, truncated frames, plaintext, forged key exchanges and bad ciphertext, and keeps serving', async () => {
    expect(await friend.controlPing(victim.nodeId)).toBeGreaterThan(0);
    const before = victim.tunnels.drops();
    const mallory = Identity.generate();
    const x = getCrypto().x25519Generate();
    const ctl = encodePacket({ flags: 0, protocol: PROTO_CONTROL, src: friend.address, dst: victim.address, srcPort: 1, dstPort: 0, seq: 1, ack: 0, window: 0, payload: new Uint8Array(0) });
    await fire([
      new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]), // unknown magic
      new Uint8Array([0x50, 0x49]), // too short
      Uint8Array.from(Buffer.from('PILA')), // truncated key exchange
      Uint8Array.from(Buffer.from('PILS1234')), // truncated encrypted frame
      encodePILT(ctl), // plaintext while encryption is on
      // A key exchange claiming to be the friend, signed by another key.
      encodePILA({ sender: friend.nodeId, x25519Public: x.publicKey, ed25519Public: mallory.publicKey, signature: signPila(mallory, friend.nodeId, x.publicKey) }),
      // The friend's real Ed25519 key with a signature that does not verify.
      encodePILA({ sender: friend.nodeId, x25519Public: x.publicKey, ed25519Public: friend.identity.publicKey, signature: new Uint8Array(64) }),
      // Encrypted frame under the friend's id with random ciphertext.
      encodePILS(friend.nodeId, new Uint8Array(12).fill(7), new Uint8Array(64).fill(9)),
      // Relay-deliver from someone who is not the beacon.
      encodeBeacon({ type: 'relay_deliver', sender: friend.nodeId, frame: encodePILT(ctl) }),
      // Beacon message with a bad type byte.
      new Uint8Array([0x09, 0, 0, 0, 1]),
    ]);
    // The key lookup for the forged PILAs is asynchronous: wait until both are judged.
    for (let i = 0; i < 100 && (victim.tunnels.drops().key_mismatch ?? 0) + (victim.tunnels.drops().bad_signature ?? 0) < 2; i++) {
      await friend.controlPing(victim.nodeId);
    }
    const d = victim.tunnels.drops();
    const grew = (k: keyof typeof d): number => (d[k] ?? 0) - (before[k] ?? 0);
    expect(grew('unknown_magic')).toBeGreaterThanOrEqual(1);
    expect(grew('malformed')).toBeGreaterThanOrEqual(3);
    expect(grew('plaintext_refused')).toBe(1);
    expect(grew('key_mismatch')).toBe(1);
    expect(grew('bad_signature')).toBe(1);
    expect(grew('bad_tag')).toBe(1);
    expect(grew('not_for_us')).toBe(1);
    // The forged exchanges did not replace the friend's session: pings and streams still work.
    expect(await friend.controlPing(victim.nodeId)).toBeGreaterThan(0);
    expect(await victim.controlPing(friend.nodeId)).toBeGreaterThan(0);
    const got = new Promise<string>((resolve) => {
      const stop = victim.listen(6000, (s) => s.on('data', (c) => { stop(); resolve(Buffer.from(c).toString()); }));
    });
    const s = await friend.dial(victim.address, 6000);
    s.write(new TextEncoder().encode('still here'));
    expect(await got).toBe('still here');
    s.end();
  });

  it('a flood of forged key exchanges costs at most one registry lookup per claimed node', async () => {
    const mallory = Identity.generate();
    const x = getCrypto().x25519Generate();
    const before = victim.tunnels.drops();
    const lookupsBefore = victim.tunnels.keyLookupCount;
    const forged = (sender: number): Uint8Array =>
      encodePILA({ sender, x25519Public: x.publicKey, ed25519Public: mallory.publicKey, signature: signPila(mallory, sender, x.publicKey) });
    const unknownId = 0x00ff_fff0; // nobody registered it
    const judged = (): number => {
      const d = victim.tunnels.drops();
      return (d.key_mismatch ?? 0) - (before.key_mismatch ?? 0) + ((d.unknown_key ?? 0) - (before.unknown_key ?? 0)) + ((d.rate_limited ?? 0) - (before.rate_limited ?? 0));
    };
    // four waves, each judged before the next (a lookup made for one wave is over by the next)
    for (let wave = 1; wave <= 4; wave++) {
      await fire([...Array.from({ length: 10 }, () => forged(friend.nodeId)), ...Array.from({ length: 10 }, () => forged(unknownId))]);
      for (let i = 0; i < 100 && judged() < wave * 20; i++) await friend.controlPing(victim.nodeId);
    }
    const d = victim.tunnels.drops();
    // Each claimed sender gets 20 judged at once (then 10/s); the rest are dropped before any lookup.
    const limited = (d.rate_limited ?? 0) - (before.rate_limited ?? 0);
    expect((d.key_mismatch ?? 0) - (before.key_mismatch ?? 0) + (d.unknown_key ?? 0) - (before.unknown_key ?? 0) + limited).toBe(80);
    expect(limited).toBeGreaterThan(0);
    // one re-check of the friend's key (it may have rotated) and one lookup of the unknown id
    expect(victim.tunnels.keyLookupCount - lookupsBefore).toBeLessThanOrEqual(2);
    expect(await friend.controlPing(victim.nodeId)).toBeGreaterThan(0);
  });

  it('survives a flood of random datagrams', async () => {
    const port = victim.tunnelEndpoint!.port;
    let x = 12345;
    const rnd = (): number => (x = (x * 1103515245 + 12345) >>> 0) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const n = 1 + (rnd() % 200);
      const b = new Uint8Array(n);
      for (let j = 0; j < n; j++) b[j] = rnd();
      if (i % 3 === 0) b.set([0x50, 0x49, 0x4c, [0x53, 0x41, 0x54, 0x4b][i % 4]!].slice(0, Math.min(4, n)));
      attacker.send(b, port, '127.0.0.1');
    }
    // Still answering after the flood.
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) ok = (await friend.controlPing(victim.nodeId).catch(() => 0)) > 0;
    expect(ok).toBe(true);
  });
});
