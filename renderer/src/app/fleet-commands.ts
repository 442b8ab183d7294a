/**
 * The fleet view's requests (issue 13): the path matrix of every pair of members, a pair's history,
 * a probe from one member to another, and "why this path" for a peer. Each calls the node through
 * the client and records the outcome in the fleet slice.
 */
import { toCallError } from '../api/errors';
import { fleetHistoryReceived, fleetMatrixFailed, fleetMatrixReceived, fleetMatrixRequested, fleetPairSelected, fleetProbeAnswered, fleetProbeFailed, fleetProbeStarted, whyAnswered, whyFailed, whyRequested } from '../store/fleet/actions';
import { whyKey, type FleetError } from '../store/fleet/state';
import { getClient } from './client';

const errorOf = (e: unknown): FleetError => {
  const err = toCallError(e);
  return err.hint === undefined ? { code: err.code, message: err.message } : { code: err.code, message: err.message, hint: err.hint };
};

/** Asks the console's node for the matrix (it sweeps the members that let it ask; `refresh` forces a new sweep). */
export async function loadFleetMatrix(refresh = false): Promise<void> {
  fleetMatrixRequested();
  try {
    fleetMatrixReceived(await getClient().call('fleet.matrix', refresh ? { refresh: true } : {}));
  } catch (e) {
    fleetMatrixFailed(errorOf(e));
  }
}

/** Selects a pair and loads its history (path changes and RTT over the last hour). */
export async function openPair(a: number, b: number): Promise<void> {
  fleetPairSelected(a, b);
  try {
    fleetHistoryReceived(await getClient().call('fleet.history', { a, b }));
  } catch (e) {
    fleetMatrixFailed(errorOf(e));
  }
}

/** Member `from` pings member `to`, runs a traceroute to it, or sends it 1 MiB through its echo port (from must trust the console's node). */
export async function probePair(from: number, to: number, mode: 'ping' | 'traceroute' | 'throughput' = 'ping', count = 3): Promise<void> {
  fleetProbeStarted(from, to);
  try {
    fleetProbeAnswered(from, to, await getClient().call('fleet.probe', mode === 'throughput' ? { from, to, mode } : mode === 'traceroute' ? { from, to, mode, count } : { from, to, count }));
  } catch (e) {
    fleetProbeFailed(from, to, errorOf(e));
  }
}

/** The story of this node's tunnel to `nodeId`, or (with `from`) member from's story of its tunnel to it. */
export async function loadWhy(nodeId: number, from?: number): Promise<void> {
  const key = whyKey(nodeId, from);
  whyRequested(key);
  try {
    whyAnswered(key, await getClient().call('fleet.why', from === undefined ? { nodeId } : { nodeId, from }));
  } catch (e) {
    whyFailed(key, errorOf(e));
  }
}
