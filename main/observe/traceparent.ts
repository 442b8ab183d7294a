/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/#traceparent-header):
 * `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`. Values come from peers, task bodies and
 * the TRACEPARENT environment variable, so parsing never throws: anything invalid is `undefined`
 * (and the receiver starts a new trace). Rules from the spec: lowercase hex only; all-zero trace or
 * parent ids are invalid; version ff is invalid; a future version (01..fe) is parsed by its first
 * 55 characters when what follows is `-...` (forward compatibility); version 00 must be exactly 55.
 */

export interface TraceParent {
  traceId: string;
  spanId: string;
  /** Trace flags (bit 0: sampled). */
  flags: number;
}

const RE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
/** Longer values are not looked at (a hostile megabyte string costs nothing). */
const MAX_LENGTH = 512;

export function parseTraceparent(value: unknown): TraceParent | undefined {
  if (typeof value !== 'string' || value.length < 55 || value.length > MAX_LENGTH) return undefined;
  const v = value.trim();
  const m = RE.exec(v);
  if (!m) return undefined;
  const [, version, traceId, spanId, flags] = m as unknown as [string, string, string, string, string];
  if (version === 'ff') return undefined;
  if (version === '00' && v.length !== 55) return undefined;
  if (version !== '00' && v.length > 55 && v[55] !== '-') return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags: parseInt(flags, 16) };
}

export function formatTraceparent(p: { traceId: string; spanId: string; flags?: number }): string {
  const f = ((p.flags ?? 1) & 0xff).toString(16).padStart(2, '0');
  return `00-${p.traceId}-${p.spanId}-${f}`;
}

/** Whether a string is a valid lowercase 32-hex, non-zero trace id. */
export function isTraceId(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-f]{32}$/.test(s) && s !== ZERO_TRACE;
}

/** Whether a string is a valid lowercase 16-hex, non-zero span id. */
export function isSpanId(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-f]{16}$/.test(s) && s !== ZERO_SPAN;
}
