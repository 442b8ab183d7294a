import { describe, it, expect, afterEach } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SpanView } from '../../shared/contract';
import { silentLogger } from '../util/log';
import { OTLP_SPAN_KIND, OTLP_STATUS, otlpSpan, toOtlpJson, unixNanos } from './otlp-json';
import { OtlpPusher, otlpTracesUrl } from './otlp-push';

const span = (o: Partial<SpanView> = {}): SpanView => ({
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  name: 'task.submit',
  node: 'alpha',
  startMs: 1_700_000_000_123.5,
  durationMs: 2.25,
  status: 'ok',
  attrs: { peer: 7, path: 'direct', rtt_ms: 0.21, ok: true },
  ...o,
});

describe('OTLP/JSON mapping', () => {
  it('writes the ExportTraceServiceRequest field names: resourceSpans/resource/scopeSpans/spans, hex ids, nanosecond strings', () => {
    const req = toOtlpJson([{ serviceName: 'alpha', address: '0:0000.0000.0001', spans: [span({ parentId: 'b7ad6b7169203331', kind: 'client', events: [{ name: 'punch', timeMs: 1_700_000_000_124, attrs: { n: 1 } }] })] }], '1.0.0');
    expect(req).toEqual({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'alpha' } }, { key: 'pilot.node.address', value: { stringValue: '0:0000.0000.0001' } }] },
          scopeSpans: [
            {
              scope: { name: 'pilot-fleet', version: '1.0.0' },
              spans: [
                {
                  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                  spanId: '00f067aa0ba902b7',
                  parentSpanId: 'b7ad6b7169203331',
                  name: 'task.submit',
                  kind: 3,
                  startTimeUnixNano: '1700000000123500000',
                  endTimeUnixNano: '1700000000125750000',
                  attributes: [
                    { key: 'peer', value: { intValue: '7' } },
                    { key: 'path', value: { stringValue: 'direct' } },
                    { key: 'rtt_ms', value: { doubleValue: 0.21 } },
                    { key: 'ok', value: { boolValue: true } },
                  ],
                  events: [{ timeUnixNano: '1700000000124000000', name: 'punch', attributes: [{ key: 'n', value: { intValue: '1' } }] }],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it('maps kinds and error status, pads short ids, shifts a collected span to the collector clock, skips empty nodes', () => {
    expect(OTLP_SPAN_KIND).toEqual({ internal: 1, server: 2, client: 3, producer: 4, consumer: 5 });
    const s = otlpSpan(span({ status: 'error', statusMessage: 'refused', traceId: 'abc', spanId: '1', events: [{ name: 'e', timeMs: 1_700_000_000_124.5 }] }), 1_700_000_000_100.5);
    expect(s.status).toEqual({ code: OTLP_STATUS.error, message: 'refused' });
    expect(s.kind).toBe(1);
    expect(s.traceId).toBe('00000000000000000000000000000abc');
    expect(s.spanId).toBe('0000000000000001');
    expect(s.startTimeUnixNano).toBe('1700000000100500000');
    expect(s.events[0]!.timeUnixNano).toBe('1700000000101500000');
    expect(toOtlpJson([{ serviceName: 'empty', spans: [] }]).resourceSpans).toEqual([]);
    expect(unixNanos(0.000001)).toBe('1');
  });
});

describe('OTLP/HTTP push', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  it('POSTs batches as JSON to <endpoint>/v1/traces; a full queue drops and counts; a failing collector is counted', async () => {
    const bodies: { url: string | undefined; type: string | undefined; body: { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] } }[] = [];
    let status = 200;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    server = http.createServer((req, res) => {
      let data = '';
      req.on('data', (c: Buffer) => (data += c.toString()));
      req.on('end', () => {
        bodies.push({ url: req.url, type: req.headers['content-type'], body: JSON.parse(data) as never });
        // The first answer waits until the test has filled the queue behind it.
        held.then(() => res.writeHead(status).end('{}')).catch((e: unknown) => console.error(e));
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    expect(otlpTracesUrl(`http://127.0.0.1:${port}`)).toBe(`http://127.0.0.1:${port}/v1/traces`);
    expect(otlpTracesUrl(`http://h:1/v1/traces`)).toBe('http://h:1/v1/traces');
    expect(() => otlpTracesUrl('ftp://h')).toThrow(/http/);

    const p = new OtlpPusher({ endpoint: `http://127.0.0.1:${port}`, serviceName: () => 'alpha', address: () => '0:0000.0000.0001', log: silentLogger, maxQueue: 5, maxBatch: 3, flushMs: 10_000 });
    // 3 fill a batch (sent at once, held by the server); 5 more fit the queue; 2 are dropped.
    for (let i = 0; i < 10; i++) p.push(span({ spanId: `${i}` }));
    expect(p.counters).toMatchObject({ queued: 8, dropped: 2 });
    release();
    await p.close();
    expect(p.counters).toMatchObject({ queued: 8, sent: 8, dropped: 2, failedBatches: 0 });
    expect(bodies.map((b) => b.url)).toEqual(['/v1/traces', '/v1/traces', '/v1/traces']);
    expect(bodies[0]!.type).toBe('application/json');
    expect(bodies.map((b) => b.body.resourceSpans[0]!.scopeSpans[0]!.spans.length)).toEqual([3, 3, 2]);

    status = 500;
    const q = new OtlpPusher({ endpoint: `http://127.0.0.1:${port}`, serviceName: () => 'alpha', address: () => 'a', log: silentLogger, flushMs: 10_000 });
    q.push(span());
    await q.close();
    expect(q.counters).toMatchObject({ sent: 0, dropped: 1, failedBatches: 1 });
    q.push(span());
    expect(q.counters.dropped).toBe(2);
  });
});

describe('OTLP/JSON mapping against the OpenTelemetry JSON serializer', () => {
  it('gives the same span fields as @opentelemetry/otlp-transformer for the same span (int64 as strings, the canonical proto3 JSON form)', async () => {
    const { JsonTraceSerializer } = await import('@opentelemetry/otlp-transformer');
    const view = span({ parentId: 'b7ad6b7169203331', kind: 'client', events: [{ name: 'punch', timeMs: 1_700_000_000_124, attrs: { n: 1 } }] });
    // The SDK's ReadableSpan for the same span (only what the serializer reads).
    const sdkSpan = {
      name: view.name,
      kind: 2, // SpanKind.CLIENT in the API (OTLP numbers are one higher)
      spanContext: () => ({ traceId: view.traceId, spanId: view.spanId, traceFlags: 1 }),
      parentSpanContext: { traceId: view.traceId, spanId: view.parentId!, traceFlags: 1 },
      startTime: [1_700_000_000, 123_500_000],
      endTime: [1_700_000_000, 125_750_000],
      duration: [0, 2_250_000],
      status: { code: 1 },
      attributes: view.attrs,
      links: [],
      events: [{ name: 'punch', time: [1_700_000_000, 124_000_000], attributes: { n: 1 } }],
      ended: true,
      resource: { attributes: { 'service.name': 'alpha' } },
      instrumentationScope: { name: 'pilot-fleet' },
      droppedAttributesCount: 0,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
    };
    const theirs = JSON.parse(new TextDecoder().decode(JsonTraceSerializer.serializeRequest([sdkSpan as never])), (k, v: unknown) => (k === 'intValue' ? String(v) : v)) as {
      resourceSpans: { resource: { attributes: unknown }; scopeSpans: { scope: unknown; spans: Record<string, unknown>[] }[] }[];
    };
    const mine = toOtlpJson([{ serviceName: 'alpha', spans: [view] }]);
    const t = theirs.resourceSpans[0]!;
    const m = mine.resourceSpans[0]!;
    expect(m.resource.attributes).toEqual(t.resource.attributes);
    expect(m.scopeSpans[0]!.scope).toEqual(t.scopeSpans[0]!.scope);
    const ts = t.scopeSpans[0]!.spans[0]!;
    const ms = m.scopeSpans[0]!.spans[0]!;
    for (const k of ['traceId', 'spanId', 'parentSpanId', 'name', 'kind', 'startTimeUnixNano', 'endTimeUnixNano', 'attributes', 'status'] as const) expect(ms[k], k).toEqual(ts[k]);
    expect(ms.events.map((e) => ({ name: e.name, timeUnixNano: e.timeUnixNano, attributes: e.attributes }))).toEqual(
      (ts['events'] as { name: string; timeUnixNano: string; attributes: unknown }[]).map((e) => ({ name: e.name, timeUnixNano: e.timeUnixNano, attributes: e.attributes })),
    );
  });
});
