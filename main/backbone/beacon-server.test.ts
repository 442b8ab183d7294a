/** Beacon over real UDP sockets on 127.0.0.1. */
import { describe, it, expect, afterEach, vi } from 'vitest';
import { decodeBeacon, encodeBeacon } from '../wire/beacon';
import { FakeClock } from '../util/clock';
import type { Backbone } from './index';
import { UdpProbe, startTestBackbone } from './testing/helpers';

let bb: Backbone | undefined;
const probes: UdpProbe[] = [];
afterEach(async () => {
  for (const p of probes.splice(0)) p.close();
  await bb?.close();
  bb = undefined;
});
const probe = async (): Promise<UdpProbe> => {
  const p = await UdpProbe.open();
  probes.push(p);
  return p;
};

describe('beacon server', () => {
  it('discover replies with the observed endpoint and records it', async () => {
    bb = await startTestBackbone();
    const a = await probe();
    await a.send(encodeBeacon({ type: 'discover', nodeId: 5 }), bb.beaconAddress.port);
    const reply = await a.next();
    expect(decodeBeacon(reply)).toEqual({ type: 'discover_reply', ip: '127.0.0.1', port: a.port });
    expect(reply.length).toBe(8);
    expect(bb.status().beaconTableSize).toBe(1);
    // node id 0 (the start-up STUN probe) is answered but not recorded
    await a.send(encodeBeacon({ type: 'discover', nodeId: 0 }), bb.beaconAddress.port);
    expect(decodeBeacon(await a.next())).toMatchObject({ type: 'discover_reply', port: a.port });
    expect(bb.status().beaconTableSize).toBe(1);
  });

  it('punch_request sends punch_command to both sides; unknown target is dropped', async () => {
    bb = await startTestBackbone();
    const a = await probe();
    const b = await probe();
    const port = bb.beaconAddress.port;
    await a.send(encodeBeacon({ type: 'discover', nodeId: 5 }), port);
    await a.next();
    await b.send(encodeBeacon({ type: 'punch_request', requester: 7, target: 5 }), port);
    expect(decodeBeacon(await b.next())).toEqual({ type: 'punch_command', ip: '127.0.0.1', port: a.port });
    expect(decodeBeacon(await a.next())).toEqual({ type: 'punch_command', ip: '127.0.0.1', port: b.port });
    expect(bb.status().beaconTableSize).toBe(2); // requester recorded
    await b.send(encodeBeacon({ type: 'punch_request', requester: 7, target: 99 }), port);
    await vi.waitFor(() => expect(bb!.status().beacon.unknownDest, 'drop counted').toBe(1), { timeout: 3000 });
    expect(b.queued).toBe(0);
  });

  it('relays frames to the destination and counts frames, bytes and drops', async () => {
    bb = await startTestBackbone();
    const a = await probe();
    const b = await probe();
    const port = bb.beaconAddress.port;
    await a.send(encodeBeacon({ type: 'discover', nodeId: 5 }), port);
    await a.next();
    const frame = new TextEncoder().encode('PILT-hello');
    await b.send(encodeBeacon({ type: 'relay', sender: 7, dest: 5, frame }), port);
    const got = decodeBeacon(new Uint8Array(await a.next()));
    if (got.type !== 'relay_deliver') throw new Error(`expected relay_deliver, got ${got.type}`);
    expect(got.sender).toBe(7);
    expect(Array.from(got.frame)).toEqual(Array.from(frame));
    expect(bb.status().relayedFrames).toBe(1);
    expect(bb.status().relayedBytes).toBe(frame.length);
    expect(bb.status().beaconTableSize).toBe(1); // relay does not record the sender
    await b.send(encodeBeacon({ type: 'relay', sender: 7, dest: 1234, frame }), port);
    await vi.waitFor(() => expect(bb!.status().dropped, 'relay drop').toBe(1), { timeout: 3000 });
  });

  it('drops and counts malformed datagrams without crashing', async () => {
    bb = await startTestBackbone();
    const a = await probe();
    const port = bb.beaconAddress.port;
    const junk = [
      new Uint8Array([]),
      new Uint8Array([0x01, 0x00, 0x00]), // short discover
      new Uint8Array([0x03, 0, 0, 0, 1]), // short punch request
      new Uint8Array([0x05, 0, 0]), // short relay
      new Uint8Array([0x09, 1, 2, 3]), // unknown type
      new Uint8Array([0x50, 0x49, 0x4c, 0x54]), // a tunnel magic
      new Uint8Array([0x07, 0, 0, 0, 1, 0, 5]), // sync claiming 5 ids, none present
    ];
    for (const j of junk) await a.send(j, port);
    await a.send(encodeBeacon({ type: 'discover_reply', ip: '127.0.0.1', port: 1 }), port); // well-formed but unexpected
    await vi.waitFor(() => expect(bb!.status().beacon.datagrams, 'all datagrams seen').toBe(junk.length + 1), { timeout: 3000 });
    const st = bb.status().beacon;
    expect(st.malformed).toBe(junk.length);
    expect(st.unexpected).toBe(1);
    expect(st.dropped).toBe(junk.length + 1);
    expect(a.queued).toBe(0);
    // still serving
    await a.send(encodeBeacon({ type: 'discover', nodeId: 9 }), port);
    expect(decodeBeacon(await a.next()).type).toBe('discover_reply');
  });

  it('limits relay rate per sender and expires silent endpoints', async () => {
    const clock = new FakeClock();
    bb = await startTestBackbone({ clock, beaconLimits: { relayPacketsPerSec: 1, relayPacketsBurst: 3, expireMs: 10 * 60_000 } });
    const a = await probe();
    const b = await probe();
    const port = bb.beaconAddress.port;
    await a.send(encodeBeacon({ type: 'discover', nodeId: 5 }), port);
    await a.next();
    for (let i = 0; i < 6; i++) await b.send(encodeBeacon({ type: 'relay', sender: 7, dest: 5, frame: new Uint8Array([i]) }), port);
    await vi.waitFor(() => expect(bb!.status().beacon.datagrams, 'relays seen').toBe(7), { timeout: 3000 });
    expect(bb.status().relayedFrames).toBe(3);
    expect(bb.status().beacon.rateLimited).toBe(3);
    clock.advance(11 * 60_000); // sweep timer fires; the entry is older than 10 min
    expect(bb.status().beaconTableSize).toBe(0);
    expect(bb.status().beacon.expired).toBe(1);
  });
});
