import type { NetcheckView } from '../../../../shared/contract';

/** A failed `node.netcheck` call, as the node answered it (PilotError code, message, hint). */
export interface NetcheckError {
  code: string;
  message: string;
  hint?: string;
}

/**
 * This node's NAT as the beacon sees it: the latest `node.netcheck` report and the run in progress.
 * The report of a finished run stays until a newer run answers, so a failed re-run still shows what
 * was known before (with its time).
 */
export interface NetcheckState {
  /** The run in progress, or undefined when idle. */
  running?: number;
  /** The latest run started (results of older runs are ignored). */
  lastRun: number;
  startedAt?: number;
  /** When the latest run ended, whatever its outcome (ms since epoch). */
  finishedAt?: number;
  report?: NetcheckView;
  /** When `report` was received. */
  reportAt?: number;
  /** Set when the latest run failed; cleared when a run starts. */
  error?: NetcheckError;
}

export type NetcheckAction =
  | { type: 'netcheckStarted'; run: number; at: number }
  | { type: 'netcheckFinished'; run: number; report: NetcheckView; at: number }
  | { type: 'netcheckFailed'; run: number; error: NetcheckError; at: number };

export const initialNetcheckState: NetcheckState = { lastRun: 0 };
