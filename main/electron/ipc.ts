/**
 * Main-process side of the console IPC: every request from a renderer is checked (sender, envelope,
 * `methodSchemas[method]`) before the ConsoleService runs it, and every service event is sent to the
 * console windows. Register once per app; the returned function removes the handler and the listener.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron';
import type { EventEnvelope, ResponseEnvelope } from '../../shared/contract';
import { dispatchRequest } from '../api/dispatch';
import type { ConsoleService } from '../api/service';
import { CALL_CHANNEL, EVENT_CHANNEL } from './channels';

export interface ConsoleIpcOptions {
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>;
  service: ConsoleService;
  /** The windows that receive events (usually every console BrowserWindow's webContents). */
  targets: () => Iterable<Pick<WebContents, 'send' | 'isDestroyed'>>;
  /** Decides whether a request comes from our own page (file:// bundle or the dev server). */
  isTrustedSender: (senderUrl: string) => boolean;
}

/** The renderer's own origins: the packaged file:// bundle, or electron-vite's dev server. */
export function trustedRendererUrl(devUrl: string | undefined): (senderUrl: string) => boolean {
  return (url) => url.startsWith('file://') || (devUrl !== undefined && devUrl !== '' && url.startsWith(devUrl));
}

export function registerConsoleIpc(opts: ConsoleIpcOptions): () => void {
  opts.ipcMain.handle(CALL_CHANNEL, async (event: IpcMainInvokeEvent, request: unknown): Promise<ResponseEnvelope> => {
    const senderUrl = event.senderFrame?.url ?? '';
    if (!opts.isTrustedSender(senderUrl)) {
      return { id: -1, ok: false, error: { code: 'permission_denied', message: 'console calls are accepted from the console page only' } };
    }
    return dispatchRequest(opts.service, request);
  });
  const unsubscribe = opts.service.on((event, data) => {
    const envelope: EventEnvelope = { event, data };
    for (const wc of opts.targets()) if (!wc.isDestroyed()) wc.send(EVENT_CHANNEL, envelope);
  });
  return () => {
    unsubscribe();
    opts.ipcMain.removeHandler(CALL_CHANNEL);
  };
}
