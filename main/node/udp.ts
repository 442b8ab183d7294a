/**
 * The datagram transport the node's tunnel runs over: a small interface, a real `node:dgram`
 * implementation, and an in-memory network for unit tests of the pure parts.
 */
import dgram from 'node:dgram';

export interface UdpEndpoint {
  readonly host: string;
  readonly port: number;
}

export type DatagramHandler = (data: Uint8Array, from: UdpEndpoint) => void;

export interface DatagramSocket {
  send(data: Uint8Array, to: UdpEndpoint): void;
  onMessage(handler: DatagramHandler): void;
  local(): UdpEndpoint;
  close(): Promise<void>;
}

export function endpointKey(e: UdpEndpoint): string {
  return `${e.host}:${e.port}`;
}

export function formatEndpoint(e: UdpEndpoint): string {
  return e.host.includes(':') ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** Parses `host:port`, `[v6]:port` or `:port` (host defaults to `defaultHost`). */
export function parseEndpoint(text: string, defaultHost = '127.0.0.1'): UdpEndpoint | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? (m[2] === '' || m[2] === undefined ? defaultHost : m[2]);
  return { host, port };
}

/** Binds a real UDP socket with large buffers (the tunnel carries bulk stream data). */
export async function bindUdp(host: string, port: number): Promise<DatagramSocket> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  const sock = dgram.createSocket({ type, recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  let handler: DatagramHandler = () => undefined;
  sock.on('message', (msg, rinfo) => handler(msg, { host: rinfo.address, port: rinfo.port }));
  // Send errors (EHOSTUNREACH, ENETUNREACH while a NAT changes...) are a property of the path, not
  // of the node: they are counted by the caller's counters via the missing replies, never fatal.
  sock.on('error', () => undefined);
  let closed = false;
  return {
    send(data, to) {
      if (closed) return;
      sock.send(data, to.port, to.host, () => undefined);
    },
    onMessage(h) {
      handler = h;
    },
    local() {
      const a = sock.address();
      return { host: a.address, port: a.port };
    },
    close() {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise((resolve) => sock.close(() => resolve()));
    },
  };
}

/** In-memory datagram network for unit tests (synchronous delivery via queueMicrotask). */
export class MemoryNetwork {
  private sockets = new Map<string, { handler: DatagramHandler }>();
  private nextPort = 40000;
  /** Drop predicate for tests: return true to lose a datagram. */
  drop: (data: Uint8Array, from: UdpEndpoint, to: UdpEndpoint) => boolean = () => false;

  bind(host = '10.0.0.1', port?: number): DatagramSocket {
    const local = { host, port: port ?? this.nextPort++ };
    const entry = { handler: (() => undefined) as DatagramHandler };
    this.sockets.set(endpointKey(local), entry);
    return {
      send: (data, to) => {
        if (this.drop(data, local, to)) return;
        const copy = Uint8Array.from(data);
        queueMicrotask(() => this.sockets.get(endpointKey(to))?.handler(copy, local));
      },
      onMessage: (h) => {
        entry.handler = h;
      },
      local: () => local,
      close: async () => {
        this.sockets.delete(endpointKey(local));
      },
    };
  }
}
