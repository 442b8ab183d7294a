/**
 * Process-level policy for long-running Pilot processes (daemon, backbone, console):
 *
 * - An unhandled promise rejection is NOT fatal: it is logged with its stack and counted, and the
 *   process keeps serving. Every path started by inbound traffic already ends in a catch (lint rule
 *   `no-floating-promises`); a rejection that still escapes finished its work in a continuation and
 *   left the state it had already committed consistent.
 * - An uncaught exception IS fatal: a synchronous throw escaped a handler part-way through changing
 *   state, so the process logs the stack, runs `onFatal` (a bounded graceful stop: pid file, socket)
 *   and exits with status 70 (EX_SOFTWARE), for a supervisor to restart it with the same identity.
 *   Exception: EPIPE on stdout/stderr (the reader went away) is logged and ignored.
 */
import type { Logger } from './log';

export interface ProcessGuard {
  readonly counts: { unhandledRejections: number; uncaughtExceptions: number };
  dispose(): void;
}

export const FATAL_EXIT_CODE = 70;

export function installProcessGuard(
  log: Logger,
  opts: { onFatal?: () => Promise<void> | void; fatalStopMs?: number; exit?: (code: number) => void } = {},
): ProcessGuard {
  const counts = { unhandledRejections: 0, uncaughtExceptions: 0 };
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const describe = (e: unknown): { error: string; stack?: string } =>
    e instanceof Error ? { error: e.message, ...(e.stack ? { stack: e.stack } : {}) } : { error: String(e) };
  const onRejection = (reason: unknown): void => {
    counts.unhandledRejections++;
    log.error('unhandled promise rejection (process keeps running)', { ...describe(reason), count: counts.unhandledRejections });
  };
  let dying = false;
  const onException = (e: Error): void => {
    if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
      log.warn('write to a closed pipe ignored', describe(e));
      return;
    }
    counts.uncaughtExceptions++;
    log.error('uncaught exception: stopping (fatal)', describe(e));
    if (dying) return;
    dying = true;
    const hard = setTimeout(() => exit(FATAL_EXIT_CODE), opts.fatalStopMs ?? 2000);
    hard.unref();
    Promise.resolve()
      .then(() => opts.onFatal?.())
      .catch((err: unknown) => log.error('graceful stop after a fatal error failed', describe(err)))
      .finally(() => exit(FATAL_EXIT_CODE));
  };
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    counts,
    dispose() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}
