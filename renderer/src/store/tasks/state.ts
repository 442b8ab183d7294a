import type { DemoView, TaskView } from '../../../../shared/contract';

export interface TasksState {
  /** Tasks this node submitted or received, by id; the newest TASK_LIMIT by creation survive. */
  byId: Record<string, TaskView>;
  loadedAt?: number;
  /** The demo workload (a console without one answers available: false). */
  demo?: DemoView;
  /** A pause/resume the user asked for, until the node answers. */
  demoRequested?: boolean;
  demoError?: string;
}

export const TASK_LIMIT = 300;

export type TasksAction =
  | { type: 'tasksLoaded'; tasks: TaskView[]; at: number }
  | { type: 'taskUpdated'; task: TaskView }
  | { type: 'demoChanged'; demo: DemoView }
  | { type: 'demoPauseRequested'; paused: boolean }
  | { type: 'demoPauseFailed'; message: string };

export const initialTasksState: TasksState = { byId: {} };
