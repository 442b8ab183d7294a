/**
 * Typed client for the registry protocol (registry.md), including our extensions (groups, pushed
 * events, capability search).
 *
 * - One persistent TCP connection; requests are serialised (one in flight, like the reference).
 * - A connection-level failure (connect/write error, connection closed, no reply within the
 *   timeout) drops the connection, reconnects (up to 5 attempts, backoff 0.5 s, 1 s, 2 s, ...) and
 *   retries the request once. Error *replies* are never retried.
 * - Error replies become RegistryError (a PilotError) with the reply's `code` when it is one of
 *   ours, `connection_failed` for a reference registry's bare error, message "registry: request failed".
 * - `subscribeEvents` opens a separate connection for pushed events that reconnects by itself.
 */
import net from 'node:net';
import { ERROR_CODES, PilotError, type ErrorCode } from '../../shared/errors';
import { FrameDecoder, decodeJson, encodeJsonFrame } from '../wire/framing';
import { silentLogger, type Logger } from '../util/log';
import { challenge } from '../backbone/protocol';
import {
  type BeaconListOk,
  type CreateNetworkOk,
  type FindNodesOk,
  type HeartbeatOk,
  type JoinNetworkOk,
  type JoinRule,
  type LeaveNetworkOk,
  type ListNetworksOk,
  type ListNodesOk,
  type LookupOk,
  type PollHandshakesOk,
  type PoloScoreOk,
  type PunchOk,
  type RegisterOk,
  type RegistryEvent,
  type ResolveHostnameOk,
  type ResolveOk,
} from '../wire/registry';

/** What the client needs from an identity (crypto/identity.ts `Identity` fits). */
export interface RegistrySigner {
  readonly publicKeyBase64: string;
  signText(text: string): string;
}

export interface RegistryClientOptions {
  /** `host:port` or {host, port}. */
  address: string | { host: string; port: number };
  identity?: RegistrySigner;
  /** Known node id (e.g. from a previous run); set automatically by register(). */
  nodeId?: number;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  /** Per connect attempt (default 5 s). */
  connectTimeoutMs?: number;
  /** Reconnect attempts after a connection failure (default 5). */
  reconnectAttempts?: number;
  /** First backoff step; doubles per attempt, capped at 10 s (default 500 ms). */
  backoffMs?: number;
  logger?: Logger;
}

type Json = Record<string, unknown>;

/** An error reply from the registry. */
export class RegistryError extends PilotError {
  /** The reply's `code` as sent (may be `rate_limited`, which is not an ErrorCode). */
  readonly wireCode: string | undefined;
  readonly reply: Json;
  constructor(reply: Json) {
    const wire = typeof reply['code'] === 'string' ? reply['code'] : undefined;
    const hint = typeof reply['hint'] === 'string' ? reply['hint'] : undefined;
    super(mapCode(wire), 'registry: request failed', hint);
    this.name = 'RegistryError';
    this.wireCode = wire;
    this.reply = reply;
  }
}

function mapCode(wire: string | undefined): ErrorCode {
  if (wire === undefined) return 'connection_failed';
  if (wire === 'rate_limited') return 'unavailable';
  return (ERROR_CODES as readonly string[]).includes(wire) ? (wire as ErrorCode) : 'internal';
}

class ConnectionFailure extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

function parseAddress(a: RegistryClientOptions['address']): { host: string; port: number } {
  if (typeof a !== 'string') return a;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(a.trim());
  if (!m) throw new PilotError('invalid_argument', `invalid registry address "${a}"`, 'use host:port');
  return { host: m[1] ?? m[2] ?? '127.0.0.1', port: Number(m[3]) };
}

const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One framed JSON connection (used by the request client and by subscriptions). */
class FramedConnection {
  private readonly decoder = new FrameDecoder();
  private waiter: { resolve: (v: Json) => void; reject: (e: Error) => void } | undefined;
  private dead: Error | undefined;
  onMessage: ((m: Json) => void) | undefined;
  onClose: ((e: Error) => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (e) {
        this.fail(new ConnectionFailure(`bad frame from registry: ${String(e)}`));
        return;
      }
      for (const f of frames) {
        let v: unknown;
        try {
          v = decodeJson(f);
        } catch {
          this.fail(new ConnectionFailure('registry sent invalid JSON'));
          return;
        }
        if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
        const m = v as Json;
        if (m['type'] === 'event' || !this.waiter) {
          this.onMessage?.(m);
          continue;
        }
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(m);
      }
    });
    socket.on('error', (e) => this.fail(new ConnectionFailure(e.message)));
    socket.on('close', () => this.fail(new ConnectionFailure('connection closed by the registry')));
  }

  static connect(host: string, port: number, timeoutMs: number): Promise<FramedConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionFailure(`connect to ${host}:${port} timed out`, true));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(new FramedConnection(s));
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new ConnectionFailure(e.message));
      });
    });
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
    this.onClose?.(e);
  }

  async request(msg: Json, timeoutMs: number): Promise<Json> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new ConnectionFailure(`no reply within ${timeoutMs} ms`, true));
      }, timeoutMs);
      this.waiter = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(encodeJsonFrame(msg));
    });
  }

  send(msg: Json): void {
    if (!this.dead) this.socket.write(encodeJsonFrame(msg));
  }

  close(): void {
    this.fail(new ConnectionFailure('closed'));
  }
}

export interface FindNodesQuery {
  tags?: string[];
  anyTags?: string[];
  networkId?: number;
  network?: string;
  hostnamePrefix?: string;
  limit?: number;
  /** Search as the registered node (sees trusted peers and group mates); default true when registered. */
  authenticated?: boolean;
}

export interface EventSubscriptionOptions {
  onEvent: (e: RegistryEvent) => void;
  onStatus?: (s: { connected: boolean; error?: string }) => void;
}

/** A live event subscription; reconnects and re-subscribes until closed. */
export interface EventSubscription {
  /** Resolves on the first successful subscription, rejects if it is refused by the registry. */
  readonly ready: Promise<void>;
  readonly connected: boolean;
  close(): void;
}

export class RegistryClient {
  private readonly addr: { host: string; port: number };
  private identity: RegistrySigner | undefined;
  nodeId: number | undefined;
  private conn: FramedConnection | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly subs = new Set<EventSubscription>();
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly log: Logger;

  constructor(opts: RegistryClientOptions) {
    this.addr = parseAddress(opts.address);
    this.identity = opts.identity;
    this.nodeId = opts.nodeId;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    this.attempts = opts.reconnectAttempts ?? 5;
    this.backoffMs = opts.backoffMs ?? 500;
    this.log = (opts.logger ?? silentLogger).child({ component: 'registry-client' });
  }

  // ------------------------------------------------------------------------------------------
  // Plumbing

  /** Sends one raw request and returns the raw reply (error replies throw RegistryError). */
  async request(msg: Json): Promise<Json> {
    const run = async (): Promise<Json> => {
      if (this.closed) throw new PilotError('invalid_state', 'registry client is closed');
      let reply: Json;
      try {
        reply = await this.once(msg);
      } catch (e) {
        if (!(e instanceof ConnectionFailure)) throw e;
        this.log.debug('connection failure, reconnecting', { err: e.message });
        this.conn = undefined;
        try {
          reply = await this.once(msg);
        } catch (e2) {
          this.conn = undefined;
          if (e2 instanceof ConnectionFailure) {
            throw new PilotError(
              e2.timedOut ? 'timeout' : 'connection_failed',
              `registry ${this.addr.host}:${this.addr.port}: ${e2.message}`,
              'is the backbone running and reachable?',
            );
          }
          throw e2;
        }
      }
      if (typeof reply['error'] === 'string') throw new RegistryError(reply);
      return reply;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async once(msg: Json): Promise<Json> {
    if (!this.conn || !this.conn.alive) this.conn = await this.connectWithRetry();
    return this.conn.request(msg, this.timeoutMs);
  }

  private async connectWithRetry(): Promise<FramedConnection> {
    let last: Error = new ConnectionFailure('not connected');
    for (let i = 0; i < this.attempts; i++) {
      if (this.closed) throw new PilotError('invalid_state', 'registry client is closed');
      try {
        const c = await FramedConnection.connect(this.addr.host, this.addr.port, this.connectTimeoutMs);
        c.onMessage = (m) => this.log.debug('unexpected frame', { type: String(m['type']) });
        return c;
      } catch (e) {
        last = e instanceof Error ? e : new Error(String(e));
        if (i < this.attempts - 1) await delay(Math.min(this.backoffMs * 2 ** i, 10_000));
      }
    }
    throw last instanceof ConnectionFailure ? last : new ConnectionFailure(last.message);
  }

  private async call<T>(msg: Json, expect: string): Promise<T> {
    const reply = await this.request(msg);
    if (reply['type'] !== expect) {
      throw new PilotError('internal', `registry: expected ${expect}, got ${String(reply['type'])}`);
    }
    return reply as T;
  }

  private signer(): RegistrySigner {
    if (!this.identity) throw new PilotError('invalid_state', 'this registry operation needs an identity');
    return this.identity;
  }

  private id(explicit?: number): number {
    const id = explicit ?? this.nodeId;
    if (id === undefined) throw new PilotError('invalid_state', 'not registered yet', 'call register() first');
    return id;
  }

  private sign(text: string): string {
    return this.signer().signText(text);
  }

  close(): void {
    this.closed = true;
    this.conn?.close();
    this.conn = undefined;
    for (const s of [...this.subs]) s.close();
  }

  // ------------------------------------------------------------------------------------------
  // Identity and presence

  async register(opts: { listenAddr?: string; owner?: string; hostname?: string; behindNat?: boolean } = {}): Promise<RegisterOk> {
    const msg: Json = { type: 'register', listen_addr: opts.listenAddr ?? '', public_key: this.signer().publicKeyBase64 };
    if (opts.owner) msg['owner'] = opts.owner;
    if (opts.behindNat !== undefined) msg['behind_nat'] = opts.behindNat;
    if (opts.hostname) msg['hostname'] = opts.hostname;
    const r = await this.call<RegisterOk>(msg, 'register_ok');
    this.nodeId = r.node_id;
    return r;
  }

  async heartbeat(): Promise<HeartbeatOk> {
    const id = this.id();
    return this.call({ type: 'heartbeat', node_id: id, signature: this.sign(challenge.heartbeat(id)) }, 'heartbeat_ok');
  }

  async deregister(): Promise<void> {
    const id = this.id();
    await this.call({ type: 'deregister', node_id: id, signature: this.sign(challenge.deregister(id)) }, 'deregister_ok');
  }

  /** Signs with the current identity, then switches to `next`. */
  async rotateKey(next: RegistrySigner): Promise<{ node_id: number; address: string; public_key: string }> {
    const id = this.id();
    const r = await this.call<{ node_id: number; address: string; public_key: string }>(
      { type: 'rotate_key', node_id: id, new_public_key: next.publicKeyBase64, signature: this.sign(challenge.rotateKey(id)) },
      'rotate_key_ok',
    );
    this.identity = next;
    return r;
  }

  async lookup(nodeId: number): Promise<LookupOk> {
    return this.call({ type: 'lookup', node_id: nodeId }, 'lookup_ok');
  }

  async resolve(target: number): Promise<ResolveOk> {
    const id = this.id();
    return this.call(
      { type: 'resolve', node_id: target, requester_id: id, signature: this.sign(challenge.resolve(id, target)) },
      'resolve_ok',
    );
  }

  async setVisibility(isPublic: boolean): Promise<{ node_id: number; visibility: 'public' | 'private' }> {
    const id = this.id();
    return this.call(
      { type: 'set_visibility', node_id: id, public: isPublic, signature: this.sign(challenge.setVisibility(id)) },
      'set_visibility_ok',
    );
  }

  // ------------------------------------------------------------------------------------------
  // Hostnames and tags

  async setHostname(hostname: string): Promise<{ node_id: number; hostname: string }> {
    const id = this.id();
    return this.call({ type: 'set_hostname', node_id: id, hostname, signature: this.sign(challenge.setHostname(id)) }, 'set_hostname_ok');
  }

  async resolveHostname(hostname: string): Promise<ResolveHostnameOk> {
    return this.call({ type: 'resolve_hostname', hostname }, 'resolve_hostname_ok');
  }

  async setTags(tags: string[]): Promise<{ node_id: number; tags: string[] | null }> {
    const id = this.id();
    return this.call({ type: 'set_tags', node_id: id, tags, signature: this.sign(challenge.setTags(id)) }, 'set_tags_ok');
  }

  async setTaskExec(enabled: boolean): Promise<{ node_id: number; task_exec: boolean }> {
    const id = this.id();
    return this.call({ type: 'set_task_exec', node_id: id, enabled, signature: this.sign(challenge.setTaskExec(id)) }, 'set_task_exec_ok');
  }

  // ------------------------------------------------------------------------------------------
  // Trust and handshakes

  async reportTrust(peer: number): Promise<void> {
    const id = this.id();
    await this.call({ type: 'report_trust', node_id: id, peer_id: peer, signature: this.sign(challenge.reportTrust(id, peer)) }, 'report_trust_ok');
  }

  async revokeTrust(peer: number): Promise<void> {
    const id = this.id();
    await this.call({ type: 'revoke_trust', node_id: id, peer_id: peer, signature: this.sign(challenge.revokeTrust(id, peer)) }, 'revoke_trust_ok');
  }

  async requestHandshake(to: number, justification: string): Promise<{ status: string }> {
    const id = this.id();
    return this.call(
      { type: 'request_handshake', from_node_id: id, to_node_id: to, justification, signature: this.sign(challenge.requestHandshake(id, to)) },
      'request_handshake_ok',
    );
  }

  async pollHandshakes(): Promise<PollHandshakesOk> {
    const id = this.id();
    return this.call({ type: 'poll_handshakes', node_id: id, signature: this.sign(challenge.pollHandshakes(id)) }, 'poll_handshakes_ok');
  }

  async respondHandshake(peer: number, accept: boolean): Promise<{ accept: boolean; peer_id: number }> {
    const id = this.id();
    return this.call(
      { type: 'respond_handshake', node_id: id, peer_id: peer, accept, signature: this.sign(challenge.respondHandshake(id, peer)) },
      'respond_handshake_ok',
    );
  }

  async punch(nodeA: number, nodeB: number): Promise<PunchOk> {
    const id = this.id();
    return this.call(
      { type: 'punch', requester_id: id, node_a: nodeA, node_b: nodeB, signature: this.sign(challenge.punch(nodeA, nodeB)) },
      'punch_ok',
    );
  }

  // ------------------------------------------------------------------------------------------
  // Polo score, beacons

  async getPoloScore(nodeId: number): Promise<PoloScoreOk> {
    return this.call({ type: 'get_polo_score', node_id: nodeId }, 'get_polo_score_ok');
  }
  async updatePoloScore(nodeId: number, delta: number): Promise<PoloScoreOk> {
    return this.call({ type: 'update_polo_score', node_id: nodeId, delta }, 'update_polo_score_ok');
  }
  async setPoloScore(nodeId: number, score: number): Promise<PoloScoreOk> {
    return this.call({ type: 'set_polo_score', node_id: nodeId, polo_score: score }, 'set_polo_score_ok');
  }
  async beaconRegister(beaconId: number, addr: string): Promise<void> {
    await this.call({ type: 'beacon_register', beacon_id: beaconId, addr }, 'beacon_register_ok');
  }
  async beaconList(): Promise<BeaconListOk> {
    return this.call({ type: 'beacon_list' }, 'beacon_list_ok');
  }

  // ------------------------------------------------------------------------------------------
  // Groups (extension)

  async listNetworks(): Promise<ListNetworksOk> {
    return this.call({ type: 'list_networks' }, 'list_networks_ok');
  }

  async listNodes(network: number | string): Promise<ListNodesOk> {
    return this.call(
      typeof network === 'number' ? { type: 'list_nodes', network_id: network } : { type: 'list_nodes', network },
      'list_nodes_ok',
    );
  }

  async createNetwork(name: string, opts: { joinRule?: JoinRule; token?: string; adminToken?: string } = {}): Promise<CreateNetworkOk> {
    const id = this.id();
    const msg: Json = { type: 'create_network', node_id: id, name, join_rule: opts.joinRule ?? 'open', signature: this.sign(challenge.createNetwork(id)) };
    if (opts.token !== undefined) msg['token'] = opts.token;
    if (opts.adminToken !== undefined) msg['admin_token'] = opts.adminToken;
    return this.call(msg, 'create_network_ok');
  }

  /** Joins by id or by name (a name is resolved with list_networks first: the signature covers the id). */
  async joinNetwork(network: number | string, opts: { token?: string; inviterId?: number } = {}): Promise<JoinNetworkOk> {
    const id = this.id();
    const netId = await this.networkId(network);
    const msg: Json = { type: 'join_network', node_id: id, network_id: netId, signature: this.sign(challenge.joinNetwork(id, netId)) };
    if (opts.token !== undefined) msg['token'] = opts.token;
    if (opts.inviterId !== undefined) msg['inviter_id'] = opts.inviterId;
    return this.call(msg, 'join_network_ok');
  }

  async leaveNetwork(network: number | string): Promise<LeaveNetworkOk> {
    const id = this.id();
    const netId = await this.networkId(network);
    return this.call(
      { type: 'leave_network', node_id: id, network_id: netId, signature: this.sign(challenge.leaveNetwork(id, netId)) },
      'leave_network_ok',
    );
  }

  private async networkId(network: number | string): Promise<number> {
    if (typeof network === 'number') return network;
    const nets = await this.listNetworks();
    const n = nets.networks.find((x) => x.name === network);
    if (!n) throw new PilotError('not_found', `no network named "${network}"`);
    return n.id;
  }

  // ------------------------------------------------------------------------------------------
  // Capability search (extension)

  async findNodes(q: FindNodesQuery = {}): Promise<FindNodesOk> {
    const msg: Json = { type: 'find_nodes' };
    if (q.tags) msg['tags'] = q.tags;
    if (q.anyTags) msg['any_tags'] = q.anyTags;
    if (q.networkId !== undefined) msg['network_id'] = q.networkId;
    if (q.network !== undefined) msg['network'] = q.network;
    if (q.hostnamePrefix !== undefined) msg['hostname_prefix'] = q.hostnamePrefix;
    if (q.limit !== undefined) msg['limit'] = q.limit;
    const auth = q.authenticated ?? (this.nodeId !== undefined && this.identity !== undefined);
    if (auth) {
      const id = this.id();
      msg['requester_id'] = id;
      msg['signature'] = this.sign(challenge.findNodes(id));
    }
    return this.call(msg, 'find_nodes_ok');
  }

  // ------------------------------------------------------------------------------------------
  // Pushed events (extension)

  /**
   * Opens a dedicated connection, subscribes as this node and calls `onEvent` for every pushed
   * event. Reconnects (backoff up to 10 s) and re-subscribes until `close()`.
   */
  subscribeEvents(opts: EventSubscriptionOptions): EventSubscription {
    const nodeId = this.id();
    const signer = this.signer();
    const { addr, connectTimeoutMs, timeoutMs, backoffMs, subs } = this;
    let conn: FramedConnection | undefined;
    let closed = false;
    let connected = false;
    let failures = 0;
    let settle: { resolve: () => void; reject: (e: Error) => void; done: boolean } | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject, done: false };
    });
    ready.catch(() => undefined);
    const status = (c: boolean, error?: string): void => {
      connected = c;
      opts.onStatus?.(error === undefined ? { connected: c } : { connected: c, error });
    };

    const loop = async (): Promise<void> => {
      while (!closed) {
        try {
          const c = await FramedConnection.connect(addr.host, addr.port, connectTimeoutMs);
          if (closed) {
            c.close();
            return;
          }
          conn = c;
          const lost = new Promise<Error>((resolve) => {
            c.onClose = resolve;
          });
          c.onMessage = (m) => {
            if (m['type'] === 'event' && typeof m['event'] === 'string') opts.onEvent(m as unknown as RegistryEvent);
          };
          const reply = await c.request(
            { type: 'subscribe_events', node_id: nodeId, signature: signer.signText(challenge.subscribeEvents(nodeId)) },
            timeoutMs,
          );
          if (typeof reply['error'] === 'string') {
            const err = new RegistryError(reply);
            c.close();
            if (settle && !settle.done) {
              settle.done = true;
              settle.reject(err);
              closed = true;
              return;
            }
            throw new ConnectionFailure(`subscription refused: ${err.hint ?? err.code}`);
          }
          failures = 0;
          status(true);
          if (settle && !settle.done) {
            settle.done = true;
            settle.resolve();
          }
          const e = await lost;
          if (closed) return;
          status(false, e.message);
        } catch (e) {
          if (closed) return;
          status(false, e instanceof Error ? e.message : String(e));
        }
        failures++;
        await delay(Math.min(backoffMs * 2 ** Math.min(failures - 1, 5), 10_000));
      }
    };

    const sub: EventSubscription = {
      ready,
      get connected() {
        return connected && !closed;
      },
      close() {
        if (closed) return;
        closed = true;
        conn?.close();
        subs.delete(sub);
        if (settle && !settle.done) {
          settle.done = true;
          settle.reject(new PilotError('invalid_state', 'subscription closed'));
        }
      },
    };
    this.subs.add(sub);
    void loop();
    return sub;
  }
}
