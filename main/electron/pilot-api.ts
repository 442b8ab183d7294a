/**
 * Builds `window.pilot` (the contract's PilotBridge: `call(method, args)` and `on(event, handler)`)
 * over ipcRenderer's two primitives: one invoke per request and one event channel. Pure: no electron
 * import, so it is unit-tested; preload.ts supplies the primitives.
 */
import type { ConsoleEvent, PilotBridge, RequestEnvelope, ResponseEnvelope } from '../../shared/contract';
import { createEnvelopeClient } from '../../shared/envelope-client';

export interface PreloadTransport {
  /** Sends one request to main; main answers with a ResponseEnvelope (it never throws across IPC). */
  invoke(request: RequestEnvelope): Promise<ResponseEnvelope>;
  /** Receives every event main pushes; returns the unsubscribe function. */
  subscribe(listener: (event: ConsoleEvent) => void): () => void;
}

export function buildPilotApi(transport: PreloadTransport): PilotBridge {
  const client = createEnvelopeClient({ request: (r) => transport.invoke(r), subscribe: (l) => transport.subscribe(l) });
  // Plain functions only: contextBridge copies the object, and methods would lose `this`.
  return {
    call: (method, args) => client.call(method, args),
    on: (event, handler) => client.on(event, handler),
  };
}
