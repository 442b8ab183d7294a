import { contextBridge } from 'electron';

// Exposes named, typed console methods to the sandboxed renderer (never raw ipcRenderer).
contextBridge.exposeInMainWorld('pilotInfo', { transport: 'electron' as const });
