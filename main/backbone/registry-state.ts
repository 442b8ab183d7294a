/**
 * The registry as a pure state machine (STYLE.md §6): requests in, replies out, plus the durable
 * records each change produced and the events to push to subscribers. No sockets, no timers; the
 * caller passes the wall-clock time with every call. Message semantics follow registry.md §2
 * (every reference message, same JSON), with networks ("groups"), pushed events and capability
 * search as compatible extensions.
 *
 * This file is the entry point: it validates each request once against the wire codec's schema
 * (main/wire/registry.ts) and dispatches it through the typed handler map, whose handlers live by
 * domain: registry-nodes.ts (identity, presence, polo score, punch), registry-names.ts (hostnames,
 * tags, find_nodes), registry-trust.ts (trust and handshakes), registry-groups.ts (groups and
 * event subscriptions), registry-beacons.ts. The tables are in registry-model.ts, their
 * persistent form in registry-persist.ts.
 */
import { errorReply, isRegistryRequestType, parseRegistryRequest, type RegistryRequestType } from '../wire/registry';
import { BEACON_TTL_MS, REGISTER_RATE_PER_MIN, STALE_MS } from './protocol';
import { beaconHandlers } from './registry-beacons';
import { groupHandlers } from './registry-groups';
import { Fail, RegistryModel, type Handlers, type PendingEvent, type RequestContext, type VerifyFn } from './registry-model';
import { nameHandlers } from './registry-names';
import { nodeHandlers } from './registry-nodes';
import { applyMirror, restore, snapshot, takeRecords, type MirrorRecord, type SnapshotJson, type StoreRecord } from './registry-persist';
import { trustHandlers } from './registry-trust';

export type { PendingEvent, RequestContext, VerifyFn } from './registry-model';
export { snapshotJson, storeRecord } from './registry-persist';
export type { MirrorRecord, NetworkJson, NodeJson, SnapshotJson, StoreRecord } from './registry-persist';

export type Reply = { type: string } & Record<string, unknown>;
export interface CloseSignal {
  close: true;
  reply?: Reply;
}
export function isCloseSignal(x: Reply | CloseSignal): x is CloseSignal {
  return !('type' in x) && (x as CloseSignal).close === true;
}

export interface RegistryStateOptions {
  verify: VerifyFn;
  /** When set, create_network requires `admin_token` equal to it. */
  adminToken?: string;
  /** Wall-clock ms at start (the reaper grants every restored node a STALE_MS grace from here). */
  now: number;
  registerRatePerMin?: number;
}

export interface StateCounts {
  nodes: number;
  online: number;
  groups: number;
  trustPairs: number;
  beacons: number;
  knownKeys: number;
}

/** Every message type's handler (the compiler checks that none is missing). */
const handlers: Handlers = { ...nodeHandlers, ...nameHandlers, ...trustHandlers, ...groupHandlers, ...beaconHandlers };

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export class RegistryState {
  private readonly m: RegistryModel;

  /**
   * May the beacon coordinate a punch from `requester` (claimed in an unauthenticated datagram that
   * came from `from`) towards `target`? Public and unknown targets: yes (the reference's behaviour).
   * A private target: only for a requester that may see it (resolve's rule) and whose datagram came
   * from the endpoint it registered, so that claiming a trusted node's id is not enough.
   */
  punchAllowed(requester: number, target: number, from: string): boolean {
    const t = this.m.nodes.get(target);
    if (!t || t.public) return true;
    const r = this.m.nodes.get(requester);
    return !!r && r.realAddr === from && this.m.visibleTo(t, requester);
  }

  constructor(opts: RegistryStateOptions) {
    this.m = new RegistryModel({
      verify: opts.verify,
      adminToken: opts.adminToken === '' ? undefined : opts.adminToken,
      registerRate: opts.registerRatePerMin ?? REGISTER_RATE_PER_MIN,
      now: opts.now,
    });
  }

  // ------------------------------------------------------------------------------------------
  // Entry point

  handle(request: unknown, ctx: RequestContext): Reply | CloseSignal {
    if (typeof request !== 'object' || request === null || Array.isArray(request)) return { close: true };
    const type = (request as Record<string, unknown>)['type'];
    if (type === 'subscribe_replication') {
      return { close: true, reply: errorReply('permission_denied', 'replication is not enabled') };
    }
    if (!isRegistryRequestType(type)) return errorReply('invalid_argument', `unknown message type ${JSON.stringify(type ?? null)}`);
    return this.dispatch(type, request, { ...ctx, sourceIp: normaliseIp(ctx.sourceIp) });
  }

  /** Validates the request against its schema (once, here) and runs its handler. */
  private dispatch<K extends RegistryRequestType>(type: K, request: object, ctx: RequestContext): Reply {
    const parsed = parseRegistryRequest(type, request);
    if (!parsed.ok) return errorReply('invalid_argument', parsed.hint);
    const handler: Handlers[K] = handlers[type];
    try {
      return handler(this.m, parsed.request, ctx);
    } catch (e) {
      if (e instanceof Fail) return errorReply(e.code, e.hint);
      return errorReply('internal', e instanceof Error ? e.message : String(e));
    }
  }

  /** Durable records for every change since the last call (in order-insensitive "put" form). */
  takeRecords(): StoreRecord[] {
    return takeRecords(this.m);
  }

  takeEvents(): PendingEvent[] {
    const e = this.m.events;
    this.m.events = [];
    return e;
  }

  /** Ids of a node's groups (non-zero networks), for routing events. */
  groupsOfNode(id: number): number[] {
    return [...(this.m.groupsOf.get(id) ?? [])];
  }

  /** Public key registered for a node id (also for reaped nodes), if any. */
  publicKeyOf(id: number): string | undefined {
    return this.m.keyOf.get(id);
  }

  // ------------------------------------------------------------------------------------------
  // Timers (driven by the server)

  /** Removes nodes not seen for STALE_MS (hostname and tags freed; key, owner, groups, trust and inboxes kept). */
  reap(now: number): number[] {
    const m = this.m;
    const reaped: number[] = [];
    for (const n of m.nodes.values()) {
      if (now - Math.max(n.lastSeen, m.startedAt) > STALE_MS) reaped.push(n.id);
    }
    for (const id of reaped) m.removeNode(id);
    for (const [id, b] of m.beacons) if (now - b.seen > BEACON_TTL_MS) m.beacons.delete(id);
    for (const [ip, b] of m.registerBuckets) if (b.isFull(now)) m.registerBuckets.delete(ip);
    return reaped;
  }

  counts(now: number): StateCounts {
    const m = this.m;
    let online = 0;
    for (const n of m.nodes.values()) if (m.online(n, now)) online++;
    return {
      nodes: m.nodes.size,
      online,
      groups: m.nets.size,
      trustPairs: m.trustCount,
      beacons: m.beacons.size,
      knownKeys: m.keyIdx.size,
    };
  }

  // ------------------------------------------------------------------------------------------
  // Persistence (registry-persist.ts)

  snapshot(): SnapshotJson {
    return snapshot(this.m);
  }

  /** Applies records from a replicated directory to the running state (etcd mirror); no change tracking. */
  applyMirror(records: readonly MirrorRecord[]): void {
    applyMirror(this.m, records);
  }

  /** The next node id registration hands out. */
  nextNodeId(): number {
    return this.m.nextNode;
  }

  /**
   * Sets the next node id without a durable change (the etcd directory hands each instance a
   * block of ids and points the state into it around each batch).
   */
  setNextNodeId(id: number): void {
    this.m.nextNode = id;
  }

  /** Marks nodes seen at `now` without a durable change (the etcd mirror: nodes another instance serves). */
  touchSeen(ids: Iterable<number>, now: number): void {
    for (const id of ids) {
      const n = this.m.nodes.get(id);
      if (n && n.lastSeen < now) n.lastSeen = now;
    }
  }

  /** Loads a snapshot and replays records over it (invalid records are skipped and counted). */
  restore(snap: unknown, records: readonly unknown[], now: number): { skipped: number } {
    return restore(this.m, snap, records, now);
  }
}
