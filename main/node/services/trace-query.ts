/**
 * Trace query, port 1010 (our extension; the reference uses 0, 7, 53, 443, 444, 1000–1003 and the
 * gateway's 80/8080/8443): a node answers "which spans of trace T did you record?" so that a
 * collecting node (`pilotctl trace`, the console's Traces view) can draw a trace across nodes.
 *
 * One exchange per stream, frames as task submit's (`type u32 ‖ length u32 ‖ JSON`, wire/service.ts):
 *   → QUERY   {"trace_id":"<hex>"}
 *   ← SPANS   {"trace_id", "address", "hostname", "now_ms", "spans":[SpanView…], "truncated"}
 *   ← REFUSED {"error":"…"}
 * Spans are private: only a peer this node trusts or shares a non-zero group with gets SPANS, on a
 * public node too and under trust policy 'open' (a private node's admission already resets the
 * stream of anyone else). Refusals are counted. `now_ms` is the answering node's span clock when it
 * read the query — the collector's clock-offset estimate (trace-collect.ts). Replies are bounded
 * (MAX_REPLY_SPANS spans, MAX_REPLY_BYTES of JSON); a reply is checked against a schema before use.
 */
import { z } from 'zod';
import { formatAddress } from '../../../shared/address';
import type { SpanView } from '../../../shared/contract';
import { PilotError } from '../../../shared/errors';
import { ServiceFrameDecoder, type ServiceFrame } from '../../wire/service';
import type { Logger } from '../../util/log';
import type { PilotNode } from '../node';
import type { PilotStream } from '../stream';
import { FrameReader, jsonServiceFrame, serveOneFrame, targetAddress, writeOrRefused, type Target } from './common';

export const TRACE_QUERY_PORT = 1010;
export const TRACE_QUERY_TYPE = { QUERY: 1, SPANS: 2, REFUSED: 3 } as const;
export const MAX_REPLY_SPANS = 2000;
export const MAX_REPLY_BYTES = 1 << 20;
const MAX_QUERY_BYTES = 1024;
const TRACE_ID = /^[0-9a-f]{1,64}$/;

const attrValue = z.union([z.string().max(4096), z.number(), z.boolean()]);
export const spanViewSchema = z
  .object({
    traceId: z.string().regex(TRACE_ID),
    spanId: z.string().regex(/^[0-9a-f]{1,32}$/),
    parentId: z.string().regex(/^[0-9a-f]{1,32}$/).optional(),
    name: z.string().max(256),
    node: z.string().max(256),
    startMs: z.number().finite(),
    durationMs: z.number().finite().min(0),
    status: z.enum(['ok', 'error']),
    attrs: z.record(z.string().max(256), attrValue),
    kind: z.enum(['internal', 'server', 'client', 'producer', 'consumer']).optional(),
    remoteParent: z.boolean().optional(),
    nodeAddr: z.string().max(64).optional(),
    events: z.array(z.object({ name: z.string().max(256), timeMs: z.number().finite(), attrs: z.record(z.string().max(256), attrValue).optional() })).max(256).optional(),
    statusMessage: z.string().max(4096).optional(),
  });

const spansReply = z.object({
  trace_id: z.string().regex(TRACE_ID),
  address: z.string().max(64),
  hostname: z.string().max(255).optional(),
  now_ms: z.number().finite(),
  spans: z.array(spanViewSchema).max(MAX_REPLY_SPANS),
  truncated: z.boolean().optional(),
});
const refusedReply = z.object({ error: z.string().max(1024) });

export interface TraceQueryReply {
  address: string;
  hostname?: string;
  /** The answering node's span clock (ms) when it read the query. */
  nowMs: number;
  spans: SpanView[];
  truncated: boolean;
}

export interface TraceQueryGate {
  /** May `peer` read this node's spans (trusted, or a shared non-zero group)? */
  mayQuery(peer: number): boolean;
}

/**
 * The clock spans are stamped with (the OpenTelemetry SDK's: time origin + performance.now(), sub-
 * millisecond), so that offsets measured with it apply to span times exactly.
 */
export const spanClock = (): number => performance.timeOrigin + performance.now();

const enc = new TextEncoder();
const dec = new TextDecoder();
const frame = jsonServiceFrame;

/** Keeps the newest spans whose JSON fits `maxBytes` (and at most `maxSpans`). */
export function boundSpans(spans: SpanView[], maxSpans = MAX_REPLY_SPANS, maxBytes = MAX_REPLY_BYTES - 4096): { spans: SpanView[]; truncated: boolean } {
  const out: SpanView[] = [];
  let bytes = 0;
  for (let i = spans.length - 1; i >= 0 && out.length < maxSpans; i--) {
    const s = spans[i];
    if (!s) continue;
    const n = enc.encode(JSON.stringify(s)).length + 1;
    if (bytes + n > maxBytes) break;
    bytes += n;
    out.push(s);
  }
  out.reverse();
  return { spans: out, truncated: out.length < spans.length };
}

export class TraceQueryService {
  private stopListening: (() => void) | undefined;
  readonly counters = { queries: 0, answered: 0, refused: 0, badQueries: 0 };

  constructor(
    private readonly node: PilotNode,
    private readonly spansOf: (traceId: string) => SpanView[],
    private readonly gate: TraceQueryGate,
    private readonly log: Logger,
    /** This node's clock as its spans read it (default spanClock; tests skew it). */
    private readonly now: () => number = spanClock,
  ) {}

  start(): void {
    this.stopListening = this.node.listen(TRACE_QUERY_PORT, (s) => this.onStream(s));
  }

  stop(): void {
    this.stopListening?.();
    this.stopListening = undefined;
  }

  private onStream(s: PilotStream): void {
    serveOneFrame(s, MAX_QUERY_BYTES, {
      badFraming: (e) => {
        this.counters.badQueries++;
        this.log.debug('bad trace query, closing', { peer: s.remote.node, error: String(e) });
      },
      frame: (f, finish) => this.answer(s, f, finish),
    });
  }

  private answer(s: PilotStream, f: ServiceFrame, finish: (type: number, body: unknown) => void): void {
    this.counters.queries++;
    const peer = s.remote.node;
    let traceId: string | undefined;
    try {
      const q = JSON.parse(dec.decode(f.payload)) as { trace_id?: unknown };
      if (f.type === TRACE_QUERY_TYPE.QUERY && typeof q.trace_id === 'string' && TRACE_ID.test(q.trace_id)) traceId = q.trace_id;
    } catch {
      // not JSON: answered below
    }
    if (traceId === undefined) {
      this.counters.badQueries++;
      finish(TRACE_QUERY_TYPE.REFUSED, { error: 'bad query: expected {"trace_id":"<hex>"}' });
      return;
    }
    const nowMs = this.now();
    if (!this.gate.mayQuery(peer)) {
      this.counters.refused++;
      this.log.info('trace query refused: peer not trusted and in no shared group', { peer, trace_id: traceId });
      finish(TRACE_QUERY_TYPE.REFUSED, { error: 'not trusted: spans are shared only with trusted peers and fellow group members' });
      return;
    }
    const b = boundSpans(this.spansOf(traceId));
    this.counters.answered++;
    this.log.debug('trace query answered', { peer, trace_id: traceId, spans: b.spans.length });
    const body: Record<string, unknown> = { trace_id: traceId, address: formatAddress(this.node.address), now_ms: nowMs, spans: b.spans, truncated: b.truncated };
    if (this.node.hostname) body['hostname'] = this.node.hostname;
    finish(TRACE_QUERY_TYPE.SPANS, body);
  }
}

/**
 * Client: asks `target` for its spans of `traceId`. `onSent` is called with the local span clock
 * right after the query is written (the stream is already open). A REFUSED answer (or a reset by a
 * private node) rejects with permission_denied / connection_failed; a malformed reply rejects.
 */
export async function queryTrace(node: PilotNode, target: Target, traceId: string, opts: { timeoutMs?: number; onSent?: (wallMs: number) => void } = {}): Promise<TraceQueryReply> {
  if (!TRACE_ID.test(traceId)) throw new PilotError('invalid_argument', `invalid trace id "${traceId}"`, 'trace ids are hex (32 characters)');
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const s = await node.dial(targetAddress(target), TRACE_QUERY_PORT, timeoutMs);
  const decoder = new ServiceFrameDecoder(MAX_REPLY_BYTES);
  const reader = new FrameReader<ServiceFrame>(s, (c) => decoder.push(Uint8Array.from(c)));
  try {
    s.stopBuffering();
    await writeOrRefused(s, frame(TRACE_QUERY_TYPE.QUERY, { trace_id: traceId }));
    opts.onSent?.(spanClock());
    const f = await reader.next(timeoutMs);
    const who = formatAddress(s.remote);
    if (!f) throw new PilotError('connection_failed', `trace query: ${who} closed without answering`);
    let body: unknown;
    try {
      body = JSON.parse(dec.decode(f.payload));
    } catch {
      throw new PilotError('internal', `trace query: ${who} answered with a frame that is not JSON`);
    }
    if (f.type === TRACE_QUERY_TYPE.REFUSED) {
      const r = refusedReply.safeParse(body);
      throw new PilotError('permission_denied', `trace query refused by ${who}: ${r.success ? r.data.error : 'refused'}`, `ask for trust first: pilotctl handshake ${s.remote.node} "reason"`);
    }
    const r = spansReply.safeParse(body);
    if (f.type !== TRACE_QUERY_TYPE.SPANS || !r.success) throw new PilotError('internal', `trace query: ${who} sent a malformed reply`);
    const out: TraceQueryReply = { address: r.data.address, nowMs: r.data.now_ms, spans: r.data.spans.filter((x) => x.traceId === traceId) as SpanView[], truncated: r.data.truncated ?? false };
    if (r.data.hostname) out.hostname = r.data.hostname;
    return out;
  } finally {
    if (!s.closed) s.end();
  }
}
