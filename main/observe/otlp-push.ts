/**
 * Pushes the node's finished spans to an OTLP/HTTP collector (Jaeger, Tempo, an OTel Collector):
 * `pilotctl daemon start --otlp-endpoint http://host:4318`. Spans queue as they end (bounded: the
 * excess is dropped and counted) and go out in batches as OTLP/JSON POSTs to `<endpoint>/v1/traces`
 * (an endpoint already ending in /v1/traces is used as given), one request at a time; a failed
 * batch is counted and dropped (the ring still holds the spans for `pilotctl trace export`).
 */
import type { SpanView } from '../../shared/contract';
import type { Logger } from '../util/log';
import { toOtlpJson } from './otlp-json';

export interface OtlpPushOptions {
  endpoint: string;
  /** service.name for this node's spans (read at each batch: the hostname may change). */
  serviceName: () => string;
  address: () => string;
  log: Logger;
  maxQueue?: number;
  maxBatch?: number;
  /** How long a span may wait for a fuller batch (default 1000 ms). */
  flushMs?: number;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** `http://h:4318` → `http://h:4318/v1/traces`; a URL with that path stays. Throws on a non-http(s) URL. */
export function otlpTracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`OTLP endpoint must be http(s): ${endpoint}`);
  if (!u.pathname.endsWith('/v1/traces')) u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/traces`;
  return u.toString();
}

export class OtlpPusher {
  readonly url: string;
  readonly counters = { queued: 0, sent: 0, dropped: 0, failedBatches: 0 };
  private queue: SpanView[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private closed = false;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly o: OtlpPushOptions) {
    this.url = otlpTracesUrl(o.endpoint);
    this.maxQueue = o.maxQueue ?? 4096;
    this.maxBatch = o.maxBatch ?? 512;
    this.fetchFn = o.fetch ?? fetch;
  }

  /** Queues a finished span (drops it, counted, when the queue is full or the pusher closed). */
  push(s: SpanView): void {
    if (this.closed || this.queue.length >= this.maxQueue) {
      this.counters.dropped++;
      return;
    }
    this.queue.push(s);
    this.counters.queued++;
    if (this.queue.length >= this.maxBatch) this.kick();
    else this.timer ??= setTimeout(() => this.kick(), this.o.flushMs ?? 1000);
  }

  private kick(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = this.drain()
      .catch((e: unknown) => {
        // A collector that is down fails every batch: the first failure and every 100th are logged.
        const n = this.counters.failedBatches;
        if (n === 1 || n % 100 === 0) this.o.log.warn('OTLP push failed; spans dropped', { error: e instanceof Error ? e.message : String(e), url: this.url, failed_batches: n, dropped: this.counters.dropped });
      })
      .finally(() => {
        this.inFlight = undefined;
        if (this.queue.length > 0 && !this.closed) this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const body = JSON.stringify(toOtlpJson([{ serviceName: this.o.serviceName(), address: this.o.address(), spans: batch }]));
      try {
        const r = await this.fetchFn(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000) });
        await r.arrayBuffer().catch(() => undefined);
        if (!r.ok) throw new Error(`${this.url} answered HTTP ${r.status}`);
        this.counters.sent += batch.length;
      } catch (e) {
        this.counters.failedBatches++;
        this.counters.dropped += batch.length;
        throw e;
      }
    }
  }

  /** Sends what is queued (bounded by the request timeout), then refuses further spans. */
  async close(): Promise<void> {
    this.kick();
    while (this.inFlight) await this.inFlight;
    this.closed = true;
  }
}
