import type { ConsoleClient } from '../../../shared/contract';

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';
export type TransportKind = 'websocket' | 'electron';

/** A ConsoleClient plus what the page needs to know about the link itself. */
export interface ConsoleTransport extends ConsoleClient {
  readonly kind: TransportKind;
  status(): ConnectionStatus;
  /** Called on every status change (and not for the current one); returns the unsubscribe function. */
  onStatus(listener: (status: ConnectionStatus, detail?: string) => void): () => void;
  close(): void;
}
