/**
 * The Electron client: adapts `window.pilot` (named methods grouped by domain, exposed by the
 * preload) to the ConsoleClient interface. IPC is always up while the page lives.
 */
import type { ConsoleEvents, EventName, MethodArgs, MethodName, MethodResult, PilotApi } from '../../../shared/contract';
import { eventHandlerName, splitMethod } from '../../../shared/contract-names';
import { toCallError } from './errors';
import type { ConsoleTransport } from './types';

type AnyMethod = (args: unknown) => Promise<unknown>;
type AnySubscribe = (handler: (data: unknown) => void) => () => void;

export function preloadClient(pilot: PilotApi): ConsoleTransport {
  // The domain maps are typed per method; lookups by a computed name go through these views of them.
  const domains = pilot as unknown as Record<string, Record<string, AnyMethod | undefined> | undefined>;
  const events = pilot.events as unknown as Record<string, AnySubscribe | undefined>;
  return {
    kind: 'electron',
    status: () => 'open',
    onStatus: () => () => undefined,
    async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      const { domain, name } = splitMethod(method);
      const fn = domains[domain]?.[name];
      if (!fn) throw toCallError({ code: 'not_found', message: `the preload has no ${method}` });
      try {
        return (await fn(args)) as MethodResult<M>;
      } catch (e) {
        throw toCallError(e);
      }
    },
    on<E extends EventName>(event: E, handler: (data: ConsoleEvents[E]) => void): () => void {
      const subscribe = events[eventHandlerName(event)];
      if (!subscribe) return () => undefined;
      return subscribe((data) => handler(data as ConsoleEvents[E]));
    },
    close: () => undefined,
  };
}
