/**
 * The driver side of the local IPC socket (cli.md §2): what pilotctl uses to talk to the daemon.
 * Replies are matched by expected reply command, first-come first-served; an `Error` goes to the
 * oldest waiting request. Pushes (Accept, Recv, CloseOK, RecvFrom, ExtEvent) are routed to streams
 * and listeners. Our extension (`ext_request`/`ext_response`) is matched by request id.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { PilotError } from '../../shared/errors';
import type { Address } from '../../shared/address';
import type { EventEnvelope, MethodName, MethodResult } from '../../shared/contract';
import { encodeFrame, FrameDecoder } from '../wire/framing';
import { decodeIpc, encodeIpc, ipcJson, jsonBytes, type IpcCommandName, type IpcMessage } from '../wire/ipc';
import type { InfoJson } from './info';

export const NOT_RUNNING_HINT = 'start the daemon with: pilotctl daemon start';

export function notRunning(message = 'daemon is not running'): PilotError {
  return new PilotError('not_running', message, NOT_RUNNING_HINT);
}

/**
 * The daemon answered our JSON extension (0x40-0x42) with the reference's `unknown command: 0x40`:
 * it is not a Pilot Fleet daemon (a reference daemon, or ours with PILOT_IPC_EXTENSIONS=off). Code
 * `unavailable`; pilotctl names the command that needed the extension (cli/main.ts).
 */
export class NoExtensionsError extends PilotError {
  constructor(readonly method: string) {
    super(
      'unavailable',
      `this daemon does not support ${method}: it is not a Pilot Fleet daemon (it answers only the reference's IPC commands)`,
      'against a reference daemon use its own commands: ping, traceroute, bench, connect, send, recv, listen, info, connections, find, handshake/approve/trust, set-hostname/set-tags',
    );
    this.name = 'NoExtensionsError';
  }
}

export function isNoExtensions(e: unknown): e is NoExtensionsError {
  return e instanceof NoExtensionsError;
}

type Waiter = { expect: IpcCommandName; connId?: number; resolve: (m: IpcMessage) => void; reject: (e: Error) => void };
type ExtWaiter = { method: string; resolve: (v: unknown) => void; reject: (e: Error) => void };

export interface IpcClientEvents {
  recv_from: [msg: Extract<IpcMessage, { cmd: 'recv_from' }>];
  event: [env: EventEnvelope];
  /** An Error reply nobody was waiting for (e.g. a failed Send). */
  daemon_error: [message: string];
  close: [];
}

/** read() buffering: above this many bytes unread the IPC socket stops reading (flow control). */
export const CONN_HIGH_WATER = 1 << 20;
const CONN_LOW_WATER = 256 << 10;

/** One stream opened through the daemon (dialed or accepted). */
export class IpcConn extends EventEmitter<{ data: [chunk: Uint8Array]; close: [] }> {
  private readonly chunks: Uint8Array[] = [];
  /** Bytes in `chunks`: past CONN_HIGH_WATER the client pauses its socket until read() catches up. */
  private bufferedBytes = 0;
  private readers: { resolve: (c: Uint8Array | undefined) => void }[] = [];
  closed = false;

  constructor(
    private readonly client: IpcClient,
    readonly id: number,
    readonly remote?: Address,
    readonly remotePort?: number,
  ) {
    super();
  }

  write(data: Uint8Array): void {
    if (this.closed) throw new PilotError('invalid_state', `connection ${this.id} is closed`);
    // IPC frames are at most 1 MiB: split larger writes.
    for (let off = 0; off < data.length; off += 65_536) this.client.send({ cmd: 'send', connId: this.id, data: data.subarray(off, off + 65_536) });
  }

  /** Next received chunk; undefined when the stream closed; rejects with `timeout`. */
  read(timeoutMs?: number): Promise<Uint8Array | undefined> {
    const c = this.chunks.shift();
    if (c) {
      this.bufferedBytes -= c.length;
      if (this.bufferedBytes <= CONN_LOW_WATER) this.client.releaseReading(this);
      return Promise.resolve(c);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const entry = { resolve };
      this.readers.push(entry);
      if (timeoutMs !== undefined) {
        const t = setTimeout(() => {
          this.readers = this.readers.filter((r) => r !== entry);
          reject(new PilotError('timeout', `no data within ${timeoutMs} ms`));
        }, timeoutMs);
        entry.resolve = (v): void => {
          clearTimeout(t);
          resolve(v);
        };
      }
    });
  }

  /** Graceful close (FIN after everything written is delivered). */
  async close(): Promise<void> {
    if (this.closed) return;
    // Unread data no longer matters, and the CloseOK must be read: stop holding the socket.
    this.chunks.length = 0;
    this.bufferedBytes = 0;
    this.client.releaseReading(this);
    await this.client.request({ cmd: 'close', connId: this.id }, 'close_ok').catch(() => undefined);
    this.finish();
  }

  /** @internal */
  deliver(chunk: Uint8Array): void {
    const copy = Uint8Array.from(chunk);
    const r = this.readers.shift();
    if (r) r.resolve(copy);
    else if (this.listenerCount('data') === 0) {
      this.chunks.push(copy);
      this.bufferedBytes += copy.length;
      // The reader is behind: stop reading the IPC socket; the daemon then pauses the stream and
      // the transport's window closes, so the sender slows down instead of filling this buffer.
      if (this.bufferedBytes > CONN_HIGH_WATER) this.client.holdReading(this);
    }
    this.emit('data', copy);
  }

  /** @internal */
  finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.releaseReading(this);
    const rs = this.readers;
    this.readers = [];
    for (const r of rs) r.resolve(undefined);
    this.emit('close');
  }
}

export class IpcClient extends EventEmitter<IpcClientEvents> {
  private readonly decoder = new FrameDecoder();
  private waiters: Waiter[] = [];
  private readonly ext = new Map<number, ExtWaiter>();
  private nextExt = 1;
  private readonly conns = new Map<number, IpcConn>();
  /** Data/close that arrived for a connection id before its IpcConn existed (DialOK/Accept race). */
  private readonly early = new Map<number, { chunks: Uint8Array[]; closed: boolean }>();
  private readonly acceptors = new Map<number, (c: IpcConn) => void>();
  private dead: Error | undefined;
  /** Set once the daemon refused an extension request as an unknown command. */
  noExtensions = false;

  private constructor(private readonly socket: net.Socket) {
    super();
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
        socket.destroy();
        return;
      }
      for (const f of frames) this.onFrame(f);
    });
    socket.on('close', () => this.fail(new PilotError('connection_failed', 'the daemon closed the IPC connection', 'check the daemon logs: pilotctl daemon status')));
    socket.on('error', () => undefined);
  }

  /** Connects to the daemon's socket; absent or refusing → `not_running`. */
  static connect(socketPath: string, timeoutMs = 5000): Promise<IpcClient> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ path: socketPath });
      const t = setTimeout(() => {
        s.destroy();
        reject(new PilotError('timeout', `daemon socket ${socketPath} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(t);
        s.removeAllListeners('error');
        resolve(new IpcClient(s));
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(t);
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTSOCK') reject(notRunning());
        else if (e.code === 'EACCES' || e.code === 'EPERM') reject(new PilotError('permission_denied', `cannot open the daemon socket ${socketPath}: permission denied`));
        else reject(new PilotError('connection_failed', `cannot connect to the daemon socket ${socketPath}: ${e.message}`));
      });
    });
  }

  get closed(): boolean {
    return this.dead !== undefined;
  }

  send(m: IpcMessage): void {
    if (this.dead) throw this.dead;
    this.socket.write(encodeFrame(encodeIpc(m)));
  }

  /** Sends `m` and resolves with the next reply of kind `expect` (or rejects with the daemon's Error). */
  request(m: IpcMessage, expect: IpcCommandName): Promise<IpcMessage> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      this.waiters.push(m.cmd === 'close' ? { expect, connId: m.connId, resolve, reject } : { expect, resolve, reject });
      this.send(m);
    });
  }

  async info(): Promise<InfoJson> {
    const r = await this.request({ cmd: 'info' }, 'info_ok');
    return ipcJson((r as { json: Uint8Array }).json) as InfoJson;
  }

  /** A JSON reply command (`*_ok` carrying JSON), parsed. */
  async requestJson(m: IpcMessage, expect: IpcCommandName): Promise<Record<string, unknown>> {
    const r = await this.request(m, expect);
    if (!('json' in r)) throw new PilotError('internal', `unexpected reply ${r.cmd}`);
    return ipcJson(r.json) as Record<string, unknown>;
  }

  /** Calls a console-contract method through the extension command. */
  call<M extends MethodName>(method: M, params: unknown): Promise<MethodResult<M>> {
    return this.callExt(method, params) as Promise<MethodResult<M>>;
  }

  /** Any extension method (contract methods plus the daemon's own, e.g. `events.subscribe`). */
  callExt(method: string, params: unknown = {}): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.noExtensions) return Promise.reject(new NoExtensionsError(method));
    const requestId = this.nextExt++ >>> 0;
    return new Promise((resolve, reject) => {
      this.ext.set(requestId, { method, resolve, reject });
      this.send({ cmd: 'ext_request', requestId, json: jsonBytes({ method, params }) });
    });
  }

  /** Asks the daemon to push console events (all, or the named ones) as `event`. */
  async subscribe(events?: string[]): Promise<void> {
    await this.callExt('events.subscribe', events ? { events } : {});
  }

  async dial(addr: Address, port: number): Promise<IpcConn> {
    const r = await this.request({ cmd: 'dial', addr, port }, 'dial_ok');
    if (r.cmd !== 'dial_ok') throw new PilotError('internal', 'unexpected reply');
    return this.adopt(new IpcConn(this, r.connId, addr, port));
  }

  /** Binds a port; every accepted connection is handed to `onAccept`. */
  async bind(port: number, onAccept: (c: IpcConn) => void): Promise<void> {
    this.acceptors.set(port, onAccept);
    try {
      await this.request({ cmd: 'bind', port }, 'bind_ok');
    } catch (e) {
      this.acceptors.delete(port);
      throw e;
    }
  }

  private readonly holders = new Set<IpcConn>();

  /** @internal A connection's unread data passed its high-water mark: stop reading the socket. */
  holdReading(c: IpcConn): void {
    this.holders.add(c);
    this.socket.pause();
  }

  /** @internal */
  releaseReading(c: IpcConn): void {
    if (!this.holders.delete(c) || this.holders.size > 0 || this.dead) return;
    this.socket.resume();
  }

  /** Resolves once everything written so far has been handed to the kernel. */
  flush(): Promise<void> {
    if (this.dead || this.socket.writableLength === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.on('close', done);
    });
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
    this.fail(new PilotError('invalid_state', 'IPC client closed'));
  }

  private adopt(c: IpcConn): IpcConn {
    this.conns.set(c.id, c);
    c.once('close', () => this.conns.delete(c.id));
    const e = this.early.get(c.id);
    if (e) {
      this.early.delete(c.id);
      for (const ch of e.chunks) c.deliver(ch);
      if (e.closed) c.finish();
    }
    return c;
  }

  private earlyOf(id: number): { chunks: Uint8Array[]; closed: boolean } {
    let e = this.early.get(id);
    if (!e) {
      e = { chunks: [], closed: false };
      this.early.set(id, e);
    }
    return e;
  }

  private onFrame(frame: Uint8Array): void {
    let m: IpcMessage;
    try {
      m = decodeIpc(frame);
    } catch {
      return; // an unknown push from a newer daemon: ignore
    }
    switch (m.cmd) {
      case 'recv': {
        const c = this.conns.get(m.connId);
        if (c) c.deliver(m.data);
        else this.earlyOf(m.connId).chunks.push(Uint8Array.from(m.data));
        return;
      }
      case 'accept': {
        const conn = this.adopt(new IpcConn(this, m.connId, m.remote, m.remotePort));
        const a = this.acceptors.get(m.localPort);
        if (a) a(conn);
        return;
      }
      case 'close_ok': {
        const c = this.conns.get(m.connId);
        // A CloseOK is either the reply to our Close or the push for a peer close.
        const i = this.waiters.findIndex((w) => w.expect === 'close_ok' && w.connId === m.connId);
        if (i >= 0) {
          const w = this.waiters[i]!;
          this.waiters.splice(i, 1);
          w.resolve(m);
        }
        if (c) c.finish();
        else if (i < 0) this.earlyOf(m.connId).closed = true;
        return;
      }
      case 'recv_from':
        this.emit('recv_from', { ...m, data: Uint8Array.from(m.data) });
        return;
      case 'ext_event': {
        try {
          this.emit('event', ipcJson(m.json) as EventEnvelope);
        } catch {
          // ignore a malformed event
        }
        return;
      }
      case 'ext_response': {
        const w = this.ext.get(m.requestId);
        if (!w) return;
        this.ext.delete(m.requestId);
        let body: { ok?: boolean; result?: unknown; error?: { code?: string; message?: string; hint?: string } };
        try {
          body = ipcJson(m.json) as typeof body;
        } catch (e) {
          w.reject(e instanceof Error ? e : new Error(String(e)));
          return;
        }
        if (body.ok) w.resolve(body.result);
        else w.reject(new PilotError((body.error?.code ?? 'internal') as PilotError['code'], body.error?.message ?? 'request failed', body.error?.hint));
        return;
      }
      case 'error': {
        // A daemon that does not know our JSON extension (the reference answers 0x40 with
        // "unknown command: 0x40") fails the oldest extension request, never a plain one.
        if (/^unknown command: 0x4[0-2]\b/i.test(m.message) && this.ext.size > 0) {
          const [id, w] = this.ext.entries().next().value!;
          this.ext.delete(id);
          this.noExtensions = true;
          w.reject(new NoExtensionsError(w.method));
          return;
        }
        const w = this.waiters.shift();
        if (w) w.reject(daemonError(m.message));
        else this.emit('daemon_error', m.message);
        return;
      }
      default: {
        const i = this.waiters.findIndex((w) => w.expect === m.cmd);
        if (i < 0) return;
        const w = this.waiters[i]!;
        this.waiters.splice(i, 1);
        w.resolve(m);
      }
    }
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    for (const w of this.waiters) w.reject(e);
    this.waiters = [];
    for (const [, w] of this.ext) w.reject(e);
    this.ext.clear();
    for (const c of [...this.conns.values()]) c.finish();
    this.emit('close');
  }
}

/** Maps a daemon Error message to a PilotError with the best-fitting code. */
export function daemonError(message: string): PilotError {
  const m = message.toLowerCase();
  let code: PilotError['code'] = 'internal';
  if (m.includes('already bound') || m.includes('already')) code = 'already_exists';
  else if (m.includes('not running') || m.includes('unavailable')) code = 'unavailable';
  else if (m.includes('not found') || m.includes('unknown') || m.includes('no such')) code = 'not_found';
  else if (m.includes('timeout') || m.includes('timed out')) code = 'timeout';
  else if (m.includes('refused') || m.includes('unreachable') || m.includes('registry') || m.includes('cannot reach')) code = 'connection_failed';
  else if (m.includes('maximum') || m.includes('invalid') || m.includes('missing')) code = 'invalid_argument';
  return new PilotError(code, message);
}

/** Connects, runs `fn`, closes. */
export async function withClient<T>(socketPath: string, fn: (c: IpcClient) => Promise<T>): Promise<T> {
  const c = await IpcClient.connect(socketPath);
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

/** True when something accepts a connection on the Unix socket at `path`. */
export function socketAnswers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path });
    const done = (v: boolean): void => {
      clearTimeout(t);
      s.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}
