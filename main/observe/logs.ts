import type { LogLine } from '../../shared/contract';
import type { LogRecord, LogSink } from '../util/log';
import { Ring } from './ring';

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

  tail(opts: { limit?: number; level?: LogLine['level']; peer?: number } = {}): LogLine[] {
    const order = ['trace', 'debug', 'info', 'warn', 'error'];
    const min = opts.level ? order.indexOf(opts.level) : 0;
    const all = this.ring.toArray().filter((l) => order.indexOf(l.level) >= min && (opts.peer === undefined || l.fields['peer'] === opts.peer));
    return all.slice(-(opts.limit ?? 500));
  }

  onLine(fn: (l: LogLine) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
