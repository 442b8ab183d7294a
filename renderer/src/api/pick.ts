import type { PilotBridge } from '../../../shared/contract';
import { ALWAYS_OPEN, consoleTransport } from './transport';
import type { ConsoleTransport } from './types';
import { websocketClient, type WebSocketClientOptions } from './websocket';

export interface PageEnvironment {
  pilot?: PilotBridge | undefined;
  location: { protocol: string; host: string; search: string };
}

/** The web console's API URL for a page served at `location` (`/?token=…` -> `ws://host/api?token=…`). */
export function apiUrlFor(location: PageEnvironment['location']): string | undefined {
  const token = new URLSearchParams(location.search).get('token');
  if (!token || (location.protocol !== 'http:' && location.protocol !== 'https:')) return undefined;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api?token=${encodeURIComponent(token)}`;
}

/** Electron's preload when the page has one, else the web console's WebSocket; undefined when neither. */
export function pickClient(env: PageEnvironment, wsOptions?: WebSocketClientOptions): ConsoleTransport | undefined {
  if (env.pilot) return consoleTransport('electron', env.pilot, ALWAYS_OPEN);
  const url = apiUrlFor(env.location);
  return url ? websocketClient(url, wsOptions) : undefined;
}
