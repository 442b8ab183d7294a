import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { silentLogger } from '../../util/log';
import { TestNet, waitFor, type Peer } from './testkit';
import type { TrustChange } from './trust';
import { ServiceFrameDecoder, encodeServiceFrame, type ServiceFrame } from '../../wire/service';
import { FrameReader } from './common';
import { FLEET_QUERY_PORT, FLEET_QUERY_TYPE, FleetQueryService, overlayHops, queryFleetPeers, requestProbe } from './fleet-query';

// Real backbone + real nodes over UDP on 127.0.0.1, in process.
let net: TestNet;
beforeAll(async () => {
  net = await TestNet.start();
});
afterAll(async () => {
  await net?.close();
});

async function trusts(holder: Peer, asker: Peer): Promise<void> {
  const pending = waitFor(holder.svc.trust, 'request');
  await asker.svc.trust.request(holder.node.nodeId, 'fleet');
  await pending;
  const done = waitFor<[TrustChange]>(asker.svc.trust, 'changed', (c) => c.nodeId === holder.node.nodeId && c.state === 'trusted');
  await holder.svc.trust.approve(asker.node.nodeId);
  await done;
}

function serve(p: Peer): FleetQueryService {
  const t = p.svc.trust;
  const s = new FleetQueryService(p.node, { mayQuery: (n) => t.isTrusted(n) || t.sharesGroup(n), mayProbe: (n) => t.isTrusted(n) }, silentLogger);
  s.start({ netcheck: false });
  return s;
}

describe('fleet query (port 1011)', () => {
  it('answers a trusted asker with its peer table (path, RTT, how long), runs a probe for it; refuses and counts an untrusted asker', async () => {
    const console_ = await net.peer({ public: true, hostname: 'fq-console' });
    const a = await net.peer({ public: true, hostname: 'fq-a' });
    const b = await net.peer({ public: true, hostname: 'fq-b' });
    const stranger = await net.peer({ public: true, hostname: 'fq-stranger' });
    const sa = serve(a);
    try {
      await trusts(a, console_);
      // A talks to B: its table gets B on a direct path, with an RTT.
      const rtt = await a.node.controlPing(b.node.nodeId);
      a.node.recordRtt(b.node.nodeId, rtt);

      const t = await queryFleetPeers(console_.node, a.node.nodeId);
      expect(t).toMatchObject({ nodeId: a.node.nodeId, hostname: 'fq-a' });
      const toB = t.peers.find((p) => p.nodeId === b.node.nodeId);
      expect(toB).toMatchObject({ path: 'direct', rttMs: rtt });
      expect(toB?.pathForMs).toBeGreaterThanOrEqual(0);

      const probe = await requestProbe(console_.node, a.node.nodeId, b.node.nodeId, 2);
      expect(probe.rtts).toHaveLength(2);
      expect(probe).toMatchObject({ target: b.node.nodeId, path: 'direct', errors: [] });
      // A short throughput test: 256 KiB through b's echo port and back, from a.
      const tp = await requestProbe(console_.node, a.node.nodeId, b.node.nodeId, 1, { mode: 'throughput', bytes: 256 << 10 });
      expect(tp.throughput?.bytes).toBe(256 << 10);
      expect(tp.throughput?.ms).toBeGreaterThan(0);
      expect(tp.errors).toEqual([]);
      // A traceroute from a to c (no tunnel yet): the dial is timed, then 3 round trips over it.
      const c = await net.peer({ public: true, hostname: 'fq-c' });
      expect(a.node.tunnels.isReady(c.node.nodeId)).toBe(false);
      const tr = await requestProbe(console_.node, a.node.nodeId, c.node.nodeId, 3, { mode: 'traceroute' });
      expect(tr).toMatchObject({ target: c.node.nodeId, path: 'direct', errors: [] });
      expect(tr.rtts).toHaveLength(3);
      expect(tr.traceroute?.tunnelWasUp).toBe(false);
      expect(tr.traceroute?.setupMs).toBeGreaterThan(0);
      expect(tr.traceroute?.hops).toEqual([{ kind: 'peer', nodeId: c.node.nodeId, endpoint: a.node.tunnelInfo(c.node.nodeId)?.endpoint }]);
      expect(tr.traceroute?.hops[0]?.endpoint).toMatch(/:\d+$/);
      // Again: the tunnel is up now, so the setup is the SYN/ACK alone.
      const tr2 = await requestProbe(console_.node, a.node.nodeId, c.node.nodeId, 1, { mode: 'traceroute' });
      expect(tr2.traceroute?.tunnelWasUp).toBe(true);
      expect(tr2.rtts).toHaveLength(1);
      expect(sa.counters).toMatchObject({ answered: 1, probes: 4, refused: 0 });

      await expect(queryFleetPeers(stranger.node, a.node.nodeId)).rejects.toMatchObject({ code: 'permission_denied' });
      await expect(requestProbe(stranger.node, a.node.nodeId, b.node.nodeId)).rejects.toMatchObject({ code: 'permission_denied' });
      expect(sa.counters.refused).toBe(2);
    } finally {
      sa.stop();
    }
  });

  it('traceroute hops: a relayed tunnel goes through the beacon, a direct one straight to the endpoint', () => {
    expect(overlayHops(7, 'relay', '10.0.0.1:4000', '127.0.0.1:9001')).toEqual([{ kind: 'relay', endpoint: '127.0.0.1:9001' }, { kind: 'peer', nodeId: 7 }]);
    expect(overlayHops(7, 'punched', '198.51.100.7:4000', '127.0.0.1:9001')).toEqual([{ kind: 'peer', nodeId: 7, endpoint: '198.51.100.7:4000' }]);
    expect(overlayHops(7, undefined, undefined, '127.0.0.1:9001')).toEqual([{ kind: 'peer', nodeId: 7 }]);
  });

  it('a gate that lets a peer read the table but not probe (a group mate, untrusted): table given, probe refused and counted', async () => {
    const x = await net.peer({ public: true, hostname: 'fq-x' });
    const y = await net.peer({ public: true, hostname: 'fq-y' });
    const gated = new FleetQueryService(y.node, { mayQuery: (n) => n === x.node.nodeId, mayProbe: () => false }, silentLogger);
    gated.start({ netcheck: false });
    try {
      const t = await queryFleetPeers(x.node, y.node.nodeId);
      expect(t.nodeId).toBe(y.node.nodeId);
      expect(t.peers.map((p) => p.nodeId)).toContain(x.node.nodeId);
      await expect(requestProbe(x.node, y.node.nodeId, x.node.nodeId)).rejects.toMatchObject({ code: 'permission_denied' });
      expect(gated.counters).toMatchObject({ answered: 1, refused: 1, probes: 0 });
    } finally {
      gated.stop();
    }
  });

  it('answers a malformed query (not JSON, unknown kind, a probe count over the limit) with REFUSED and counts it', async () => {
    const x = await net.peer({ public: true, hostname: 'fq-bad-x' });
    const y = await net.peer({ public: true, hostname: 'fq-bad-y' });
    const sy = new FleetQueryService(y.node, { mayQuery: () => true, mayProbe: () => true }, silentLogger);
    sy.start({ netcheck: false });
    try {
      const bodies = ['not json', JSON.stringify({ kind: 'shell', cmd: 'ls' }), JSON.stringify({ kind: 'probe', target: x.node.nodeId, count: 1000 })];
      for (const body of bodies) {
        const s = await x.node.dial(y.node.address, FLEET_QUERY_PORT);
        const dec = new ServiceFrameDecoder(1 << 20);
        const reader = new FrameReader<ServiceFrame>(s, (c) => dec.push(Uint8Array.from(c)));
        s.stopBuffering();
        s.write(encodeServiceFrame(FLEET_QUERY_TYPE.QUERY, new TextEncoder().encode(body)));
        const f = await reader.next(5000);
        expect(f?.type).toBe(FLEET_QUERY_TYPE.REFUSED);
        expect(new TextDecoder().decode(f!.payload)).toContain('bad query');
        if (!s.closed) s.end();
      }
      expect(sy.counters).toMatchObject({ queries: 3, badQueries: 3, answered: 0, probes: 0 });
    } finally {
      sy.stop();
    }
  });
});
