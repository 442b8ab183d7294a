/**
 * The web console's client: the contract's envelopes over one WebSocket to `/api?token=…`. Calls
 * made while (re)connecting wait for the socket; calls in flight when it drops fail with
 * `unavailable`; the socket reconnects with capped, jittered backoff and reports its status.
 */
import type { ConsoleEvents, EventName, MethodArgs, MethodName, MethodResult, RequestEnvelope } from '../../../shared/contract';
import { EVENT_NAMES } from '../../../shared/contract-names';
import { ConsoleCallError, isErrorPayload } from './errors';
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
const KNOWN_EVENTS = new Set<string>(EVENT_NAMES);

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: ConsoleCallError) => void;
}
interface Queued extends Pending {
  envelope: RequestEnvelope;
  timer: ReturnType<typeof setTimeout>;
}

export function websocketClient(url: string, opts: WebSocketClientOptions = {}): ConsoleTransport {
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
  let nextId = 1;
  const inFlight = new Map<number, Pending>();
  const queue: Queued[] = [];
  const statusListeners = new Set<(s: ConnectionStatus, detail?: string) => void>();
  const handlers = new Map<EventName, Set<(data: unknown) => void>>();

  const setStatus = (s: ConnectionStatus, detail?: string): void => {
    if (s === status) return;
    status = s;
    for (const l of [...statusListeners]) l(s, detail);
  };

  const send = (sock: WebSocketLike, p: Pending, envelope: RequestEnvelope): void => {
    inFlight.set(envelope.id, p);
    try {
      sock.send(JSON.stringify(envelope));
    } catch (e) {
      inFlight.delete(envelope.id);
      p.reject(new ConsoleCallError({ code: 'unavailable', message: e instanceof Error ? e.message : String(e) }));
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
    if ('event' in msg && typeof msg.event === 'string') {
      if (!KNOWN_EVENTS.has(msg.event)) return;
      const data = 'data' in msg ? msg.data : undefined;
      for (const h of [...(handlers.get(msg.event as EventName) ?? [])]) h(data);
      return;
    }
    if (!('id' in msg) || typeof msg.id !== 'number' || !('ok' in msg)) return;
    const p = inFlight.get(msg.id);
    if (!p) return;
    inFlight.delete(msg.id);
    if (msg.ok === true) p.resolve('result' in msg ? msg.result : undefined);
    else {
      const err = 'error' in msg && isErrorPayload(msg.error) ? msg.error : { code: 'internal', message: 'malformed error response' };
      p.reject(new ConsoleCallError(err));
    }
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
      for (const p of lost) p.reject(new ConsoleCallError({ code: 'unavailable', message: 'connection to the console lost' }));
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

  return {
    kind: 'websocket',
    status: () => status,
    onStatus(listener) {
      statusListeners.add(listener);
      return () => {
        statusListeners.delete(listener);
      };
    },
    call<M extends MethodName>(method: M, args: MethodArgs<M>): Promise<MethodResult<M>> {
      return new Promise<MethodResult<M>>((resolve, reject) => {
        if (closedByUser) {
          reject(new ConsoleCallError({ code: 'unavailable', message: 'console client closed' }));
          return;
        }
        const envelope: RequestEnvelope = { id: nextId++, method, params: args };
        // The server answers `method` with MethodResult<M>; the envelope itself is untyped on the wire.
        const p: Pending = { resolve: (v) => resolve(v as MethodResult<M>), reject };
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
            reject(new ConsoleCallError({ code: 'unavailable', message: 'not connected to the console' }));
          }, queueTimeout),
        };
        queue.push(q);
      });
    },
    on<E extends EventName>(event: E, handler: (data: ConsoleEvents[E]) => void): () => void {
      let set = handlers.get(event);
      if (!set) handlers.set(event, (set = new Set()));
      const wrapped = (data: unknown): void => handler(data as ConsoleEvents[E]);
      set.add(wrapped);
      return () => {
        set.delete(wrapped);
      };
    },
    close() {
      if (closedByUser) return;
      closedByUser = true;
      if (reconnectTimer !== undefined) clearTimeout(reconnectTimer);
      for (const q of queue.splice(0)) {
        clearTimeout(q.timer);
        q.reject(new ConsoleCallError({ code: 'unavailable', message: 'console client closed' }));
      }
      const sock = socket;
      socket = undefined;
      sock?.close(1000, 'bye');
      for (const p of inFlight.values()) p.reject(new ConsoleCallError({ code: 'unavailable', message: 'console client closed' }));
      inFlight.clear();
      setStatus('closed');
    },
  };
}
