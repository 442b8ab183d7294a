/**
 * What every face (the daemon's IPC extension, Electron IPC, the web console's WebSocket) talks to:
 * one typed `call` per contract method and one event stream. Implementations receive arguments that
 * the face already validated against `methodSchemas` (dispatch.ts: once, at the boundary the
 * request entered); they do not check them again.
 */
import type { ConsoleEvents, MethodArgs, MethodName, MethodResult } from '../../shared/contract';
import type { AnyListener } from '../../shared/emitter';
import { PilotError } from '../../shared/errors';

/** Called with each event the node pushes and its payload. */
export type ConsoleEventListener = AnyListener<ConsoleEvents>;

export interface ConsoleService {
  call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>>;
  /** Subscribes to every event the node pushes; returns the unsubscribe function. */
  on(listener: ConsoleEventListener): () => void;
}

/**
 * A service in another process whose own boundary validates: a daemon reached over its IPC socket
 * (an attached console). Faces forward requests to it unparsed (`forward`), so each request is
 * validated once, by the process that acts on it; `call` is for typed callers in this process.
 */
export interface ForwardingService extends ConsoleService {
  forward(method: MethodName, params: unknown): Promise<unknown>;
}

export function isForwarding(s: ConsoleService): s is ForwardingService {
  return typeof (s as Partial<ForwardingService>).forward === 'function';
}

/** A service with no node behind it: every call fails with `unavailable` (and the reason), no events. */
export function unavailableService(reason: string): ConsoleService {
  return {
    call: () => Promise.reject(new PilotError('unavailable', reason)),
    on: () => () => undefined,
  };
}
