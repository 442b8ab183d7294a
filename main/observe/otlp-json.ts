/**
 * SpanView → OTLP/JSON (an ExportTraceServiceRequest as the OTLP/HTTP JSON encoding writes it:
 * opentelemetry-proto `trace/v1/trace.proto`, JSON mapping with hex trace/span ids, 64-bit times as
 * decimal strings, lowerCamelCase field names). One `resourceSpans` entry per node, its
 * `service.name` the node's hostname or address. Written by hand rather than through
 * @opentelemetry/otlp-transformer: that serializer takes SDK ReadableSpans, and the spans here come
 * out of rings (ours and other nodes') as plain SpanViews; the field names are tested.
 */
import type { SpanView } from '../../shared/contract';

export type OtlpAnyValue = { stringValue: string } | { boolValue: boolean } | { intValue: string } | { doubleValue: number };
export interface OtlpKeyValue {
  key: string;
  value: OtlpAnyValue;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpKeyValue[];
  events: { timeUnixNano: string; name: string; attributes: OtlpKeyValue[] }[];
  status: { code: number; message?: string };
}
export interface OtlpTraceRequest {
  resourceSpans: {
    resource: { attributes: OtlpKeyValue[] };
    scopeSpans: { scope: { name: string; version?: string }; spans: OtlpSpan[] }[];
  }[];
}

/** OTLP SpanKind numbers (SPAN_KIND_INTERNAL = 1 … CONSUMER = 5). */
export const OTLP_SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
/** OTLP StatusCode numbers. */
export const OTLP_STATUS = { unset: 0, ok: 1, error: 2 } as const;
export const OTLP_SCOPE = 'pilot-fleet';

/** Milliseconds (fractional) since the epoch → nanoseconds as a decimal string. */
export function unixNanos(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(frac)).toString();
}

function hexId(id: string, len: number): string {
  const h = id.toLowerCase().replace(/[^0-9a-f]/g, '');
  return h.length >= len ? h.slice(-len) : h.padStart(len, '0');
}

export function otlpValue(v: string | number | boolean): OtlpAnyValue {
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isInteger(v) && Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: v };
  return { stringValue: v };
}

export function otlpAttributes(attrs: Record<string, string | number | boolean> | undefined): OtlpKeyValue[] {
  return Object.entries(attrs ?? {}).map(([key, v]) => ({ key, value: otlpValue(v) }));
}

/** One span; `startMs` overrides the span's own start (a collected span's start on the collector's clock). */
export function otlpSpan(s: SpanView, startMs = s.startMs): OtlpSpan {
  const out: OtlpSpan = {
    traceId: hexId(s.traceId, 32),
    spanId: hexId(s.spanId, 16),
    name: s.name,
    kind: OTLP_SPAN_KIND[s.kind ?? 'internal'],
    startTimeUnixNano: unixNanos(startMs),
    endTimeUnixNano: unixNanos(startMs + s.durationMs),
    attributes: otlpAttributes(s.attrs),
    events: (s.events ?? []).map((e) => ({ timeUnixNano: unixNanos(e.timeMs - (s.startMs - startMs)), name: e.name, attributes: otlpAttributes(e.attrs) })),
    status: s.status === 'error' ? { code: OTLP_STATUS.error, ...(s.statusMessage ? { message: s.statusMessage } : {}) } : { code: OTLP_STATUS.ok },
  };
  if (s.parentId) out.parentSpanId = hexId(s.parentId, 16);
  return out;
}

export interface OtlpNodeSpans {
  /** service.name: the node's hostname, else its address. */
  serviceName: string;
  address?: string;
  spans: SpanView[];
  /** Start of each span on the exporting clock (default: the span's own startMs). */
  startOf?: (s: SpanView) => number;
}

/** An ExportTraceServiceRequest with one resourceSpans entry per node. */
export function toOtlpJson(nodes: OtlpNodeSpans[], version?: string): OtlpTraceRequest {
  return {
    resourceSpans: nodes
      .filter((n) => n.spans.length > 0)
      .map((n) => {
        const resource: OtlpKeyValue[] = [{ key: 'service.name', value: { stringValue: n.serviceName } }];
        if (n.address) resource.push({ key: 'pilot.node.address', value: { stringValue: n.address } });
        return {
          resource: { attributes: resource },
          scopeSpans: [{ scope: version ? { name: OTLP_SCOPE, version } : { name: OTLP_SCOPE }, spans: n.spans.map((s) => otlpSpan(s, n.startOf ? n.startOf(s) : s.startMs)) }],
        };
      }),
  };
}
