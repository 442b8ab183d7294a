/**
 * The traces and logs domains: what this node recorded (span ring, structured log ring), and a
 * trace collected from every node that took part (trace query, port 1010: node/services/trace-collect.ts).
 */
import type { SpanView } from '../../shared/contract';
import { collectTrace } from '../node/services/trace-collect';
import type { LogQuery } from '../observe/logs';
import type { Tracer } from '../observe/tracer';
import type { ApiContext, DomainHandlers } from './context';

/** This node's spans of one trace. */
export function spansOfTrace(tracer: Tracer, traceId: string): SpanView[] {
  return tracer.byTrace(traceId);
}

export function traceHandlers({ tracer, node }: ApiContext): DomainHandlers<'traces'> {
  return {
    'traces.list': async ({ limit }) => tracer.list(limit ?? 1000),
    'traces.get': async ({ traceId }) => spansOfTrace(tracer, traceId),
    'traces.collect': async ({ traceId, rounds, timeoutMs, peers }) =>
      collectTrace(node, (id) => spansOfTrace(tracer, id), traceId, { ...(rounds ? { rounds } : {}), ...(timeoutMs ? { timeoutMs } : {}), ...(peers ? { peers } : {}) }),
  };
}

export function logHandlers({ logs }: ApiContext): DomainHandlers<'logs'> {
  return {
    'logs.tail': async (a) => {
      const q: LogQuery & { limit: number } = { limit: a.limit ?? 500 };
      if (a.level) q.level = a.level;
      if (a.peer !== undefined) q.peer = a.peer;
      if (a.traceId !== undefined) q.traceId = a.traceId;
      if (a.component !== undefined) q.component = a.component;
      return logs.tail(q);
    },
  };
}
