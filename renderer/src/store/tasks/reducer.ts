import type { TaskView } from '../../../../shared/contract';
import type { RootAction } from '../actions';
import { TASK_LIMIT, type TasksState } from './state';

const created = (t: TaskView): number => Date.parse(t.createdAt) || 0;

/** The newest `TASK_LIMIT` tasks by creation time (ties: by id, for a stable choice). */
function bounded(byId: Record<string, TaskView>): Record<string, TaskView> {
  const all = Object.values(byId);
  if (all.length <= TASK_LIMIT) return byId;
  all.sort((a, b) => created(b) - created(a) || a.taskId.localeCompare(b.taskId));
  return Object.fromEntries(all.slice(0, TASK_LIMIT).map((t) => [t.taskId, t]));
}

export function tasksReducer(state: TasksState, action: RootAction): TasksState {
  switch (action.type) {
    case 'tasksLoaded':
      return { ...state, byId: bounded(Object.fromEntries(action.tasks.map((t) => [t.taskId, t]))), loadedAt: action.at };
    case 'taskUpdated': {
      const prev = state.byId[action.task.taskId];
      // An update never takes back what the task had (a trace id, a completion time).
      const task: TaskView = prev ? { ...prev, ...action.task } : action.task;
      return { ...state, byId: bounded({ ...state.byId, [task.taskId]: task }) };
    }
    case 'demoChanged': {
      const { demoRequested: _r, demoError: _e, ...rest } = state;
      return { ...rest, demo: action.demo };
    }
    case 'demoPauseRequested': {
      const { demoError: _e, ...rest } = state;
      return { ...rest, demoRequested: action.paused };
    }
    case 'demoPauseFailed': {
      const { demoRequested: _r, ...rest } = state;
      return { ...rest, demoError: action.message };
    }
    default:
      return state;
  }
}
