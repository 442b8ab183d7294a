import type { LogLine } from '../../shared/contract';
import type { LogRecord, LogSink } from '../util/log';
import { Ring } from './ring';

/** A filter over log lines: minimum level, and fields `peer` (node id), `trace_id`, `component` (or `service`). */
export interface LogQuery {
  level?: LogLine['level'];
  peer?: number;
  traceId?: string;
  component?: string;
}

const ORDER = ['trace', 'debug', 'info', 'warn', 'error'];

export function logMatches(l: LogLine, q: LogQuery): boolean {
  if (q.level && ORDER.indexOf(l.level) < ORDER.indexOf(q.level)) return false;
  if (q.peer !== undefined && l.fields['peer'] !== q.peer) return false;
  if (q.traceId !== undefined && l.fields['trace_id'] !== q.traceId) return false;
  // A service's records carry component 'services' and service 'trust' (etc.): either names it.
  if (q.component !== undefined && l.fields['component'] !== q.component && l.fields['service'] !== q.component) return false;
  return true;
}

/** Keeps the node's recent structured log lines for the console and `logs.tail`. */
export class LogRing {
  private readonly ring: Ring<LogLine>;
  private readonly listeners = new Set<(l: LogLine) => void>();

  constructor(capacity = 5000) {
    this.ring = new Ring(capacity);
  }

  readonly sink: LogSink = (rec: LogRecord) => {
    const { t, level, msg, ...fields } = rec;
    const line: LogLine = { t, level, msg, fields };
    this.ring.push(line);
    for (const l of this.listeners) l(line);
  };

  tail(opts: LogQuery & { limit?: number } = {}): LogLine[] {
    return this.ring
      .toArray()
      .filter((l) => logMatches(l, opts))
      .slice(-(opts.limit ?? 500));
  }

  onLine(fn: (l: LogLine) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
