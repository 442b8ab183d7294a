import type { NetcheckView, PathKind } from '../../../../shared/contract';
import type { RootState } from '../root';
import type { NetcheckState } from './state';

export const selectNetcheck = (s: RootState): NetcheckState => s.netcheck;

export type NetcheckStatus = 'idle' | 'running' | 'ok' | 'failed';

/** What the NAT panel shows: a run in progress wins, then the latest run's outcome. */
export function netcheckStatus(s: NetcheckState): NetcheckStatus {
  if (s.running !== undefined) return 'running';
  if (s.error) return 'failed';
  return s.report ? 'ok' : 'idle';
}

/** How peers reach a node with this NAT; coloured like the peer path it leads to. */
export type NatReach = 'direct' | 'hole punching' | 'relay' | 'unknown';

export function natReach(natType: NetcheckView['natType']): NatReach {
  switch (natType) {
    case 'none':
      return 'direct';
    case 'port-preserving':
    case 'cone':
      return 'hole punching';
    case 'symmetric':
      return 'relay';
    case 'unknown':
      return 'unknown';
  }
}

export const REACH_PATH: Record<NatReach, PathKind> = { direct: 'direct', 'hole punching': 'punched', relay: 'relay', unknown: 'pending' };

/** One plain line: what this NAT type means for peers trying to reach this node. */
export function natExplanation(r: NetcheckView): string {
  switch (r.natType) {
    case 'none':
      return 'No NAT: the beacon sees this node at its own address, so peers reach it directly.';
    case 'port-preserving':
      return 'A NAT that keeps the local port and one mapping for every destination: peers behind NATs reach this node by hole punching (the easy case).';
    case 'cone':
      return 'A NAT that keeps one public mapping for every destination: peers behind NATs reach this node by hole punching.';
    case 'symmetric':
      return 'A NAT that picks a new public port per destination: hole punching fails, so traffic with NATed peers goes through the beacon’s relay (public peers are still reached directly).';
    case 'unknown':
      return r.publicEndpoint
        ? 'Behind a NAT whose mapping could not be measured (the netcheck port did not answer): hole punching may work; otherwise traffic goes through the relay.'
        : 'The beacon did not answer, so the NAT could not be measured: check the beacon address; until then peers cannot find this node’s endpoint.';
  }
}
