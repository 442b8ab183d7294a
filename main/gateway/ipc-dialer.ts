/**
 * Pilot streams for the gateway, dialed through the local daemon's IPC socket (the reference's
 * driver protocol: Dial/Send/Recv/Close), so the gateway works beside our daemon and a reference
 * one alike, and runs as its own root process while the daemon needs no privilege.
 *
 * One IPC connection per bridged TCP connection: a daemon restart only breaks the connections open
 * at the time (the next TCP connection dials afresh), and `drained` (the IPC socket's write buffer
 * reaching the kernel) measures this connection's backlog alone.
 */
import type { Address } from '../../shared/address';
import { IpcClient } from '../daemon/client';
import type { BridgeStream, StreamDialer } from './bridge';

export function ipcDialer(socketPath: string): StreamDialer {
  return async (addr: Address, port: number): Promise<BridgeStream> => {
    const client = await IpcClient.connect(socketPath);
    let conn;
    try {
      conn = await client.dial(addr, port);
    } catch (e) {
      client.close();
      throw e;
    }
    const c = conn;
    return {
      write: (data) => c.write(data),
      drained: () => client.flush(),
      read: () => c.read(),
      end: async () => {
        try {
          await client.flush();
          await c.close();
        } finally {
          client.close();
        }
      },
      destroy: () => client.close(),
    };
  };
}
