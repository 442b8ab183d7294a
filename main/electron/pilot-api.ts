/**
 * Builds `window.pilot` (the contract's PilotApi) over two primitives the preload provides: one
 * request/response call and one event subscription. Pure: no electron import, so it is unit-tested.
 */
import {
  EVENT_NAMES,
  METHOD_NAMES,
  eventHandlerName,
  splitMethod,
  type ConsoleErrorPayload,
  type ConsoleEvent,
  type EventName,
  type MethodName,
  type PilotApi,
  type RequestEnvelope,
  type ResponseEnvelope,
} from '../../shared/contract';

export interface PreloadTransport {
  /** Sends one request to main; main answers with a ResponseEnvelope (it never throws across IPC). */
  invoke(request: RequestEnvelope): Promise<ResponseEnvelope>;
  /** Receives every event main pushes; returns the unsubscribe function. */
  subscribe(listener: (event: ConsoleEvent) => void): () => void;
}

function errorPayload(e: unknown): ConsoleErrorPayload {
  return { code: 'unavailable', message: e instanceof Error ? e.message : String(e) };
}

export function buildPilotApi(transport: PreloadTransport): PilotApi {
  let nextId = 1;
  const call = async (method: MethodName, params: unknown): Promise<unknown> => {
    let res: ResponseEnvelope;
    try {
      res = await transport.invoke({ id: nextId++, method, params: params ?? {} });
    } catch (e) {
      // Rejections cross contextBridge as plain objects; Error instances would lose their code.
      throw errorPayload(e);
    }
    if (res.ok) return res.result;
    throw { ...res.error } satisfies ConsoleErrorPayload;
  };

  // One IPC listener for the whole page, fanned out by event name.
  const handlers = new Map<EventName, Set<(data: unknown) => void>>();
  let unsubscribeTransport: (() => void) | undefined;
  const subscribe = (event: EventName, handler: (data: unknown) => void): (() => void) => {
    unsubscribeTransport ??= transport.subscribe((ev) => {
      for (const h of [...(handlers.get(ev.event) ?? [])]) h(ev.data);
    });
    let set = handlers.get(event);
    if (!set) handlers.set(event, (set = new Set()));
    // Wrap so the same handler subscribed twice gets two independent subscriptions.
    const wrapped = (data: unknown): void => handler(data);
    set.add(wrapped);
    return () => {
      set.delete(wrapped);
    };
  };

  const api: Record<string, Record<string, unknown>> = { events: {} };
  for (const method of METHOD_NAMES) {
    const { domain, name } = splitMethod(method);
    (api[domain] ??= {})[name] = (args?: unknown) => call(method, args);
  }
  const events = api['events'] ?? {};
  for (const event of EVENT_NAMES) {
    events[eventHandlerName(event)] = (handler: (data: unknown) => void) => {
      if (typeof handler !== 'function') throw { code: 'invalid_argument', message: `${eventHandlerName(event)} needs a function` } satisfies ConsoleErrorPayload;
      return subscribe(event, handler);
    };
  }
  // The record is built from the same maps PilotApi is derived from; the cast only restores that link.
  return api as unknown as PilotApi;
}
