/**
 * The daemon's local IPC server (cli.md §2): a Unix stream socket (mode 0600) carrying
 * length-prefixed IPC messages. Implements every reference command, the pushes (Accept, Recv,
 * CloseOK, RecvFrom to every client), per-client cleanup on disconnect, and Pilot Fleet's extension:
 * `ext_request {requestId, json:{method, params}}` → `ext_response {requestId, json:{ok, result} |
 * {ok:false, error:{code, message, hint?}}}` dispatched to the console contract, plus `ext_event`
 * pushes (`{event, data}`) for clients that called `events.subscribe`.
 */
import fs from 'node:fs';
import net from 'node:net';
import { PilotError, toPilotError } from '../../shared/errors';
import { formatAddress } from '../../shared/address';
import { EVENT_NAMES, type EventName } from '../../shared/contract';
import { encodeFrame, FrameDecoder, MAX_FRAME } from '../wire/framing';
import { decodeIpc, encodeIpc, HANDSHAKE_SUB, IPC_ERROR_CODE, ipcJson, jsonBytes, parseHandshakeBody, type IpcCommandName, type IpcMessage } from '../wire/ipc';
import type { Logger } from '../util/log';
import type { PilotNode, DatagramMessage } from '../node/node';
import type { PilotStream } from '../node/stream';
import { execute, validateCall } from '../api/dispatch';
import type { ConsoleService } from '../api/service';
import { buildInfo } from './info';
import { socketAnswers } from './client';
import { validateWebhookUrl, type WebhookPoster } from './webhook';
import { METRICS_METHOD } from '../observe/metrics-ipc';

export { socketAnswers };

export interface IpcServerOptions {
  socketPath: string;
  node: PilotNode;
  service: ConsoleService;
  log: Logger;
  /** Info `identity`: true iff an identity path is configured. */
  identityConfigured: boolean;
  owner?: string;
  /** Where SetWebhook applies and node.deregistered goes; absent: SetWebhook answers but posts nothing. */
  webhook?: WebhookPoster;
  /** Answers the `daemon.metrics` extension method (main/observe/metrics-ipc.ts); absent: unavailable. */
  metrics?: (params: unknown) => Promise<unknown>;
  /**
   * Answer our JSON extension (default true). false: `ext_request` gets the reference's
   * `Error "unknown command: 0x40"`, so this daemon looks to tools like a reference daemon.
   */
  extensions?: boolean;
}

/** Daemon-level extension methods (not console-contract methods). */
export const DAEMON_EXT_METHODS = ['events.subscribe', 'events.unsubscribe', 'daemon.ping', 'daemon.webhook'] as const;

interface Client {
  id: number;
  sock: net.Socket;
  decoder: FrameDecoder;
  streams: Map<number, PilotStream>;
  ports: Map<number, () => void>;
  events: Set<EventName> | undefined;
  /** Per reply kind: replies of one kind leave in request order. */
  chains: Map<string, Promise<void>>;
  closed: boolean;
  /** The client's socket is full: its streams are paused until it drains (flow control). */
  recvPaused: boolean;
}

type Owned = { client: Client; stream: PilotStream; closedLocally: boolean };

export class IpcServer {
  private server: net.Server | undefined;
  private readonly clients = new Set<Client>();
  private readonly owned = new Map<number, Owned>();
  private nextClient = 1;
  private readonly offs: (() => void)[] = [];
  /** The URL when no poster is attached. */
  private webhookUrl = '';

  constructor(private readonly o: IpcServerOptions) {}

  /** The webhook URL in effect ("" when disabled). */
  get webhook(): string {
    return this.o.webhook?.url ?? this.webhookUrl;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** Listens; refuses when a live daemon answers on the path, removes a stale socket file. */
  async start(): Promise<void> {
    const path = this.o.socketPath;
    if (fs.existsSync(path)) {
      if (await socketAnswers(path)) {
        throw new PilotError('already_exists', `a daemon is already listening on ${path}`, 'stop it first with: pilotctl daemon stop');
      }
      try {
        fs.unlinkSync(path);
      } catch (e) {
        throw new PilotError('internal', `cannot remove stale socket ${path}: ${(e as Error).message}`);
      }
    }
    const server = net.createServer((sock) => this.accept(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        reject(new PilotError(e.code === 'EADDRINUSE' ? 'already_exists' : 'internal', `cannot listen on ${path}: ${e.message}`));
      });
      // Created with a restrictive umask so no other user can connect before the chmod.
      const old = process.umask(0o177);
      try {
        server.listen(path, () => resolve());
      } finally {
        process.umask(old);
      }
    });
    fs.chmodSync(path, 0o600);
    this.server = server;

    const onDatagram = (d: DatagramMessage): void => {
      const msg = encodeFrame(encodeIpc({ cmd: 'recv_from', src: d.src, srcPort: d.srcPort, dstPort: d.dstPort, data: d.data }));
      for (const c of this.clients) if (!c.closed) c.sock.write(msg);
    };
    this.o.node.on('datagram', onDatagram);
    this.offs.push(() => this.o.node.off('datagram', onDatagram));
    this.offs.push(
      this.o.service.on((event, data) => {
        let frame: Uint8Array | undefined;
        for (const c of this.clients) {
          if (c.closed || !c.events || !c.events.has(event)) continue;
          frame ??= encodeFrame(encodeIpc({ cmd: 'ext_event', json: jsonBytes({ event, data }) }));
          c.sock.write(frame);
        }
      }),
    );
    this.o.log.info('ipc listening', { socket: path });
  }

  async close(): Promise<void> {
    for (const off of this.offs) off();
    this.offs.length = 0;
    for (const c of [...this.clients]) this.drop(c);
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    try {
      fs.unlinkSync(this.o.socketPath);
    } catch {
      // gone already
    }
  }

  // ---- clients ---------------------------------------------------------------------------------

  private accept(sock: net.Socket): void {
    const c: Client = { id: this.nextClient++, sock, decoder: new FrameDecoder(), streams: new Map(), ports: new Map(), events: undefined, chains: new Map(), closed: false, recvPaused: false };
    this.clients.add(c);
    sock.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = c.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch (e) {
        this.o.log.warn('ipc client sent a bad frame; closing it', { client: c.id, error: toPilotError(e).message });
        this.drop(c);
        return;
      }
      for (const f of frames) this.onMessage(c, f);
    });
    sock.on('close', () => this.drop(c));
    sock.on('error', () => this.drop(c));
  }

  /** Disconnect cleanup: FIN to every stream the client dialed/accepted, unbind its ports. */
  private drop(c: Client): void {
    if (c.closed) return;
    c.closed = true;
    this.clients.delete(c);
    for (const [id, s] of c.streams) {
      const o = this.owned.get(id);
      if (o) o.closedLocally = true;
      this.owned.delete(id);
      s.resume(); // nobody reads any more: let held data go (to nowhere) so the window opens
      s.end();
    }
    c.streams.clear();
    for (const stop of c.ports.values()) stop();
    c.ports.clear();
    c.sock.destroy();
  }

  private write(c: Client, m: IpcMessage): void {
    if (c.closed) return;
    c.sock.write(encodeFrame(encodeIpc(m)));
  }

  private error(c: Client, message: string): void {
    this.write(c, { cmd: 'error', code: IPC_ERROR_CODE, message });
  }

  /** Runs `fn` after earlier requests that answer with the same reply kind; its outcome is the reply. */
  private ordered(c: Client, kind: IpcCommandName, fn: () => Promise<IpcMessage | undefined>): void {
    const prev = c.chains.get(kind) ?? Promise.resolve();
    const run = prev.then(async () => {
      try {
        const reply = await fn();
        if (reply) this.write(c, reply);
      } catch (e) {
        this.error(c, toPilotError(e).message);
      }
    });
    c.chains.set(kind, run);
  }

  private onMessage(c: Client, frame: Uint8Array): void {
    let m: IpcMessage;
    try {
      m = decodeIpc(frame);
    } catch (e) {
      this.error(c, toPilotError(e).message);
      return;
    }
    const node = this.o.node;
    switch (m.cmd) {
      case 'bind':
        this.ordered(c, 'bind_ok', async () => {
          if (node.boundPorts().includes(m.port)) throw new Error(`port ${m.port} already bound`);
          const stop = node.listen(m.port, (s) => {
            if (c.closed) {
              s.abort();
              return;
            }
            this.own(c, s);
            this.write(c, { cmd: 'accept', localPort: m.port, connId: s.id, remote: s.remote, remotePort: s.remotePort });
          });
          c.ports.set(m.port, stop);
          return { cmd: 'bind_ok', port: m.port };
        });
        return;
      case 'dial':
        this.ordered(c, 'dial_ok', async () => {
          let s: PilotStream;
          try {
            s = await node.dial(m.addr, m.port);
          } catch (e) {
            throw new Error(`dial ${formatAddress(m.addr)}:${m.port}: ${toPilotError(e).message}`, { cause: e });
          }
          if (c.closed) {
            s.end();
            return undefined;
          }
          this.own(c, s);
          return { cmd: 'dial_ok', connId: s.id };
        });
        return;
      case 'send': {
        const s = this.streamById(m.connId);
        if (!s) {
          this.error(c, `connection ${m.connId} not found`);
          return;
        }
        try {
          // Copy: the frame is a view into the socket's chunk. Backpressure: stop reading this client
          // until the stream drains (nothing is dropped).
          if (!s.write(Uint8Array.from(m.data)) && !c.sock.isPaused()) {
            c.sock.pause();
            const resume = (): void => {
              s.off('drain', resume);
              s.off('close', resume);
              if (!c.closed) c.sock.resume();
            };
            s.on('drain', resume);
            s.on('close', resume);
          }
        } catch (e) {
          this.error(c, `send: ${toPilotError(e).message}`);
        }
        return;
      }
      case 'close': {
        const o = this.owned.get(m.connId);
        if (o) {
          o.closedLocally = true;
          this.owned.delete(m.connId);
          o.client.streams.delete(m.connId);
          o.stream.resume();
          o.stream.end();
        } else {
          this.streamById(m.connId)?.end();
        }
        this.write(c, { cmd: 'close_ok', connId: m.connId });
        return;
      }
      case 'send_to': {
        const data = Uint8Array.from(m.data);
        node.sendDatagram(m.addr, m.port, data).catch((e: unknown) => this.error(c, `sendto: ${toPilotError(e).message}`));
        return;
      }
      case 'info':
        this.ordered(c, 'info_ok', async () => ({ cmd: 'info_ok', json: jsonBytes(buildInfo(node, { identityConfigured: this.o.identityConfigured, owner: this.o.owner ?? '' })) }));
        return;
      case 'handshake':
        this.ordered(c, 'handshake_ok', async () => ({ cmd: 'handshake_ok', json: jsonBytes(await this.handshake(m.sub, m.body)) }));
        return;
      case 'resolve_hostname':
        this.ordered(c, 'resolve_hostname_ok', async () => {
          // Through the node: the hostname goes to its peer record, and the endpoint our registry adds
          // to a signed request serves the dial that usually follows (pilotctl ping <hostname>).
          const r = await registryOp('resolve_hostname', () => node.resolveHostname(m.hostname));
          // The reference's reply fields only (the endpoint and key extensions stay in the daemon).
          return { cmd: 'resolve_hostname_ok', json: jsonBytes({ type: 'resolve_hostname_ok', node_id: r.node_id, address: r.address, public: r.public, hostname: r.hostname }) };
        });
        return;
      case 'set_hostname':
        this.ordered(c, 'set_hostname_ok', async () => {
          const r = await registryOp('set_hostname', () => node.registry.setHostname(m.hostname));
          node.hostname = r.hostname ?? '';
          return { cmd: 'set_hostname_ok', json: jsonBytes({ type: 'set_hostname_ok', ...r }) };
        });
        return;
      case 'set_visibility':
        this.ordered(c, 'set_visibility_ok', async () => {
          const r = await registryOp('set_visibility', () => node.registry.setVisibility(m.public));
          node.isPublic = r.visibility === 'public';
          return { cmd: 'set_visibility_ok', json: jsonBytes({ type: 'set_visibility_ok', ...r }) };
        });
        return;
      case 'deregister':
        this.ordered(c, 'deregister_ok', async () => {
          await registryOp('deregister', () => node.registry.deregister());
          this.o.log.info('deregistered from the registry', { node_id: node.nodeId });
          this.o.webhook?.emit('node.deregistered', { address: formatAddress(node.address) });
          return { cmd: 'deregister_ok', json: jsonBytes({ type: 'deregister_ok' }) };
        });
        return;
      case 'set_tags':
        this.ordered(c, 'set_tags_ok', async () => {
          if (m.tags.length > 3) throw new Error('set_tags: maximum 3 tags allowed');
          const r = await registryOp('set_tags', () => node.registry.setTags(m.tags));
          node.tags = r.tags ?? [];
          return { cmd: 'set_tags_ok', json: jsonBytes({ type: 'set_tags_ok', ...r, tags: r.tags ?? [] }) };
        });
        return;
      case 'set_webhook':
        this.ordered(c, 'set_webhook_ok', async () => {
          try {
            if (this.o.webhook) this.o.webhook.setUrl(m.url);
            else this.webhookUrl = validateWebhookUrl(m.url);
          } catch (e) {
            throw new Error(`set_webhook: ${toPilotError(e).message}`, { cause: e });
          }
          return { cmd: 'set_webhook_ok', json: jsonBytes({ webhook: m.url }) };
        });
        return;
      case 'set_task_exec':
        this.ordered(c, 'set_task_exec_ok', async () => {
          const r = await registryOp('set_task_exec', () => node.registry.setTaskExec(m.enabled));
          return { cmd: 'set_task_exec_ok', json: jsonBytes({ type: 'set_task_exec_ok', ...r }) };
        });
        return;
      case 'ext_request':
        if (this.o.extensions === false) {
          this.error(c, `unknown command: 0x${frame[0]!.toString(16).padStart(2, '0')}`);
          return;
        }
        // ext() answers every failure with an ext_response; what escapes it is logged.
        this.ext(c, m.requestId, m.json).catch((e: unknown) => this.o.log.warn('ipc extension request failed', { client: c.id, error: toPilotError(e).message }));
        return;
      default:
        // Replies and pushes are daemon → driver only.
        this.error(c, `unknown command: 0x${frame[0]!.toString(16).padStart(2, '0')}`);
    }
  }

  private streamById(id: number): PilotStream | undefined {
    return this.owned.get(id)?.stream ?? this.o.node.streamsList().find((s) => s.id === id);
  }

  /** Hands a stream to a client: its data becomes Recv pushes, its end a CloseOK push. */
  private own(c: Client, s: PilotStream): void {
    const o: Owned = { client: c, stream: s, closedLocally: false };
    this.owned.set(s.id, o);
    c.streams.set(s.id, s);
    if (c.recvPaused) s.pause();
    s.on('data', (chunk) => {
      if (o.closedLocally || c.closed) return;
      if (!c.sock.write(encodeFrame(encodeIpc({ cmd: 'recv', connId: s.id, data: chunk })))) this.pauseStreams(c);
    });
    s.on('close', () => {
      if (this.owned.get(s.id) === o) this.owned.delete(s.id);
      c.streams.delete(s.id);
      if (!o.closedLocally) this.write(c, { cmd: 'close_ok', connId: s.id });
    });
  }

  /**
   * Flow control towards a slow client: once its socket holds more than its high-water mark, its
   * streams stop handing out data (PilotStream.pause: the transport's receive window closes and the
   * sender stops) until the socket drains. Memory per client stays at about one window per stream.
   */
  private pauseStreams(c: Client): void {
    if (c.recvPaused || c.closed) return;
    c.recvPaused = true;
    for (const st of c.streams.values()) st.pause();
    c.sock.once('drain', () => {
      c.recvPaused = false;
      if (c.closed) return;
      for (const st of [...c.streams.values()]) {
        if (c.recvPaused) st.pause();
        else st.resume();
      }
    });
  }

  private async handshake(sub: number, body: Uint8Array): Promise<unknown> {
    const svc = this.o.service;
    const { nodeId, text } = parseHandshakeBody(body);
    const op = { [HANDSHAKE_SUB.SEND]: 'send', [HANDSHAKE_SUB.APPROVE]: 'approve', [HANDSHAKE_SUB.REJECT]: 'reject', [HANDSHAKE_SUB.REVOKE]: 'revoke' }[sub];
    const needId = (): number => {
      if (nodeId === undefined || nodeId === 0) throw new Error(`handshake ${op}: missing node_id`);
      return nodeId;
    };
    const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (e) {
        throw new Error(`handshake ${op ?? 'list'}: ${toPilotError(e).message}`, { cause: e });
      }
    };
    switch (sub) {
      case HANDSHAKE_SUB.SEND: {
        const id = needId();
        const r = await wrap(() => svc.call('trust.request', text ? { target: String(id), justification: text } : { target: String(id) }));
        return { node_id: r.nodeId, status: r.status };
      }
      case HANDSHAKE_SUB.APPROVE: {
        const id = needId();
        await wrap(() => svc.call('trust.approve', { nodeId: id }));
        return { node_id: id, status: 'approved' };
      }
      case HANDSHAKE_SUB.REJECT: {
        const id = needId();
        await wrap(() => svc.call('trust.reject', text ? { nodeId: id, reason: text } : { nodeId: id }));
        return { node_id: id, status: 'rejected' };
      }
      case HANDSHAKE_SUB.PENDING: {
        const list = await wrap(() => svc.call('trust.pending', {}));
        return { pending: list.map((p) => ({ justification: p.justification, node_id: p.nodeId, public_key: p.publicKey ?? '', received_at: Math.floor(p.receivedAt / 1000) })) };
      }
      case HANDSHAKE_SUB.TRUSTED: {
        const list = await wrap(() => svc.call('trust.list', {}));
        return { trusted: list.map((t) => ({ approved_at: Math.floor(t.approvedAt / 1000), mutual: t.mutual, network: t.network, node_id: t.nodeId, public_key: t.publicKey ?? '' })) };
      }
      case HANDSHAKE_SUB.REVOKE: {
        const id = needId();
        await wrap(() => svc.call('trust.revoke', { nodeId: id }));
        return { node_id: id, status: 'revoked' };
      }
      default:
        throw new Error(`handshake: unknown sub-command 0x${sub.toString(16).padStart(2, '0')}`);
    }
  }

  private async ext(c: Client, requestId: number, json: Uint8Array): Promise<void> {
    let reply: { ok: true; result: unknown } | { ok: false; error: { code: string; message: string; hint?: string } };
    try {
      const req = ipcJson(json);
      if (!req || typeof req !== 'object' || Array.isArray(req)) throw new PilotError('invalid_argument', 'ext_request: expected {method, params}');
      const { method, params } = req as { method?: unknown; params?: unknown };
      if (method === METRICS_METHOD) {
        if (!this.o.metrics) throw new PilotError('unavailable', 'this daemon keeps no metrics');
        reply = { ok: true, result: await this.o.metrics(params) };
      } else if (typeof method === 'string' && (DAEMON_EXT_METHODS as readonly string[]).includes(method)) {
        reply = { ok: true, result: this.daemonMethod(c, method, params) };
      } else {
        const checked = validateCall(method, params);
        if (!checked.ok) reply = { ok: false, error: checked.error };
        else {
          const r = await execute(this.o.service, requestId, checked.request);
          reply = r.ok ? { ok: true, result: r.result } : { ok: false, error: r.error };
        }
      }
    } catch (e) {
      reply = { ok: false, error: toPilotError(e).toJSON() };
    }
    let bytes: Uint8Array;
    try {
      bytes = jsonBytes(reply);
    } catch (e) {
      bytes = jsonBytes({ ok: false, error: toPilotError(e).toJSON() });
    }
    if (bytes.length + 5 > MAX_FRAME) {
      bytes = jsonBytes({ ok: false, error: { code: 'frame_too_large', message: `reply of ${bytes.length} bytes exceeds the IPC frame limit`, hint: 'ask for less (e.g. a smaller limit)' } });
    }
    this.write(c, { cmd: 'ext_response', requestId, json: bytes });
  }

  private daemonMethod(c: Client, method: string, params: unknown): unknown {
    switch (method) {
      case 'events.subscribe': {
        const wanted = params && typeof params === 'object' && 'events' in params ? (params as { events: unknown }).events : undefined;
        if (wanted === undefined) c.events = new Set(EVENT_NAMES);
        else if (Array.isArray(wanted) && wanted.every((e): e is EventName => (EVENT_NAMES as readonly string[]).includes(e as string))) c.events = new Set(wanted);
        else throw new PilotError('invalid_argument', `events.subscribe: events must be a list of ${EVENT_NAMES.join(', ')}`);
        return { events: [...c.events] };
      }
      case 'events.unsubscribe':
        c.events = undefined;
        return { events: [] };
      case 'daemon.webhook':
        return this.o.webhook?.stats() ?? { enabled: false, target: '', queued: 0, in_flight: 0, posted: 0, failed: 0, dropped: 0 };
      default:
        return { pong: true, pid: process.pid };
    }
  }
}

async function registryOp<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const pe = toPilotError(e);
    throw new Error(pe.message.startsWith('registry') ? `${op}: ${pe.message}` : `${op}: registry: ${pe.message}`, { cause: e });
  }
}
