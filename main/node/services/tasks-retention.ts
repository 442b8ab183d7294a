/**
 * How many finished tasks a node keeps, pure: a task that can change no more (COMPLETED, SUCCEEDED,
 * DECLINED, CANCELLED, EXPIRED) and was last changed more than `graceMs` ago may go; of those, the
 * ones last changed more than `maxAgeMs` ago go, then the oldest beyond the newest `maxTerminal`
 * (per direction: the service asks once for received, once for submitted). Open tasks (NEW,
 * ACCEPTED, EXECUTING) are never evicted: they are the node's work, and the accept queue bounds them.
 */
import { TERMINAL } from './tasks-types';

export interface RetentionPolicy {
  /** Finished tasks kept per direction (the newest by last change). */
  maxTerminal: number;
  /** Finished tasks last changed longer ago than this go (ms). */
  maxAgeMs: number;
  /** Never evict a task changed within this (ms): a late status update or result must still find it. */
  graceMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { maxTerminal: 1000, maxAgeMs: 7 * 24 * 3_600_000, graceMs: 5 * 60_000 };

export interface RetainedTask {
  id: string;
  status: string;
  /** Wall-clock ms of the task's last change. */
  touched: number;
}

/** The ids to evict now, oldest first. */
export function tasksToEvict(tasks: Iterable<RetainedTask>, p: RetentionPolicy, now: number): string[] {
  const finished: RetainedTask[] = [];
  let kept = 0;
  for (const t of tasks) {
    if (!TERMINAL.has(t.status)) continue;
    kept++;
    if (now - t.touched >= p.graceMs) finished.push(t);
  }
  finished.sort((a, b) => a.touched - b.touched || a.id.localeCompare(b.id));
  const out: string[] = [];
  for (const t of finished) {
    if (now - t.touched >= p.maxAgeMs || kept > p.maxTerminal) {
      out.push(t.id);
      kept--;
    } else break;
  }
  return out;
}
