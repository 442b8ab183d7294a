/**
 * The node's spans, made through the OpenTelemetry API: each node owns a TracerProvider
 * (sdk-trace-base's BasicTracerProvider, never registered globally by the library; a daemon process
 * may register it) whose span processor turns every finished span into a SpanView in the node's
 * bounded ring (capacity fixed, span limits fixed: memory is bounded whatever the traffic).
 *
 * The facade (start/trace/list/byTrace/onSpan) is what the node, its services, the API layer and
 * the console use. Parent selection for a new root span: an explicit parent (a Span, a span context
 * or a remote `traceparent`) wins, else the active OTel context (an agent's own OTel span, when the
 * agent installed a context manager), else a new trace. Children take their parent explicitly.
 *
 * Tracing off (`enabled: false`, benchmarks) hands out one shared no-op span: nothing is allocated.
 */
import { context as otelContext, trace as otelTrace, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, type Context, type Span as OtelSpan, type SpanContext } from '@opentelemetry/api';
import { hrTimeToMilliseconds, millisToHrTime } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, type ReadableSpan, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { SpanView } from '../../shared/contract';
import { Ring } from './ring';
import { formatTraceparent, parseTraceparent } from './traceparent';

export type AttrValue = string | number | boolean;
export type Attrs = Record<string, AttrValue>;
export type SpanKindName = NonNullable<SpanView['kind']>;

export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  /** False for the no-op span of a tracer that is switched off. */
  readonly recording: boolean;
  set(key: string, value: AttrValue): void;
  /** A timestamped event inside the span (e.g. one punch attempt, a retry). */
  event(name: string, attrs?: Attrs): void;
  child(name: string, attrs?: Attrs, kind?: SpanKindName): Span;
  end(status?: 'ok' | 'error'): void;
  /** Records the error (attribute `error`, status message) and ends the span as an error. */
  fail(e: unknown): void;
  /** W3C traceparent naming this span as the parent (undefined when not recording). */
  traceparent(): string | undefined;
  /** The OTel span underneath (for code written against @opentelemetry/api). */
  readonly otel: OtelSpan | undefined;
}

/**
 * What may be named as a parent: one of our spans, a span context, or a traceparent string;
 * `undefined`: the active OTel context's span if any; `null` (ROOT_PARENT): a new trace regardless
 * (a server span whose request carried no valid context must not join whatever context is active).
 */
export type ParentLike = Span | { traceId: string; spanId: string; flags?: number } | string | null | undefined;
export const ROOT_PARENT = null;

export interface TracerOptions {
  /** Ring capacity in spans (default 5000). */
  capacity?: number;
  /** Tracing switched off: every span is the shared no-op span (benchmarks compare on vs off). */
  enabled?: boolean;
  /** A clock for span times in epoch milliseconds (tests); default: the SDK's own. */
  now?: () => number;
  /** Resource attributes of this node's spans (service.name defaults to `pilot-node`). */
  resource?: Attrs;
  /** The node's address text, recorded on every span as `nodeAddr`. */
  address?: () => string;
}

const KIND: Record<SpanKindName, SpanKind> = {
  internal: SpanKind.INTERNAL,
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};
const KIND_NAME: SpanKindName[] = ['internal', 'server', 'client', 'producer', 'consumer'];

/** Per-span limits: a span never grows beyond these, so the ring's memory is bounded. */
const SPAN_LIMITS = { attributeCountLimit: 64, attributeValueLengthLimit: 512, eventCountLimit: 32, linkCountLimit: 4, attributePerEventCountLimit: 16 };

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

class RealSpan implements Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly recording = true;
  private ended = false;
  /** The OTel context with this span active, made once for all its children. */
  private ctx: Context | undefined;
  constructor(
    private readonly tracer: Tracer,
    readonly otel: OtelSpan,
    private readonly now: (() => number) | undefined,
  ) {
    const sc = otel.spanContext();
    this.traceId = sc.traceId;
    this.spanId = sc.spanId;
  }
  set(key: string, value: AttrValue): void {
    this.otel.setAttribute(key, value);
  }
  event(name: string, attrs?: Attrs): void {
    if (this.now) this.otel.addEvent(name, attrs ?? {}, millisToHrTime(this.now()));
    else this.otel.addEvent(name, attrs);
  }
  child(name: string, attrs?: Attrs, kind?: SpanKindName): Span {
    return this.tracer.start(name, this, attrs, kind);
  }
  /** @internal */
  context(): Context {
    return (this.ctx ??= otelTrace.setSpan(ROOT_CONTEXT, this.otel));
  }
  end(status: 'ok' | 'error' = 'ok'): void {
    if (this.ended) return;
    this.ended = true;
    this.otel.setStatus({ code: status === 'ok' ? SpanStatusCode.OK : SpanStatusCode.ERROR });
    if (this.now) this.otel.end(millisToHrTime(this.now()));
    else this.otel.end();
  }
  fail(e: unknown): void {
    if (this.ended) return;
    const msg = errorText(e);
    this.otel.setAttribute('error', msg);
    this.ended = true;
    this.otel.setStatus({ code: SpanStatusCode.ERROR, message: msg });
    if (this.now) this.otel.end(millisToHrTime(this.now()));
    else this.otel.end();
  }
  traceparent(): string {
    return formatTraceparent({ traceId: this.traceId, spanId: this.spanId, flags: this.otel.spanContext().traceFlags });
  }
}

/** The span handed out when tracing is off: every method does nothing. */
export const NOOP_SPAN: Span = Object.freeze({
  traceId: '',
  spanId: '',
  recording: false,
  otel: undefined,
  set() {},
  event() {},
  child: () => NOOP_SPAN,
  end() {},
  fail() {},
  traceparent: () => undefined,
});

/** Span processor: finished spans become SpanViews in the ring, then go to listeners and extra processors. */
class RingProcessor implements SpanProcessor {
  readonly extra: SpanProcessor[] = [];
  constructor(private readonly tracer: Tracer) {}
  onStart(span: Parameters<SpanProcessor['onStart']>[0], parent: Context): void {
    for (const p of this.extra) p.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    this.tracer.record(span);
    for (const p of this.extra) p.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all(this.extra.map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all(this.extra.map((p) => p.shutdown()));
  }
}

export class Tracer {
  readonly enabled: boolean;
  readonly capacity: number;
  /** This node's TracerProvider (undefined when tracing is off). Not registered globally here. */
  readonly provider: BasicTracerProvider | undefined;
  /** Resource attributes of every span of this node (for exporters). */
  readonly resourceAttributes: Attrs;
  private readonly otel: ReturnType<BasicTracerProvider['getTracer']> | undefined;
  private readonly processor: RingProcessor;
  private readonly ring: Ring<SpanView>;
  private readonly listeners = new Set<(s: SpanView) => void>();
  private readonly now: (() => number) | undefined;
  private readonly address: (() => string) | undefined;

  /** `opts` may be a number: the ring capacity (and `now` the test clock), as before. */
  constructor(
    readonly node: () => string,
    opts: TracerOptions | number = {},
    now?: () => number,
  ) {
    const o: TracerOptions = typeof opts === 'number' ? { capacity: opts, ...(now ? { now } : {}) } : opts;
    this.enabled = o.enabled ?? true;
    this.capacity = Math.max(1, Math.floor(o.capacity ?? 5000));
    this.ring = new Ring(this.capacity);
    this.now = o.now;
    this.address = o.address;
    this.resourceAttributes = { 'service.name': 'pilot-node', ...o.resource };
    this.processor = new RingProcessor(this);
    if (this.enabled) {
      this.provider = new BasicTracerProvider({
        resource: resourceFromAttributes(this.resourceAttributes),
        sampler: new AlwaysOnSampler(),
        spanLimits: SPAN_LIMITS,
        spanProcessors: [this.processor],
      });
      this.otel = this.provider.getTracer('pilot-node');
    } else {
      this.provider = undefined;
      this.otel = undefined;
    }
  }

  /**
   * Starts a span. Parent: `parent` when given and valid, else the active OTel context's span,
   * else none (a new trace).
   */
  start(name: string, parent?: ParentLike, attrs?: Attrs, kind?: SpanKindName): Span {
    const otel = this.otel;
    if (!otel) return NOOP_SPAN;
    const ctx = parentContext(parent);
    const options: Parameters<typeof otel.startSpan>[1] = {};
    if (attrs) options.attributes = attrs;
    if (kind) options.kind = KIND[kind];
    if (this.now) options.startTime = millisToHrTime(this.now());
    return new RealSpan(this, otel.startSpan(name, options, ctx), this.now);
  }

  /** Runs `fn` inside a span (child of `parent` when given); the span ends with the outcome. */
  async trace<T>(name: string, fn: (span: Span) => Promise<T>, parent?: ParentLike, attrs?: Attrs, kind?: SpanKindName): Promise<T> {
    const span = this.start(name, parent, attrs, kind);
    try {
      const r = await fn(span);
      span.end('ok');
      return r;
    } catch (e) {
      span.fail(e);
      throw e;
    }
  }

  /** Runs `fn` with `span` as the active OTel span (effective when a context manager is registered). */
  withSpan<T>(span: Span, fn: () => T): T {
    if (!span.otel) return fn();
    return otelContext.with(otelTrace.setSpan(otelContext.active(), span.otel), fn);
  }

  /** Adds a span processor after this one (e.g. an OTLP exporter's batch processor). */
  addSpanProcessor(p: SpanProcessor): void {
    this.processor.extra.push(p);
  }

  list(limit = 1000): SpanView[] {
    return this.ring.toArray(limit);
  }

  /** The spans of one trace held by this node, oldest first. */
  byTrace(traceId: string): SpanView[] {
    return this.ring.toArray().filter((s) => s.traceId === traceId);
  }

  get size(): number {
    return this.ring.size;
  }

  onSpan(fn: (s: SpanView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async shutdown(): Promise<void> {
    await this.provider?.shutdown();
  }

  /** @internal Called by the span processor with each finished span. */
  record(span: ReadableSpan): void {
    const view = toView(span, this.node(), this.address?.());
    this.ring.push(view);
    for (const l of this.listeners) {
      try {
        l(view);
      } catch {
        // A listener's failure must not break the span's owner (the node's request path).
      }
    }
  }
}

function parentContext(parent: ParentLike): Context {
  if (parent === undefined) return otelContext.active();
  if (parent === null) return ROOT_CONTEXT;
  if (typeof parent === 'string') {
    const p = parseTraceparent(parent);
    return p ? otelTrace.setSpanContext(ROOT_CONTEXT, { traceId: p.traceId, spanId: p.spanId, traceFlags: p.flags, isRemote: true }) : otelContext.active();
  }
  if (parent instanceof RealSpan) return parent.context();
  if ('otel' in parent) {
    if (parent.otel) return otelTrace.setSpan(ROOT_CONTEXT, parent.otel);
    return otelContext.active();
  }
  if (!parent.traceId || !parent.spanId) return otelContext.active();
  const sc: SpanContext = { traceId: parent.traceId, spanId: parent.spanId, traceFlags: parent.flags ?? TraceFlags.SAMPLED, isRemote: true };
  return otelTrace.isSpanContextValid(sc) ? otelTrace.setSpanContext(ROOT_CONTEXT, sc) : otelContext.active();
}

function toView(span: ReadableSpan, node: string, nodeAddr: string | undefined): SpanView {
  const sc = span.spanContext();
  const attrs: SpanView['attrs'] = {};
  for (const [k, v] of Object.entries(span.attributes)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') attrs[k] = v;
    else if (Array.isArray(v)) attrs[k] = v.join(',');
  }
  const view: SpanView = {
    traceId: sc.traceId,
    spanId: sc.spanId,
    name: span.name,
    node,
    startMs: hrTimeToMilliseconds(span.startTime),
    durationMs: hrTimeToMilliseconds(span.duration),
    status: span.status.code === SpanStatusCode.ERROR ? 'error' : 'ok',
    attrs,
    kind: KIND_NAME[span.kind] ?? 'internal',
  };
  const parent = span.parentSpanContext;
  if (parent?.spanId) {
    view.parentId = parent.spanId;
    if (parent.isRemote) view.remoteParent = true;
  }
  if (nodeAddr) view.nodeAddr = nodeAddr;
  if (span.events.length > 0) {
    view.events = span.events.map((e) => {
      const ev: NonNullable<SpanView['events']>[number] = { name: e.name, timeMs: hrTimeToMilliseconds(e.time) };
      if (e.attributes) {
        const a: Record<string, AttrValue> = {};
        for (const [k, v] of Object.entries(e.attributes)) if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') a[k] = v;
        ev.attrs = a;
      }
      return ev;
    });
  }
  if (span.status.message) view.statusMessage = span.status.message;
  return view;
}
