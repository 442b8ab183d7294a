/**
 * The daemon's webhook poster (services.md, "Webhook"): every event handed to `emit` is POSTed as
 * `application/json` `{event, node_id, timestamp, data?}` (timestamp RFC 3339 UTC) to the
 * configured URL.
 *
 *  - a bounded FIFO of `queueSize` (1024) events waiting to be sent; when it is full the new event is
 *    dropped and counted, never blocking the caller (the node's event handlers);
 *  - `concurrency` POSTs at a time (default 1, so a receiver sees events in order), each with its own
 *    `timeoutMs` (5 s) deadline; a network error, a timeout or a status >= 400 counts as failed (no
 *    retries, as the reference at the commit services.md describes);
 *  - URL "" disables: nothing is queued. `setUrl` takes effect for events emitted afterwards; events
 *    already queued still go to the URL they were emitted for (the reference drains its old client).
 *
 * The URL is never logged in full (webhook URLs often carry a token): logs show its origin only.
 * fetch, the clock and the timeout signal are injected, so the queue is tested without a network.
 */
import { PilotError } from '../../shared/errors';
import { systemClock, type Clock, type TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';

/** The JSON body of one POST. */
export interface WebhookPayload {
  event: string;
  node_id: number;
  timestamp: string;
  data?: unknown;
}

/** The subset of `fetch` the poster needs (the global fetch satisfies it). */
export type WebhookFetch = (
  url: string,
  init: { method: 'POST'; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{ status: number; body?: { cancel(): Promise<void> } | null }>;

export interface WebhookOptions {
  /** Initial URL ("" or absent: disabled). */
  url?: string;
  /** The node id stamped on each event at emit time. */
  nodeId: () => number;
  log: Logger;
  /** Default: the global fetch. */
  fetch?: WebhookFetch;
  /** Wall clock for timestamps and the close deadline (default: the system clock). */
  clock?: Clock;
  /** A signal that aborts after `ms` (default `AbortSignal.timeout`). */
  timeoutSignal?: (ms: number) => AbortSignal;
  /** Per-POST timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Events that may wait (default 1024). */
  queueSize?: number;
  /** POSTs in flight at once (default 1; at most 8). */
  concurrency?: number;
}

export interface WebhookStats {
  /** true when a URL is set. */
  enabled: boolean;
  /** The URL's origin (scheme://host:port), "" when disabled. */
  target: string;
  queued: number;
  in_flight: number;
  posted: number;
  failed: number;
  dropped: number;
}

interface Item {
  url: string;
  payload: WebhookPayload;
}

export const WEBHOOK_QUEUE_SIZE = 1024;
export const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * "" (disable) or an absolute http:// or https:// URL; anything else is `invalid_argument`.
 * Returns the URL unchanged.
 */
export function validateWebhookUrl(url: string): string {
  if (url === '') return url;
  let u: URL | undefined;
  try {
    u = new URL(url);
  } catch {
    u = undefined;
  }
  if (!/^https?:\/\//i.test(url) || !u || (u.protocol !== 'http:' && u.protocol !== 'https:') || !u.hostname) {
    throw new PilotError('invalid_argument', `invalid webhook URL "${url}": it must start with http:// or https://`, 'e.g. pilotctl set-webhook https://example.com/pilot-events');
  }
  return url;
}

/** What logs may show of a webhook URL: its origin, never its path or query (tokens live there). */
export function webhookTarget(url: string): string {
  if (url === '') return '';
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid url)';
  }
}

/**
 * RFC 3339 UTC with the fraction trimmed as Go's RFC3339Nano does (`…05.12Z`, `…05Z`); the
 * reference stamps nanoseconds, we have milliseconds.
 */
export function rfc3339Utc(ms: number): string {
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

export class WebhookPoster {
  private urlValue: string;
  private readonly queue: Item[] = [];
  private inFlight = 0;
  private closed = false;
  private readonly abortAll = new AbortController();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly fetchFn: WebhookFetch;
  private readonly clock: Clock;
  private readonly timeoutSignal: (ms: number) => AbortSignal;
  private readonly timeoutMs: number;
  private readonly queueSize: number;
  private readonly concurrency: number;
  private readonly log: Logger;
  private readonly counters = { posted: 0, failed: 0, dropped: 0 };
  /** Consecutive failures (the first is a warning, the rest debug until a POST succeeds again). */
  private failing = 0;
  /** The queue is full and a drop was logged; reset once there is room again. */
  private overflowing = false;

  constructor(private readonly o: WebhookOptions) {
    this.urlValue = validateWebhookUrl(o.url ?? '');
    this.fetchFn = o.fetch ?? ((url, init) => fetch(url, init));
    this.clock = o.clock ?? systemClock;
    this.timeoutSignal = o.timeoutSignal ?? ((ms) => AbortSignal.timeout(ms));
    this.timeoutMs = o.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
    this.queueSize = Math.max(1, o.queueSize ?? WEBHOOK_QUEUE_SIZE);
    this.concurrency = Math.min(8, Math.max(1, o.concurrency ?? 1));
    this.log = o.log.child({ component: 'webhook' });
    if (this.urlValue) this.log.info('webhook enabled', { target: webhookTarget(this.urlValue) });
  }

  get url(): string {
    return this.urlValue;
  }

  get enabled(): boolean {
    return this.urlValue !== '' && !this.closed;
  }

  /** Sets (or with "" clears) the URL for events emitted from now on; invalid → `invalid_argument`. */
  setUrl(url: string): void {
    validateWebhookUrl(url);
    if (url === this.urlValue) return;
    this.urlValue = url;
    this.failing = 0;
    if (url) this.log.info('webhook set', { target: webhookTarget(url) });
    else this.log.info('webhook disabled', { queued: this.queue.length });
  }

  /**
   * Queues one event (non-blocking). Returns false when it was not queued: disabled, closed, or the
   * queue is full (then it is counted as dropped).
   */
  emit(event: string, data?: unknown): boolean {
    if (this.closed || this.urlValue === '') return false;
    if (this.queue.length >= this.queueSize) {
      this.counters.dropped++;
      if (!this.overflowing) {
        this.overflowing = true;
        this.log.warn('webhook queue full, dropping events', { event, queue: this.queueSize, dropped: this.counters.dropped });
      } else {
        this.log.debug('webhook event dropped', { event, dropped: this.counters.dropped });
      }
      return false;
    }
    const payload: WebhookPayload = { event, node_id: this.o.nodeId(), timestamp: rfc3339Utc(this.clock.wallNow()) };
    if (data !== undefined) payload.data = data;
    this.queue.push({ url: this.urlValue, payload });
    this.pump();
    return true;
  }

  stats(): WebhookStats {
    return {
      enabled: this.enabled,
      target: webhookTarget(this.urlValue),
      queued: this.queue.length,
      in_flight: this.inFlight,
      posted: this.counters.posted,
      failed: this.counters.failed,
      dropped: this.counters.dropped,
    };
  }

  /** Resolves once nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops accepting events and gives the queue up to `drainMs` to go out; whatever is still queued
   * or in flight then is abandoned (in-flight POSTs are aborted).
   */
  async close(drainMs = 0): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    let timer: TimerHandle | undefined;
    if (drainMs > 0 && (this.queue.length > 0 || this.inFlight > 0)) {
      await Promise.race([this.idle(), new Promise<void>((r) => (timer = this.clock.setTimeout(r, drainMs)))]);
      if (timer) this.clock.clearTimeout(timer);
    }
    const abandoned = this.queue.length + this.inFlight;
    this.queue.length = 0;
    this.abortAll.abort(new Error('webhook poster closed'));
    this.log.info('webhook stopped', { ...this.counters, abandoned });
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.inFlight++;
      const done = (): void => {
        this.inFlight--;
        if (this.overflowing && this.queue.length < this.queueSize) this.overflowing = false;
        this.pump();
        if (this.queue.length === 0 && this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
      };
      // post() records its own failures (counters, log); what escapes it is a bug, logged here.
      this.post(item).then(done, (e: unknown) => {
        this.log.error('webhook post failed unexpectedly', { error: e instanceof Error ? e.message : String(e) });
        done();
      });
    }
  }

  private async post(item: Item): Promise<void> {
    let body: string;
    try {
      body = JSON.stringify(item.payload);
    } catch (e) {
      this.fail(item, { error: `cannot encode the event: ${(e as Error).message}` });
      return;
    }
    const timeout = this.timeoutSignal(this.timeoutMs);
    const signal = AbortSignal.any([timeout, this.abortAll.signal]);
    try {
      const res = await this.fetchFn(item.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'pilot-fleet-webhook' },
        body,
        signal,
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 400) {
        this.fail(item, { status: res.status });
        return;
      }
      this.counters.posted++;
      if (this.failing > 0) this.log.info('webhook delivering again', { after_failures: this.failing });
      this.failing = 0;
      this.log.debug('webhook posted', { event: item.payload.event, status: res.status });
    } catch (e) {
      if (this.abortAll.signal.aborted) {
        this.fail(item, { error: 'abandoned at shutdown' });
      } else if (timeout.aborted) {
        this.fail(item, { error: `no answer within ${this.timeoutMs} ms`, timeout: true });
      } else {
        this.fail(item, { error: errorText(e) });
      }
    }
  }

  private fail(item: Item, fields: Record<string, unknown>): void {
    this.counters.failed++;
    this.failing++;
    const rec = { event: item.payload.event, target: webhookTarget(item.url), failed: this.counters.failed, ...fields };
    if (this.failing === 1) this.log.warn('webhook POST failed', rec);
    else this.log.debug('webhook POST failed', rec);
  }
}

/** fetch's "fetch failed" hides the reason in `cause` (ECONNREFUSED, ENOTFOUND ...). */
function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause as { code?: unknown; message?: unknown } | undefined;
  if (cause && typeof cause === 'object') {
    if (typeof cause.code === 'string') return `${e.message}: ${cause.code}`;
    if (typeof cause.message === 'string') return `${e.message}: ${cause.message}`;
  }
  return e.message;
}
