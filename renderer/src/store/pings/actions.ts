import type { PingReply } from '../../../../shared/contract';
import { dispatch } from '../root';

let nextRun = 1;

/** Starts a run and returns its number (used to match its end and failures). */
export const pingStarted = (nodeId: number, target: string, at = Date.now()): number => {
  const run = nextRun++;
  dispatch({ type: 'pingStarted', nodeId, target, run, at });
  return run;
};
export const pingAnswered = (e: { nodeId: number; target: string; reply: PingReply }, at = Date.now()): void => dispatch({ type: 'pingAnswered', ...e, at });
export const pingFinished = (nodeId: number, run: number, at = Date.now()): void => dispatch({ type: 'pingFinished', nodeId, run, at });
export const pingFailed = (nodeId: number, run: number, message: string, at = Date.now()): void => dispatch({ type: 'pingFailed', nodeId, run, message, at });
export const pingsCleared = (nodeId: number): void => dispatch({ type: 'pingsCleared', nodeId });
