/**
 * The one console client: the contract's typed `call(method, args)` / `on(event, handler)` over any
 * link that carries its envelopes. The Electron preload runs it over ipcRenderer (that is
 * `window.pilot`); the web console runs it over its WebSocket — the same code either way, so the
 * browser tests exercise the Electron path too. Rejections are plain ConsoleErrorPayload objects
 * (cloneable across contextBridge); a link failure is `unavailable`. Zod-free: it is bundled into
 * the preload and the renderer.
 */
import type { ConsoleClient, ConsoleErrorPayload, ConsoleEvents, EventEnvelope, EventName, MethodArgs, MethodName, MethodResult, RequestEnvelope, ResponseEnvelope } from './contract';
import { isEventName } from './contract-names';
import { Emitter } from './emitter';

export interface EnvelopeLink {
  /** Sends one request; resolves with its response envelope, rejects when the link cannot carry it. */
  request(envelope: RequestEnvelope): Promise<ResponseEnvelope>;
  /** Receives every event envelope; returns the unsubscribe function. */
  subscribe(listener: (envelope: EventEnvelope) => void): () => void;
}

export function isErrorPayload(x: unknown): x is ConsoleErrorPayload {
  return typeof x === 'object' && x !== null && typeof (x as { code?: unknown }).code === 'string' && typeof (x as { message?: unknown }).message === 'string';
}

function errorPayload(e: unknown): ConsoleErrorPayload {
  if (isErrorPayload(e)) return e.hint === undefined ? { code: e.code, message: e.message } : { code: e.code, message: e.message, hint: e.hint };
  return { code: 'unavailable', message: e instanceof Error ? e.message : String(e) };
}

export function createEnvelopeClient(link: EnvelopeLink): ConsoleClient {
  let nextId = 1;
  const events = new Emitter<ConsoleEvents>();
  // One link listener for the whole page, subscribed on first use, fanned out by event name.
  let linked = false;
  const ensureLinked = (): void => {
    if (linked) return;
    linked = true;
    link.subscribe((env) => {
      if (isEventName(env.event)) events.emit(env.event, env.data as never);
    });
  };
  return {
    async call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      let res: ResponseEnvelope;
      try {
        res = await link.request({ id: nextId++, method, params: args ?? {} });
      } catch (e) {
        throw errorPayload(e);
      }
      // The far side answers `method` with MethodResult<M>; the envelope itself is untyped on the wire.
      if (res.ok) return res.result as MethodResult<M>;
      throw errorPayload(res.error);
    },
    on<E extends EventName>(event: E, handler: (data: ConsoleEvents[E]) => void): () => void {
      if (typeof handler !== 'function') throw { code: 'invalid_argument', message: `on('${String(event)}') needs a function` } satisfies ConsoleErrorPayload;
      if (!isEventName(event)) throw { code: 'invalid_argument', message: `unknown event ${JSON.stringify(event)}` } satisfies ConsoleErrorPayload;
      ensureLinked();
      return events.on(event, handler);
    },
  };
}
