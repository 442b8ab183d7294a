/**
 * The console contract implemented over a running PilotNode: what pilotctl (through the daemon's
 * IPC extension), the Electron preload and the web console all call. This file composes the
 * domains (node, peers, pings, groups, trust, tasks, traces, logs: one file each, sharing
 * context.ts) and forwards the node's own events as console events. Arguments arrive validated:
 * the face the request entered checked them once (dispatch.ts).
 */
import type { ConsoleEvents, MethodArgs, MethodName, MethodResult } from '../../shared/contract';
import { Emitter } from '../../shared/emitter';
import type { PilotNode } from '../node/node';
import type { TunnelEvent } from '../node/tunnels';
import type { LogRing } from '../observe/logs';
import type { Tracer } from '../observe/tracer';
import { createContext, type ApiContext, type Handlers } from './context';
import { createFleetApi, startFleetSweep } from './fleet';
import { createGroupDirectory, groupHandlers } from './groups';
import { nodeHandlers } from './node';
import { logHandlers, traceHandlers } from './observe';
import { peerHandlers, startPeerProbe } from './peers';
import { pingHandlers } from './pings';
import type { ConsoleService } from './service';
import type { ServicesAdapter } from './services-adapter';
import { demoHandlers, taskHandlers } from './tasks';
import { trustHandlers } from './trust';

export { pingStats } from './pings';

export interface NodeService extends ConsoleService {
  close(): void;
}

export interface NodeServiceOptions {
  node: PilotNode;
  tracer: Tracer;
  logs: LogRing;
  services?: ServicesAdapter;
  /**
   * Probe known peers (members of our groups) with a control ping every this many ms, so a console
   * shows live paths and RTTs without anyone clicking. Off by default (plain daemons stay quiet).
   */
  probeIntervalMs?: number;
}

/** Node → console events: tunnel path changes, registry pushes, spans, log lines, trust. */
function forwardNodeEvents(ctx: ApiContext, services: ServicesAdapter | undefined): (() => void)[] {
  const { node, events } = ctx;
  const offs: (() => void)[] = [];
  const onTunnel = (ev: TunnelEvent): void => {
    if (ev.type === 'path_changed') {
      const e: ConsoleEvents['peer.pathChanged'] = { nodeId: ev.nodeId, from: ev.from, to: ev.to };
      if (ev.endpoint) e.endpoint = ev.endpoint;
      events.emit('peer.pathChanged', e);
      events.emit('peer.updated', ctx.peerView(ev.nodeId));
    } else if (ev.type === 'peer_added' || ev.type === 'key_exchanged') {
      events.emit('peer.updated', ctx.peerView(ev.nodeId));
    }
  };
  node.on('tunnel', onTunnel);
  offs.push(() => node.off('tunnel', onTunnel));
  const onRegistry = (e: { event: string; name?: string; node_id?: number }): void => {
    if (e.name) events.emit('groups.changed', { name: e.name, event: e.event, nodeId: e.node_id ?? 0 });
  };
  node.on('registry', onRegistry as never);
  offs.push(() => node.off('registry', onRegistry as never));
  offs.push(ctx.tracer.onSpan((s) => events.emit('span.ended', s)));
  offs.push(ctx.logs.onLine((l) => events.emit('log', l)));
  if (services) offs.push(services.onTask((t) => events.emit('task.updated', t)));
  if (services) offs.push(services.onTrust((ev) => (ev.type === 'request' ? events.emit('trust.requested', ev.request) : events.emit('trust.changed', { nodeId: ev.nodeId, state: ev.state }))));
  return offs;
}

export function createNodeService(o: NodeServiceOptions): NodeService {
  const events = new Emitter<ConsoleEvents>();
  const ctx = createContext({ node: o.node, tracer: o.tracer, logs: o.logs, events, groups: createGroupDirectory(o.node), ...(o.services ? { services: o.services } : {}) });
  const fleet = createFleetApi(ctx);
  const handlers: Handlers = {
    ...fleet.handlers,
    ...nodeHandlers(ctx),
    ...peerHandlers(ctx),
    ...pingHandlers(ctx),
    ...groupHandlers(ctx),
    ...trustHandlers(ctx),
    ...taskHandlers(ctx),
    ...demoHandlers(),
    ...traceHandlers(ctx),
    ...logHandlers(ctx),
  };
  const offs = forwardNodeEvents(ctx, o.services);
  offs.push(() => fleet.close());
  if (o.probeIntervalMs) offs.push(startPeerProbe(ctx, o.probeIntervalMs), startFleetSweep(fleet, Math.max(o.probeIntervalMs, 5000), o.node.log));

  return {
    call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      // Handlers is a mapped type over MethodName; indexing it with a generic M loses the link.
      const h = handlers[method] as (a: MethodArgs<M>) => Promise<MethodResult<M>>;
      return h(args);
    },
    on: (listener) => events.onAny(listener),
    close() {
      for (const off of offs.splice(0)) off();
      events.clear();
    },
  };
}
