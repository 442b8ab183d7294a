import type { FleetHistoryView, FleetMatrixView, FleetProbeView, WhyPathView } from '../../../../shared/contract';

/** A failed fleet call, as the node answered it. */
export interface FleetError {
  code: string;
  message: string;
  hint?: string;
}

export type Pending<T> = { status: 'running'; at: number } | { status: 'done'; at: number; value: T } | { status: 'failed'; at: number; error: FleetError };

/**
 * The fleet as the console's node sees it across its members: the latest path matrix (every pair),
 * per-pair histories the user opened, probes between two members, and "why this path" stories per
 * peer. Projections of what the node answered (fleet.matrix / fleet.history / fleet.probe / fleet.why).
 */
export interface FleetState {
  matrix?: FleetMatrixView;
  /** When the latest matrix arrived (page clock). */
  matrixAt?: number;
  loading: boolean;
  error?: FleetError;
  /** The pair the user selected (its timeline is shown), a < b. */
  selected?: { a: number; b: number };
  /** Histories by pair key `a-b`. */
  histories: Record<string, FleetHistoryView>;
  /** Probes by `from>to`. */
  probes: Record<string, Pending<FleetProbeView>>;
  /** Why-stories by whyKey (this node's by peer id; a member's as `from>peer`). */
  why: Record<string, Pending<WhyPathView>>;
}

export type FleetAction =
  | { type: 'fleetMatrixRequested'; at: number }
  | { type: 'fleetMatrixReceived'; matrix: FleetMatrixView; at: number }
  | { type: 'fleetMatrixFailed'; error: FleetError; at: number }
  | { type: 'fleetPairSelected'; a: number; b: number }
  | { type: 'fleetHistoryReceived'; history: FleetHistoryView }
  | { type: 'fleetProbeStarted'; from: number; to: number; at: number }
  | { type: 'fleetProbeAnswered'; from: number; to: number; result: FleetProbeView; at: number }
  | { type: 'fleetProbeFailed'; from: number; to: number; error: FleetError; at: number }
  | { type: 'whyRequested'; key: string; at: number }
  | { type: 'whyAnswered'; key: string; view: WhyPathView; at: number }
  | { type: 'whyFailed'; key: string; error: FleetError; at: number };

export const initialFleetState: FleetState = { loading: false, histories: {}, probes: {}, why: {} };

export const pairKey = (a: number, b: number): string => (a < b ? `${a}-${b}` : `${b}-${a}`);
export const probeKey = (from: number, to: number): string => `${from}>${to}`;
/** This node's story of its tunnel to `nodeId`, or member `from`'s. */
export const whyKey = (nodeId: number, from?: number): string => (from === undefined ? String(nodeId) : `${from}>${nodeId}`);
