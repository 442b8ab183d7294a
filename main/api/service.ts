/**
 * What a console face (Electron IPC, the web console's WebSocket) talks to: one typed `call` per
 * contract method and one event stream. The node implements it; faces validate every payload with
 * `methodSchemas` (see dispatch.ts) before calling it, so implementations receive parsed arguments.
 */
import type { ConsoleEvents, EventName, MethodArgs, MethodName, MethodResult } from '../../shared/contract';
import { PilotError } from '../../shared/errors';

/** Called with each event the node pushes and its payload (the same shape as node-service's listener). */
export type ConsoleEventListener = <E extends EventName>(event: E, data: ConsoleEvents[E]) => void;

export interface ConsoleService {
  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>>;
  /** Subscribes to every event the node pushes; returns the unsubscribe function. */
  on(listener: ConsoleEventListener): () => void;
}

/** A tiny fan-out helper for services: `emit` to every listener added with `on`. */
export class ConsoleEventHub {
  private readonly listeners = new Set<ConsoleEventListener>();

  on(listener: ConsoleEventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit<E extends EventName>(event: E, data: ConsoleEvents[E]): void {
    for (const l of [...this.listeners]) l(event, data);
  }

  get size(): number {
    return this.listeners.size;
  }
}

/** A service with no node behind it: every call fails with `unavailable` (and the reason), no events. */
export function unavailableService(reason: string): ConsoleService {
  return {
    call: () => Promise.reject(new PilotError('unavailable', reason)),
    on: () => () => undefined,
  };
}
