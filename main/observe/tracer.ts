/**
 * Spans for the console's waterfall: every dial, ping and service request records one, with child
 * spans for its steps (resolve, key exchange, punch, relay). Kept in a bounded ring; exported as
 * OTLP-like JSON later. Trace and span ids are random hex (W3C sizes: 16 and 8 bytes).
 */
import { randomBytes } from 'node:crypto';
import type { SpanView } from '../../shared/contract';
import { Ring } from './ring';

export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  set(key: string, value: string | number | boolean): void;
  child(name: string): Span;
  end(status?: 'ok' | 'error'): void;
}

export class Tracer {
  private readonly ring: Ring<SpanView>;
  private readonly listeners = new Set<(s: SpanView) => void>();

  constructor(
    readonly node: () => string,
    capacity = 5000,
    private readonly now: () => number = () => performance.timeOrigin + performance.now(),
  ) {
    this.ring = new Ring(capacity);
  }

  start(name: string, parent?: { traceId: string; spanId: string }): Span {
    const traceId = parent?.traceId ?? randomBytes(16).toString('hex');
    const spanId = randomBytes(8).toString('hex');
    const startMs = this.now();
    const attrs: Record<string, string | number | boolean> = {};
    let ended = false;
    const span: Span = {
      traceId,
      spanId,
      set: (k, v) => {
        attrs[k] = v;
      },
      child: (n) => this.start(n, { traceId, spanId }),
      end: (status = 'ok') => {
        if (ended) return;
        ended = true;
        const view: SpanView = { traceId, spanId, name, node: this.node(), startMs, durationMs: this.now() - startMs, status, attrs };
        if (parent) view.parentId = parent.spanId;
        this.ring.push(view);
        for (const l of this.listeners) l(view);
      },
    };
    return span;
  }

  /** Runs `fn` inside a span; the span ends with the outcome. */
  async trace<T>(name: string, fn: (span: Span) => Promise<T>, parent?: Span): Promise<T> {
    const span = parent ? parent.child(name) : this.start(name);
    try {
      const r = await fn(span);
      span.end('ok');
      return r;
    } catch (e) {
      span.set('error', e instanceof Error ? e.message : String(e));
      span.end('error');
      throw e;
    }
  }

  list(limit = 1000): SpanView[] {
    return this.ring.toArray(limit);
  }

  onSpan(fn: (s: SpanView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
