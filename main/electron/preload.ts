/**
 * Exposes `window.pilot` to the sandboxed renderer: the contract's typed client,
 * `pilot.call(method, args)` and `pilot.on(event, handler)` (returns an unsubscribe function) — the
 * same client the web console runs over its WebSocket. Never raw ipcRenderer; main validates every
 * payload once (ipc.ts -> main/api/dispatch.ts).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { ConsoleEvent, RequestEnvelope, ResponseEnvelope } from '../../shared/contract';
import { CALL_CHANNEL, EVENT_CHANNEL } from './channels';
import { buildPilotApi } from './pilot-api';

const pilot = buildPilotApi({
  invoke: (request: RequestEnvelope) => ipcRenderer.invoke(CALL_CHANNEL, request) as Promise<ResponseEnvelope>,
  subscribe(listener) {
    const onEvent = (_e: IpcRendererEvent, ev: ConsoleEvent): void => listener(ev);
    ipcRenderer.on(EVENT_CHANNEL, onEvent);
    return () => {
      ipcRenderer.off(EVENT_CHANNEL, onEvent);
    };
  },
});

contextBridge.exposeInMainWorld('pilot', pilot);
contextBridge.exposeInMainWorld('pilotInfo', { transport: 'electron' as const });
