/**
 * The opt-in Prometheus endpoint: `GET /metrics` answers the node's text exposition (metrics.ts).
 *
 * Bound to a loopback address by default. A non-loopback host (e.g. `0.0.0.0:9464`, or a LAN
 * address) is refused unless the caller passes `allowNonLoopback` (the CLI's `--metrics-public`):
 * the metrics name every peer this node talks to and how much, which is not for the whole network.
 */
import http from 'node:http';
import net from 'node:net';
import { PilotError } from '../../shared/errors';
import type { Logger } from '../util/log';
import { PROMETHEUS_CONTENT_TYPE } from './metrics';

export interface MetricsHttpOptions {
  /** `host:port` (`:port` or a bare port means 127.0.0.1); port 0 picks a free one. */
  listen: string;
  /** The exposition (NodeMetrics.text). */
  text: () => Promise<string>;
  /** Allow a host that is not a loopback address. */
  allowNonLoopback?: boolean;
  log?: Logger;
}

export interface MetricsHttpServer {
  /** Where it listens (`host:port`, the real port when 0 was asked for). */
  readonly address: string;
  /** Scrapes answered (200). */
  readonly scrapes: number;
  close(): Promise<void>;
}

/** Parses `host:port`, `[v6]:port`, `:port` or `port`. */
export function parseMetricsListen(s: string): { host: string; port: number } {
  const t = s.trim();
  let host = '127.0.0.1';
  let portText = t;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(t);
  if (v6) {
    host = v6[1]!;
    portText = v6[2]!;
  } else if (t.includes(':')) {
    const i = t.lastIndexOf(':');
    if (i > 0) host = t.slice(0, i);
    portText = t.slice(i + 1);
  }
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new PilotError('invalid_argument', `invalid metrics address "${s}"`, 'use host:port, e.g. 127.0.0.1:9464');
  }
  if (host === 'localhost') host = '127.0.0.1';
  return { host, port };
}

export function isLoopbackHost(host: string): boolean {
  if (net.isIPv4(host)) return host.startsWith('127.');
  if (net.isIPv6(host)) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** Validates a metrics listen address as startMetricsHttp will (throws invalid_argument). */
export function checkMetricsListen(listen: string, allowNonLoopback = false): { host: string; port: number } {
  const { host, port } = parseMetricsListen(listen);
  if (!net.isIP(host)) throw new PilotError('invalid_argument', `metrics address "${listen}": the host must be an IP address`, 'use 127.0.0.1:9464');
  if (!isLoopbackHost(host) && !allowNonLoopback) {
    throw new PilotError(
      'invalid_argument',
      `refusing to serve metrics on ${host}: not a loopback address (the metrics name this node's peers)`,
      'use 127.0.0.1:<port>, or add --metrics-public to expose them on purpose',
    );
  }
  return { host, port };
}

export async function startMetricsHttp(o: MetricsHttpOptions): Promise<MetricsHttpServer> {
  const { host, port } = checkMetricsListen(o.listen, o.allowNonLoopback);
  let scrapes = 0;
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (url !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: try /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    o.text()
      .then((body) => {
        scrapes++;
        res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
      })
      .catch((e: unknown) => {
        o.log?.warn('metrics scrape failed', { error: e instanceof Error ? e.message : String(e) });
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('metrics unavailable\n');
      });
  });
  server.on('clientError', (_e, sock) => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      reject(new PilotError('invalid_argument', `cannot serve metrics on ${host}:${port}: ${e.code ?? e.message}`, e.code === 'EADDRINUSE' ? 'pick another port' : undefined));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (e) => o.log?.warn('metrics server error', { error: e.message }));
  const a = server.address() as net.AddressInfo;
  const address = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
  o.log?.info('metrics served', { url: `http://${address}/metrics` });
  return {
    address,
    get scrapes() {
      return scrapes;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
