import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import type { SpanView } from '../../../shared/contract';
import { silentLogger } from '../../util/log';
import { TestNet, waitFor, type Peer } from './testkit';
import type { TrustChange } from './trust';
import { backboneAddress } from '../../../shared/address';
import { ServiceFrameDecoder, encodeServiceFrame, type ServiceFrame } from '../../wire/service';
import { FrameReader } from './common';
import { TRACE_QUERY_PORT, TRACE_QUERY_TYPE, TraceQueryService, boundSpans, queryTrace, spanClock } from './trace-query';
import { clockOffset, collectTrace, mergeTrace, nodesNamedBy } from './trace-collect';

// Real backbone + real nodes over UDP on 127.0.0.1, in process.
let net: TestNet;
beforeAll(async () => {
  net = await TestNet.start();
});
afterAll(async () => {
  await net?.close();
});

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const span = (o: Partial<SpanView> & { spanId: string; node: string; startMs: number }): SpanView => ({ traceId: TRACE, name: 'op', durationMs: 5, status: 'ok', attrs: {}, ...o });

async function trusts(holder: Peer, asker: Peer): Promise<void> {
  const pending = waitFor(holder.svc.trust, 'request');
  await asker.svc.trust.request(holder.node.nodeId, 'traces');
  await pending;
  const done = waitFor<[TrustChange]>(asker.svc.trust, 'changed', (c) => c.nodeId === holder.node.nodeId && c.state === 'trusted');
  await holder.svc.trust.approve(asker.node.nodeId);
  await done;
}

function serve(p: Peer, spans: SpanView[], now?: () => number): TraceQueryService {
  const t = p.svc.trust;
  const s = new TraceQueryService(p.node, (id) => spans.filter((x) => x.traceId === id), { mayQuery: (n) => t.isTrusted(n) || t.sharesGroup(n) }, silentLogger, now);
  s.start();
  return s;
}

describe('trace query (port 1010) and collection', () => {
  it('collects a trace across three nodes in two rounds, estimating each clock offset; an untrusted node is refused and counted', async () => {
    const a = await net.peer({ public: true, hostname: 'tq-alpha' });
    const b = await net.peer({ public: true, hostname: 'tq-beta' });
    const c = await net.peer({ public: true, hostname: 'tq-gamma' });
    const d = await net.peer({ public: true });
    await trusts(b, a);
    await trusts(c, a);
    const t = Date.now();
    // A's span names B (peer attr); B's names C (an address); C's clock runs 5 s ahead.
    const aSpans = [span({ spanId: 'a1', node: 'tq-alpha', startMs: t, durationMs: 30, attrs: { 'peer.node_id': b.node.nodeId } }), span({ traceId: 'ffff', spanId: 'a9', node: 'tq-alpha', startMs: t })];
    const bSpans = [span({ spanId: 'b1', parentId: 'a1', node: 'tq-beta', startMs: t + 2, durationMs: 20, attrs: { 'net.peer.address': `0:0000.${c.node.nodeId.toString(16).padStart(8, '0').replace(/(....)(....)/, '$1.$2')}` } })];
    const skew = 5000;
    const cSpans = [span({ spanId: 'c1', parentId: 'b1', node: 'tq-gamma', startMs: t + 5 + skew, durationMs: 10 })];
    const services = [serve(b, bSpans), serve(c, cSpans, () => spanClock() + skew), serve(d, [])];
    try {
      const got = await collectTrace(a.node, (id) => aSpans.filter((x) => x.traceId === id), TRACE);
      expect(got.nodes.map((n) => [n.hostname, n.self, n.spans, n.error])).toEqual([
        ['tq-alpha', true, 1, undefined],
        ['tq-beta', false, 1, undefined],
        ['tq-gamma', false, 1, undefined],
      ]);
      const gamma = got.nodes[2]!;
      // The estimate is off by at most the asymmetry of one loopback round trip.
      expect(Math.abs(gamma.offsetMs - skew)).toBeLessThan(1000);
      expect(gamma.rttMs).toBeTypeOf('number');
      const c1 = got.spans.find((s) => s.spanId === 'c1')!;
      expect(c1.lane).toBe(gamma.address);
      expect(Math.abs(c1.adjustedStartMs - (t + 5))).toBeLessThan(1000);
      expect(got.spans.map((s) => s.spanId)).toEqual(['a1', 'b1', 'c1']);

      // A collector with no spans of its own, seeded with B (trace query --peer): B, then C.
      const seeded = await collectTrace(a.node, () => [], TRACE, { peers: [b.node.nodeId] });
      expect(seeded.nodes.map((n) => [n.hostname, n.spans])).toEqual([
        ['tq-alpha', 0],
        ['tq-beta', 1],
        ['tq-gamma', 1],
      ]);

      // D is neither trusted by B nor in a group with it: refused (B is public, so the service itself decides).
      await expect(queryTrace(d.node, b.node.nodeId, TRACE)).rejects.toMatchObject({ code: 'permission_denied' });
      expect(services[0]!.counters).toMatchObject({ refused: 1, answered: 2 });
      // And collecting from D shows B as refused, with no spans.
      const fromD = await collectTrace(d.node, () => [span({ spanId: 'd1', node: 'd', startMs: t, attrs: { peer: b.node.nodeId } })], TRACE);
      expect(fromD.nodes[1]).toMatchObject({ nodeId: b.node.nodeId, spans: 0, error: expect.stringContaining('refused') });
      expect(fromD.spans.map((s) => s.spanId)).toEqual(['d1']);
    } finally {
      for (const s of services) s.stop();
    }
  });

  it('a private node resets the stream of an untrusted asker (admission), which reads as refused', async () => {
    const holder = await net.peer({ public: false });
    const asker = await net.peer({ public: true });
    const s = serve(holder, [span({ spanId: 'x', node: 'h', startMs: 1 })]);
    try {
      // The registry will not tell the asker where a private node is; the holder's ping opens the tunnel.
      await expect(queryTrace(asker.node, holder.node.nodeId, TRACE, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'permission_denied' });
      await holder.node.controlPing(asker.node.nodeId);
      await expect(queryTrace(asker.node, holder.node.nodeId, TRACE, { timeoutMs: 5000 })).rejects.toMatchObject({ code: 'connection_failed', message: expect.stringContaining('refused') });
      expect(s.counters.answered).toBe(0);
    } finally {
      s.stop();
    }
  });

  it('answers a query that is not {trace_id} with a refusal frame (counted), and rejects a bad id before dialling', async () => {
    const holder = await net.peer({ public: true });
    const asker = await net.peer({ public: true });
    const s = serve(holder, []);
    try {
      const stream = await asker.node.dial(backboneAddress(holder.node.nodeId), TRACE_QUERY_PORT, 5000);
      stream.stopBuffering();
      const dec = new ServiceFrameDecoder();
      const reader = new FrameReader<ServiceFrame>(stream, (c) => dec.push(Uint8Array.from(c)));
      await stream.writeAll(encodeServiceFrame(TRACE_QUERY_TYPE.QUERY, new TextEncoder().encode('{"trace_id":"NOT HEX"}')));
      const f = await reader.next(5000);
      expect(f?.type).toBe(TRACE_QUERY_TYPE.REFUSED);
      expect(JSON.parse(new TextDecoder().decode(f!.payload))).toEqual({ error: expect.stringContaining('bad query') });
      expect(s.counters.badQueries).toBe(1);
      stream.end();
      await expect(queryTrace(asker.node, holder.node.nodeId, 'not-hex')).rejects.toMatchObject({ code: 'invalid_argument' });
    } finally {
      s.stop();
    }
  });
});

describe('trace query: pure parts', () => {
  it('boundSpans keeps the newest spans within the byte budget and says it truncated', () => {
    const many = Array.from({ length: 50 }, (_, i) => span({ spanId: i.toString(16), node: 'n', startMs: i }));
    const b = boundSpans(many, 10);
    expect(b.spans.map((s) => s.startMs)).toEqual([40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
    expect(b.truncated).toBe(true);
    const small = boundSpans(many, 1000, 600);
    expect(small.spans.length).toBeGreaterThan(0);
    expect(small.spans.length).toBeLessThan(10);
    expect(boundSpans(many.slice(0, 3)).truncated).toBe(false);
  });

  it('nodesNamedBy finds node ids in peer-like attributes and address-valued span nodes', () => {
    const s = [
      span({ spanId: '1', node: 'alpha', startMs: 0, attrs: { peer: 7, 'net.peer.address': '0:0000.0000.0009', seq: 3, 'pilot.target': 'beta' } }),
      span({ spanId: '2', node: '0:0000.0001.0000', startMs: 0, attrs: { node: '12' } }),
      span({ spanId: '3', node: 'x', nodeAddr: '0:0000.0000.000d', startMs: 0 }),
    ];
    expect([...nodesNamedBy(s)].sort((x, y) => x - y)).toEqual([7, 9, 12, 13, 65536]);
  });

  it('clockOffset: remote clock minus (send time + rtt/2); mergeTrace applies it and dedupes', () => {
    expect(clockOffset(10_050, 10_000, 20)).toBe(40);
    const m = mergeTrace(TRACE, [
      { node: { address: 'A', nodeId: 1, self: true, offsetMs: 0, spans: 0 }, spans: [span({ spanId: 's1', node: 'a', startMs: 100 })] },
      { node: { address: 'B', nodeId: 2, self: false, offsetMs: 40, spans: 0 }, spans: [span({ spanId: 's2', node: 'b', startMs: 130 }), span({ spanId: 's1', node: 'a', startMs: 100 })] },
    ]);
    expect(m.spans.map((s) => [s.spanId, s.lane, s.adjustedStartMs])).toEqual([
      ['s2', 'B', 90],
      ['s1', 'A', 100],
    ]);
    expect(m.nodes.map((n) => n.spans)).toEqual([1, 1]);
  });
});
