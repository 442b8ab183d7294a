import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackbone, type Backbone } from '../backbone';
import { BeaconServer } from '../backbone/beacon-server';
import { Identity } from '../crypto';
import { systemClock } from '../util/clock';
import { silentLogger } from '../util/log';
import { NodeMetrics } from '../observe/metrics';
import { PilotNode } from './node';
import { bindUdp } from './udp';
import { beaconOnly } from './testing/beacon-only';

// Two real nodes given two real beacons (UDP), whose tunnel sockets drop everything sent straight
// to a peer: every frame between them has to go through a beacon's relay. The first beacon stops;
// both nodes move to the second and carry on. (The registry is one real backbone: this test is
// about the beacon side; registry failover with a shared directory is test/etcd/failover.test.ts.)

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a node with two beacons', () => {
  let bb: Backbone;
  let x: BeaconServer;
  let y: BeaconServer;
  let a: PilotNode;
  let b: PilotNode;
  let xAddr: string;
  let yAddr: string;

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    x = await BeaconServer.start({ host: '127.0.0.1', port: 0, clock: systemClock, logger: silentLogger });
    y = await BeaconServer.start({ host: '127.0.0.1', port: 0, clock: systemClock, logger: silentLogger });
    xAddr = `127.0.0.1:${x.address().port}`;
    yAddr = `127.0.0.1:${y.address().port}`;
    const beacons = [x.address(), y.address()];
    const node = async (hostname: string): Promise<PilotNode> =>
      new PilotNode({
        identity: Identity.generate(),
        registry: `127.0.0.1:${bb.registryAddress.port}`,
        beacon: `${xAddr},${yAddr}`,
        hostname,
        public: true,
        socket: beaconOnly(await bindUdp('127.0.0.1', 0), beacons),
        beaconProbeMs: 300,
        tunnel: { punchAfterMs: 50, relayAfterMs: 100 },
      });
    a = await node(`bx-a-${process.pid}`);
    b = await node(`bx-b-${process.pid}`);
    await a.start();
    await b.start();
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await x?.close().catch(() => undefined);
    await y?.close();
    await bb?.close();
  });

  it('sends its discovers to both beacons and uses the first for relay', async () => {
    await until('both beacons to know both nodes', () => [x, y].every((s) => s.endpointOf(a.nodeId) !== undefined && s.endpointOf(b.nodeId) !== undefined));
    expect(a.beaconAddresses).toEqual([xAddr, yAddr]);
    expect(a.beaconAddress).toBe(xAddr);
    const rtt = await a.controlPing(b.nodeId, 8000);
    expect(rtt).toBeGreaterThan(0);
    expect(a.tunnels.peerInfo(b.nodeId)?.path).toBe('relay');
    expect(x.stats().relayedFrames).toBeGreaterThan(0);
    expect(y.stats().relayedFrames).toBe(0);
  });

  it('moves to the second beacon when the first stops answering, and relays through it', async () => {
    await x.close();
    await until('both nodes to switch beacons', () => a.beaconAddress === yAddr && b.beaconAddress === yAddr);
    expect(a.backboneFailovers.beacon).toBe(1);
    const before = y.stats().relayedFrames;
    const rtt = await a.controlPing(b.nodeId, 8000);
    expect(rtt).toBeGreaterThan(0);
    expect(y.stats().relayedFrames).toBeGreaterThan(before);
    expect(await b.controlPing(a.nodeId, 8000)).toBeGreaterThan(0);
    const m = new NodeMetrics({ node: a });
    try {
      const text = await m.text();
      expect(text).toMatch(/^pilot_beacon_failovers_total 1$/m);
      expect(text).toMatch(/^pilot_registry_failovers_total 0$/m);
    } finally {
      m.close();
    }
  });
});
