import type { PathKind, PingReply } from '../../../../shared/contract';

export interface PingSample {
  /** Which ping run of this page produced it (0: a ping started elsewhere, e.g. pilotctl). */
  run: number;
  seq: number;
  at: number;
  rttMs?: number;
  path?: PathKind;
  error?: string;
}

export interface PathMark {
  at: number;
  from?: PathKind;
  to: PathKind;
}

export interface PeerPings {
  nodeId: number;
  target: string;
  /** The run in progress, or undefined when idle. */
  running?: number;
  lastRun: number;
  samples: PingSample[];
  marks: PathMark[];
  error?: string;
}

export interface PingsState {
  byPeer: Record<number, PeerPings>;
}

export type PingsAction =
  | { type: 'pingStarted'; nodeId: number; target: string; run: number; at: number }
  | { type: 'pingAnswered'; nodeId: number; target: string; reply: PingReply; at: number }
  | { type: 'pingFinished'; nodeId: number; run: number; at: number }
  | { type: 'pingFailed'; nodeId: number; run: number; message: string; at: number }
  | { type: 'pingsCleared'; nodeId: number };

export const initialPingsState: PingsState = { byPeer: {} };
export type { PingReply };
