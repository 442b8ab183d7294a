/**
 * The registry's TCP front end: per-connection framing (u32 length + JSON, ≤ 1 MiB), one request
 * at a time handed to the pure RegistryState, durable records appended to the Store and every
 * reply (and pushed event) sent only after the records it depends on are fsync'd.
 *
 * Oversize frames and invalid JSON close that connection only. Each connection has a token bucket
 * (default 200 req/s, burst 400): excess requests get an error reply with code `rate_limited`,
 * and a connection that keeps going after `closeAfter` consecutive refusals is closed. A connection
 * idle for 5 minutes is closed, except one subscribed to events (TCP keep-alive watches those).
 */
import net from 'node:net';
import { FrameDecoder, MAX_FRAME, decodeJson, encodeJsonFrame } from '../wire/framing';
import type { Clock, TimerHandle } from '../util/clock';
import type { Logger } from '../util/log';
import { errorReply, type RegistryEvent } from '../wire/registry';
import { IDLE_MS, REAP_INTERVAL_MS } from './protocol';
import { isCloseSignal, type CloseSignal, type PendingEvent, type RegistryState, type Reply, type RequestContext } from './registry-state';
import type { Store } from './store';
import { TokenBucket } from '../util/token-bucket';

export interface ConnectionRateLimit {
  perSec: number;
  burst: number;
  /** Consecutive refused requests after which the connection is closed. */
  closeAfter: number;
}

/**
 * Runs requests somewhere other than the local store (the etcd directory, etcd/directory.ts): it
 * calls the state itself and resolves once the change is durable there. Replies keep request order.
 */
export interface RequestExecutor {
  execute(msg: unknown, ctx: RequestContext): Promise<{ out: Reply | CloseSignal; events: PendingEvent[] }>;
  /** Runs the stale-node reaper through the executor; resolves with the reaped ids. */
  reap(now: number): Promise<number[]>;
  /** Events committed elsewhere (another instance) to push to this server's subscribers. */
  onEvents?(sink: (events: PendingEvent[]) => void): void;
}

export interface RegistryServerOptions {
  host: string;
  port: number;
  state: RegistryState;
  store: Store;
  clock: Clock;
  logger: Logger;
  idleMs?: number;
  rateLimit?: ConnectionRateLimit;
  reapIntervalMs?: number;
  /** Snapshot when the log holds this many records (default 100,000). */
  snapshotEveryRecords?: number;
  /** Snapshot at least this often when the log is non-empty (default 5 min). */
  snapshotIntervalMs?: number;
  /** When set, every request and the reaper go through it instead of state + store. */
  executor?: RequestExecutor;
}

export interface RegistryServerStats {
  connections: number;
  connectionsTotal: number;
  subscribers: number;
  requests: number;
  errors: number;
  rateLimited: number;
  closedOversize: number;
  closedInvalidJson: number;
  closedAbuse: number;
  closedIdle: number;
  eventsPushed: number;
  reaped: number;
}

const DEFAULT_RATE: ConnectionRateLimit = { perSec: 200, burst: 400, closeAfter: 1000 };

interface Conn {
  id: number;
  socket: net.Socket;
  decoder: FrameDecoder;
  bucket: TokenBucket;
  refusedStreak: number;
  subscribedNode: number | undefined;
  /** Replies are written in request order. */
  tail: Promise<void>;
  closed: boolean;
  log: Logger;
}

export class RegistryServer {
  private readonly server: net.Server;
  private readonly conns = new Set<Conn>();
  private readonly subs = new Map<number, Set<Conn>>();
  private nextConnId = 1;
  private reapTimer: TimerHandle | undefined;
  private snapTimer: TimerHandle | undefined;
  private snapshotting: Promise<void> | undefined;
  private closing = false;
  private readonly log: Logger;
  private readonly rate: ConnectionRateLimit;
  private readonly idleMs: number;
  private readonly st: RegistryServerStats = {
    connections: 0,
    connectionsTotal: 0,
    subscribers: 0,
    requests: 0,
    errors: 0,
    rateLimited: 0,
    closedOversize: 0,
    closedInvalidJson: 0,
    closedAbuse: 0,
    closedIdle: 0,
    eventsPushed: 0,
    reaped: 0,
  };

  private constructor(private readonly opts: RegistryServerOptions) {
    this.log = opts.logger.child({ component: 'registry' });
    this.rate = opts.rateLimit ?? DEFAULT_RATE;
    this.idleMs = opts.idleMs ?? IDLE_MS;
    this.server = net.createServer((s) => this.accept(s));
    this.server.maxConnections = 10_000;
  }

  static async start(opts: RegistryServerOptions): Promise<RegistryServer> {
    const srv = new RegistryServer(opts);
    await new Promise<void>((resolve, reject) => {
      srv.server.once('error', reject);
      srv.server.listen({ host: opts.host, port: opts.port, backlog: 1024 }, () => {
        srv.server.off('error', reject);
        resolve();
      });
    });
    srv.server.on('error', (e) => srv.log.error('listener error', { err: e.message }));
    srv.armReaper();
    srv.armSnapshotTimer();
    opts.executor?.onEvents?.((events) => srv.push(events));
    const a = srv.address();
    srv.log.info('registry listening', { host: a.host, port: a.port });
    return srv;
  }

  address(): { host: string; port: number } {
    const a = this.server.address();
    if (a === null || typeof a === 'string') throw new Error('registry server is not listening');
    return { host: a.address, port: a.port };
  }

  stats(): RegistryServerStats {
    return { ...this.st, connections: this.conns.size };
  }

  // ------------------------------------------------------------------------------------------

  private accept(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const id = this.nextConnId++;
    const conn: Conn = {
      id,
      socket,
      decoder: new FrameDecoder(MAX_FRAME),
      bucket: new TokenBucket(this.rate.perSec, this.rate.burst, this.opts.clock.now()),
      refusedStreak: 0,
      subscribedNode: undefined,
      tail: Promise.resolve(),
      closed: false,
      log: this.log.child({ conn: id, peer: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}` }),
    };
    this.conns.add(conn);
    this.st.connectionsTotal++;
    socket.setNoDelay(true);
    socket.setTimeout(this.idleMs, () => {
      this.st.closedIdle++;
      conn.log.debug('idle connection closed');
      this.drop(conn);
    });
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', (e) => conn.log.debug('socket error', { err: e.message }));
    socket.on('close', () => this.forget(conn));
  }

  private onData(conn: Conn, chunk: Buffer): void {
    if (conn.closed) return;
    let frames: Uint8Array[];
    try {
      frames = conn.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (e) {
      this.st.closedOversize++;
      conn.log.warn('oversize frame, closing connection', { err: e instanceof Error ? e.message : String(e) });
      this.drop(conn);
      return;
    }
    for (const f of frames) {
      if (conn.closed) return;
      let msg: unknown;
      try {
        msg = decodeJson(f);
      } catch (e) {
        this.st.closedInvalidJson++;
        conn.log.warn('invalid JSON, closing connection', { err: e instanceof Error ? e.message : String(e) });
        this.drop(conn);
        return;
      }
      this.request(conn, msg);
    }
  }

  private request(conn: Conn, msg: unknown): void {
    const { state, store, clock } = this.opts;
    this.st.requests++;
    if (!conn.bucket.take(clock.now())) {
      this.st.rateLimited++;
      this.st.errors++;
      conn.refusedStreak++;
      if (conn.refusedStreak > this.rate.closeAfter) {
        this.st.closedAbuse++;
        conn.log.warn('sustained request flood, closing connection');
        this.drop(conn);
        return;
      }
      this.send(conn, errorReply('rate_limited', `more than ${this.rate.perSec} requests/s on this connection`));
      return;
    }
    conn.refusedStreak = 0;
    const addr = conn.socket.remoteAddress ?? '0.0.0.0';
    if (this.opts.executor) {
      this.requestViaExecutor(conn, msg, { sourceIp: addr, sourcePort: conn.socket.remotePort ?? 0, now: clock.wallNow() }, this.opts.executor);
      return;
    }
    const out = state.handle(msg, { sourceIp: addr, sourcePort: conn.socket.remotePort ?? 0, now: clock.wallNow() });
    const records = state.takeRecords();
    const events = state.takeEvents();
    if (records.length > 0) {
      store.append(records);
      this.maybeSnapshot();
    }
    if (isCloseSignal(out)) {
      if (out.reply) this.send(conn, out.reply);
      this.st.errors++;
      conn.tail = conn.tail.then(() => {
        this.drop(conn);
      });
      return;
    }
    const reply = out;
    if (reply.type === 'error') {
      this.st.errors++;
      conn.log.debug('request failed', { req: typeof msg === 'object' && msg && 'type' in msg ? String(msg.type) : '?', code: reply['code'], hint: reply['hint'] });
    }
    const durable = records.length > 0 ? store.sync() : this.pendingSync();
    conn.tail = conn.tail
      .then(() => durable)
      .then(
        () => {
          if (reply.type === 'subscribe_events_ok') this.subscribe(conn, reply['node_id'] as number);
          this.write(conn, reply);
          if (events.length > 0) this.push(events);
        },
        (e: unknown) => {
          conn.log.error('store write failed', { err: e instanceof Error ? e.message : String(e) });
          this.write(conn, errorReply('internal', 'the registry could not persist the change'));
        },
      );
  }

  private requestViaExecutor(conn: Conn, msg: unknown, ctx: RequestContext, ex: RequestExecutor): void {
    const done = ex.execute(msg, ctx);
    conn.tail = conn.tail
      .then(() => done)
      .then(
        ({ out, events }) => {
          if (isCloseSignal(out)) {
            if (out.reply) this.write(conn, out.reply);
            this.st.errors++;
            this.drop(conn);
            return;
          }
          if (out.type === 'error') this.st.errors++;
          if (out.type === 'subscribe_events_ok') this.subscribe(conn, out['node_id'] as number);
          this.write(conn, out);
          if (events.length > 0) this.push(events);
        },
        (e: unknown) => {
          this.st.errors++;
          const err = e as { code?: unknown; hint?: unknown; message?: unknown };
          conn.log.warn('directory write failed', { err: String(err.message ?? e) });
          this.write(conn, errorReply(err.code === 'unavailable' ? 'unavailable' : 'internal', String(err.hint ?? err.message ?? 'the directory could not persist the change')));
        },
      );
  }

  /**
   * Replies to reads also wait for writes appended earlier by other connections, so nothing a
   * client is told can be lost by a crash (no read of un-fsync'd state).
   */
  private pendingSync(): Promise<void> {
    return this.opts.store.sync();
  }

  private send(conn: Conn, reply: Reply): void {
    conn.tail = conn.tail.then(() => this.write(conn, reply));
  }

  private write(conn: Conn, obj: Reply | RegistryEvent): void {
    if (conn.closed) return;
    let frame: Uint8Array;
    try {
      frame = encodeJsonFrame(obj);
    } catch {
      frame = encodeJsonFrame(errorReply('internal', 'reply too large for one frame'));
    }
    conn.socket.write(frame);
  }

  private subscribe(conn: Conn, nodeId: number): void {
    if (conn.subscribedNode !== undefined) this.unsubscribe(conn);
    conn.subscribedNode = nodeId;
    let set = this.subs.get(nodeId);
    if (!set) {
      set = new Set();
      this.subs.set(nodeId, set);
    }
    set.add(conn);
    this.st.subscribers++;
    conn.socket.setTimeout(0);
    conn.socket.setKeepAlive(true, 30_000);
    conn.log.info('subscribed to events', { node: nodeId });
  }

  private unsubscribe(conn: Conn): void {
    if (conn.subscribedNode === undefined) return;
    const set = this.subs.get(conn.subscribedNode);
    set?.delete(conn);
    if (set && set.size === 0) this.subs.delete(conn.subscribedNode);
    conn.subscribedNode = undefined;
    this.st.subscribers--;
  }

  private push(events: PendingEvent[]): void {
    for (const e of events) {
      for (const nodeId of e.to) {
        for (const c of this.subs.get(nodeId) ?? []) {
          this.write(c, e.event);
          this.st.eventsPushed++;
        }
      }
    }
  }

  private drop(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.socket.destroy();
    this.forget(conn);
  }

  private forget(conn: Conn): void {
    conn.closed = true;
    if (this.conns.delete(conn)) this.unsubscribe(conn);
  }

  // ------------------------------------------------------------------------------------------
  // Timers

  private armReaper(): void {
    const every = this.opts.reapIntervalMs ?? REAP_INTERVAL_MS;
    this.reapTimer = this.opts.clock.setTimeout(() => {
      this.reapNow();
      if (!this.closing) this.armReaper();
    }, every);
  }

  /** Runs the reaper once (also used by tests with a fake clock). */
  reapNow(): number[] {
    const { state, store, clock } = this.opts;
    if (this.opts.executor) {
      // Through the directory (asynchronous): the ids reaped are logged, not returned.
      this.opts.executor.reap(clock.wallNow()).then(
        (ids) => {
          this.st.reaped += ids.length;
          if (ids.length > 0) this.log.info('reaped stale nodes', { count: ids.length });
        },
        (e: unknown) => this.log.warn('reap through the directory failed', { err: String(e) }),
      );
      return [];
    }
    const reaped = state.reap(clock.wallNow());
    const records = state.takeRecords();
    if (records.length > 0) {
      store.append(records);
      store.sync().catch((e: unknown) => this.log.error('store write failed', { err: String(e) }));
    }
    if (reaped.length > 0) {
      this.st.reaped += reaped.length;
      this.log.info('reaped stale nodes', { count: reaped.length });
    }
    return reaped;
  }

  private armSnapshotTimer(): void {
    const every = this.opts.snapshotIntervalMs ?? 5 * 60_000;
    this.snapTimer = this.opts.clock.setTimeout(() => {
      if (this.opts.store.stats().walRecords > 0) this.snapshotInBackground();
      if (!this.closing) this.armSnapshotTimer();
    }, every);
  }

  private maybeSnapshot(): void {
    if (this.opts.store.stats().walRecords >= (this.opts.snapshotEveryRecords ?? 100_000)) this.snapshotInBackground();
  }

  /** Starts a snapshot without waiting for it (snapshot() logs its own failure; this catch is the backstop). */
  private snapshotInBackground(): void {
    this.snapshot().catch((e: unknown) => this.log.error('snapshot failed', { err: e instanceof Error ? e.message : String(e) }));
  }

  /** Writes a snapshot now (one at a time). */
  snapshot(): Promise<void> {
    if (this.snapshotting) return this.snapshotting;
    const started = this.opts.clock.now();
    this.snapshotting = this.opts.store
      .writeSnapshot(() => this.opts.state.snapshot())
      .then(
        () => this.log.info('snapshot written', { ms: Math.round(this.opts.clock.now() - started) }),
        (e: unknown) => this.log.error('snapshot failed', { err: e instanceof Error ? e.message : String(e) }),
      )
      .finally(() => {
        this.snapshotting = undefined;
      });
    return this.snapshotting;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.reapTimer) this.opts.clock.clearTimeout(this.reapTimer);
    if (this.snapTimer) this.opts.clock.clearTimeout(this.snapTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await Promise.allSettled([...this.conns].map((c) => c.tail));
    for (const c of [...this.conns]) this.drop(c);
    await closed;
    if (this.snapshotting) await this.snapshotting;
  }
}
