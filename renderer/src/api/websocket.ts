/**
 * The web console's link: the contract's envelopes over one WebSocket to `/api?token=…`, under the
 * same client the Electron preload runs (shared/envelope-client.ts). Requests made while
 * (re)connecting wait for the socket; requests in flight when it drops fail with `unavailable`; the
 * socket reconnects with capped, jittered backoff and reports its status.
 */
import type { ConsoleErrorPayload, EventEnvelope, RequestEnvelope, ResponseEnvelope } from '../../../shared/contract';
import { isEventName } from '../../../shared/contract-names';
import { Emitter } from '../../../shared/emitter';
import { createEnvelopeClient, isErrorPayload, type EnvelopeLink } from '../../../shared/envelope-client';
import { consoleTransport, type LinkState } from './transport';
import type { ConnectionStatus, ConsoleTransport } from './types';

/** The part of the DOM WebSocket this client uses (the `ws` package's client fits too, for tests). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export interface WebSocketClientOptions {
  /** Defaults to the browser's WebSocket. */
  connect?: WebSocketFactory;
  /** First reconnect delay; doubles up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a call may wait for the socket to (re)open before it fails with `unavailable`. */
  queueTimeoutMs?: number;
  random?: () => number;
}

const OPEN = 1;

interface Pending {
  resolve: (v: ResponseEnvelope) => void;
  reject: (e: ConsoleErrorPayload) => void;
}
interface Queued extends Pending {
  envelope: RequestEnvelope;
  timer: ReturnType<typeof setTimeout>;
}

const unavailable = (message: string): ConsoleErrorPayload => ({ code: 'unavailable', message });

/** The console client over a WebSocket to `url`. */
export function websocketClient(url: string, opts: WebSocketClientOptions = {}): ConsoleTransport {
  const { link, state } = websocketLink(url, opts);
  return consoleTransport('websocket', createEnvelopeClient(link), state);
}

export function websocketLink(url: string, opts: WebSocketClientOptions = {}): { link: EnvelopeLink; state: LinkState } {
  const connect: WebSocketFactory = opts.connect ?? ((u) => new WebSocket(u) as unknown as WebSocketLike);
  const initialBackoff = opts.initialBackoffMs ?? 250;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  const queueTimeout = opts.queueTimeoutMs ?? 15_000;
  const random = opts.random ?? Math.random;

  let status: ConnectionStatus = 'connecting';
  let socket: WebSocketLike | undefined;
  let attempt = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  let closedByUser = false;
  const inFlight = new Map<number, Pending>();
  const queue: Queued[] = [];
  const statusEvents = new Emitter<{ status: { status: ConnectionStatus; detail: string | undefined } }>();
  const events = new Emitter<{ event: EventEnvelope }>();

  const setStatus = (s: ConnectionStatus, detail?: string): void => {
    if (s === status) return;
    status = s;
    statusEvents.emit('status', { status: s, detail });
  };

  const send = (sock: WebSocketLike, p: Pending, envelope: RequestEnvelope): void => {
    inFlight.set(envelope.id, p);
    try {
      sock.send(JSON.stringify(envelope));
    } catch (e) {
      inFlight.delete(envelope.id);
      p.reject(unavailable(e instanceof Error ? e.message : String(e)));
    }
  };

  const onMessage = (raw: unknown): void => {
    if (typeof raw !== 'string') return;
    let msg: unknown;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (typeof msg !== 'object' || msg === null) return;
    if ('event' in msg) {
      if (isEventName(msg.event)) events.emit('event', { event: msg.event, data: 'data' in msg ? msg.data : undefined });
      return;
    }
    if (!('id' in msg) || typeof msg.id !== 'number' || !('ok' in msg)) return;
    const p = inFlight.get(msg.id);
    if (!p) return;
    inFlight.delete(msg.id);
    if (msg.ok === true) p.resolve({ id: msg.id, ok: true, result: 'result' in msg ? msg.result : undefined });
    else p.resolve({ id: msg.id, ok: false, error: 'error' in msg && isErrorPayload(msg.error) ? msg.error : { code: 'internal', message: 'malformed error response' } });
  };

  const open = (): void => {
    reconnectTimer = undefined;
    let sock: WebSocketLike;
    try {
      sock = connect(url);
    } catch (e) {
      scheduleReconnect(e instanceof Error ? e.message : String(e));
      return;
    }
    socket = sock;
    sock.onopen = () => {
      if (socket !== sock) return;
      attempt = 0;
      setStatus('open');
      for (const q of queue.splice(0)) {
        clearTimeout(q.timer);
        send(sock, q, q.envelope);
      }
    };
    sock.onmessage = (ev) => {
      if (socket === sock) onMessage(ev.data);
    };
    sock.onerror = () => undefined; // a close follows every error
    sock.onclose = (ev) => {
      if (socket !== sock) return;
      socket = undefined;
      const lost = [...inFlight.values()];
      inFlight.clear();
      for (const p of lost) p.reject(unavailable('connection to the console lost'));
      if (closedByUser) return;
      scheduleReconnect(ev.reason || `closed (${ev.code})`);
    };
  };

  const scheduleReconnect = (detail: string): void => {
    if (closedByUser) return;
    setStatus('reconnecting', detail);
    const base = Math.min(maxBackoff, initialBackoff * 2 ** attempt);
    attempt++;
    reconnectTimer = setTimeout(open, Math.round(base * (0.75 + random() * 0.5)));
  };

  open();

  const request = (envelope: RequestEnvelope): Promise<ResponseEnvelope> =>
    new Promise<ResponseEnvelope>((resolve, reject) => {
      if (closedByUser) {
        reject(unavailable('console client closed'));
        return;
      }
      const p: Pending = { resolve, reject };
      if (socket && socket.readyState === OPEN && status === 'open') {
        send(socket, p, envelope);
        return;
      }
      const q: Queued = {
        ...p,
        envelope,
        timer: setTimeout(() => {
          const i = queue.indexOf(q);
          if (i >= 0) queue.splice(i, 1);
          reject(unavailable('not connected to the console'));
        }, queueTimeout),
      };
      queue.push(q);
    });

  const close = (): void => {
    if (closedByUser) return;
    closedByUser = true;
    if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
    for (const q of queue.splice(0)) {
      clearTimeout(q.timer);
      q.reject(unavailable('console client closed'));
    }
    const sock = socket;
    socket = undefined;
    sock?.close(1000, 'bye');
    for (const p of inFlight.values()) p.reject(unavailable('console client closed'));
    inFlight.clear();
    setStatus('closed');
  };

  return {
    link: { request, subscribe: (listener) => events.on('event', listener) },
    state: {
      status: () => status,
      onStatus: (listener) => statusEvents.on('status', (s) => listener(s.status, s.detail)),
      close,
    },
  };
}
