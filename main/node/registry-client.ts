/**
 * Typed client for the registry protocol (registry.md), including our extensions (groups, pushed
 * events, capability search). Messages are typed and checked by the wire codec (wire/registry.ts).
 *
 * - One persistent TCP connection; requests are serialised (one in flight, like the reference).
 * - A connection-level failure (connect/write error, connection closed, no reply within the
 *   timeout) drops the connection, reconnects (up to 5 attempts, backoff 0.5 s, 1 s, 2 s, ...) and
 *   retries the request once. Error *replies* are never retried.
 * - Error replies become RegistryError (a PilotError) with the reply's `code` when it is one of
 *   ours; a reference registry's bare error keeps its reason as the message (`registry: <error>`)
 *   with the code and hint that fit it (registry-errors.ts), `connection_failed` for the generic one.
 * - Every reply is checked against its schema. A malformed one (wrong type, missing field, value
 *   out of range, not JSON, oversize frame) rejects that call with RegistryProtocolError (code
 *   `internal`, with a hint) and is counted; it is not retried. The connection stays in use when
 *   the framing is intact and is replaced on the next call when it is not.
 * - `subscribeEvents` opens a separate connection for pushed events that reconnects by itself;
 *   an event that does not match its schema is dropped and counted.
 * - Several addresses (backbone instances sharing one directory): a connect failure moves to the
 *   next address at once (backoff only after a whole round: FailoverPolicy, backbone-failover.ts);
 *   a connection that breaks moves the next attempt to the next address. A request in flight when
 *   its connection broke is sent again on the next registry only when it is idempotent (IDEMPOTENT);
 *   others fail with `connection_failed` (it may have been applied). Connecting to another address
 *   than the last one is a failover: counted (stats().failovers), logged, and `onFailover` is called
 *   (the node registers again there). The event subscription follows the current address.
 *   One address behaves as before: a broken request is retried once on a new connection.
 */
import { PilotError } from '../../shared/errors';
import { challenge } from '../crypto';
import type { ParentLike, Tracer } from '../observe/tracer';
import {
  decodeRegistryEvent,
  decodeRegistryReply,
  extensionChallenge,
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
  type RegistryReply,
  type RegistryRequestFields,
  type RegistryRequestType,
  type ResolveHostnameOk,
  type ResolveOk,
} from '../wire/registry';
import { silentLogger, type Logger } from '../util/log';
import { ConnectionFailure, FramedConnection, delay, isObject } from './registry-connection';
import { registryErrorMeaning } from './registry-errors';
import { FailoverPolicy, parseAddressList, reconnectWait } from './backbone-failover';
import { formatEndpoint } from './udp';

/** What the client needs from an identity (crypto/identity.ts `Identity` fits). */
export interface RegistrySigner {
  readonly publicKeyBase64: string;
  signText(text: string): string;
}

type HostPort = { host: string; port: number };

export interface RegistryClientOptions {
  /**
   * `host:port` or {host, port}; several (an array, or `a:9000,b:9000`) for backbone instances that
   * share one directory, in order of preference.
   */
  address: string | HostPort | readonly (string | HostPort)[];
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
  /** Each call becomes a client span `registry.<type>` (child of the caller's span when given). */
  tracer?: Tracer;
  /** Connected to another registry than the last one (`host:port` each); must not throw. */
  onFailover?: (from: string, to: string) => void;
}

export interface RegistryClientStats {
  /** Replies that did not match their schema (or were not JSON objects, or did not fit a frame). */
  malformedReplies: number;
  /** Pushed events that did not match the event schema, dropped. */
  droppedEvents: number;
  /** Frames nobody asked for on the request connection. */
  unexpectedFrames: number;
  /** Connections made to another registry address than the last one connected. */
  failovers: number;
}

/**
 * Requests that may be sent again on another registry after the connection broke with the request
 * in flight: reads, and writes that set a value (applying them twice leaves the same state).
 * Not here: deltas (update_polo_score), one-shot reads that consume (poll_handshakes), requests
 * whose second run differs (rotate_key, deregister, request/respond_handshake, create_network,
 * join/leave_network, beacon_register).
 */
export const IDEMPOTENT: ReadonlySet<string> = new Set([
  'register', 'heartbeat', 'lookup', 'resolve', 'resolve_hostname', 'set_hostname', 'set_tags', 'set_visibility', 'set_task_exec',
  'report_trust', 'revoke_trust', 'punch', 'get_polo_score', 'set_polo_score', 'beacon_list', 'list_networks', 'list_nodes', 'find_nodes',
  'subscribe_events',
]);

type Json = Record<string, unknown>;
/** A reply as some methods declare it: without `type` (present at run time all the same). */
type ReplyFields<K extends RegistryRequestType> = Omit<RegistryReply<K>, 'type'>;

/** An error reply from the registry. */
export class RegistryError extends PilotError {
  /** The reply's `code` as sent (may be `rate_limited`, which is not an ErrorCode). */
  readonly wireCode: string | undefined;
  readonly reply: Json;
  constructor(reply: Json) {
    // A reference registry's reason ("the node is private") stays the message: registry-errors.ts.
    const m = registryErrorMeaning(reply);
    super(m.code, m.message, m.hint);
    this.name = 'RegistryError';
    this.wireCode = m.wireCode;
    this.reply = reply;
  }
}

/** A reply the client cannot use: the registry is broken, hostile, or speaks another version. */
export class RegistryProtocolError extends PilotError {
  constructor(
    readonly requestType: string,
    readonly problem: string,
    registry: string,
  ) {
    super(
      'internal',
      `registry: malformed reply to ${requestType}: ${problem}`,
      `the registry at ${registry} answered with something this client cannot use; is it a Pilot registry of a compatible version?`,
    );
    this.name = 'RegistryProtocolError';
  }
}

function parseAddresses(a: RegistryClientOptions['address']): HostPort[] {
  const list = typeof a === 'string' || !Array.isArray(a) ? [a as string | HostPort] : (a as readonly (string | HostPort)[]);
  const out: HostPort[] = [];
  for (const x of list) {
    if (typeof x !== 'string') out.push(x);
    else out.push(...parseAddressList(x, 'registry'));
  }
  if (out.length === 0) throw new PilotError('invalid_argument', 'no registry address given', 'use host:port');
  return out;
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
  private readonly addrs: HostPort[];
  private readonly policy: FailoverPolicy;
  private readonly onFailover: ((from: string, to: string) => void) | undefined;
  /** Which address `conn` is connected to. */
  private connIdx = 0;
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
  private readonly tracer: Tracer | undefined;
  private readonly st: Omit<RegistryClientStats, 'failovers'> = { malformedReplies: 0, droppedEvents: 0, unexpectedFrames: 0 };

  constructor(opts: RegistryClientOptions) {
    this.addrs = parseAddresses(opts.address);
    this.policy = new FailoverPolicy(this.addrs.length);
    this.onFailover = opts.onFailover;
    this.identity = opts.identity;
    this.nodeId = opts.nodeId;
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    this.attempts = opts.reconnectAttempts ?? 5;
    this.backoffMs = opts.backoffMs ?? 500;
    this.log = (opts.logger ?? silentLogger).child({ component: 'registry-client' });
    this.tracer = opts.tracer;
  }

  stats(): RegistryClientStats {
    return { ...this.st, failovers: this.policy.failovers };
  }

  /** The registry in use (`host:port`): the one last connected to, else the one tried next. */
  get current(): string {
    return this.fmt(this.policy.connectedIndex ?? this.policy.index);
  }

  /** Every configured registry address, in order of preference. */
  get addresses(): string[] {
    return this.addrs.map((_, i) => this.fmt(i));
  }

  // ------------------------------------------------------------------------------------------
  // Plumbing

  private fmt(i: number): string {
    return formatEndpoint(this.addrs[i]!);
  }

  private get where(): string {
    return this.current;
  }

  private malformed(requestType: string, problem: string): RegistryProtocolError {
    this.st.malformedReplies++;
    this.log.warn('malformed registry reply', { req: requestType, problem });
    return new RegistryProtocolError(requestType, problem, this.where);
  }

  /**
   * Sends one raw request and returns the raw reply, unchecked beyond being a JSON object (error
   * replies throw RegistryError). For tools and benchmarks; the typed methods check every reply.
   */
  async request(msg: Json): Promise<Json> {
    const type = typeof msg['type'] === 'string' ? msg['type'] : '?';
    const reply = await this.exchange(msg, type);
    if (!isObject(reply)) throw this.malformed(type, 'reply is not a JSON object');
    if (typeof reply['error'] === 'string') throw new RegistryError(reply);
    return reply;
  }

  /** Sends a typed request and returns its reply, checked against the reply's schema. */
  private async call<K extends RegistryRequestType>(type: K, fields: RegistryRequestFields<K>, parent?: ParentLike): Promise<RegistryReply<K>> {
    if (!this.tracer?.enabled) return this.callUntraced(type, fields);
    const span = this.tracer.start(`registry.${type}`, parent, { 'rpc.system': 'pilot-registry', 'server.address': this.where }, 'client');
    try {
      const r = await this.callUntraced(type, fields);
      span.end();
      return r;
    } catch (e) {
      span.fail(e);
      throw e;
    }
  }

  private async callUntraced<K extends RegistryRequestType>(type: K, fields: RegistryRequestFields<K>): Promise<RegistryReply<K>> {
    const raw = await this.exchange({ type, ...fields }, type);
    const d = decodeRegistryReply(type, raw);
    if (d.kind === 'ok') return d.reply;
    if (d.kind === 'error') throw new RegistryError(raw as Json);
    throw this.malformed(type, d.problem);
  }

  /**
   * One request/reply exchange in the client's queue: retried once on a new connection after a
   * connection failure; not after a malformed frame (RegistryProtocolError).
   */
  private async exchange(msg: Json, type: string): Promise<unknown> {
    const run = async (): Promise<unknown> => {
      if (this.closed) throw new PilotError('invalid_state', 'registry client is closed');
      const sent = { value: false };
      try {
        return await this.once(msg, sent);
      } catch (e) {
        if (!(e instanceof ConnectionFailure)) throw e;
        this.conn = undefined;
        if (e.malformed) throw this.malformed(type, e.message);
        if (sent.value && this.addrs.length > 1) {
          const from = this.fmt(this.connIdx);
          this.policy.failed(this.connIdx);
          if (!IDEMPOTENT.has(type)) {
            throw new PilotError(
              'connection_failed',
              `registry ${from} failed with ${type} in flight: ${e.message}`,
              `not sent again to another registry (${type} may have been applied there); check its effect, then retry`,
            );
          }
          this.log.info('registry connection failed with a request in flight; sending it to the next registry', { req: type, from, err: e.message });
        } else this.log.debug('connection failure, reconnecting', { err: e.message });
      }
      try {
        return await this.once(msg);
      } catch (e2) {
        this.conn = undefined;
        if (!(e2 instanceof ConnectionFailure)) throw e2;
        if (e2.malformed) throw this.malformed(type, e2.message);
        throw new PilotError(
          e2.timedOut ? 'timeout' : 'connection_failed',
          `registry ${this.where}: ${e2.message}`,
          'is the backbone running and reachable?',
        );
      }
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined); // the caller gets p's rejection; the queue only orders
    return p;
  }

  /** One request on the current connection (made first if needed); `sent` says whether it was written. */
  private async once(msg: Json, sent?: { value: boolean }): Promise<unknown> {
    if (!this.conn || !this.conn.alive) this.conn = await this.connectWithRetry();
    if (sent) sent.value = true;
    return this.conn.request(msg, this.timeoutMs);
  }

  /**
   * Connects to the current address, moving through the list on failures: `reconnectAttempts`
   * tries per address, a backoff after each round that failed everywhere.
   */
  private async connectWithRetry(): Promise<FramedConnection> {
    let last: Error = new ConnectionFailure('not connected');
    const total = this.attempts * this.addrs.length;
    for (let i = 0; i < total; i++) {
      if (this.closed) throw new PilotError('invalid_state', 'registry client is closed');
      const idx = this.policy.index;
      const a = this.addrs[idx]!;
      try {
        const c = await FramedConnection.connect(a.host, a.port, this.connectTimeoutMs);
        c.onMessage = (m) => {
          this.st.unexpectedFrames++;
          this.log.debug('unexpected frame', { type: isObject(m) ? String(m['type']).slice(0, 40) : typeof m });
        };
        this.connIdx = idx;
        this.connectedTo(idx);
        return c;
      } catch (e) {
        last = e instanceof Error ? e : new Error(String(e));
        this.policy.failed(idx);
        if (this.addrs.length > 1) this.log.warn('registry unreachable', { registry: this.fmt(idx), err: last.message, next: this.fmt(this.policy.index) });
        const wait = reconnectWait(i, this.addrs.length, this.backoffMs);
        if (i < total - 1 && wait > 0) await delay(wait);
      }
    }
    throw last instanceof ConnectionFailure ? last : new ConnectionFailure(last.message);
  }

  /** A connection (requests or events) reached address `idx`: a failover when it is another one than before. */
  private connectedTo(idx: number): void {
    const prev = this.policy.connectedIndex;
    if (!this.policy.connected(idx) || prev === undefined) return;
    const from = this.fmt(prev);
    const to = this.fmt(idx);
    this.log.warn('registry failover', { from, to, failovers: this.policy.failovers });
    try {
      this.onFailover?.(from, to);
    } catch (e) {
      this.log.error('failover handler threw', { err: e instanceof Error ? e.message : String(e) });
    }
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
    const fields: RegistryRequestFields<'register'> = { listen_addr: opts.listenAddr ?? '', public_key: this.signer().publicKeyBase64 };
    if (opts.owner) fields.owner = opts.owner;
    if (opts.behindNat !== undefined) fields.behind_nat = opts.behindNat;
    if (opts.hostname) fields.hostname = opts.hostname;
    const r = await this.call('register', fields);
    this.nodeId = r.node_id;
    return r;
  }

  async heartbeat(): Promise<HeartbeatOk> {
    const id = this.id();
    return this.call('heartbeat', { node_id: id, signature: this.sign(challenge.heartbeat(id)) });
  }

  async deregister(): Promise<void> {
    const id = this.id();
    await this.call('deregister', { node_id: id, signature: this.sign(challenge.deregister(id)) });
  }

  /** Signs with the current identity, then switches to `next`. */
  async rotateKey(next: RegistrySigner): Promise<ReplyFields<'rotate_key'>> {
    const id = this.id();
    const r = await this.call('rotate_key', { node_id: id, new_public_key: next.publicKeyBase64, signature: this.sign(challenge.rotate(id)) });
    this.identity = next;
    return r;
  }

  async lookup(nodeId: number, parent?: ParentLike): Promise<LookupOk> {
    return this.call('lookup', { node_id: nodeId }, parent);
  }

  async resolve(target: number, parent?: ParentLike): Promise<ResolveOk> {
    const id = this.id();
    return this.call('resolve', { node_id: target, requester_id: id, signature: this.sign(challenge.resolve(id, target)) }, parent);
  }

  async setVisibility(isPublic: boolean): Promise<ReplyFields<'set_visibility'>> {
    const id = this.id();
    return this.call('set_visibility', { node_id: id, public: isPublic, signature: this.sign(challenge.setVisibility(id)) });
  }

  // ------------------------------------------------------------------------------------------
  // Hostnames and tags

  async setHostname(hostname: string): Promise<ReplyFields<'set_hostname'>> {
    const id = this.id();
    return this.call('set_hostname', { node_id: id, hostname, signature: this.sign(challenge.setHostname(id)) });
  }

  /**
   * `withEndpoint` (our registry's extension): signed as this node, so the reply also carries what
   * `resolve` would give it (real_addr, public_key, behind_nat). A reference registry ignores the
   * signature and answers as to the plain form. Needs a registered client.
   */
  async resolveHostname(hostname: string, parent?: ParentLike, opts: { withEndpoint?: boolean } = {}): Promise<ResolveHostnameOk> {
    if (!opts.withEndpoint || this.nodeId === undefined || !this.identity) return this.call('resolve_hostname', { hostname }, parent);
    const id = this.nodeId;
    return this.call('resolve_hostname', { hostname, requester_id: id, signature: this.sign(extensionChallenge.resolveHostname(id, hostname)) }, parent);
  }

  async setTags(tags: string[]): Promise<ReplyFields<'set_tags'>> {
    const id = this.id();
    return this.call('set_tags', { node_id: id, tags, signature: this.sign(challenge.setTags(id)) });
  }

  async setTaskExec(enabled: boolean): Promise<ReplyFields<'set_task_exec'>> {
    const id = this.id();
    return this.call('set_task_exec', { node_id: id, enabled, signature: this.sign(challenge.setTaskExec(id)) });
  }

  // ------------------------------------------------------------------------------------------
  // Trust and handshakes

  async reportTrust(peer: number): Promise<void> {
    const id = this.id();
    await this.call('report_trust', { node_id: id, peer_id: peer, signature: this.sign(challenge.reportTrust(id, peer)) });
  }

  async revokeTrust(peer: number): Promise<void> {
    const id = this.id();
    await this.call('revoke_trust', { node_id: id, peer_id: peer, signature: this.sign(challenge.revokeTrust(id, peer)) });
  }

  async requestHandshake(to: number, justification: string): Promise<ReplyFields<'request_handshake'>> {
    const id = this.id();
    return this.call('request_handshake', {
      from_node_id: id,
      to_node_id: to,
      justification,
      signature: this.sign(challenge.handshake(id, to)),
    });
  }

  async pollHandshakes(): Promise<PollHandshakesOk> {
    const id = this.id();
    return this.call('poll_handshakes', { node_id: id, signature: this.sign(challenge.pollHandshakes(id)) });
  }

  async respondHandshake(peer: number, accept: boolean): Promise<ReplyFields<'respond_handshake'>> {
    const id = this.id();
    return this.call('respond_handshake', { node_id: id, peer_id: peer, accept, signature: this.sign(challenge.respond(id, peer)) });
  }

  async punch(nodeA: number, nodeB: number): Promise<PunchOk> {
    const id = this.id();
    return this.call('punch', { requester_id: id, node_a: nodeA, node_b: nodeB, signature: this.sign(challenge.punch(nodeA, nodeB)) });
  }

  // ------------------------------------------------------------------------------------------
  // Polo score, beacons

  async getPoloScore(nodeId: number): Promise<PoloScoreOk> {
    return this.call('get_polo_score', { node_id: nodeId });
  }
  async updatePoloScore(nodeId: number, delta: number): Promise<PoloScoreOk> {
    return this.call('update_polo_score', { node_id: nodeId, delta });
  }
  async setPoloScore(nodeId: number, score: number): Promise<PoloScoreOk> {
    return this.call('set_polo_score', { node_id: nodeId, polo_score: score });
  }
  async beaconRegister(beaconId: number, addr: string): Promise<void> {
    await this.call('beacon_register', { beacon_id: beaconId, addr });
  }
  async beaconList(): Promise<BeaconListOk> {
    return this.call('beacon_list', {});
  }

  // ------------------------------------------------------------------------------------------
  // Groups (extension)

  async listNetworks(): Promise<ListNetworksOk> {
    return this.call('list_networks', {});
  }

  async listNodes(network: number | string): Promise<ListNodesOk> {
    return this.call('list_nodes', typeof network === 'number' ? { network_id: network } : { network });
  }

  async createNetwork(name: string, opts: { joinRule?: JoinRule; token?: string; adminToken?: string } = {}): Promise<CreateNetworkOk> {
    const id = this.id();
    const fields: RegistryRequestFields<'create_network'> = {
      node_id: id,
      name,
      join_rule: opts.joinRule ?? 'open',
      signature: this.sign(extensionChallenge.createNetwork(id)),
    };
    if (opts.token !== undefined) fields.token = opts.token;
    if (opts.adminToken !== undefined) fields.admin_token = opts.adminToken;
    return this.call('create_network', fields);
  }

  /** Joins by id or by name (a name is resolved with list_networks first: the signature covers the id). */
  async joinNetwork(network: number | string, opts: { token?: string; inviterId?: number } = {}): Promise<JoinNetworkOk> {
    const id = this.id();
    const netId = await this.networkId(network);
    const fields: RegistryRequestFields<'join_network'> = { node_id: id, network_id: netId, signature: this.sign(extensionChallenge.joinNetwork(id, netId)) };
    if (opts.token !== undefined) fields.token = opts.token;
    if (opts.inviterId !== undefined) fields.inviter_id = opts.inviterId;
    return this.call('join_network', fields);
  }

  async leaveNetwork(network: number | string): Promise<LeaveNetworkOk> {
    const id = this.id();
    const netId = await this.networkId(network);
    return this.call('leave_network', { node_id: id, network_id: netId, signature: this.sign(extensionChallenge.leaveNetwork(id, netId)) });
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
    const fields: RegistryRequestFields<'find_nodes'> = {};
    if (q.tags) fields.tags = q.tags;
    if (q.anyTags) fields.any_tags = q.anyTags;
    if (q.networkId !== undefined) fields.network_id = q.networkId;
    if (q.network !== undefined) fields.network = q.network;
    if (q.hostnamePrefix !== undefined) fields.hostname_prefix = q.hostnamePrefix;
    if (q.limit !== undefined) fields.limit = q.limit;
    const auth = q.authenticated ?? (this.nodeId !== undefined && this.identity !== undefined);
    if (auth) {
      const id = this.id();
      fields.requester_id = id;
      fields.signature = this.sign(extensionChallenge.findNodes(id));
    }
    return this.call('find_nodes', fields);
  }

  // ------------------------------------------------------------------------------------------
  // Pushed events (extension)

  /** A pushed frame on a subscription: checked, handed to `onEvent`, or dropped and counted. */
  private deliverEvent(frame: unknown, onEvent: (e: RegistryEvent) => void): void {
    const d = decodeRegistryEvent(frame);
    if (!d.ok) {
      this.st.droppedEvents++;
      // a broken or hostile registry could send many: warn on the first and every 100th
      const level = this.st.droppedEvents % 100 === 1 ? 'warn' : 'debug';
      this.log[level]('dropped a malformed registry event', { problem: d.problem, dropped: this.st.droppedEvents });
      return;
    }
    try {
      onEvent(d.event);
    } catch (e) {
      this.log.error('registry event handler threw', { event: d.event.event, err: e instanceof Error ? e.message : String(e) });
    }
  }

  /**
   * Opens a dedicated connection, subscribes as this node and calls `onEvent` for every pushed
   * event. Reconnects (backoff up to 10 s) and re-subscribes until `close()`.
   */
  subscribeEvents(opts: EventSubscriptionOptions): EventSubscription {
    const nodeId = this.id();
    const signer = this.signer();
    const { connectTimeoutMs, timeoutMs, backoffMs, subs } = this;
    let conn: FramedConnection | undefined;
    let closed = false;
    let connected = false;
    let failures = 0;
    let settle: { resolve: () => void; reject: (e: Error) => void; done: boolean } | undefined;
    const ready = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject, done: false };
    });
    ready.catch(() => undefined); // marks it handled: a caller that never awaits it must not see an unhandled rejection
    const status = (c: boolean, error?: string): void => {
      connected = c;
      opts.onStatus?.(error === undefined ? { connected: c } : { connected: c, error });
    };
    /** The first subscription attempt's refusal ends the subscription; later ones are retried. */
    const refused = (c: FramedConnection, err: PilotError): void => {
      c.close();
      if (settle && !settle.done) {
        settle.done = true;
        settle.reject(err);
        closed = true;
        subs.delete(sub);
        return;
      }
      throw new ConnectionFailure(`subscription refused: ${err.hint ?? err.code}`);
    };

    const loop = async (): Promise<void> => {
      while (!closed) {
        const idx = this.policy.index;
        /** The registry answered, with a refusal: not a reason to move to another one. */
        let answered = false;
        try {
          const addr = this.addrs[idx]!;
          const c = await FramedConnection.connect(addr.host, addr.port, connectTimeoutMs);
          if (closed) {
            c.close();
            return;
          }
          // Reached: when this is another registry, the node registers there (onFailover) before
          // a refused subscription is tried again.
          this.connectedTo(idx);
          conn = c;
          const lost = new Promise<Error>((resolve) => {
            c.onClose = resolve;
          });
          c.onMessage = (m) => this.deliverEvent(m, opts.onEvent);
          const raw = await c.request(
            { type: 'subscribe_events', node_id: nodeId, signature: signer.signText(extensionChallenge.subscribeEvents(nodeId)) },
            timeoutMs,
          );
          const d = decodeRegistryReply('subscribe_events', raw);
          answered = d.kind !== 'ok';
          if (d.kind === 'error') {
            refused(c, new RegistryError(raw as Json));
            return;
          }
          if (d.kind === 'malformed') {
            refused(c, this.malformed('subscribe_events', d.problem));
            return;
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
        if (!answered) this.policy.failed(idx); // the next connection (this one or the requests') tries the next registry
        failures++;
        // With several registries the first retry goes to the next one at once.
        if (this.addrs.length > 1 && failures === 1) continue;
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
    loop().catch((e: unknown) => this.log.error('event subscription loop failed', { err: e instanceof Error ? e.message : String(e) }));
    return sub;
  }
}
