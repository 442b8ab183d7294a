import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PORTS } from '../../../shared/address';
import type { SpanView } from '../../../shared/contract';
import { fromUtf8, utf8 } from '../../util/bytes';
import { DATA_TYPE, ServiceFrameDecoder, dataTypeName, encodeServiceFrame } from '../../wire/service';
import { formatTraceparent } from '../../observe/traceparent';
import { TRACE_CONTEXT_TYPE, sendFrames, sendMessage } from './data-exchange';
import { echo } from './echo';
import { publish } from './event-stream';
import { TestNet, type Peer } from './testkit';
import { PilotNode } from '../node';
import { Identity } from '../../crypto';

// Service spans and trace context between two real nodes (loopback UDP, real backbone).
let net: TestNet;
let a: Peer;
let b: Peer;
beforeAll(async () => {
  net = await TestNet.start();
  a = await net.peer({ public: true });
  b = await net.peer({ public: true });
});
afterAll(async () => {
  await net?.close();
});

const T = 'c3'.repeat(16);
const AGENT = 'd4'.repeat(8);
const named = (spans: SpanView[], name: string, traceId = T): SpanView | undefined => spans.find((s) => s.name === name && s.traceId === traceId);

describe('service spans and trace context', () => {
  it('data exchange: the trace frame makes the receiver’s span a child of the sender’s; the replies are unchanged', async () => {
    const tp = formatTraceparent({ traceId: T, spanId: AGENT });
    const replies = await sendFrames(a.node, b.node.nodeId, [{ type: DATA_TYPE.TEXT, payload: utf8('hello') }, { type: DATA_TYPE.JSON, payload: utf8('{}') }], 10_000, { parent: tp });
    expect(replies.map((r) => r.reply)).toEqual(['ACK TEXT 5 bytes', 'ACK JSON 2 bytes']);
    const send = named(a.node.tracer.list(), 'data.send')!;
    expect(send).toMatchObject({ parentId: AGENT, kind: 'client', status: 'ok' });
    await vi.waitFor(() => expect(b.node.tracer.byTrace(T).filter((s) => s.name === 'data.receive')).toHaveLength(2), { timeout: 10_000 });
    for (const r of b.node.tracer.byTrace(T).filter((s) => s.name === 'data.receive')) expect(r).toMatchObject({ parentId: send.spanId, remoteParent: true, kind: 'server' });
    // The sender's own stream span sits under its send span.
    expect(a.node.tracer.byTrace(T).find((s) => s.name === 'stream')?.parentId).toBe(send.spanId);
  });

  it('data exchange: our server answers the trace frame exactly as the reference answers an unknown type', async () => {
    const s = await a.node.dial(b.node.address, PORTS.dataExchange);
    const dec = new ServiceFrameDecoder();
    const got: string[] = [];
    s.on('data', (c) => got.push(...dec.push(Uint8Array.from(c)).map((f) => fromUtf8(f.payload))));
    const tp = formatTraceparent({ traceId: T, spanId: AGENT });
    s.write(encodeServiceFrame(TRACE_CONTEXT_TYPE, utf8(tp)));
    s.write(encodeServiceFrame(DATA_TYPE.TEXT, utf8('x')));
    await vi.waitFor(() => expect(got).toHaveLength(2), { timeout: 10_000 });
    expect(got).toEqual([`ACK ${dataTypeName(TRACE_CONTEXT_TYPE)} 55 bytes`, 'ACK TEXT 1 bytes']);
    expect(got[0]).toBe('ACK UNKNOWN(1414677328) 55 bytes');
    s.end();
  });

  it('data exchange: a server that knows nothing of trace frames (reference behaviour) still gets the right replies matched', async () => {
    const c = await net.peer({ public: true });
    c.svc.data!.stop();
    // services.md §3: one TEXT reply per frame, `ACK <TYPE> <n> bytes`, unknown types acknowledged and not stored.
    const stored: number[] = [];
    c.node.listen(PORTS.dataExchange, (s) => {
      const dec = new ServiceFrameDecoder();
      s.on('data', (chunk) => {
        for (const f of dec.push(Uint8Array.from(chunk))) {
          if (f.type >= 1 && f.type <= 4) stored.push(f.type);
          s.write(encodeServiceFrame(DATA_TYPE.TEXT, utf8(`ACK ${dataTypeName(f.type)} ${f.payload.length} bytes`)));
        }
      });
      s.on('close', () => s.end());
    });
    const r = await sendMessage(a.node, c.node.nodeId, 'TEXT', 'to the reference');
    expect(r.reply).toBe('ACK TEXT 16 bytes');
    expect(stored).toEqual([DATA_TYPE.TEXT]);
  });

  it('event stream: the publisher’s context rides in the ignored subscription payload; subscribers get the payload unchanged', async () => {
    const seen: string[] = [];
    const off = b.svc.events!.subscribeLocal('news', (_t, p) => seen.push(fromUtf8(p)));
    try {
      await publish(a.node, b.node.nodeId, 'news', [utf8('one'), utf8('two')], 10_000, { parent: formatTraceparent({ traceId: T, spanId: AGENT }) });
      await vi.waitFor(() => expect(seen).toHaveLength(2), { timeout: 10_000 });
      expect(seen).toEqual(['one', 'two']);
      const pub = a.node.tracer.byTrace(T).find((s) => s.name === 'event.publish')!;
      expect(pub).toMatchObject({ parentId: AGENT, kind: 'client' });
      await vi.waitFor(() => expect(b.node.tracer.byTrace(T).filter((s) => s.name === 'event.route')).toHaveLength(2), { timeout: 10_000 });
      for (const r of b.node.tracer.byTrace(T).filter((s) => s.name === 'event.route')) expect(r).toMatchObject({ parentId: pub.spanId, attrs: { 'event.topic': 'news', 'event.delivered': 1 } });
    } finally {
      off();
    }
  });

  it('echo: a client span and a server span, the payload untouched', async () => {
    const data = utf8('echo me');
    expect(await echo(a.node, b.node.nodeId, data, 10_000, { parent: formatTraceparent({ traceId: T, spanId: AGENT }) })).toEqual(data);
    expect(named(a.node.tracer.list(), 'echo')).toMatchObject({ parentId: AGENT, attrs: { 'echo.bytes': 7 } });
    await vi.waitFor(() => expect(b.node.tracer.list().map((s) => s.name)).toContain('echo.serve'), { timeout: 10_000 });
  });

  it('a tracer switched off records nothing and sends no trace frame', async () => {
    const c = await net.peer({ public: true });
    const off = new PilotNode({ identity: Identity.generate(), registry: net.registry, beacon: net.beacon, listen: '127.0.0.1:0', public: true, tracing: false });
    await off.start();
    try {
      const before = c.node.tracer.size;
      expect((await sendMessage(off, c.node.nodeId, 'TEXT', 'quiet')).reply).toBe('ACK TEXT 5 bytes');
      expect(off.tracer.list()).toEqual([]);
      // Only the receiver's own spans (stream, data.receive), in a trace of its own.
      await vi.waitFor(() => expect(c.node.tracer.list().map((s) => s.name)).toContain('data.receive'), { timeout: 10_000 });
      const recv = c.node.tracer.list().find((s) => s.name === 'data.receive')!;
      expect(recv.parentId).toBeUndefined();
      expect(c.node.tracer.size).toBeGreaterThan(before);
    } finally {
      await off.stop();
    }
  });
});
