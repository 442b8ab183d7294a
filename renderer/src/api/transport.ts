/**
 * The renderer's one console client: the contract's client (shared/envelope-client.ts — in the
 * Electron preload as `window.pilot`, or over the web console's WebSocket) plus the link's status,
 * with rejections as ConsoleCallError. Both transports go through here.
 */
import type { ConsoleClient, ConsoleEvents, EventName, MethodArgs, MethodName, MethodResult } from '../../../shared/contract';
import { toCallError } from './errors';
import type { ConnectionStatus, ConsoleTransport, TransportKind } from './types';

export interface LinkState {
  status(): ConnectionStatus;
  onStatus(listener: (status: ConnectionStatus, detail?: string) => void): () => void;
  close(): void;
}

/** Electron's IPC is up as long as the page lives. */
export const ALWAYS_OPEN: LinkState = { status: () => 'open', onStatus: () => () => undefined, close: () => undefined };

export function consoleTransport(kind: TransportKind, client: ConsoleClient, link: LinkState): ConsoleTransport {
  return {
    kind,
    status: () => link.status(),
    onStatus: (listener) => link.onStatus(listener),
    close: () => link.close(),
    async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      try {
        return await client.call(method, args);
      } catch (e) {
        throw toCallError(e);
      }
    },
    on<E extends EventName>(event: E, handler: (data: ConsoleEvents[E]) => void): () => void {
      return client.on(event, handler);
    },
  };
}
