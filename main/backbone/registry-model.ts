/**
 * The registry's in-memory model: the tables and indexes, the change tracking that becomes store
 * records, the events waiting to be pushed, and the helpers that keep the indexes consistent.
 * Handlers (registry-nodes/names/trust/groups/beacons.ts) read and change it; registry-state.ts
 * is the one entry point (validation, dispatch) and registry-persist.ts turns it into records and
 * snapshots. Pure: no I/O, the time comes with every call.
 */
import {
  rfc3339,
  type EventKind,
  type RegistryEvent,
  type RegistryReply,
  type RegistryRequest,
  type RegistryRequestType,
  type JoinRule,
  type WireErrorCode,
} from '../wire/registry';
import { STALE_MS } from './protocol';
import type { TokenBucket } from '../util/token-bucket';

export interface RequestContext {
  /** IP of the TCP peer (IPv4-mapped IPv6 is normalised by the state). */
  sourceIp: string;
  sourcePort: number;
  /** Wall-clock milliseconds. */
  now: number;
}

/** Checks an Ed25519 signature: base64 public key, ASCII text, base64 signature. */
export type VerifyFn = (publicKeyB64: string, text: string, signatureB64: string) => boolean;

export interface PendingEvent {
  to: number[];
  event: RegistryEvent;
}

/** One message type's handler: validated request in, success reply out (failures throw Fail). */
export type Handler<K extends RegistryRequestType> = (m: RegistryModel, req: RegistryRequest<K>, ctx: RequestContext) => RegistryReply<K>;
/** The handler map: message type → request type → reply type. */
export type Handlers = { [K in RegistryRequestType]: Handler<K> };

export interface NodeEntry {
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

export interface NetworkEntry {
  id: number;
  name: string;
  joinRule: JoinRule;
  token: string | undefined;
  members: Set<number>;
  created: number;
}

export interface InboxRequest {
  from: number;
  justification: string;
  at: number;
}
export interface InboxResponse {
  from: number;
  accept: boolean;
  at: number;
}

/** A handler failure: becomes an error reply with this code and hint. */
export class Fail extends Error {
  constructor(
    readonly code: WireErrorCode,
    readonly hint: string,
  ) {
    super(hint);
  }
}

export const fail = (code: WireErrorCode, hint: string): never => {
  throw new Fail(code, hint);
};

export const pairKey = (a: number, b: number): string => (a < b ? `${a}:${b}` : `${b}:${a}`);

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

export function seenText(n: NodeEntry): string {
  if (n.seenText?.at !== n.lastSeen) n.seenText = { at: n.lastSeen, text: rfc3339(n.lastSeen) };
  return n.seenText.text;
}

export interface ModelOptions {
  verify: VerifyFn;
  adminToken: string | undefined;
  registerRate: number;
  now: number;
}

/** Tables, indexes and change tracking. Fields are open to the backbone's registry files only. */
export class RegistryModel {
  readonly nodes = new Map<number, NodeEntry>();
  readonly keyIdx = new Map<string, number>();
  readonly keyOf = new Map<number, string>();
  readonly ownerIdx = new Map<string, number>();
  readonly hostIdx = new Map<string, number>();
  readonly tagIdx = new Map<string, Set<number>>();
  /** Tag index and id set restricted to public nodes (anonymous search touches only these). */
  readonly pubTagIdx = new Map<string, Set<number>>();
  readonly publicIds = new Set<number>();
  readonly trust = new Map<number, Set<number>>();
  trustCount = 0;
  readonly nets = new Map<number, NetworkEntry>();
  readonly netByName = new Map<string, number>();
  /** Group memberships by node id; kept while a node is reaped (the id comes back with its key). */
  readonly groupsOf = new Map<number, Set<number>>();
  readonly inbox = new Map<number, InboxRequest[]>();
  readonly responses = new Map<number, InboxResponse[]>();
  readonly beacons = new Map<number, { addr: string; seen: number }>();
  readonly registerBuckets = new Map<string, TokenBucket>();
  nextNode = 1;
  nextNet = 1;
  startedAt: number;

  // change tracking (registry-persist.ts turns these into store records)
  readonly dNodes = new Set<number>();
  readonly dKeys = new Map<string, number | undefined>();
  readonly dOwners = new Set<string>();
  readonly dTrust = new Map<string, boolean>();
  readonly dInbox = new Set<number>();
  readonly dNets = new Set<number>();
  dCounters = false;
  events: PendingEvent[] = [];

  readonly verify: VerifyFn;
  readonly adminToken: string | undefined;
  readonly registerRate: number;

  constructor(opts: ModelOptions) {
    this.verify = opts.verify;
    this.adminToken = opts.adminToken;
    this.registerRate = opts.registerRate;
    this.startedAt = opts.now;
  }

  networksOf(id: number): number[] {
    const g = this.groupsOf.get(id);
    return g && g.size > 0 ? [0, ...[...g].sort((a, b) => a - b)] : [0];
  }

  groupsSet(id: number): Set<number> {
    let s = this.groupsOf.get(id);
    if (!s) {
      s = new Set();
      this.groupsOf.set(id, s);
    }
    return s;
  }

  node(id: number): NodeEntry {
    return this.nodes.get(id) ?? fail('not_found', `node ${id} is not registered`);
  }

  checkSig(n: NodeEntry, text: string, signature: string): void {
    if (signature === '') fail('bad_signature', `missing signature over "${text}"`);
    let ok: boolean;
    try {
      ok = this.verify(n.publicKey, text, signature);
    } catch {
      ok = false;
    }
    if (!ok) fail('bad_signature', `signature over "${text}" does not verify with node ${n.id}'s key`);
  }

  signedNode(id: number, text: string, signature: string): NodeEntry {
    const n = this.node(id);
    this.checkSig(n, text, signature);
    return n;
  }

  /** Adds a node to the tag index (and, when public, to the public indexes used by anonymous search). */
  indexNode(n: NodeEntry): void {
    addTo(this.tagIdx, n.tags, n.id);
    if (n.public) {
      addTo(this.pubTagIdx, n.tags, n.id);
      this.publicIds.add(n.id);
    }
  }
  unindexNode(n: NodeEntry): void {
    removeFrom(this.tagIdx, n.tags, n.id);
    removeFrom(this.pubTagIdx, n.tags, n.id);
    this.publicIds.delete(n.id);
  }

  setHostname(n: NodeEntry, h: string | undefined): void {
    if (n.hostname && this.hostIdx.get(n.hostname) === n.id) this.hostIdx.delete(n.hostname);
    n.hostname = h || undefined;
    if (n.hostname) this.hostIdx.set(n.hostname, n.id);
  }

  /** Drops a node from the node table (reaper / deregister / replay). */
  removeNode(id: number): void {
    const n = this.nodes.get(id);
    if (!n) return;
    this.setHostname(n, undefined);
    this.unindexNode(n);
    this.nodes.delete(id);
    this.dNodes.add(id);
  }

  addTrust(a: number, b: number): boolean {
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
  delTrust(a: number, b: number): boolean {
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
  trusted(a: number, b: number): boolean {
    return this.trust.get(a)?.has(b) ?? false;
  }
  shareGroup(a: number, b: number): boolean {
    const ga = this.groupsOf.get(a);
    if (!ga || ga.size === 0) return false;
    const gb = this.groupsOf.get(b);
    if (!gb || gb.size === 0) return false;
    const [small, big] = ga.size <= gb.size ? [ga, gb] : [gb, ga];
    for (const g of small) if (big.has(g)) return true;
    return false;
  }
  /** May `requester` (undefined = anonymous) see `target`'s endpoint / find it in a search? */
  visibleTo(target: NodeEntry, requester: number | undefined): boolean {
    if (target.public) return true;
    if (requester === undefined) return false;
    return requester === target.id || this.trusted(requester, target.id) || this.shareGroup(requester, target.id);
  }

  online(n: NodeEntry, now: number): boolean {
    return now - n.lastSeen < STALE_MS;
  }

  emit(to: Iterable<number>, kind: EventKind, now: number, fields: Omit<RegistryEvent, 'type' | 'event' | 'time'>): void {
    this.events.push({ to: [...new Set(to)], event: { type: 'event', event: kind, time: rfc3339(now), ...fields } });
  }

  network(ref: { network_id?: number | undefined; network?: string | undefined }): NetworkEntry {
    if (ref.network !== undefined && ref.network !== '') {
      const id = this.netByName.get(ref.network);
      return (id !== undefined ? this.nets.get(id) : undefined) ?? fail('not_found', `no network named "${ref.network}"`);
    }
    const id = ref.network_id ?? 0;
    if (id === 0) return fail('invalid_argument', 'network 0 (the backbone) is not a group');
    return this.nets.get(id) ?? fail('not_found', `network ${id} does not exist`);
  }

  newNode(id: number, key: string, owner: string | undefined, realAddr: string, now: number): NodeEntry {
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
}
