/**
 * The web console: the built renderer over HTTP and the console API over a WebSocket at
 * `/api?token=…`, on a loopback address only. A random per-launch token (or the one given) guards
 * the WebSocket and is embedded in the page URL, which the renderer reads from `location`. Every
 * request is validated against the contract before the service sees it (dispatch.ts); every service
 * event is pushed to every connected socket.
 *
 * Flood limits (issue 10; test/security/console-flood.test.ts): a frame is at most maxPayloadBytes
 * (closed 1009), a socket has at most maxInFlight service calls running (the excess is answered
 * `rate_limited` at once, never queued), a socket sending faster than requestsPerSec (burst twice
 * that) is closed 1008, and at most maxClients sockets are open (the next upgrade gets 503).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import type { EventEnvelope, ResponseEnvelope } from '../../shared/contract';
import { PilotError } from '../../shared/errors';
import { dispatchRequest } from '../api/dispatch';
import type { ConsoleService } from '../api/service';

export interface WebConsoleOptions {
  service: ConsoleService;
  /** A loopback address: 127.0.0.1 (default), ::1 or localhost. Anything else is refused. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The renderer bundle (`npx electron-vite build` writes out/renderer). */
  staticDir?: string;
  /** Defaults to 32 random bytes, base64url. */
  token?: string;
  /** Largest request frame accepted from a browser. */
  maxPayloadBytes?: number;
  /** A socket whose unsent backlog exceeds this is closed (1013); its page reconnects and reloads. */
  maxBufferedBytes?: number;
  /** Interval of WebSocket pings that find dead sockets. */
  heartbeatMs?: number;
  /** Open API sockets at most (default 32); more upgrades are refused with 503. */
  maxClients?: number;
  /** Service calls running per socket at most (default 64); more are answered `rate_limited`. */
  maxInFlight?: number;
  /** Sustained requests per second per socket (default 200, burst twice that); a socket over it is closed 1008. */
  requestsPerSec?: number;
}

export interface WebConsole {
  /** `http://127.0.0.1:PORT/?token=…` — open this in a browser. */
  url: string;
  host: string;
  port: number;
  token: string;
  /** Number of open API sockets. */
  clients(): number;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

function sameToken(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export async function startWebConsole(opts: WebConsoleOptions): Promise<WebConsole> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new PilotError('invalid_argument', `web console host must be a loopback address, not ${host}`, 'use 127.0.0.1');
  const token = opts.token ?? randomBytes(32).toString('base64url');
  if (token.length < 16) throw new PilotError('invalid_argument', 'web console token must be at least 16 characters');
  const staticDir = path.resolve(opts.staticDir ?? 'out/renderer');
  const maxBuffered = opts.maxBufferedBytes ?? 8 * 1024 * 1024;
  const maxClients = opts.maxClients ?? 32;
  const maxInFlight = opts.maxInFlight ?? 64;
  const requestsPerSec = opts.requestsPerSec ?? 200;
  const service = opts.service;

  let port = opts.port ?? 0;
  // Host headers we answer to (a DNS-rebinding page would send its own name): filled in once listening.
  const allowedHosts = new Set<string>();

  const http = createServer((req, res) => {
    // serveStatic answers every outcome itself; a throw here is a bug, and the request is dropped.
    serveStatic(req, res).catch(() => res.destroy());
  });

  async function serveStatic(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    if (!allowedHosts.has(req.headers.host ?? '')) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' }).end('misdirected request\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('bad path\n');
      return;
    }
    if (pathname.includes('\0')) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' }).end('bad path\n');
      return;
    }
    let file = path.resolve(staticDir, '.' + path.posix.normalize(pathname));
    if (file !== staticDir && !file.startsWith(staticDir + path.sep)) {
      res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8' }).end('forbidden\n');
      return;
    }
    let info = await stat(file).catch(() => undefined);
    if (info?.isDirectory()) {
      file = path.join(file, 'index.html');
      info = await stat(file).catch(() => undefined);
    }
    if (!info?.isFile()) {
      // The renderer routes with the hash, so only the root document exists; anything else is a miss.
      const isAsset = path.extname(pathname) !== '';
      if (isAsset) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
        return;
      }
      file = path.join(staticDir, 'index.html');
      info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) {
        res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`the console renderer is not built (no ${file}); run: npx electron-vite build\n`);
        return;
      }
    }
    const type = CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': String(info.size),
      'Cache-Control': file.endsWith('.html') ? 'no-store' : 'max-age=3600',
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayloadBytes ?? 1024 * 1024 });

  function refuse(socket: Duplex, status: number, text: string): void {
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const reqHost = req.headers.host ?? '';
    if (!allowedHosts.has(reqHost)) return refuse(socket, 421, 'Misdirected Request');
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api') return refuse(socket, 404, 'Not Found');
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedHosts.has(origin.replace(/^http:\/\//, ''))) return refuse(socket, 403, 'Forbidden');
    if (!sameToken(url.searchParams.get('token'), token)) return refuse(socket, 401, 'Unauthorized');
    if (wss.clients.size >= maxClients) return refuse(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  const alive = new WeakMap<WebSocket, boolean>();
  const inFlight = new WeakMap<WebSocket, number>();

  wss.on('connection', (ws: WebSocket) => {
    alive.set(ws, true);
    inFlight.set(ws, 0);
    const budget = requestBudget(requestsPerSec, 2 * requestsPerSec);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (!budget()) {
        ws.close(1008, 'too many requests: reconnect and reload');
        return;
      }
      // dispatchRequest turns every failure into a response; a throw here is a bug: drop the socket.
      onMessage(ws, data, isBinary).catch(() => ws.terminate());
    });
  });

  async function onMessage(ws: WebSocket, data: RawData, isBinary: boolean): Promise<void> {
    let response: ResponseEnvelope;
    if (isBinary) {
      response = { id: -1, ok: false, error: { code: 'invalid_argument', message: 'requests are JSON text frames' } };
    } else {
      let raw: unknown;
      try {
        raw = JSON.parse(rawToString(data));
      } catch {
        send(ws, JSON.stringify({ id: -1, ok: false, error: { code: 'invalid_argument', message: 'request is not JSON' } } satisfies ResponseEnvelope));
        return;
      }
      const running = inFlight.get(ws) ?? 0;
      if (running >= maxInFlight) {
        const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : -1;
        response = { id, ok: false, error: { code: 'rate_limited', message: `more than ${maxInFlight} requests in flight on this socket` } };
      } else {
        inFlight.set(ws, running + 1);
        try {
          response = await dispatchRequest(service, raw);
        } finally {
          inFlight.set(ws, (inFlight.get(ws) ?? 1) - 1);
        }
      }
    }
    send(ws, JSON.stringify(response));
  }

  function send(ws: WebSocket, text: string): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > maxBuffered) {
      ws.close(1013, 'too slow: reconnect and reload');
      return;
    }
    ws.send(text);
  }

  const unsubscribe = service.on((event, data) => {
    if (wss.clients.size === 0) return;
    const envelope: EventEnvelope = { event, data };
    const text = JSON.stringify(envelope);
    for (const ws of wss.clients) send(ws, text);
  });

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, opts.heartbeatMs ?? 15_000);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const addr = http.address();
  if (addr === null || typeof addr === 'string') throw new PilotError('internal', 'web console: no TCP address');
  port = addr.port;
  const names = host === '127.0.0.1' ? ['127.0.0.1', 'localhost'] : host === '::1' ? ['[::1]', 'localhost'] : ['127.0.0.1', '[::1]', 'localhost'];
  for (const h of names) allowedHosts.add(`${h}:${port}`);

  let closed: Promise<void> | undefined;
  return {
    url: `http://${hostPart(host)}:${port}/?token=${encodeURIComponent(token)}`,
    host,
    port,
    token,
    clients: () => wss.clients.size,
    close(): Promise<void> {
      closed ??= (async () => {
        clearInterval(heartbeat);
        unsubscribe();
        for (const ws of wss.clients) ws.close(1001, 'console closing');
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        for (const ws of wss.clients) ws.terminate();
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      })();
      return closed;
    },
  };
}

/** A per-socket request budget: `perSec` tokens a second, at most `burst` saved up. */
function requestBudget(perSec: number, burst: number): () => boolean {
  let tokens = burst;
  let last = performance.now();
  return () => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + ((now - last) * perSec) / 1000);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
