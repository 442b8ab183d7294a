import { describe, it, expect, beforeAll, afterAll, vi } from 'vitest';
import { startBackbone, type Backbone } from '../backbone';
import { Identity } from '../crypto';
import { silentLogger } from '../util/log';
import { PilotNode } from './node';
import { FrameDecoder, decodeJson, encodeJsonFrame } from '../wire/framing';
import net from 'node:net';

/**
 * A TCP proxy in front of a registry that answers like the reference does to `resolve` and
 * `resolve_hostname`: without our extension fields (resolve_ok's public_key / behind_nat,
 * resolve_hostname_ok's real_addr / public_key / behind_nat).
 */
async function stripResolveKeys(registryPort: number): Promise<{ port: number; stripped: number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const out = { port: 0, stripped: 0, close: (): Promise<void> => Promise.resolve() };
  const server = net.createServer((client) => {
    const upstream = net.connect(registryPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const dec = new FrameDecoder();
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      for (const body of dec.push(d)) {
        const msg = decodeJson(body) as Record<string, unknown>;
        if ((msg['type'] === 'resolve_ok' || msg['type'] === 'resolve_hostname_ok') && 'public_key' in msg) {
          if (msg['type'] === 'resolve_hostname_ok') delete msg['real_addr'];
          delete msg['public_key'];
          delete msg['behind_nat'];
          out.stripped++;
        }
        client.write(encodeJsonFrame(msg));
      }
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  out.port = (server.address() as net.AddressInfo).port;
  out.close = () => {
    for (const s of sockets) s.destroy();
    return new Promise((r) => server.close(() => r()));
  };
  return out;
}

// Two real nodes on 127.0.0.1 with a real backbone (TCP registry + UDP beacon), in one process.
describe('PilotNode over real sockets', () => {
  let bb: Backbone;
  let a: PilotNode;
  let b: PilotNode;

  beforeAll(async () => {
    bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const reg = `127.0.0.1:${bb.registryAddress.port}`;
    const bea = `127.0.0.1:${bb.beaconAddress.port}`;
    a = new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, hostname: 'alpha', public: true, listen: '127.0.0.1:0' });
    b = new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, hostname: 'bravo', public: true, listen: '127.0.0.1:0' });
    await a.start();
    await b.start();
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await bb?.close();
  });

  it('registers distinct permanent addresses and learns its public endpoint from the beacon', () => {
    expect(a.nodeId).toBeGreaterThan(0);
    expect(b.nodeId).not.toBe(a.nodeId);
    expect(a.publicEndpoint?.port).toBe(a.tunnelEndpoint?.port);
  });

  it('resolves a hostname and answers a control ping over an encrypted direct tunnel', async () => {
    const t = await a.resolveTarget('bravo');
    expect(t.nodeId).toBe(b.nodeId);
    const rtt = await a.controlPing(t.nodeId);
    expect(rtt).toBeGreaterThan(0);
    expect(a.tunnels.peerInfo(b.nodeId)).toMatchObject({ path: 'direct', encrypted: true, authenticated: true });
    expect(b.tunnels.peerInfo(a.nodeId)).toMatchObject({ path: 'direct', encrypted: true });
  });

  it('carries a stream both ways and closes it gracefully with every byte delivered', async () => {
    const received: Uint8Array[] = [];
    const closed = new Promise<string>((resolve) => {
      const stop = b.listen(5000, (s) => {
        s.on('data', (c) => received.push(Uint8Array.from(c)));
        s.on('close', (reason) => {
          stop();
          resolve(reason);
        });
      });
    });
    const s = await a.dial(b.address, 5000);
    const payload = new Uint8Array(1_000_000).map((_, i) => (i * 7) & 0xff);
    s.write(payload);
    s.end();
    expect(await closed).toBe('fin');
    const got = Buffer.concat(received);
    expect(got.length).toBe(payload.length);
    expect(Buffer.compare(got, Buffer.from(payload))).toBe(0);
  });

  it('refuses a dial to a port nobody listens on', async () => {
    await expect(a.dial(b.address, 4444)).rejects.toMatchObject({ code: 'connection_failed' });
  });

  it('a cold dial takes the peer key from resolve_ok (our extension) and makes no lookup', async () => {
    const c = new PilotNode({ identity: Identity.generate(), registry: `127.0.0.1:${bb.registryAddress.port}`, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0' });
    await c.start();
    try {
      const parent = c.tracer.start('test.dial');
      await c.ensureTunnel(b.nodeId, parent);
      parent.end();
      const spans = c.tracer.byTrace(parent.traceId);
      expect(spans.filter((x) => x.name === 'registry.resolve')).toHaveLength(1);
      expect(spans.filter((x) => x.name === 'registry.lookup')).toHaveLength(0);
      expect(c.tunnels.keyLookupCount).toBe(0);
      expect(c.tunnels.peerInfo(b.nodeId)).toMatchObject({ encrypted: true, authenticated: true });
      // The peer's record (hostname, tags) is still filled: by one lookup after the dial, outside it.
      await vi.waitFor(() => expect(c.peers.get(b.nodeId)).toMatchObject({ hostname: 'bravo', lastRefreshed: expect.any(Number) }));
    } finally {
      await c.stop();
    }
  });

  it('a cold dial by hostname asks the registry once: the signed resolve_hostname gives endpoint and key', async () => {
    const c = new PilotNode({ identity: Identity.generate(), registry: `127.0.0.1:${bb.registryAddress.port}`, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0' });
    await c.start();
    try {
      const parent = c.tracer.start('test.dial');
      const t = await c.resolveTarget('bravo', parent);
      await c.ensureTunnel(t.nodeId, parent);
      parent.end();
      const spans = c.tracer.byTrace(parent.traceId).map((x) => x.name);
      expect(spans.filter((x) => x.startsWith('registry.'))).toEqual(['registry.resolve_hostname']);
      expect(c.tunnels.keyLookupCount).toBe(0);
      expect(c.tunnels.peerInfo(b.nodeId)).toMatchObject({ encrypted: true, authenticated: true, endpoint: b.tunnelEndpoint ? `127.0.0.1:${b.tunnelEndpoint.port}` : undefined });
      // The endpoint is used once: a later establishment resolves again.
      c.tunnels.forget(b.nodeId);
      const parent2 = c.tracer.start('test.dial');
      await c.ensureTunnel(b.nodeId, parent2);
      parent2.end();
      expect(c.tracer.byTrace(parent2.traceId).filter((x) => x.name === 'registry.resolve')).toHaveLength(1);
    } finally {
      await c.stop();
    }
  });

  it('from a registry without our fields (the reference), a cold dial by hostname resolves, and looks the key up once before the key exchange', async () => {
    const proxy = await stripResolveKeys(bb.registryAddress.port);
    const c = new PilotNode({ identity: Identity.generate(), registry: `127.0.0.1:${proxy.port}`, beacon: `127.0.0.1:${bb.beaconAddress.port}`, public: true, listen: '127.0.0.1:0' });
    await c.start();
    try {
      const parent = c.tracer.start('test.dial');
      const t = await c.resolveTarget('bravo', parent);
      expect(t.nodeId).toBe(b.nodeId);
      await c.ensureTunnel(t.nodeId, parent);
      parent.end();
      expect(proxy.stripped).toBe(2);
      const spans = c.tracer.byTrace(parent.traceId);
      expect(spans.filter((x) => x.name === 'registry.resolve')).toHaveLength(1);
      const first = (name: string): number => spans.find((x) => x.name === name)!.startMs;
      // Not after b's answer arrived: the lookup starts as our key exchange does (same turn, µs clock).
      expect(first('registry.lookup')).toBeLessThanOrEqual(first('key_exchange'));
      expect(spans.filter((x) => x.name === 'registry.lookup')).toHaveLength(1);
      expect(c.tunnels.keyLookupCount).toBe(1);
      expect(c.tunnels.peerInfo(b.nodeId)).toMatchObject({ encrypted: true, authenticated: true });
    } finally {
      await c.stop();
      await proxy.close();
    }
  });
});

describe('netcheck', () => {
  it('reports no NAT and an endpoint-independent mapping on loopback', async () => {
    const bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
    const n = new PilotNode({
      identity: Identity.generate(),
      registry: `127.0.0.1:${bb.registryAddress.port}`,
      beacon: `127.0.0.1:${bb.beaconAddress.port}`,
      netcheck: `127.0.0.1:${bb.netcheckAddress!.port}`,
      listen: '127.0.0.1:0',
    });
    try {
      await n.start();
      const r = await n.netcheck();
      expect(r).toMatchObject({ natType: 'none', mapping: 'endpoint-independent', portPreserved: true });
      expect(r.publicEndpoint).toBe(r.tunnelLocal);
    } finally {
      await n.stop();
      await bb.close();
    }
  });
});
