/**
 * The registry as a pure state machine (STYLE.md §6): requests in, replies out, plus the durable
 * records each change produced and the events to push to subscribers. No sockets, no timers; the
 * caller passes the wall-clock time with every call. Message semantics follow registry.md §2
 * (every reference message, same JSON), with networks ("groups"), pushed events and capability
 * search as compatible extensions.
 */
import { z } from 'zod';
import {
  INBOX_MAX,
  JOIN_RULES,
  errorReply,
  hostnameProblem,
  networkNameProblem,
  nodeAddress,
  normaliseTags,
  rfc3339,
  type EventKind,
  type FoundNode,
  type JoinRule,
  type NetworkMember,
  type RegistryEvent,
  type WireErrorCode,
} from '../wire/registry';
import { BEACON_TTL_MS, REGISTER_RATE_PER_MIN, STALE_MS, challenge } from './protocol';
import { TokenBucket } from './token-bucket';

export type Reply = { type: string } & Record<string, unknown>;
export interface CloseSignal {
  close: true;
  reply?: Reply;
}
export function isCloseSignal(x: Reply | CloseSignal): x is CloseSignal {
  return !('type' in x) && (x as CloseSignal).close === true;
}
export interface RequestContext {
  /** IP of the TCP peer (IPv4-mapped IPv6 is normalised by the state). */
  sourceIp: string;
  sourcePort: number;
  /** Wall-clock milliseconds. */
  now: number;
}

/** Checks an Ed25519 signature: base64 public key, ASCII text, base64 signature. */
export type VerifyFn = (publicKeyB64: string, text: string, signatureB64: string) => boolean;

export interface RegistryStateOptions {
  verify: VerifyFn;
  /** When set, create_network requires `admin_token` equal to it. */
  adminToken?: string;
  /** Wall-clock ms at start (the reaper grants every restored node a STALE_MS grace from here). */
  now: number;
  registerRatePerMin?: number;
}

export interface PendingEvent {
  to: number[];
  event: RegistryEvent;
}

// --------------------------------------------------------------------------------------------
// Persisted shapes (snapshot and WAL records). Close to the reference store file (registry.md §5).

const nodeJson = z.object({
  id: z.number().int().min(1).max(0xffffffff),
  owner: z.string().optional(),
  public_key: z.string(),
  real_addr: z.string().optional(),
  networks: z.array(z.number()).optional(),
  public: z.boolean().optional(),
  last_seen: z.string().optional(),
  hostname: z.string().optional(),
  tags: z.array(z.string()).nullable().optional(),
  polo_score: z.number().optional(),
  task_exec: z.boolean().optional(),
  behind_nat: z.boolean().optional(),
});
export type NodeJson = z.infer<typeof nodeJson>;

const netJson = z.object({
  id: z.number().int().min(1).max(0xffff),
  name: z.string(),
  join_rule: z.enum(JOIN_RULES),
  token: z.string().optional(),
  members: z.array(z.number()),
  created: z.string().optional(),
});
export type NetworkJson = z.infer<typeof netJson>;

const inboxReqJson = z.object({ from_node_id: z.number(), justification: z.string(), timestamp: z.string() });
const inboxRespJson = z.object({ from_node_id: z.number(), accept: z.boolean(), timestamp: z.string() });

export const storeRecord = z.discriminatedUnion('r', [
  z.object({ r: z.literal('node'), node: nodeJson }),
  z.object({ r: z.literal('node_del'), id: z.number() }),
  z.object({ r: z.literal('key'), key: z.string(), id: z.number() }),
  z.object({ r: z.literal('key_del'), key: z.string() }),
  z.object({ r: z.literal('owner'), owner: z.string(), id: z.number() }),
  z.object({ r: z.literal('trust'), pair: z.string(), on: z.boolean() }),
  z.object({ r: z.literal('inbox'), id: z.number(), requests: z.array(inboxReqJson), responses: z.array(inboxRespJson) }),
  z.object({ r: z.literal('net'), net: netJson }),
  z.object({ r: z.literal('counters'), next_node: z.number(), next_net: z.number() }),
]);
export type StoreRecord = z.infer<typeof storeRecord>;

export const snapshotJson = z.object({
  version: z.number().optional(),
  next_node: z.number(),
  next_net: z.number(),
  nodes: z.record(z.string(), nodeJson),
  networks: z.record(z.string(), z.unknown()).optional(),
  trust_pairs: z.array(z.string()).optional(),
  pub_key_idx: z.record(z.string(), z.number()).optional(),
  owner_idx: z.record(z.string(), z.number()).optional(),
  handshake_inbox: z.record(z.string(), z.array(inboxReqJson)).optional(),
  handshake_responses: z.record(z.string(), z.array(inboxRespJson)).optional(),
});
export type SnapshotJson = z.infer<typeof snapshotJson>;

// --------------------------------------------------------------------------------------------
// In-memory model.

interface NodeEntry {
  id: number;
  /** Memo of rfc3339(lastSeen) for search results. */
  seenText?: { at: number; text: string };
  owner: string | undefined;
  publicKey: string;
  realAddr: string;
  public: boolean;
  lastSeen: number;
  hostname: string | undefined;
  tags: string[];
  poloScore: number;
  taskExec: boolean;
  /** Extension: the node's own report of whether it sits behind a NAT (undefined: not reported). */
  behindNat?: boolean;
}

interface NetworkEntry {
  id: number;
  name: string;
  joinRule: JoinRule;
  token: string | undefined;
  members: Set<number>;
  created: number;
}

interface InboxRequest {
  from: number;
  justification: string;
  at: number;
}
interface InboxResponse {
  from: number;
  accept: boolean;
  at: number;
}

class Fail extends Error {
  constructor(
    readonly code: WireErrorCode,
    readonly hint: string,
  ) {
    super(hint);
  }
}

const fail = (code: WireErrorCode, hint: string): never => {
  throw new Fail(code, hint);
};

// --------------------------------------------------------------------------------------------
// Request schemas. Ids behave like the reference's float64 → uint conversion: anything that is not
// a number in range becomes 0 (which never names a node).

const u32 = z.unknown().transform((v) => (typeof v === 'number' && v >= 0 && v <= 0xffffffff ? Math.trunc(v) : 0));
const u16 = z.unknown().transform((v) => (typeof v === 'number' && v >= 0 && v <= 0xffff ? Math.trunc(v) : 0));
const str = z.string().optional().default('');
const sig = z.string().optional().default('');
const bool = z.boolean().optional().default(false);
const netRef = { network_id: u16.optional(), network: z.string().optional() };

const S = {
  register: z.object({ listen_addr: str, public_key: str, owner: str, hostname: str, behind_nat: z.boolean().optional() }),
  signedNode: z.object({ node_id: u32, signature: sig }),
  rotate: z.object({ node_id: u32, signature: sig, new_public_key: str }),
  lookup: z.object({ node_id: u32 }),
  resolve: z.object({ node_id: u32, requester_id: u32, signature: sig }),
  visibility: z.object({ node_id: u32, public: bool, signature: sig }),
  hostname: z.object({ node_id: u32, hostname: str, signature: sig }),
  resolveHostname: z.object({ hostname: str }),
  tags: z.object({ node_id: u32, tags: z.array(z.unknown()).nullable().optional(), signature: sig }),
  taskExec: z.object({ node_id: u32, enabled: bool, signature: sig }),
  trust: z.object({ node_id: u32, peer_id: u32, signature: sig }),
  requestHandshake: z.object({ from_node_id: u32, to_node_id: u32, justification: str, signature: sig }),
  respondHandshake: z.object({ node_id: u32, peer_id: u32, accept: bool, signature: sig }),
  punch: z.object({ requester_id: u32, node_a: u32, node_b: u32, signature: sig }),
  polo: z.object({ node_id: u32 }),
  poloUpdate: z.object({ node_id: u32, delta: z.number() }),
  poloSet: z.object({ node_id: u32, polo_score: z.number() }),
  beaconRegister: z.object({ beacon_id: u32, addr: str }),
  listNodes: z.object(netRef),
  createNetwork: z.object({
    node_id: u32,
    name: str,
    join_rule: z.enum(JOIN_RULES).optional().default('open'),
    token: str,
    admin_token: str,
    signature: sig,
  }),
  joinNetwork: z.object({ node_id: u32, ...netRef, token: str, inviter_id: u32.optional(), signature: sig }),
  leaveNetwork: z.object({ node_id: u32, ...netRef, signature: sig }),
  findNodes: z.object({
    requester_id: u32.optional(),
    signature: z.string().optional(),
    tags: z.array(z.string()).max(64).optional(),
    any_tags: z.array(z.string()).max(64).optional(),
    ...netRef,
    hostname_prefix: z.string().max(63).optional(),
    limit: z.number().int().min(1).optional(),
  }),
};

const FIND_DEFAULT_LIMIT = 100;
const FIND_MAX_LIMIT = 1000;

function parse<T extends z.ZodType>(schema: T, req: unknown): z.output<T> {
  const r = schema.safeParse(req);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    return fail('invalid_argument', `${where}${issue?.message ?? 'invalid request'}`);
  }
  return r.data;
}

const B64_32 = /^[A-Za-z0-9+/]{43}=$/;
function validPublicKey(k: string): boolean {
  return B64_32.test(k) && Buffer.from(k, 'base64').length === 32;
}

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
/** Port of "host:port" / "[v6]:port", or undefined. */
function portOf(addr: string): number | undefined {
  const m = /^(?:\[[^\]]*\]|[^:[\]]*):(\d{1,5})$/.exec(addr);
  if (!m) return undefined;
  const p = Number(m[1]);
  return p <= 0xffff ? p : undefined;
}

function addTo(idx: Map<string, Set<number>>, tags: readonly string[], id: number): void {
  for (const t of tags) {
    let s = idx.get(t);
    if (!s) {
      s = new Set();
      idx.set(t, s);
    }
    s.add(id);
  }
}
function removeFrom(idx: Map<string, Set<number>>, tags: readonly string[], id: number): void {
  for (const t of tags) {
    const s = idx.get(t);
    if (!s) continue;
    s.delete(id);
    if (s.size === 0) idx.delete(t);
  }
}

function seenText(n: NodeEntry): string {
  if (n.seenText?.at !== n.lastSeen) n.seenText = { at: n.lastSeen, text: rfc3339(n.lastSeen) };
  return n.seenText.text;
}

const pairKey = (a: number, b: number): string => (a < b ? `${a}:${b}` : `${b}:${a}`);

export interface StateCounts {
  nodes: number;
  online: number;
  groups: number;
  trustPairs: number;
  beacons: number;
  knownKeys: number;
}

export class RegistryState {
  private readonly nodes = new Map<number, NodeEntry>();
  private readonly keyIdx = new Map<string, number>();
  private readonly keyOf = new Map<number, string>();
  private readonly ownerIdx = new Map<string, number>();
  private readonly hostIdx = new Map<string, number>();
  private readonly tagIdx = new Map<string, Set<number>>();
  /** Tag index and id set restricted to public nodes (anonymous search touches only these). */
  private readonly pubTagIdx = new Map<string, Set<number>>();
  private readonly publicIds = new Set<number>();
  private readonly trust = new Map<number, Set<number>>();
  private trustCount = 0;
  private readonly nets = new Map<number, NetworkEntry>();
  private readonly netByName = new Map<string, number>();
  /** Group memberships by node id; kept while a node is reaped (the id comes back with its key). */
  private readonly groupsOf = new Map<number, Set<number>>();
  private readonly inbox = new Map<number, InboxRequest[]>();
  private readonly responses = new Map<number, InboxResponse[]>();
  private readonly beacons = new Map<number, { addr: string; seen: number }>();
  private readonly registerBuckets = new Map<string, TokenBucket>();
  private nextNode = 1;
  private nextNet = 1;
  private startedAt: number;

  // change tracking
  private readonly dNodes = new Set<number>();
  private readonly dKeys = new Map<string, number | undefined>();
  private readonly dOwners = new Set<string>();
  private readonly dTrust = new Map<string, boolean>();
  private readonly dInbox = new Set<number>();
  private readonly dNets = new Set<number>();
  private dCounters = false;
  private events: PendingEvent[] = [];

  private readonly verify: VerifyFn;
  private readonly adminToken: string | undefined;
  private readonly registerRate: number;

  constructor(opts: RegistryStateOptions) {
    this.verify = opts.verify;
    this.adminToken = opts.adminToken === '' ? undefined : opts.adminToken;
    this.startedAt = opts.now;
    this.registerRate = opts.registerRatePerMin ?? REGISTER_RATE_PER_MIN;
  }

  // ------------------------------------------------------------------------------------------
  // Entry point

  handle(request: unknown, ctx: RequestContext): Reply | CloseSignal {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return { close: true };
    const req = request as Record<string, unknown>;
    const type = req['type'];
    if (type === 'subscribe_replication') {
      return { close: true, reply: errorReply('permission_denied', 'replication is not enabled') };
    }
    const h = typeof type === 'string' && Object.hasOwn(this.handlers, type) ? this.handlers[type] : undefined;
    if (!h) return errorReply('invalid_argument', `unknown message type ${JSON.stringify(type ?? null)}`);
    try {
      return h(req, { ...ctx, sourceIp: normaliseIp(ctx.sourceIp) });
    } catch (e) {
      if (e instanceof Fail) return errorReply(e.code, e.hint);
      return errorReply('internal', e instanceof Error ? e.message : String(e));
    }
  }

  /** Durable records for every change since the last call (in order-insensitive "put" form). */
  takeRecords(): StoreRecord[] {
    const out: StoreRecord[] = [];
    if (this.dCounters) out.push({ r: 'counters', next_node: this.nextNode, next_net: this.nextNet });
    for (const [key, id] of this.dKeys) out.push(id === undefined ? { r: 'key_del', key } : { r: 'key', key, id });
    for (const owner of this.dOwners) {
      const id = this.ownerIdx.get(owner);
      if (id !== undefined) out.push({ r: 'owner', owner, id });
    }
    for (const id of this.dNodes) {
      const n = this.nodes.get(id);
      out.push(n ? { r: 'node', node: this.nodeToJson(n) } : { r: 'node_del', id });
    }
    for (const id of this.dNets) {
      const n = this.nets.get(id);
      if (n) out.push({ r: 'net', net: this.netToJson(n) });
    }
    for (const [pair, on] of this.dTrust) out.push({ r: 'trust', pair, on });
    for (const id of this.dInbox) out.push(this.inboxRecord(id));
    this.dCounters = false;
    this.dKeys.clear();
    this.dOwners.clear();
    this.dNodes.clear();
    this.dNets.clear();
    this.dTrust.clear();
    this.dInbox.clear();
    return out;
  }

  takeEvents(): PendingEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }

  /** Ids of a node's groups (non-zero networks), for routing events. */
  groupsOfNode(id: number): number[] {
    return [...(this.groupsOf.get(id) ?? [])];
  }

  /** Public key registered for a node id (also for reaped nodes), if any. */
  publicKeyOf(id: number): string | undefined {
    return this.keyOf.get(id);
  }

  // ------------------------------------------------------------------------------------------
  // Timers (driven by the server)

  /** Removes nodes not seen for STALE_MS (hostname and tags freed; key, owner, groups, trust and inboxes kept). */
  reap(now: number): number[] {
    const reaped: number[] = [];
    for (const n of this.nodes.values()) {
      if (now - Math.max(n.lastSeen, this.startedAt) > STALE_MS) reaped.push(n.id);
    }
    for (const id of reaped) this.removeNode(id);
    for (const [id, b] of this.beacons) if (now - b.seen > BEACON_TTL_MS) this.beacons.delete(id);
    for (const [ip, b] of this.registerBuckets) if (b.isFull(now)) this.registerBuckets.delete(ip);
    return reaped;
  }

  counts(now: number): StateCounts {
    let online = 0;
    for (const n of this.nodes.values()) if (now - n.lastSeen < STALE_MS) online++;
    return {
      nodes: this.nodes.size,
      online,
      groups: this.nets.size,
      trustPairs: this.trustCount,
      beacons: this.beacons.size,
      knownKeys: this.keyIdx.size,
    };
  }

  // ------------------------------------------------------------------------------------------
  // Persistence

  snapshot(): SnapshotJson {
    const nodes: Record<string, NodeJson> = {};
    for (const n of this.nodes.values()) nodes[String(n.id)] = this.nodeToJson(n);
    const networks: Record<string, NetworkJson> = {};
    for (const n of this.nets.values()) networks[String(n.id)] = this.netToJson(n);
    const trustPairs: string[] = [];
    for (const [a, peers] of this.trust) for (const b of peers) if (a < b) trustPairs.push(`${a}:${b}`);
    const inbox: SnapshotJson['handshake_inbox'] = {};
    const resp: SnapshotJson['handshake_responses'] = {};
    for (const id of new Set([...this.inbox.keys(), ...this.responses.keys()])) {
      const rec = this.inboxRecord(id);
      if (rec.requests.length > 0) inbox[String(id)] = rec.requests;
      if (rec.responses.length > 0) resp[String(id)] = rec.responses;
    }
    return {
      version: 1,
      next_node: this.nextNode,
      next_net: this.nextNet,
      nodes,
      networks,
      trust_pairs: trustPairs,
      pub_key_idx: Object.fromEntries(this.keyIdx),
      owner_idx: Object.fromEntries(this.ownerIdx),
      handshake_inbox: inbox,
      handshake_responses: resp,
    };
  }

  /** Loads a snapshot and replays records over it (invalid records are skipped and counted). */
  restore(snapshot: unknown, records: readonly unknown[], now: number): { skipped: number } {
    let skipped = 0;
    if (snapshot !== undefined) {
      const s = snapshotJson.parse(snapshot);
      this.nextNode = Math.max(1, s.next_node);
      this.nextNet = Math.max(1, s.next_net);
      for (const [k, id] of Object.entries(s.pub_key_idx ?? {})) this.putKey(k, id);
      for (const [o, id] of Object.entries(s.owner_idx ?? {})) this.ownerIdx.set(o, id);
      for (const nj of Object.values(s.nodes)) this.putNode(nj);
      for (const raw of Object.values(s.networks ?? {})) {
        const r = netJson.safeParse(raw);
        if (r.success) this.putNet(r.data);
        else skipped++; // e.g. the reference's network 0 entry
      }
      for (const p of s.trust_pairs ?? []) this.putTrust(p, true);
      for (const [id, reqs] of Object.entries(s.handshake_inbox ?? {})) this.putInbox(Number(id), reqs, undefined);
      for (const [id, resps] of Object.entries(s.handshake_responses ?? {})) this.putInbox(Number(id), undefined, resps);
    }
    for (const raw of records) {
      const r = storeRecord.safeParse(raw);
      if (!r.success) {
        skipped++;
        continue;
      }
      this.applyRecord(r.data);
    }
    this.startedAt = now;
    this.takeRecords();
    this.events = [];
    return { skipped };
  }

  private applyRecord(r: StoreRecord): void {
    switch (r.r) {
      case 'node':
        this.putNode(r.node);
        break;
      case 'node_del':
        if (this.nodes.has(r.id)) this.removeNode(r.id);
        break;
      case 'key':
        this.putKey(r.key, r.id);
        break;
      case 'key_del': {
        const id = this.keyIdx.get(r.key);
        this.keyIdx.delete(r.key);
        if (id !== undefined && this.keyOf.get(id) === r.key) this.keyOf.delete(id);
        break;
      }
      case 'owner':
        this.ownerIdx.set(r.owner, r.id);
        break;
      case 'trust':
        this.putTrust(r.pair, r.on);
        break;
      case 'inbox':
        this.putInbox(r.id, r.requests, r.responses);
        break;
      case 'net':
        this.putNet(r.net);
        break;
      case 'counters':
        this.nextNode = Math.max(1, r.next_node);
        this.nextNet = Math.max(1, r.next_net);
        break;
    }
  }

  private putKey(key: string, id: number): void {
    this.keyIdx.set(key, id);
    this.keyOf.set(id, key);
  }

  private putNode(j: NodeJson): void {
    const existing = this.nodes.get(j.id);
    if (existing) this.removeNode(j.id);
    const lastSeen = j.last_seen ? Date.parse(j.last_seen) : 0;
    const n: NodeEntry = {
      id: j.id,
      owner: j.owner || undefined,
      publicKey: j.public_key,
      realAddr: j.real_addr ?? '',
      public: j.public ?? false,
      lastSeen: Number.isFinite(lastSeen) ? lastSeen : 0,
      hostname: j.hostname || undefined,
      tags: [...(j.tags ?? [])],
      poloScore: Math.trunc(j.polo_score ?? 0),
      taskExec: j.task_exec ?? false,
      ...(j.behind_nat !== undefined ? { behindNat: j.behind_nat } : {}),
    };
    this.nodes.set(n.id, n);
    if (n.hostname) this.hostIdx.set(n.hostname, n.id);
    this.indexNode(n);
    if (!this.keyIdx.has(n.publicKey)) this.putKey(n.publicKey, n.id);
    else this.keyOf.set(n.id, n.publicKey);
  }

  private putNet(j: NetworkJson): void {
    const old = this.nets.get(j.id);
    if (old) {
      for (const m of old.members) this.groupsOf.get(m)?.delete(j.id);
      this.netByName.delete(old.name);
    }
    const created = j.created ? Date.parse(j.created) : 0;
    const net: NetworkEntry = {
      id: j.id,
      name: j.name,
      joinRule: j.join_rule,
      token: j.token || undefined,
      members: new Set(j.members),
      created: Number.isFinite(created) ? created : 0,
    };
    this.nets.set(net.id, net);
    this.netByName.set(net.name, net.id);
    for (const m of net.members) this.groupsSet(m).add(net.id);
  }

  private putTrust(pair: string, on: boolean): void {
    const m = /^(\d+):(\d+)$/.exec(pair);
    if (!m) return;
    const a = Number(m[1]);
    const b = Number(m[2]);
    if (on) this.addTrust(a, b);
    else this.delTrust(a, b);
  }

  private putInbox(
    id: number,
    reqs: readonly z.infer<typeof inboxReqJson>[] | undefined,
    resps: readonly z.infer<typeof inboxRespJson>[] | undefined,
  ): void {
    if (reqs !== undefined) {
      if (reqs.length === 0) this.inbox.delete(id);
      else this.inbox.set(id, reqs.map((r) => ({ from: r.from_node_id, justification: r.justification, at: Date.parse(r.timestamp) || 0 })));
    }
    if (resps !== undefined) {
      if (resps.length === 0) this.responses.delete(id);
      else this.responses.set(id, resps.map((r) => ({ from: r.from_node_id, accept: r.accept, at: Date.parse(r.timestamp) || 0 })));
    }
  }

  private nodeToJson(n: NodeEntry): NodeJson {
    const j: NodeJson = { id: n.id, public_key: n.publicKey, networks: this.networksOf(n.id) };
    if (n.owner) j.owner = n.owner;
    if (n.realAddr) j.real_addr = n.realAddr;
    if (n.public) j.public = true;
    j.last_seen = rfc3339(n.lastSeen);
    if (n.hostname) j.hostname = n.hostname;
    if (n.tags.length > 0) j.tags = [...n.tags];
    if (n.poloScore !== 0) j.polo_score = n.poloScore;
    if (n.taskExec) j.task_exec = true;
    if (n.behindNat !== undefined) j.behind_nat = n.behindNat;
    return j;
  }

  private netToJson(n: NetworkEntry): NetworkJson {
    const j: NetworkJson = { id: n.id, name: n.name, join_rule: n.joinRule, members: [...n.members].sort((a, b) => a - b) };
    if (n.token) j.token = n.token;
    j.created = rfc3339(n.created);
    return j;
  }

  private inboxRecord(id: number): Extract<StoreRecord, { r: 'inbox' }> {
    return {
      r: 'inbox',
      id,
      requests: (this.inbox.get(id) ?? []).map((q) => ({ from_node_id: q.from, justification: q.justification, timestamp: rfc3339(q.at) })),
      responses: (this.responses.get(id) ?? []).map((q) => ({ from_node_id: q.from, accept: q.accept, timestamp: rfc3339(q.at) })),
    };
  }

  // ------------------------------------------------------------------------------------------
  // Helpers

  private networksOf(id: number): number[] {
    const g = this.groupsOf.get(id);
    return g && g.size > 0 ? [0, ...[...g].sort((a, b) => a - b)] : [0];
  }

  private groupsSet(id: number): Set<number> {
    let s = this.groupsOf.get(id);
    if (!s) {
      s = new Set();
      this.groupsOf.set(id, s);
    }
    return s;
  }

  private node(id: number): NodeEntry {
    return this.nodes.get(id) ?? fail('not_found', `node ${id} is not registered`);
  }

  private checkSig(n: NodeEntry, text: string, signature: string): void {
    if (signature === '') fail('bad_signature', `missing signature over "${text}"`);
    let ok: boolean;
    try {
      ok = this.verify(n.publicKey, text, signature);
    } catch {
      ok = false;
    }
    if (!ok) fail('bad_signature', `signature over "${text}" does not verify with node ${n.id}'s key`);
  }

  private signedNode(id: number, text: string, signature: string): NodeEntry {
    const n = this.node(id);
    this.checkSig(n, text, signature);
    return n;
  }

  /** Adds a node to the tag index (and, when public, to the public indexes used by anonymous search). */
  private indexNode(n: NodeEntry): void {
    addTo(this.tagIdx, n.tags, n.id);
    if (n.public) {
      addTo(this.pubTagIdx, n.tags, n.id);
      this.publicIds.add(n.id);
    }
  }
  private unindexNode(n: NodeEntry): void {
    removeFrom(this.tagIdx, n.tags, n.id);
    removeFrom(this.pubTagIdx, n.tags, n.id);
    this.publicIds.delete(n.id);
  }

  private setHostname(n: NodeEntry, h: string | undefined): void {
    if (n.hostname && this.hostIdx.get(n.hostname) === n.id) this.hostIdx.delete(n.hostname);
    n.hostname = h || undefined;
    if (n.hostname) this.hostIdx.set(n.hostname, n.id);
  }

  /** Drops a node from the node table (reaper / deregister / replay). */
  private removeNode(id: number): void {
    const n = this.nodes.get(id);
    if (!n) return;
    this.setHostname(n, undefined);
    this.unindexNode(n);
    this.nodes.delete(id);
    this.dNodes.add(id);
  }

  private addTrust(a: number, b: number): boolean {
    const sa = this.trust.get(a) ?? new Set<number>();
    if (sa.has(b)) return false;
    sa.add(b);
    this.trust.set(a, sa);
    const sb = this.trust.get(b) ?? new Set<number>();
    sb.add(a);
    this.trust.set(b, sb);
    this.trustCount++;
    return true;
  }
  private delTrust(a: number, b: number): boolean {
    const sa = this.trust.get(a);
    if (!sa?.has(b)) return false;
    sa.delete(b);
    if (sa.size === 0) this.trust.delete(a);
    const sb = this.trust.get(b);
    sb?.delete(a);
    if (sb && sb.size === 0) this.trust.delete(b);
    this.trustCount--;
    return true;
  }
  private trusted(a: number, b: number): boolean {
    return this.trust.get(a)?.has(b) ?? false;
  }
  private shareGroup(a: number, b: number): boolean {
    const ga = this.groupsOf.get(a);
    if (!ga || ga.size === 0) return false;
    const gb = this.groupsOf.get(b);
    if (!gb || gb.size === 0) return false;
    const [small, big] = ga.size <= gb.size ? [ga, gb] : [gb, ga];
    for (const g of small) if (big.has(g)) return true;
    return false;
  }
  /** May `requester` (undefined = anonymous) see `target`'s endpoint / find it in a search? */
  private visibleTo(target: NodeEntry, requester: number | undefined): boolean {
    if (target.public) return true;
    if (requester === undefined) return false;
    return requester === target.id || this.trusted(requester, target.id) || this.shareGroup(requester, target.id);
  }

  private online(n: NodeEntry, now: number): boolean {
    return now - n.lastSeen < STALE_MS;
  }

  private emit(to: Iterable<number>, kind: EventKind, now: number, fields: Omit<RegistryEvent, 'type' | 'event' | 'time'>): void {
    this.events.push({ to: [...new Set(to)], event: { type: 'event', event: kind, time: rfc3339(now), ...fields } });
  }

  private network(ref: { network_id?: number | undefined; network?: string | undefined }): NetworkEntry {
    if (ref.network !== undefined && ref.network !== '') {
      const id = this.netByName.get(ref.network);
      return (id !== undefined ? this.nets.get(id) : undefined) ?? fail('not_found', `no network named "${ref.network}"`);
    }
    const id = ref.network_id ?? 0;
    if (id === 0) return fail('invalid_argument', 'network 0 (the backbone) is not a group');
    return this.nets.get(id) ?? fail('not_found', `network ${id} does not exist`);
  }

  private newNode(id: number, key: string, owner: string | undefined, realAddr: string, now: number): NodeEntry {
    const n: NodeEntry = {
      id,
      owner,
      publicKey: key,
      realAddr,
      public: false,
      lastSeen: now,
      hostname: undefined,
      tags: [],
      poloScore: 0,
      taskExec: false,
    };
    this.nodes.set(id, n);
    this.dNodes.add(id);
    return n;
  }

  // ------------------------------------------------------------------------------------------
  // Handlers

  private readonly handlers: Record<string, (req: Record<string, unknown>, ctx: RequestContext) => Reply> = {
    register: (req, ctx) => {
      const m = parse(S.register, req);
      if (!validPublicKey(m.public_key)) fail('invalid_argument', 'public_key must be standard base64 of 32 bytes');
      const port = portOf(m.listen_addr);
      const realAddr = port !== undefined ? joinHostPort(ctx.sourceIp, port) : joinHostPort(ctx.sourceIp, ctx.sourcePort);
      const owner = m.owner || undefined;
      let n: NodeEntry;
      const knownId = this.keyIdx.get(m.public_key);
      if (knownId !== undefined) {
        const existing = this.nodes.get(knownId);
        if (existing) {
          n = existing;
          n.realAddr = realAddr;
          n.lastSeen = ctx.now;
          if (!n.owner && owner) {
            n.owner = owner;
            this.ownerIdx.set(owner, n.id);
            this.dOwners.add(owner);
          }
          this.dNodes.add(n.id);
        } else {
          n = this.newNode(knownId, m.public_key, owner, realAddr, ctx.now);
        }
      } else {
        let bucket = this.registerBuckets.get(ctx.sourceIp);
        if (!bucket) {
          bucket = new TokenBucket(this.registerRate / 60, this.registerRate, ctx.now);
          this.registerBuckets.set(ctx.sourceIp, bucket);
        }
        if (!bucket.take(ctx.now)) fail('rate_limited', `more than ${this.registerRate} registrations per minute from ${ctx.sourceIp}`);
        const ownerId = owner !== undefined ? this.ownerIdx.get(owner) : undefined;
        if (ownerId !== undefined) {
          // The owner string acts as a bearer credential (registry.md §2.1 rule 3): replace the key.
          const oldKey = this.keyOf.get(ownerId);
          if (oldKey !== undefined && this.keyIdx.get(oldKey) === ownerId) {
            this.keyIdx.delete(oldKey);
            this.dKeys.set(oldKey, undefined);
          }
          const existing = this.nodes.get(ownerId);
          if (existing) {
            n = existing;
            n.publicKey = m.public_key;
            n.realAddr = realAddr;
            n.lastSeen = ctx.now;
            this.dNodes.add(n.id);
          } else {
            n = this.newNode(ownerId, m.public_key, owner, realAddr, ctx.now);
          }
        } else {
          const id = this.nextNode;
          if (id > 0xffffffff) fail('unavailable', 'node id space exhausted');
          this.nextNode++;
          this.dCounters = true;
          n = this.newNode(id, m.public_key, owner, realAddr, ctx.now);
          if (owner !== undefined) {
            this.ownerIdx.set(owner, id);
            this.dOwners.add(owner);
          }
        }
        this.keyIdx.set(m.public_key, n.id);
        this.keyOf.set(n.id, m.public_key);
        this.dKeys.set(m.public_key, n.id);
      }
      if (m.behind_nat !== undefined && n.behindNat !== m.behind_nat) {
        n.behindNat = m.behind_nat;
        this.dNodes.add(n.id);
      }
      const reply: Reply = {
        type: 'register_ok',
        node_id: n.id,
        network_id: 0,
        address: nodeAddress(n.id),
        public_key: n.publicKey,
      };
      if (m.hostname !== '') {
        const problem = hostnameProblem(m.hostname);
        if (problem) reply['hostname_error'] = problem;
        else {
          const holder = this.hostIdx.get(m.hostname);
          if (holder === undefined || holder === n.id) this.setHostname(n, m.hostname);
        }
      }
      if (n.hostname) reply['hostname'] = n.hostname;
      return reply;
    },

    heartbeat: (req, ctx) => {
      const m = parse(S.signedNode, req);
      const n = this.signedNode(m.node_id, challenge.heartbeat(m.node_id), m.signature);
      n.lastSeen = ctx.now; // not a durable change (see store.ts): snapshots carry last-seen
      return { type: 'heartbeat_ok', time: Math.floor(ctx.now / 1000) };
    },

    deregister: (req, ctx) => {
      const m = parse(S.signedNode, req);
      if (!this.nodes.has(m.node_id)) return { type: 'deregister_ok' };
      this.signedNode(m.node_id, challenge.deregister(m.node_id), m.signature);
      for (const g of this.groupsOf.get(m.node_id) ?? []) {
        const net = this.nets.get(g);
        if (!net) continue;
        net.members.delete(m.node_id);
        this.dNets.add(g);
        this.emit([...net.members, m.node_id], 'member_left', ctx.now, {
          network_id: g,
          name: net.name,
          node_id: m.node_id,
          reason: 'deregistered',
        });
      }
      this.groupsOf.delete(m.node_id);
      this.removeNode(m.node_id);
      return { type: 'deregister_ok' };
    },

    rotate_key: (req) => {
      const m = parse(S.rotate, req);
      const n = this.signedNode(m.node_id, challenge.rotateKey(m.node_id), m.signature);
      if (!validPublicKey(m.new_public_key)) fail('invalid_argument', 'new_public_key must be standard base64 of 32 bytes');
      const holder = this.keyIdx.get(m.new_public_key);
      if (holder !== undefined && holder !== n.id) fail('already_exists', 'that key belongs to another node');
      if (this.keyIdx.get(n.publicKey) === n.id) {
        this.keyIdx.delete(n.publicKey);
        this.dKeys.set(n.publicKey, undefined);
      }
      n.publicKey = m.new_public_key;
      this.keyIdx.set(n.publicKey, n.id);
      this.keyOf.set(n.id, n.publicKey);
      this.dKeys.set(n.publicKey, n.id);
      this.dNodes.add(n.id);
      return { type: 'rotate_key_ok', node_id: n.id, address: nodeAddress(n.id), public_key: n.publicKey };
    },

    lookup: (req) => {
      const m = parse(S.lookup, req);
      const n = this.node(m.node_id);
      const reply: Reply = {
        type: 'lookup_ok',
        node_id: n.id,
        address: nodeAddress(n.id),
        networks: this.networksOf(n.id),
        public_key: n.publicKey,
        public: n.public,
        polo_score: n.poloScore,
      };
      if (n.hostname) reply['hostname'] = n.hostname;
      if (n.tags.length > 0) reply['tags'] = [...n.tags];
      if (n.taskExec) reply['task_exec'] = true;
      if (n.behindNat !== undefined) reply['behind_nat'] = n.behindNat;
      if (n.public && n.realAddr) reply['real_addr'] = n.realAddr;
      return reply;
    },

    resolve: (req) => {
      const m = parse(S.resolve, req);
      this.signedNode(m.requester_id, challenge.resolve(m.requester_id, m.node_id), m.signature);
      const target = this.node(m.node_id);
      if (!this.visibleTo(target, m.requester_id)) {
        fail('permission_denied', `node ${target.id} is private and shares no trust pair or group with node ${m.requester_id}`);
      }
      return { type: 'resolve_ok', node_id: target.id, real_addr: target.realAddr };
    },

    set_visibility: (req) => {
      const m = parse(S.visibility, req);
      const n = this.signedNode(m.node_id, challenge.setVisibility(m.node_id), m.signature);
      if (n.public !== m.public) {
        this.unindexNode(n);
        n.public = m.public;
        this.indexNode(n);
      }
      this.dNodes.add(n.id);
      return { type: 'set_visibility_ok', node_id: n.id, visibility: n.public ? 'public' : 'private' };
    },

    set_hostname: (req) => {
      const m = parse(S.hostname, req);
      const n = this.signedNode(m.node_id, challenge.setHostname(m.node_id), m.signature);
      const problem = hostnameProblem(m.hostname);
      if (problem) fail('invalid_argument', problem);
      const holder = m.hostname === '' ? undefined : this.hostIdx.get(m.hostname);
      if (holder !== undefined && holder !== n.id) fail('already_exists', `hostname "${m.hostname}" is taken by another node`);
      this.setHostname(n, m.hostname);
      this.dNodes.add(n.id);
      return { type: 'set_hostname_ok', node_id: n.id, hostname: n.hostname ?? '' };
    },

    resolve_hostname: (req) => {
      const m = parse(S.resolveHostname, req);
      const id = m.hostname === '' ? undefined : this.hostIdx.get(m.hostname);
      const n = id !== undefined ? this.nodes.get(id) : undefined;
      if (!n) return fail('not_found', `no node has hostname "${m.hostname}"`);
      return { type: 'resolve_hostname_ok', node_id: n.id, address: nodeAddress(n.id), public: n.public, hostname: m.hostname };
    },

    set_tags: (req) => {
      const m = parse(S.tags, req);
      const n = this.signedNode(m.node_id, challenge.setTags(m.node_id), m.signature);
      const r = normaliseTags(m.tags ?? []);
      if ('problem' in r) return fail('invalid_argument', `${r.problem} (tags: 1-32 chars of [a-z0-9-], at most 10)`);
      this.unindexNode(n);
      n.tags = r.tags;
      this.indexNode(n);
      this.dNodes.add(n.id);
      return { type: 'set_tags_ok', node_id: n.id, tags: n.tags.length > 0 ? [...n.tags] : null };
    },

    set_task_exec: (req) => {
      const m = parse(S.taskExec, req);
      const n = this.signedNode(m.node_id, challenge.setTaskExec(m.node_id), m.signature);
      n.taskExec = m.enabled;
      this.dNodes.add(n.id);
      return { type: 'set_task_exec_ok', node_id: n.id, task_exec: n.taskExec };
    },

    report_trust: (req, ctx) => {
      const m = parse(S.trust, req);
      this.signedNode(m.node_id, challenge.reportTrust(m.node_id, m.peer_id), m.signature);
      this.node(m.peer_id);
      if (m.peer_id === m.node_id) fail('invalid_argument', 'a node cannot trust itself');
      if (this.addTrust(m.node_id, m.peer_id)) {
        this.dTrust.set(pairKey(m.node_id, m.peer_id), true);
        this.emit([m.node_id, m.peer_id], 'trust_changed', ctx.now, { node_id: m.node_id, peer_id: m.peer_id, trusted: true });
      }
      return { type: 'report_trust_ok' };
    },

    revoke_trust: (req, ctx) => {
      const m = parse(S.trust, req);
      this.signedNode(m.node_id, challenge.revokeTrust(m.node_id, m.peer_id), m.signature);
      if (!this.delTrust(m.node_id, m.peer_id)) fail('not_found', `no trust pair ${pairKey(m.node_id, m.peer_id)}`);
      this.dTrust.set(pairKey(m.node_id, m.peer_id), false);
      this.emit([m.node_id, m.peer_id], 'trust_changed', ctx.now, { node_id: m.node_id, peer_id: m.peer_id, trusted: false });
      return { type: 'revoke_trust_ok' };
    },

    request_handshake: (req, ctx) => {
      const m = parse(S.requestHandshake, req);
      this.signedNode(m.from_node_id, challenge.requestHandshake(m.from_node_id, m.to_node_id), m.signature);
      this.node(m.to_node_id);
      const box = this.inbox.get(m.to_node_id) ?? [];
      if (box.length >= INBOX_MAX) fail('unavailable', `node ${m.to_node_id}'s handshake inbox is full (${INBOX_MAX})`);
      if (box.some((r) => r.from === m.from_node_id)) fail('already_exists', `a request from node ${m.from_node_id} is already pending`);
      box.push({ from: m.from_node_id, justification: m.justification, at: ctx.now });
      this.inbox.set(m.to_node_id, box);
      this.dInbox.add(m.to_node_id);
      this.emit([m.to_node_id], 'handshake_request', ctx.now, {
        node_id: m.from_node_id,
        peer_id: m.to_node_id,
        justification: m.justification,
      });
      return { type: 'request_handshake_ok', status: 'delivered' };
    },

    poll_handshakes: (req) => {
      const m = parse(S.signedNode, req);
      this.signedNode(m.node_id, challenge.pollHandshakes(m.node_id), m.signature);
      const reqs = this.inbox.get(m.node_id) ?? [];
      const resps = this.responses.get(m.node_id) ?? [];
      if (reqs.length > 0 || resps.length > 0) {
        this.inbox.delete(m.node_id);
        this.responses.delete(m.node_id);
        this.dInbox.add(m.node_id);
      }
      return {
        type: 'poll_handshakes_ok',
        requests: reqs.map((r) => ({ from_node_id: r.from, justification: r.justification, timestamp: Math.floor(r.at / 1000) })),
        responses: resps.map((r) => ({ from_node_id: r.from, accept: r.accept, timestamp: Math.floor(r.at / 1000) })),
      };
    },

    respond_handshake: (req, ctx) => {
      const m = parse(S.respondHandshake, req);
      this.signedNode(m.node_id, challenge.respondHandshake(m.node_id, m.peer_id), m.signature);
      if (!this.keyOf.has(m.peer_id)) fail('not_found', `node ${m.peer_id} was never registered`);
      if (m.peer_id === m.node_id) fail('invalid_argument', 'a node cannot answer itself');
      if (m.accept && this.addTrust(m.node_id, m.peer_id)) {
        this.dTrust.set(pairKey(m.node_id, m.peer_id), true);
        this.emit([m.node_id, m.peer_id], 'trust_changed', ctx.now, { node_id: m.node_id, peer_id: m.peer_id, trusted: true });
      }
      const box = this.responses.get(m.peer_id) ?? [];
      box.push({ from: m.node_id, accept: m.accept, at: ctx.now });
      if (box.length > INBOX_MAX) box.splice(0, box.length - INBOX_MAX);
      this.responses.set(m.peer_id, box);
      this.dInbox.add(m.peer_id);
      this.emit([m.peer_id], 'handshake_response', ctx.now, { node_id: m.node_id, peer_id: m.peer_id, accept: m.accept });
      return { type: 'respond_handshake_ok', accept: m.accept, peer_id: m.peer_id };
    },

    punch: (req) => {
      const m = parse(S.punch, req);
      if (m.requester_id !== m.node_a && m.requester_id !== m.node_b) fail('permission_denied', 'requester must be node_a or node_b');
      this.signedNode(m.requester_id, challenge.punch(m.node_a, m.node_b), m.signature);
      const a = this.node(m.node_a);
      const b = this.node(m.node_b);
      return { type: 'punch_ok', node_a: a.id, node_a_addr: a.realAddr, node_b: b.id, node_b_addr: b.realAddr };
    },

    get_polo_score: (req) => {
      const m = parse(S.polo, req);
      const n = this.node(m.node_id);
      return { type: 'get_polo_score_ok', node_id: n.id, address: nodeAddress(n.id), polo_score: n.poloScore };
    },

    update_polo_score: (req, ctx) => {
      const m = parse(S.poloUpdate, req);
      const n = this.node(m.node_id);
      n.poloScore += Math.trunc(m.delta);
      n.lastSeen = ctx.now;
      this.dNodes.add(n.id);
      return { type: 'update_polo_score_ok', node_id: n.id, address: nodeAddress(n.id), polo_score: n.poloScore };
    },

    set_polo_score: (req) => {
      const m = parse(S.poloSet, req);
      const n = this.node(m.node_id);
      n.poloScore = Math.trunc(m.polo_score);
      this.dNodes.add(n.id);
      return { type: 'set_polo_score_ok', node_id: n.id, address: nodeAddress(n.id), polo_score: n.poloScore };
    },

    beacon_register: (req, ctx) => {
      const m = parse(S.beaconRegister, req);
      if (m.beacon_id === 0) fail('invalid_argument', 'beacon_id must be non-zero');
      if (portOf(m.addr) === undefined) fail('invalid_argument', 'addr must be ip:port');
      this.beacons.set(m.beacon_id, { addr: m.addr, seen: ctx.now });
      return { type: 'beacon_register_ok', beacon_id: m.beacon_id };
    },

    beacon_list: (_req, ctx) => {
      const beacons: { id: number; addr: string }[] = [];
      for (const [id, b] of this.beacons) if (ctx.now - b.seen <= BEACON_TTL_MS) beacons.push({ id, addr: b.addr });
      beacons.sort((a, b) => a.id - b.id);
      return { type: 'beacon_list_ok', beacons };
    },

    list_networks: (_req, ctx) => {
      const c = this.counts(ctx.now);
      const networks: Record<string, unknown>[] = [{ id: 0, name: 'backbone', members: c.nodes, online: c.online, join_rule: 'open' }];
      for (const net of [...this.nets.values()].sort((a, b) => a.id - b.id)) {
        let online = 0;
        for (const id of net.members) {
          const n = this.nodes.get(id);
          if (n && this.online(n, ctx.now)) online++;
        }
        networks.push({ id: net.id, name: net.name, members: net.members.size, online, join_rule: net.joinRule });
      }
      return { type: 'list_networks_ok', networks };
    },

    list_nodes: (req, ctx) => {
      const m = parse(S.listNodes, req);
      if ((m.network === undefined || m.network === '') && (m.network_id ?? 0) === 0) {
        fail('permission_denied', 'listing the backbone (network 0) is not allowed');
      }
      const net = this.network(m);
      const nodes: NetworkMember[] = [];
      for (const id of [...net.members].sort((a, b) => a - b)) {
        const n = this.nodes.get(id);
        const entry: NetworkMember = { node_id: id, address: nodeAddress(id, net.id), online: false };
        const key = n?.publicKey ?? this.keyOf.get(id);
        if (n) {
          if (n.hostname) entry.hostname = n.hostname;
          if (n.tags.length > 0) entry.tags = [...n.tags];
          entry.last_seen = rfc3339(n.lastSeen);
          entry.online = this.online(n, ctx.now);
          if (n.taskExec) entry.task_exec = true;
          if (n.public && n.realAddr) entry.real_addr = n.realAddr;
        }
        if (key !== undefined) entry.public_key = key;
        nodes.push(entry);
      }
      return { type: 'list_nodes_ok', network_id: net.id, name: net.name, nodes };
    },

    create_network: (req, ctx) => {
      const m = parse(S.createNetwork, req);
      if (this.adminToken !== undefined && m.admin_token !== this.adminToken) fail('permission_denied', 'admin token required');
      const n = this.signedNode(m.node_id, challenge.createNetwork(m.node_id), m.signature);
      const problem = networkNameProblem(m.name);
      if (problem) fail('invalid_argument', problem);
      if (this.netByName.has(m.name)) fail('already_exists', `network "${m.name}" already exists`);
      if (m.join_rule === 'token' && m.token === '') fail('invalid_argument', 'join_rule "token" needs a non-empty token');
      if (this.nextNet > 0xffff) fail('unavailable', 'network id space exhausted');
      const id = this.nextNet++;
      this.dCounters = true;
      const net: NetworkEntry = {
        id,
        name: m.name,
        joinRule: m.join_rule,
        token: m.join_rule === 'token' ? m.token : undefined,
        members: new Set([n.id]),
        created: ctx.now,
      };
      this.nets.set(id, net);
      this.netByName.set(net.name, id);
      this.groupsSet(n.id).add(id);
      this.dNets.add(id);
      this.dNodes.add(n.id);
      this.emit([n.id], 'network_created', ctx.now, { network_id: id, name: net.name, node_id: n.id });
      return { type: 'create_network_ok', network_id: id, name: net.name, join_rule: net.joinRule, address: nodeAddress(n.id, id) };
    },

    join_network: (req, ctx) => {
      const m = parse(S.joinNetwork, req);
      const net = this.network(m);
      const n = this.signedNode(m.node_id, challenge.joinNetwork(m.node_id, net.id), m.signature);
      if (net.members.has(n.id)) fail('already_exists', `node ${n.id} is already a member of "${net.name}"`);
      if (net.joinRule === 'token' && m.token !== net.token) fail('permission_denied', 'wrong or missing join token');
      if (net.joinRule === 'invite') {
        const inviter = m.inviter_id ?? 0;
        if (!net.members.has(inviter)) fail('permission_denied', `inviter ${inviter} is not a member of "${net.name}"`);
      }
      net.members.add(n.id);
      this.groupsSet(n.id).add(net.id);
      this.dNets.add(net.id);
      this.dNodes.add(n.id);
      this.emit(net.members, 'member_joined', ctx.now, { network_id: net.id, name: net.name, node_id: n.id });
      return { type: 'join_network_ok', network_id: net.id, name: net.name, address: nodeAddress(n.id, net.id) };
    },

    leave_network: (req, ctx) => {
      const m = parse(S.leaveNetwork, req);
      const net = this.network(m);
      const n = this.signedNode(m.node_id, challenge.leaveNetwork(m.node_id, net.id), m.signature);
      if (!net.members.has(n.id)) fail('not_found', `node ${n.id} is not a member of "${net.name}"`);
      net.members.delete(n.id);
      this.groupsOf.get(n.id)?.delete(net.id);
      this.dNets.add(net.id);
      this.dNodes.add(n.id);
      this.emit([...net.members, n.id], 'member_left', ctx.now, { network_id: net.id, name: net.name, node_id: n.id, reason: 'left' });
      return { type: 'leave_network_ok', network_id: net.id };
    },

    subscribe_events: (req) => {
      const m = parse(S.signedNode, req);
      this.signedNode(m.node_id, challenge.subscribeEvents(m.node_id), m.signature);
      return { type: 'subscribe_events_ok', node_id: m.node_id };
    },

    find_nodes: (req, ctx) => {
      const m = parse(S.findNodes, req);
      let requester: number | undefined;
      if (m.requester_id !== undefined && m.requester_id !== 0) {
        this.signedNode(m.requester_id, challenge.findNodes(m.requester_id), m.signature ?? '');
        requester = m.requester_id;
      }
      const limit = Math.min(m.limit ?? FIND_DEFAULT_LIMIT, FIND_MAX_LIMIT);
      const all = (m.tags ?? []).map((t) => (t.startsWith('#') ? t.slice(1) : t));
      const any = (m.any_tags ?? []).map((t) => (t.startsWith('#') ? t.slice(1) : t));
      const hasNet = (m.network !== undefined && m.network !== '') || (m.network_id ?? 0) !== 0;
      const net = hasNet ? this.network(m) : undefined;

      const anySet = any.length > 0 ? new Set(any) : undefined;
      const matches = (n: NodeEntry): boolean =>
        (all.length === 0 || all.every((t) => n.tags.includes(t))) &&
        (!anySet || n.tags.some((t) => anySet.has(t))) &&
        (!net || net.members.has(n.id)) &&
        (!m.hostname_prefix || (n.hostname ?? '').startsWith(m.hostname_prefix));
      /** The smallest id set that contains every match, from the given tag index (or the fallback). */
      const smallest = (idx: Map<string, Set<number>>, fallback: Iterable<number> & { size: number }): Iterable<number> & { size: number } => {
        let best: Iterable<number> & { size: number } = fallback;
        for (const t of all) {
          const s = idx.get(t);
          if (!s) return new Set<number>();
          if (s.size < best.size) best = s;
        }
        if (net && net.members.size < best.size) best = net.members;
        if (any.length > 0) {
          const union = new Set<number>();
          for (const t of any) for (const id of idx.get(t) ?? []) union.add(id);
          if (union.size < best.size) best = union;
        }
        return best;
      };
      const found: FoundNode[] = [];
      const take = (n: NodeEntry): boolean => {
        const f: FoundNode = {
          node_id: n.id,
          address: nodeAddress(n.id),
          tags: [...n.tags],
          public_key: n.publicKey,
          last_seen: seenText(n),
          online: this.online(n, ctx.now),
          public: n.public,
          networks: this.networksOf(n.id),
        };
        if (n.hostname) f.hostname = n.hostname;
        if (n.taskExec) f.task_exec = true;
        found.push(f);
        return found.length >= limit;
      };
      // 1. public nodes, from the public-only indexes
      for (const id of smallest(this.pubTagIdx, this.publicIds)) {
        const n = this.nodes.get(id);
        if (n && n.public && matches(n) && take(n)) break;
      }
      // 2. private nodes the requester may see: itself, trusted peers, group mates
      if (requester !== undefined && found.length < limit) {
        const trusted = this.trust.get(requester);
        const groups = [...(this.groupsOf.get(requester) ?? [])].map((g) => this.nets.get(g)?.members ?? new Set<number>());
        const reach = 1 + (trusted?.size ?? 0) + groups.reduce((a, g) => a + g.size, 0);
        const nodes = this.nodes;
        const allIds = { get size() { return nodes.size; }, [Symbol.iterator]: () => nodes.keys() };
        const scan = smallest(this.tagIdx, allIds);
        const seen = new Set<number>();
        const consider = (id: number): boolean => {
          if (seen.has(id)) return false;
          seen.add(id);
          const n = this.nodes.get(id);
          return n !== undefined && !n.public && matches(n) && take(n);
        };
        if (reach <= scan.size) {
          // few reachable nodes: walk them
          const sources: Iterable<number>[] = [[requester], trusted ?? [], ...groups];
          outer: for (const src of sources) for (const id of src) if (consider(id)) break outer;
        } else {
          for (const id of scan) {
            const n = this.nodes.get(id);
            if (n && !n.public && this.visibleTo(n, requester) && consider(id)) break;
          }
        }
      }
      found.sort((a, b) => a.node_id - b.node_id);
      return { type: 'find_nodes_ok', nodes: found };
    },
  };
}
