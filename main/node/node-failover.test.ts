import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBackbone, type Backbone } from '../backbone';
import { Identity } from '../crypto';
import { silentLogger } from '../util/log';
import { RegistryClient } from './registry-client';
import { PilotNode } from './node';

// A node given two backbones (real, in-process, each with its own state: this is about the node's
// reaction, not about a shared directory — that is test/etcd/failover.test.ts): when the first
// dies, the node moves to the second, registers there with its hostname and subscribes again.

async function until(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a node with two registries', () => {
  let bb1: Backbone;
  let bb2: Backbone;
  let node: PilotNode;
  const reg = (bb: Backbone): string => `127.0.0.1:${bb.registryAddress.port}`;
  const bea = (bb: Backbone): string => `127.0.0.1:${bb.beaconAddress.port}`;
  const hostname = `nf-${process.pid}`;
  const status: boolean[] = [];

  beforeAll(async () => {
    bb1 = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    bb2 = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    node = new PilotNode({
      identity: Identity.generate(),
      registry: [reg(bb1), reg(bb2)],
      beacon: [bea(bb1), bea(bb2)],
      hostname,
      public: true,
      listen: '127.0.0.1:0',
      beaconProbeMs: 300,
    });
    node.on('registryStatus', (c) => status.push(c));
    await node.start();
  });

  afterAll(async () => {
    await node?.stop();
    await bb1?.close().catch(() => undefined);
    await bb2?.close();
  });

  it('registers at the first, then at the second when the first dies (hostname included), and re-subscribes', async () => {
    expect(node.registryAddresses).toEqual([reg(bb1), reg(bb2)]);
    expect(node.registryAddress).toBe(reg(bb1));
    await until('the event subscription', () => status.includes(true));
    let registeredAt2 = false;
    node.on('registered', () => (registeredAt2 = node.registryAddress === reg(bb2)));

    await bb1.close();
    await until('the failover and the registration at the second registry', () => node.registryAddress === reg(bb2) && registeredAt2);
    expect(node.backboneFailovers.registry).toBe(1);
    await until('the beacon switch', () => node.beaconAddress === bea(bb2));
    await until('the event subscription again', () => status.lastIndexOf(true) > status.indexOf(false) && status.indexOf(false) >= 0);

    const rc = new RegistryClient({ address: reg(bb2) });
    try {
      const r = await rc.resolveHostname(hostname);
      expect(r.node_id).toBe(node.nodeId);
    } finally {
      rc.close();
    }
  });
});
