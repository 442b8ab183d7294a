/** The two IPC channels between the Electron main process and the preload. Nothing else crosses. */
export const CALL_CHANNEL = 'pilot:call';
export const EVENT_CHANNEL = 'pilot:event';
