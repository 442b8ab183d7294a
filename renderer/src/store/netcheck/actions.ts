import type { NetcheckView } from '../../../../shared/contract';
import { dispatch } from '../root';
import type { NetcheckError } from './state';

let nextRun = 1;

/** Starts a run and returns its number (used to match its answer). */
export const netcheckStarted = (at = Date.now()): number => {
  const run = nextRun++;
  dispatch({ type: 'netcheckStarted', run, at });
  return run;
};
export const netcheckFinished = (run: number, report: NetcheckView, at = Date.now()): void => dispatch({ type: 'netcheckFinished', run, report, at });
export const netcheckFailed = (run: number, error: NetcheckError, at = Date.now()): void => dispatch({ type: 'netcheckFailed', run, error, at });
