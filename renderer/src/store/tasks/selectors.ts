import type { TaskView } from '../../../../shared/contract';
import type { RootState } from '../root';
import type { TasksState } from './state';

export const selectTasksState = (s: RootState): TasksState => s.tasks;

/** Statuses after which nothing more happens to a task. */
const FINAL = new Set(['COMPLETED', 'SUCCEEDED', 'DECLINED', 'CANCELLED', 'EXPIRED']);
const FAILED = new Set(['DECLINED', 'CANCELLED', 'EXPIRED']);

export interface TaskRow {
  task: TaskView;
  /** The other end: who served it (submitted) or who asked (received). */
  peer: string;
  /** From creation to completion; undefined while it runs (or when it never completed). */
  durationMs?: number;
  state: 'running' | 'done' | 'failed';
}

/** The node's measurement when it has one, else the task file's times (whole seconds). */
export function durationOf(t: TaskView): number | undefined {
  if (t.durationMs !== undefined) return t.durationMs;
  if (!t.completedAt) return undefined;
  const d = Date.parse(t.completedAt) - Date.parse(t.createdAt);
  return Number.isFinite(d) && d >= 0 ? d : undefined;
}

export function taskState(t: TaskView): TaskRow['state'] {
  if (FAILED.has(t.status)) return 'failed';
  return t.completedAt || FINAL.has(t.status) ? 'done' : 'running';
}

/** Rows newest first, optionally one category only. Pure over the slice (memoize in the view). */
export function taskRows(s: TasksState, category?: TaskView['category']): TaskRow[] {
  const rows = Object.values(s.byId)
    .filter((t) => !category || t.category === category)
    .map((task): TaskRow => {
      const row: TaskRow = { task, peer: task.category === 'submitted' ? task.to : task.from, state: taskState(task) };
      const d = durationOf(task);
      if (d !== undefined) row.durationMs = d;
      return row;
    });
  rows.sort((a, b) => (Date.parse(b.task.createdAt) || 0) - (Date.parse(a.task.createdAt) || 0) || a.task.taskId.localeCompare(b.task.taskId));
  return rows;
}

export interface TaskCounts {
  submitted: number;
  received: number;
  running: number;
  failed: number;
}

export function taskCounts(s: TasksState): TaskCounts {
  const c: TaskCounts = { submitted: 0, received: 0, running: 0, failed: 0 };
  for (const t of Object.values(s.byId)) {
    c[t.category]++;
    const st = taskState(t);
    if (st === 'running') c.running++;
    else if (st === 'failed') c.failed++;
  }
  return c;
}

/** What the pause button shows: the state the user asked for until the node confirms it. */
export function demoPaused(s: TasksState): boolean | undefined {
  if (!s.demo?.available) return undefined;
  return s.demoRequested ?? s.demo.paused;
}
