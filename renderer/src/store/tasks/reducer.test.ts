import { describe, expect, it } from 'vitest';
import type { DemoView, TaskView } from '../../../../shared/contract';
import { tasksReducer } from './reducer';
import { demoPaused, durationOf, taskCounts, taskRows } from './selectors';
import { initialTasksState, TASK_LIMIT, type TasksState } from './state';

const task = (id: string, over: Partial<TaskView> = {}): TaskView => ({
  taskId: id,
  description: `do ${id}`,
  status: 'NEW',
  from: '0:0000.0000.0001',
  to: '0:0000.0000.0002',
  createdAt: '2026-12-03T01:00:00.000Z',
  category: 'submitted',
  ...over,
});
const demo = (over: Partial<DemoView> = {}): DemoView => ({ available: true, paused: false, submitted: 0, completed: 0, failed: 0, ...over });

describe('tasks reducer', () => {
  it('tasksLoaded replaces the set; taskUpdated adds and merges, keeping what the task had', () => {
    let s = tasksReducer(initialTasksState, { type: 'tasksLoaded', tasks: [task('a', { traceId: 'ab' })], at: 5 });
    expect(Object.keys(s.byId)).toEqual(['a']);
    expect(s.loadedAt).toBe(5);
    s = tasksReducer(s, { type: 'taskUpdated', task: task('a', { status: 'COMPLETED', completedAt: '2026-12-03T01:00:01.250Z' }) });
    expect(s.byId['a']).toMatchObject({ status: 'COMPLETED', traceId: 'ab' });
    s = tasksReducer(s, { type: 'taskUpdated', task: task('b', { category: 'received' }) });
    expect(Object.keys(s.byId).sort()).toEqual(['a', 'b']);
    s = tasksReducer(s, { type: 'tasksLoaded', tasks: [], at: 6 });
    expect(s.byId).toEqual({});
  });

  it('keeps the newest TASK_LIMIT tasks by creation time', () => {
    const many = Array.from({ length: TASK_LIMIT + 5 }, (_, i) => task(`t${i}`, { createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() }));
    let s = tasksReducer(initialTasksState, { type: 'tasksLoaded', tasks: many, at: 1 });
    expect(Object.keys(s.byId)).toHaveLength(TASK_LIMIT);
    expect(s.byId['t0']).toBeUndefined();
    expect(s.byId[`t${TASK_LIMIT + 4}`]).toBeDefined();
    s = tasksReducer(s, { type: 'taskUpdated', task: task('newest', { createdAt: '2027-01-01T00:00:00.000Z' }) });
    expect(Object.keys(s.byId)).toHaveLength(TASK_LIMIT);
    expect(s.byId['newest']).toBeDefined();
    expect(s.byId['t5']).toBeUndefined();
  });

  it('rows: newest first, the peer is the other end, the duration from creation to completion', () => {
    const s = tasksReducer(initialTasksState, {
      type: 'tasksLoaded',
      at: 1,
      tasks: [
        task('old', { status: 'COMPLETED', completedAt: '2026-12-03T01:00:00.420Z' }),
        task('new', { category: 'received', createdAt: '2026-12-03T01:00:05.000Z', status: 'EXECUTING' }),
        task('declined', { createdAt: '2026-12-03T01:00:03.000Z', status: 'DECLINED' }),
      ],
    });
    const rows = taskRows(s);
    expect(rows.map((r) => r.task.taskId)).toEqual(['new', 'declined', 'old']);
    expect(rows.map((r) => r.state)).toEqual(['running', 'failed', 'done']);
    expect(rows[0]!.peer).toBe('0:0000.0000.0001');
    expect(rows[2]!.peer).toBe('0:0000.0000.0002');
    expect(rows[2]!.durationMs).toBe(420);
    expect(rows[0]!.durationMs).toBeUndefined();
    expect(taskRows(s, 'received').map((r) => r.task.taskId)).toEqual(['new']);
    expect(taskCounts(s)).toEqual({ submitted: 2, received: 1, running: 1, failed: 1 });
    expect(durationOf(task('x', { completedAt: 'not a time' }))).toBeUndefined();
    // The node's own measurement wins over the task file's whole seconds.
    expect(durationOf(task('y', { completedAt: '2026-12-03T01:00:01Z', durationMs: 37.5 }))).toBe(37.5);
  });

  it('demo: a requested pause shows until the node confirms it; a failure drops it and keeps the message', () => {
    let s: TasksState = tasksReducer(initialTasksState, { type: 'demoChanged', demo: demo() });
    expect(demoPaused(s)).toBe(false);
    s = tasksReducer(s, { type: 'demoPauseRequested', paused: true });
    expect(demoPaused(s)).toBe(true);
    s = tasksReducer(s, { type: 'demoPauseFailed', message: 'unavailable' });
    expect(demoPaused(s)).toBe(false);
    expect(s.demoError).toBe('unavailable');
    s = tasksReducer(s, { type: 'demoPauseRequested', paused: true });
    expect(s.demoError).toBeUndefined();
    s = tasksReducer(s, { type: 'demoChanged', demo: demo({ paused: true, submitted: 4 }) });
    expect(demoPaused(s)).toBe(true);
    expect(s.demoRequested).toBeUndefined();
    expect(demoPaused(tasksReducer(initialTasksState, { type: 'demoChanged', demo: demo({ available: false }) }))).toBeUndefined();
  });

  it('ignores other actions (same state object)', () => {
    expect(tasksReducer(initialTasksState, { type: 'spanEnded', span: {} as never })).toBe(initialTasksState);
  });
});
