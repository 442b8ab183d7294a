/// <reference types="vite/client" />
import type { PilotBridge } from '../../shared/contract';

declare global {
  interface Window {
    /** Present in the Electron app (main/electron/preload.ts); absent in the web console. */
    pilot?: PilotBridge;
  }
}
