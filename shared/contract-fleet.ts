/**
 * The fleet part of the console contract (issue 13, "Fleet view across nodes"): the path matrix of
 * every pair of fleet members, its history, probes between two members and the "why this path"
 * story. contract.ts folds these into `methodSchemas` and `MethodResults`; kept apart so the fleet
 * types read as one piece.
 */
import { z } from 'zod';

/** A pair's path: a tunnel's path, `none` (an end answered and has no tunnel to the other), `unknown` (no end answered). */
export type FleetPath = 'local' | 'direct' | 'punched' | 'relay' | 'pending' | 'none' | 'unknown';
export const FLEET_PATHS: readonly FleetPath[] = ['local', 'direct', 'punched', 'relay', 'pending', 'none', 'unknown'];

export interface FleetMemberView {
  nodeId: number;
  address: string;
  hostname?: string;
  /** The NAT type the member reported (its netcheck). */
  natType?: string;
  /** The console's own node. */
  self: boolean;
  /** The member answered with its peer table. */
  answered: boolean;
  /** Why it did not (refused, unreachable, not asked). */
  error?: string;
  groups: string[];
}

/** One end's view of a pair: what `from`'s peer table says of the other end. */
export interface FleetSideView {
  path: 'pending' | 'local' | 'direct' | 'punched' | 'relay';
  rttMs?: number;
  /** How long this end has seen the path (ms), when it knows. */
  pathForMs?: number;
  endpoint?: string;
  pathChanges: number;
}

export interface FleetPairView {
  /** The lower node id. */
  a: number;
  b: number;
  path: FleetPath;
  rttMs?: number;
  /** Wall-clock time (ms) since which the pair has been on `path` (the ends' reports or the console's history). */
  sinceMs?: number;
  ab?: FleetSideView;
  ba?: FleetSideView;
  /** Path changes of the pair in the history window (last hour), and how many of them were flaps. */
  changes: number;
  flaps: number;
}

export type FleetCounts = Record<FleetPath, number>;

export interface FleetCensusView {
  pairs: number;
  counts: FleetCounts;
  /** Share of pairs with a tunnel (local + direct + punched + relay + pending = 1): the fleet's path mix. */
  shares: { local: number; direct: number; punched: number; relay: number; pending: number };
}

/** Pairs aggregated by the members' first group (large fleets: no 250,000 cells). */
export interface FleetGroupCellView {
  groupA: string;
  groupB: string;
  pairs: number;
  counts: FleetCounts;
}

export interface FleetMatrixView {
  /** Wall-clock ms of the sweep. */
  takenAt: number;
  members: FleetMemberView[];
  /** Every pair (omitted past `maxPairs`: see `aggregated`). */
  pairs: FleetPairView[];
  aggregated: boolean;
  groups: FleetGroupCellView[];
  census: FleetCensusView;
}

export interface FleetSampleView {
  t: number;
  path: FleetPath;
  rttMs?: number;
}

export interface FleetChangeView {
  t: number;
  from: FleetPath;
  to: FleetPath;
  /** The change went back to a path the pair had left shortly before (a flap). */
  flap: boolean;
}

export interface FleetHistoryView {
  a: number;
  b: number;
  windowMs: number;
  samples: FleetSampleView[];
  changes: FleetChangeView[];
}

export interface FleetProbeView {
  from: number;
  to: number;
  path?: string;
  rtts: number[];
  errors: string[];
  stats: { sent: number; received: number; minMs?: number; medianMs?: number; maxMs?: number };
  /** A throughput probe: bytes sent through B's echo port and back, the time, and the rate each way. */
  throughput?: { bytes: number; ms: number; mbitPerS: number };
  /**
   * A traceroute (what `pilotctl traceroute` does, run from A): the dial to B's echo port — tunnel
   * negotiation when none was up, then SYN/ACK — and the overlay hops; `rtts` are the round trips
   * over that stream.
   */
  traceroute?: { setupMs: number; tunnelWasUp: boolean; hops: FleetTraceHopView[] };
}

/** A hop of the overlay route: the beacon relay (a relayed tunnel), then the peer. */
export interface FleetTraceHopView {
  kind: 'relay' | 'peer';
  nodeId?: number;
  endpoint?: string;
}

export interface WhyStepView {
  /** `endpoints`: the addresses the dial sent its key exchange to, each with its outcome and timing. */
  stage: 'nat' | 'establish' | 'endpoints' | 'key_exchange' | 'punch' | 'relay' | 'established' | 'upgrade' | 'no_upgrade' | 'now' | 'missing';
  title: string;
  detail: string;
  status: 'ok' | 'error' | 'info';
  /** Offset from the start of the establishment (ms), when the step is timed. */
  atMs?: number;
  durationMs?: number;
}

export interface WhyPathView {
  nodeId: number;
  hostname?: string;
  path: string;
  endpoint?: string;
  localNat?: string;
  peerNat?: string;
  traceId?: string;
  steps: WhyStepView[];
}

const nodeId = z.number().int().min(1).max(0xffffffff);

export const fleetMethodSchemas = {
  'fleet.matrix': z.object({ refresh: z.boolean().optional(), maxPairs: z.number().int().min(0).max(1_000_000).optional() }).strict(),
  'fleet.history': z.object({ a: nodeId, b: nodeId }).strict(),
  'fleet.probe': z
    .object({ from: nodeId, to: nodeId, count: z.number().int().min(1).max(10).optional(), mode: z.enum(['ping', 'throughput', 'traceroute']).optional(), bytes: z.number().int().min(1024).max(4 << 20).optional() })
    .strict(),
  /** `from`: another member's story of its tunnel to `nodeId` (default: this node's). */
  'fleet.why': z.object({ nodeId, from: nodeId.optional() }).strict(),
} as const;

export interface FleetMethodResults {
  'fleet.matrix': FleetMatrixView;
  'fleet.history': FleetHistoryView;
  'fleet.probe': FleetProbeView;
  'fleet.why': WhyPathView;
}
