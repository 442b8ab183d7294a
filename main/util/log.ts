/**
 * Structured, scoped logging. Every component takes a Logger and narrows it with `child({...})`;
 * records are JSON lines (`{"t":..., "level":..., "msg":..., ...fields}`) so the console and tools can
 * filter them. Trace level is off by default. Never pass secrets (keys, tokens) as fields.
 */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export type LogFields = Record<string, unknown>;

export interface LogRecord extends LogFields {
  t: string;
  level: LogLevel;
  msg: string;
}

export interface Logger {
  child(fields: LogFields): Logger;
  trace(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
}

export type LogSink = (rec: LogRecord) => void;

const rank = (l: LogLevel): number => LOG_LEVELS.indexOf(l);

export function createLogger(opts: { level?: LogLevel; sinks: LogSink[]; fields?: LogFields; now?: () => number }): Logger {
  const min = rank(opts.level ?? 'info');
  const now = opts.now ?? Date.now;
  const make = (base: LogFields): Logger => {
    const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (rank(level) < min) return;
      const rec: LogRecord = { t: new Date(now()).toISOString(), level, msg, ...base, ...fields };
      for (const s of opts.sinks) s(rec);
    };
    return {
      child: (f) => make({ ...base, ...f }),
      trace: (m, f) => emit('trace', m, f),
      debug: (m, f) => emit('debug', m, f),
      info: (m, f) => emit('info', m, f),
      warn: (m, f) => emit('warn', m, f),
      error: (m, f) => emit('error', m, f),
      enabled: (l) => rank(l) >= min,
    };
  };
  return make(opts.fields ?? {});
}

/** JSON lines to a writable (stderr by default). */
export function jsonLineSink(write: (line: string) => void): LogSink {
  return (rec) => write(JSON.stringify(rec, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
}

/** A logger that drops everything (tests, quiet tools). */
export const silentLogger: Logger = createLogger({ level: 'error', sinks: [] });

/**
 * Logging driven by inbound traffic (a hostile peer decides how often it fires): at most `burst`
 * records per `windowMs` per key; the next record after a quiet spell says how many were suppressed.
 */
export class LogLimiter {
  private readonly windows = new Map<string, { start: number; count: number; suppressed: number }>();
  constructor(
    private readonly now: () => number,
    private readonly burst = 10,
    private readonly windowMs = 60_000,
  ) {}

  /** Whether to log now; `fields` gains `suppressed: N` when earlier records were held back. */
  allow(key: string, fields?: LogFields): boolean {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.windowMs) {
      if (this.windows.size >= 1024 && !w) this.windows.clear();
      const suppressed = w?.suppressed ?? 0;
      w = { start: t, count: 0, suppressed: 0 };
      this.windows.set(key, w);
      if (suppressed > 0 && fields) fields.suppressed = suppressed;
    }
    if (w.count >= this.burst) {
      w.suppressed++;
      return false;
    }
    w.count++;
    return true;
  }
}
