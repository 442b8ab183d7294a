/**
 * TCP ↔ Pilot stream bridging: one TCP listener per mapped IP and port; each accepted connection
 * dials the mapped Pilot address on the same port and copies bytes both ways.
 *
 * Backpressure: TCP → Pilot reads the next TCP chunk only after the previous one left this process
 * (`drained`); the daemon stops reading its IPC client while the Pilot stream's window is full, so a
 * slow peer slows the local sender. Pilot → TCP reads the next chunk of the stream only after the
 * TCP socket took the previous one (its 'drain').
 * Ends: the Pilot protocol has no half-close (transport.md §8: after a FIN neither side sends), so
 * the TCP client's FIN (a request sent, `shutdown(SHUT_WR)`, curl's upload end) is not passed on at
 * once: the TCP socket stays half-open and the Pilot stream open, the peer's reply is delivered, and
 * the stream closes when the peer closes it, or after `lingerMs` without a byte from the peer (then
 * our FIN, after the queued data). Passing the FIN on at once, as before, ended the stream before
 * the reply came (and Node ended the socket's write side with its read side): the reply was lost.
 * The peer's FIN ends the TCP socket after the data already received; an error on either side
 * destroys both.
 */
import net from 'node:net';
import type { Address } from '../../shared/address';
import { toPilotError } from '../../shared/errors';
import type { Logger } from '../util/log';

/** A Pilot stream as the bridge uses it (implemented over the daemon's IPC in ipc-dialer.ts). */
export interface BridgeStream {
  write(data: Uint8Array): void;
  /** Resolves when everything written so far has left this process. */
  drained(): Promise<void>;
  /** Next received chunk; undefined once the stream ended. */
  read(): Promise<Uint8Array | undefined>;
  /** Graceful close (FIN after the queued data); releases the stream. */
  end(): Promise<void>;
  /** Abrupt release. */
  destroy(): void;
}

export type StreamDialer = (addr: Address, port: number) => Promise<BridgeStream>;

/** After the TCP client's FIN: how long the peer may stay silent before the stream is closed. */
export const DEFAULT_LINGER_MS = 30_000;

export interface BridgeCounters {
  accepted: number;
  dialFailures: number;
  active: number;
}

/** Copies bytes both ways between `sock` and a stream dialed lazily; resolves when both ends are done. */
export async function bridgeConnection(sock: net.Socket, dial: () => Promise<BridgeStream>, log: Logger, counters: BridgeCounters, lingerMs = DEFAULT_LINGER_MS): Promise<void> {
  sock.pause();
  let stream: BridgeStream;
  try {
    stream = await dial();
  } catch (e) {
    counters.dialFailures++;
    log.warn('gateway dial failed', { error: toPilotError(e).message });
    sock.resetAndDestroy();
    return;
  }
  counters.active++;
  let failed = false;
  const fail = (): void => {
    if (failed) return;
    failed = true;
    stream.destroy();
    sock.destroy();
  };
  sock.on('error', fail);
  sock.on('close', () => {
    // A TCP socket closed without a clean end (reset, destroyed by unmap/stop): drop the stream too.
    if (!sock.readableEnded) fail();
  });

  // Set at the TCP client's FIN: closes the stream once the peer has been silent for lingerMs.
  let linger: NodeJS.Timeout | undefined;
  let clientEnded = false;
  let pilotEnded = false;
  /** The TCP client is not taking the peer's data yet: the peer is not silent, only held back. */
  let waitingForClient = false;
  const closeStream = (): void => {
    if (linger) clearTimeout(linger);
    linger = undefined;
    if (waitingForClient) {
      armLinger();
      return;
    }
    stream
      .end()
      .catch(() => fail());
  };
  const armLinger = (): void => {
    if (!clientEnded || pilotEnded) return;
    if (linger) clearTimeout(linger);
    linger = setTimeout(closeStream, lingerMs);
    linger.unref();
  };

  const tcpToPilot = new Promise<void>((resolve) => {
    sock.on('data', (chunk: Buffer) => {
      try {
        stream.write(chunk);
      } catch {
        fail();
        resolve();
        return;
      }
      sock.pause();
      stream
        .drained()
        .then(() => {
          if (!failed) sock.resume();
        })
        .catch(() => fail());
    });
    sock.on('end', () => {
      clientEnded = true;
      stream
        .drained()
        .then(() => armLinger())
        .catch(() => fail())
        .finally(resolve);
    });
    sock.on('close', () => resolve());
    sock.resume();
  });

  const pilotToTcp = (async (): Promise<void> => {
    for (;;) {
      const chunk = await stream.read();
      if (chunk === undefined || failed || sock.destroyed) break;
      armLinger();
      if (!sock.write(chunk)) {
        waitingForClient = true;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            sock.off('drain', done);
            sock.off('close', done);
            resolve();
          };
          sock.on('drain', done);
          sock.on('close', done);
        });
        waitingForClient = false;
      }
    }
    pilotEnded = true;
    if (!sock.destroyed) sock.end();
  })();

  try {
    await Promise.all([tcpToPilot, pilotToTcp]);
    // Both directions are done: the peer closed, or our FIN went after the linger. Release it.
    if (linger) clearTimeout(linger);
    if (!failed) await stream.end();
  } catch (e) {
    log.debug('gateway bridge error', { error: toPilotError(e).message });
    fail();
  } finally {
    if (linger) clearTimeout(linger);
    counters.active--;
  }
}

/** The TCP listeners of one mapped IP (one per port) and the connections they accepted. */
export class IpListeners {
  private readonly servers: net.Server[] = [];
  private readonly sockets = new Set<net.Socket>();
  readonly bound: number[] = [];

  private constructor(readonly ip: string) {}

  /**
   * Listens on `ip` at every port; a port that cannot be bound (in use) is logged and skipped, as
   * the reference does. Resolves once every listen attempt finished.
   */
  static async open(ip: string, ports: number[], target: Address, dialer: StreamDialer, log: Logger, counters: BridgeCounters): Promise<IpListeners> {
    const l = new IpListeners(ip);
    await Promise.all(
      ports.map(
        (port) =>
          new Promise<void>((resolve) => {
            // allowHalfOpen: the client's FIN must not end our write side; the reply still goes out.
            const server = net.createServer({ allowHalfOpen: true }, (sock) => {
              counters.accepted++;
              l.sockets.add(sock);
              sock.once('close', () => l.sockets.delete(sock));
              bridgeConnection(sock, () => dialer(target, port), log, counters).catch((e: unknown) =>
                log.warn('gateway bridge failed', { ip, port, error: toPilotError(e).message }),
              );
            });
            server.once('error', (e: NodeJS.ErrnoException) => {
              log.warn('gateway cannot listen', { ip, port, error: e.code ?? e.message });
              resolve();
            });
            server.listen({ host: ip, port }, () => {
              l.servers.push(server);
              l.bound.push(port);
              resolve();
            });
          }),
      ),
    );
    l.bound.sort((a, b) => a - b);
    return l;
  }

  /** Stops listening and drops the open connections. */
  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
