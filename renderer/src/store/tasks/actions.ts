import type { DemoView, TaskView } from '../../../../shared/contract';
import { dispatch } from '../root';

export const tasksLoaded = (tasks: TaskView[], at = Date.now()): void => dispatch({ type: 'tasksLoaded', tasks, at });
export const taskUpdated = (task: TaskView): void => dispatch({ type: 'taskUpdated', task });
export const demoChanged = (demo: DemoView): void => dispatch({ type: 'demoChanged', demo });
export const demoPauseRequested = (paused: boolean): void => dispatch({ type: 'demoPauseRequested', paused });
export const demoPauseFailed = (message: string): void => dispatch({ type: 'demoPauseFailed', message });
