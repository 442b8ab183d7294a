/**
 * What every domain of the node's API (node.ts, peers.ts, pings.ts, groups.ts, trust.ts, tasks.ts,
 * observe.ts) shares: the node and its recorders, the event fan-out, the group directory and the
 * peer projection. Handlers receive arguments already validated at the boundary (dispatch.ts).
 */
import type { ConsoleEvents, MethodArgs, MethodName, MethodResult, PeerView, TrustState } from '../../shared/contract';
import type { Emitter } from '../../shared/emitter';
import { PilotError } from '../../shared/errors';
import { backboneAddress, formatAddress } from '../../shared/address';
import type { PilotNode } from '../node/node';
import type { LogRing } from '../observe/logs';
import type { Tracer } from '../observe/tracer';
import type { GroupDirectory } from './groups';
import type { ServicesAdapter } from './services-adapter';

export type Handlers = { [M in MethodName]: (args: MethodArgs<M>) => Promise<MethodResult<M>> };
/** The handlers of one domain: `DomainHandlers<'peers'>` has 'peers.list', 'peers.ping', … */
export type DomainHandlers<D extends string> = Pick<Handlers, Extract<MethodName, `${D}.${string}`>>;

export interface ApiContext {
  node: PilotNode;
  tracer: Tracer;
  logs: LogRing;
  events: Emitter<ConsoleEvents>;
  groups: GroupDirectory;
  /** The built-in services (trust, tasks), or `unavailable` when this node runs none. */
  services(): ServicesAdapter;
  trustOf(nodeId: number): TrustState;
  peerView(nodeId: number): PeerView;
}

export function createContext(o: { node: PilotNode; tracer: Tracer; logs: LogRing; services?: ServicesAdapter; events: Emitter<ConsoleEvents>; groups: GroupDirectory }): ApiContext {
  const { node, groups } = o;
  const trustOf = (nodeId: number): TrustState => o.services?.trustState(nodeId) ?? 'none';
  return {
    node,
    tracer: o.tracer,
    logs: o.logs,
    events: o.events,
    groups,
    services() {
      if (!o.services) throw new PilotError('unavailable', 'built-in services are not running on this node');
      return o.services;
    },
    trustOf,
    peerView(nodeId) {
      const rec = node.peerRecord(nodeId);
      const t = node.tunnelInfo(nodeId);
      const v: PeerView = {
        nodeId,
        address: formatAddress(backboneAddress(nodeId)),
        tags: rec.tags,
        groups: rec.networks.filter((n) => n !== 0).map((n) => groups.nameOf(n)),
        path: t?.path ?? 'pending',
        rttHistory: rec.rtt.slice(-30),
        trust: trustOf(nodeId),
        encrypted: t?.encrypted ?? false,
        authenticated: t?.authenticated ?? false,
      };
      if (rec.hostname) v.hostname = rec.hostname;
      if (t?.endpoint) v.endpoint = t.endpoint;
      const last = rec.rtt[rec.rtt.length - 1];
      if (last !== undefined) v.rttMs = last;
      const seen = t?.lastRecvMs !== undefined ? node.clock.wallNow() - (node.clock.now() - t.lastRecvMs) : undefined;
      if (seen !== undefined) v.lastSeenMs = Math.round(seen);
      return v;
    },
  };
}
