/**
 * pilotctl output conventions (cli.md §3.2): JSON envelope with Go-style sorted keys and HTML escaping,
 * text errors as `error: …` / `hint:  …`, Go duration and byte-size formatting.
 */
import type { PilotError } from '../../shared/errors';

function sortValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortValue);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as Record<string, unknown>).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortValue(x);
    }
    return out;
  }
  return v;
}

/** JSON like Go's encoding/json: keys sorted, `<`, `>`, `&` escaped. */
export function goJson(v: unknown, indent?: number): string {
  return JSON.stringify(sortValue(v), null, indent)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
}

export function okEnvelope(data: unknown): string {
  return goJson({ data, status: 'ok' });
}

export function errorEnvelope(e: PilotError): string {
  return goJson({ code: e.code, message: e.message, hint: e.hint, status: 'error' });
}

export function textError(e: PilotError): string {
  return `error: ${e.message}\n` + (e.hint ? `hint:  ${e.hint}\n` : '');
}

/** Go's time.Duration String(), from milliseconds (fractional allowed). */
export function goDuration(ms: number): string {
  const ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  const neg = ns < 0;
  const a = Math.abs(ns);
  const trim = (s: string): string => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  let out: string;
  if (a < 1e3) out = `${a}ns`;
  else if (a < 1e6) out = `${trim((a / 1e3).toFixed(3))}µs`;
  else if (a < 1e9) out = `${trim((a / 1e6).toFixed(6))}ms`;
  else {
    const h = Math.floor(a / 3.6e12);
    const m = Math.floor((a % 3.6e12) / 6e10);
    const s = trim(((a % 6e10) / 1e9).toFixed(9));
    out = (h ? `${h}h` : '') + (h || m ? `${m}m` : '') + `${s}s`;
  }
  return neg ? `-${out}` : out;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

export function formatUptime(secs: number): string {
  const s = Math.floor(secs);
  const p = (x: number): string => String(x).padStart(2, '0');
  return `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
}

/** Parses a Go duration (`500ms`, `1m30s`) or a bare number of seconds; returns milliseconds. */
export function parseDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * unit[m[2]!]!;
    pos = re.lastIndex;
  }
  return pos === text.length && pos > 0 ? total : undefined;
}
