/** The traces and logs domains: what this node recorded (span ring, structured log ring). */
import type { LogRing } from '../observe/logs';
import type { ApiContext, DomainHandlers } from './context';

export function traceHandlers({ tracer }: ApiContext): DomainHandlers<'traces'> {
  return {
    'traces.list': async ({ limit }) => tracer.list(limit ?? 1000),
    'traces.get': async ({ traceId }) => tracer.list().filter((x) => x.traceId === traceId),
  };
}

export function logHandlers({ logs }: ApiContext): DomainHandlers<'logs'> {
  return {
    'logs.tail': async (a) => {
      const q: Parameters<LogRing['tail']>[0] = { limit: a.limit ?? 500 };
      if (a.level) q.level = a.level;
      if (a.peer !== undefined) q.peer = a.peer;
      return logs.tail(q);
    },
  };
}
