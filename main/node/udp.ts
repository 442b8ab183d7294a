/**
 * The datagram transport the node's tunnel runs over: a small interface, a real `node:dgram`
 * implementation, and an in-memory network for unit tests of the pure parts.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves the destination of EVERY send through its `lookup` (dns.lookup by default), which
 * answers even an IP literal on the next tick: an allocation, a closure and a deferred send per
 * datagram. Endpoints are almost always IP literals: answer those synchronously (the send then goes
 * out inside `send()`), and resolve names through dns.lookup as before.
 */
function fastLookup(host: string, family: number, callback: LookupCallback): void {
  const v = isIP(host);
  if (v !== 0) callback(null, host, v);
  else dns.lookup(host, family, callback);
}

export interface UdpEndpoint {
  readonly host: string;
  readonly port: number;
}

export type DatagramHandler = (data: Uint8Array, from: UdpEndpoint) => void;

/** One datagram: contiguous bytes, or pieces sent together as one datagram (scatter-gather). */
export type Datagram = Uint8Array | readonly Uint8Array[];

export function datagramLength(d: Datagram): number {
  if (d instanceof Uint8Array) return d.length;
  let n = 0;
  for (const p of d) n += p.length;
  return n;
}

/** The bytes of a datagram in one buffer (copies only when it is in pieces). */
export function datagramBytes(d: Datagram): Uint8Array {
  if (d instanceof Uint8Array) return d;
  if (d.length === 1) return d[0]!;
  const out = new Uint8Array(datagramLength(d));
  let o = 0;
  for (const p of d) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface DatagramSocket {
  /** Sends one datagram. The socket may hold on to `data` until it is sent: do not modify it afterwards. */
  send(data: Datagram, to: UdpEndpoint): void;
  onMessage(handler: DatagramHandler): void;
  local(): UdpEndpoint;
  close(): Promise<void>;
}

export function endpointKey(e: UdpEndpoint): string {
  return `${e.host}:${e.port}`;
}

/** `127.0.0.1`, `::ffff:127.0.0.1` (a dual-stack socket's view) and `localhost` are the same host. */
export function sameHost(a: string, b: string): boolean {
  const norm = (h: string): string => (h.startsWith('::ffff:') ? h.slice(7) : h === 'localhost' ? '127.0.0.1' : h);
  return norm(a) === norm(b);
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
  const sock = dgram.createSocket({
    type,
    recvBufferSize: 8 << 20,
    sendBufferSize: 8 << 20,
    lookup: fastLookup as unknown as typeof dns.lookup,
  });
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
      // No completion callback: it would cost a SendWrap callback and a nextTick per datagram, and
      // errors are ignored either way (see the 'error' handler above).
      sock.send(data as Uint8Array | Uint8Array[], to.port, to.host);
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
        const bytes = datagramBytes(data);
        if (this.drop(bytes, local, to)) return;
        const copy = Uint8Array.from(bytes);
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
