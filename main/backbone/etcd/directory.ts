/**
 * The registry directory kept in etcd, so that several backbone instances serve one directory.
 * The thin driver around keyspace.ts (the pure codec) and RegistryState (the pure registry).
 *
 * Mirror. At start the instance reads the whole prefix at revision R into its RegistryState (and
 * a key → {value, mod revision} cache), then watches the prefix from R+1. Every change any
 * instance commits reaches every mirror through the watch. Reads (lookup, resolve, find_nodes)
 * are answered from the mirror: they see other instances' writes once the watch delivers them
 * (typically within a millisecond on a LAN); an instance always sees its own acknowledged writes.
 *
 * Writes (optimistic, group commit). Requests queue; one batch at a time runs its requests in
 * order on the local state (speculatively), turns the put-form records into etcd writes and sends
 * ONE transaction whose compares are the mod revisions the mirror holds for every key it writes
 * (0 = absent). Hostnames are claimed through `name/<host>` keys, so two instances claiming one
 * hostname at the same moment write the same key and exactly one commits. Node ids come from
 * blocks of 256 that an instance reserves by moving the `counters` key (compare-and-swap), so
 * registrations at different instances do not all contend for that one key (ids are unique, not
 * dense: a block an instance does not use up is a gap); `node/<id>` is compared too, so an id
 * cannot be created twice even so. Replies (and pushed events) go out only after the commit
 * (etcd acknowledges after a majority of members has it in its log). On a failed compare the
 * transaction's else-branch returns, at one revision, the current value of every key the batch
 * touched plus every key in the prefix modified since the mirror's revision; those are applied
 * (this also undoes the speculative change) and the batch runs again (from the second retry on
 * after a random pause of up to 25 ms): at most 50 times, then `unavailable`. On an etcd error or
 * timeout the outcome is unknown: the touched keys are
 * restored from the cache, re-read once etcd answers, and the batch runs again; re-running is
 * safe because the records are in put form (a registration that did commit is found by its key
 * and answered with the same id; an unchanged value is not written again; the etcd client itself
 * retries a transaction whose leader went away, and one that had committed then compares false and
 * is re-run the same way). Node ids an attempt handed out are never handed out again, and a node it
 * creates must not exist in etcd (compare against revision 0). After 20 s without
 * etcd the batch fails with `unavailable`. Reads queue behind a batch in flight, so no reply is
 * built from speculative state.
 *
 * Events. A transaction whose requests produced pushed events (group membership, trust,
 * handshakes) also rewrites the `events` key with them; every other instance's watch sees each
 * revision of it and pushes those events to its own subscribers, so a node subscribed at one
 * instance hears of a handshake requested through another.
 *
 * Liveness. Heartbeats are not etcd writes. Each instance holds one lease (TTL 10 s, kept alive)
 * and writes `online/<id>` = its instance id under it when a node registers or heartbeats at it
 * and the key is not already its own. Nodes whose online key belongs to another instance are
 * marked seen every 2 s, so only the instance that serves a node reaps it; when an instance dies
 * its lease expires, its online keys vanish, and its nodes re-appear as soon as they heartbeat at
 * another instance (or are reaped by one after STALE_MS). A node whose only change is last_seen
 * (a re-registration from the same address) is not rewritten.
 *
 * When the watch reconnects (its etcd member went away) the instance also reads every key modified
 * since the mirror's revision: the etcd3 client resumes a watch from the revision in the last
 * header it saw, which can be past events not yet delivered.
 *
 * Not handled: a `create_network` whose commit was lost to an etcd failure is re-run and answered
 * `already_exists` (the group exists; the reply says so, not that this request made it); etcd
 * compaction of revisions the watch still needs (etcd 3.4 does not compact by default; with
 * auto-compaction, a watch that falls behind it logs an error and the instance must be
 * restarted); deletions missed that way or not yet delivered (until the watch brings them, a
 * request may be refused as if the key still existed).
 */
import { hostname as osHostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Etcd3, type IKeyValue, type ITxnResponse, type Lease, type Watcher } from 'etcd3';
import { PilotError } from '../../../shared/errors';
import type { Clock, TimerHandle } from '../../util/clock';
import type { Logger } from '../../util/log';
import { errorReply } from '../../wire/registry';
import type { RequestExecutor } from '../registry-server';
import { isCloseSignal, type CloseSignal, type MirrorRecord, type PendingEvent, type RegistryState, type Reply, type RequestContext, type StoreRecord } from '../registry-state';
import { Keyspace, type CachedKv } from './keyspace';

export interface EtcdOptions {
  /** Client URLs of the etcd members, e.g. http://127.0.0.1:2379. */
  endpoints: string[];
  /** Key prefix of this directory (default /pilot/backbone/). */
  prefix?: string;
  /** How long a write keeps retrying while etcd does not commit it, before `unavailable` (default 20 s). */
  unavailableAfterMs?: number;
}

export interface EtcdDirectoryOptions extends EtcdOptions {
  state: RegistryState;
  clock: Clock;
  logger: Logger;
  /** Lease TTL of this instance's online keys (default 10 s). */
  leaseTtlSec?: number;
  /** Requests per transaction at most (default 32). */
  maxBatch?: number;
}

export interface EtcdDirectoryStats {
  instance: string;
  endpoints: string[];
  prefix: string;
  /** Revision the mirror has applied up to. */
  revision: number;
  keys: number;
  batches: number;
  transactions: number;
  conflicts: number;
  etcdErrors: number;
  failedBatches: number;
  watchEvents: number;
  watchReconnects: number;
  /** Pushed events received from other instances' transactions. */
  remoteEvents: number;
  onlineKeysWritten: number;
  loadedKeys: number;
}

interface Outcome {
  out: Reply | CloseSignal;
  events: PendingEvent[];
  /** Nodes that registered or heartbeated here (their online key should be this instance's). */
  online: number[];
  /** Nodes reaped (their online keys are deleted). */
  reaped: number[];
}

interface Job {
  run: () => Outcome;
  /** May hand out a new node id (a registration). */
  allocates: boolean;
  resolve: (o: Outcome) => void;
  reject: (e: Error) => void;
}

interface Entry extends CachedKv {
  /** Revision at which this knowledge holds (watch events at or below it are old news). */
  seen: number;
}

/** Node ids an instance reserves at a time (the counters key moves once per block, not per registration). */
const ID_BLOCK = 256;
const MAX_OPS = 120; // etcd's default --max-txn-ops is 128
const MAX_CONFLICTS = 50;
const REFRESH_MS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class EtcdDirectory implements RequestExecutor {
  readonly ks: Keyspace;
  readonly instance: string;
  private readonly client: Etcd3;
  private readonly cache = new Map<string, Entry>();
  private readonly queue: Job[] = [];
  private running = false;
  private closed = false;
  private watcher: Watcher | undefined;
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private refreshTimer: TimerHandle | undefined;
  private eventSink: ((events: PendingEvent[]) => void) | undefined;
  private mirrorRev = 0;
  /** Node ids [next, end) reserved for this instance. */
  private ids = { next: 0, end: 0 };
  private readonly log: Logger;
  private readonly st = { batches: 0, transactions: 0, conflicts: 0, etcdErrors: 0, failedBatches: 0, watchEvents: 0, watchReconnects: 0, remoteEvents: 0, onlineKeysWritten: 0, loadedKeys: 0 };

  private constructor(private readonly o: EtcdDirectoryOptions) {
    if (o.endpoints.length === 0) throw new PilotError('invalid_argument', 'etcd mode needs at least one endpoint', 'e.g. --etcd http://127.0.0.1:2379');
    this.ks = new Keyspace(o.prefix);
    this.instance = `${osHostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.log = o.logger.child({ component: 'etcd-directory', instance: this.instance });
    this.client = new Etcd3({
      hosts: o.endpoints,
      dialTimeout: 3000,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 5000 }),
    });
  }

  /** Connects, loads the directory into the state, starts the watch and the lease. */
  static async open(o: EtcdDirectoryOptions): Promise<EtcdDirectory> {
    const d = new EtcdDirectory(o);
    try {
      await d.load();
    } catch (e) {
      await d.close();
      throw new PilotError('unavailable', `etcd directory: ${e instanceof Error ? e.message : String(e)}`, `is etcd reachable at ${o.endpoints.join(',')}?`);
    }
    return d;
  }

  private async load(): Promise<void> {
    const res = await this.client.getAll().prefix(this.ks.prefix).exec();
    const rev = Number(res.header?.revision ?? 0);
    const records: MirrorRecord[] = [];
    for (const kv of res.kvs) {
      const k = kv.key.toString();
      if (k === this.ks.events()) continue;
      const v = kv.value.toString();
      this.cache.set(k, { value: v, mod: Number(kv.mod_revision), seen: rev });
      const r = this.ks.toRecord(k, v);
      if (r) records.push(r);
    }
    this.st.loadedKeys = res.kvs.length;
    // Nodes first: key records must not be shadowed by a node's own key index entry.
    const rank = (r: MirrorRecord): number => (r.r === 'node' ? 0 : 1);
    records.sort((a, b) => rank(a) - rank(b));
    this.o.state.restore(undefined, records as StoreRecord[], this.o.clock.wallNow());
    this.mirrorRev = rev;
    this.watcher = await this.client
      .watch()
      .prefix(this.ks.prefix)
      .startRevision(String(rev + 1))
      .create();
    this.watcher.on('put', (kv) => this.onWatch(kv, false));
    this.watcher.on('delete', (kv) => this.onWatch(kv, true));
    this.watcher.on('error', (e) => this.log.error('watch failed (restart this instance to rebuild its mirror)', { err: e.message }));
    this.watcher.on('disconnected', (e) => {
      this.st.watchReconnects++;
      this.log.warn('watch disconnected; reconnecting', { err: e.message });
    });
    this.watcher.on('connected', () => {
      if (this.st.watchReconnects > 0) {
        this.catchUp().catch((e: unknown) => this.log.warn('catch-up read after a watch reconnect failed', { err: String(e) }));
      }
    });
    await this.newLease();
    this.armRefresh();
    this.log.info('directory loaded', { keys: res.kvs.length, revision: rev });
  }

  private async newLease(): Promise<void> {
    const lease = this.client.lease(this.o.leaseTtlSec ?? 10);
    lease.on('lost', (e) => {
      this.log.warn('lease lost; granting a new one', { err: e.message });
      if (this.lease === lease) this.lease = undefined;
      this.leaseId = undefined;
      if (!this.closed) this.newLease().catch((err: unknown) => this.log.error('lease grant failed', { err: String(err) }));
    });
    this.leaseId = await lease.grant();
    this.lease = lease;
  }

  private armRefresh(): void {
    this.refreshTimer = this.o.clock.setTimeout(() => {
      this.refreshRemoteOnline();
      if (!this.closed) this.armRefresh();
    }, REFRESH_MS);
  }

  /** Nodes that another instance serves (their online key is its) count as seen now. */
  private refreshRemoteOnline(): void {
    const ids: number[] = [];
    const pre = `${this.ks.prefix}online/`;
    for (const [k, e] of this.cache) {
      if (e.value !== undefined && e.value !== this.instance && k.startsWith(pre)) ids.push(Number(k.slice(pre.length)));
    }
    this.o.state.touchSeen(ids, this.o.clock.wallNow());
  }

  // ------------------------------------------------------------------------------------------
  // Mirror

  private onWatch(kv: IKeyValue, deleted: boolean): void {
    this.st.watchEvents++;
    const rev = Number(kv.mod_revision);
    if (rev > this.mirrorRev) this.mirrorRev = rev;
    const k = kv.key.toString();
    if (k === this.ks.events()) {
      if (!deleted) this.remoteEvents(kv.value.toString());
      return;
    }
    this.learn(k, deleted ? undefined : kv.value.toString(), deleted ? 0 : rev, rev);
  }

  /** Pushed events another instance's transaction produced: to this instance's subscribers. */
  private remoteEvents(text: string): void {
    let v: { from?: unknown; events?: unknown };
    try {
      v = JSON.parse(text) as typeof v;
    } catch {
      return;
    }
    if (v.from === this.instance || !Array.isArray(v.events)) return;
    this.st.remoteEvents += v.events.length;
    this.eventSink?.(v.events as PendingEvent[]);
  }

  /** Where events committed by other instances go (the registry server's subscribers). */
  onEvents(sink: (events: PendingEvent[]) => void): void {
    this.eventSink = sink;
  }

  /** Records what etcd holds for a key at revision `seen` and applies it to the state (if newer). */
  private learn(k: string, value: string | undefined, mod: number, seen: number): void {
    if (k === this.ks.events()) return; // delivered by the watch only, never from a read
    const cur = this.cache.get(k);
    if (cur && cur.seen >= seen) return;
    if (value === undefined && cur?.value === undefined && cur !== undefined) {
      cur.seen = seen;
      return;
    }
    this.cache.set(k, { value, mod, seen });
    const r = this.ks.toRecord(k, value);
    if (r) this.o.state.applyMirror([r]);
    if (value !== undefined && this.ks.parse(k)?.kind === 'online' && value !== this.instance) {
      this.o.state.touchSeen([Number(this.ks.parse(k)?.id)], this.o.clock.wallNow());
    }
  }

  /** Puts the state back to what the cache holds for these keys (undoes a speculative change). */
  private restoreFromCache(keys: Iterable<string>): void {
    const recs: MirrorRecord[] = [];
    for (const k of keys) {
      const r = this.ks.toRecord(k, this.cache.get(k)?.value);
      if (r) recs.push(r);
    }
    // Node records before key records, as at load.
    recs.sort((a, b) => (a.r === 'node' ? 0 : 1) - (b.r === 'node' ? 0 : 1));
    this.o.state.applyMirror(recs);
  }

  private cached = (k: string): CachedKv | undefined => this.cache.get(k);

  // ------------------------------------------------------------------------------------------
  // Requests

  execute(msg: unknown, ctx: RequestContext): Promise<{ out: Reply | CloseSignal; events: PendingEvent[] }> {
    const st = this.o.state;
    const allocates = typeof msg === 'object' && msg !== null && (msg as { type?: unknown }).type === 'register';
    return this.enqueue(allocates, () => {
      const out = st.handle(msg, ctx);
      const events = st.takeEvents();
      const online: number[] = [];
      if (!isCloseSignal(out)) {
        if (out.type === 'register_ok' && typeof out['node_id'] === 'number') online.push(out['node_id']);
        if (out.type === 'heartbeat_ok' && typeof msg === 'object' && msg !== null) {
          const id = (msg as { node_id?: unknown }).node_id;
          if (typeof id === 'number') online.push(id);
        }
      }
      return { out, events, online, reaped: [] };
    });
  }

  reap(now: number): Promise<number[]> {
    const st = this.o.state;
    return this.enqueue(false, () => {
      const reaped = st.reap(now);
      return { out: { type: 'reaped' }, events: st.takeEvents(), online: [], reaped };
    }).then((o) => o.reaped);
  }

  private enqueue(allocates: boolean, run: () => Outcome): Promise<Outcome> {
    if (this.closed) return Promise.reject(new PilotError('unavailable', 'the backbone is shutting down'));
    return new Promise<Outcome>((resolve, reject) => {
      this.queue.push({ run, allocates, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.queue.splice(0, this.o.maxBatch ?? 32);
    this.runBatch(batch)
      .catch((e: unknown) => {
        const err = e instanceof Error ? e : new Error(String(e));
        for (const j of batch) j.reject(err);
      })
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }

  /** The counters key as the mirror holds it. */
  private globalCounters(): { next_node: number; next_net: number } {
    const v = this.cache.get(this.ks.counters())?.value;
    if (v !== undefined) {
      try {
        const c = JSON.parse(v) as { next_node: number; next_net: number };
        return { next_node: Math.max(1, c.next_node), next_net: Math.max(1, c.next_net) };
      } catch {
        // fall through
      }
    }
    return { next_node: 1, next_net: 1 };
  }

  /**
   * Reserves the next ID_BLOCK node ids for this instance: one transaction moves the counters key
   * past them (compare on its mod revision; re-read and retry when another instance moved it).
   */
  private async reserveIds(giveUpAt: number): Promise<void> {
    const c = this.client;
    const k = this.ks.counters();
    for (;;) {
      const cur = this.globalCounters();
      const next = { next_node: cur.next_node + ID_BLOCK, next_net: cur.next_net };
      let res: ITxnResponse;
      try {
        res = await c
          .if(k, 'Mod', '==', this.cache.get(k)?.mod ?? 0)
          .then(c.put(k).value(JSON.stringify(next)))
          .else(c.get(k))
          .commit();
        this.st.transactions++;
      } catch (e) {
        this.st.etcdErrors++;
        if (Date.now() > giveUpAt || this.closed) throw new PilotError('unavailable', `etcd did not reserve node ids: ${e instanceof Error ? e.message : String(e)}`, 'the directory (etcd) has no majority; the change may still be applied once it has one, and retrying is safe');
        await sleep(200);
        await this.reread([k]).catch(() => undefined);
        continue;
      }
      const rev = Number(res.header?.revision ?? 0);
      if (res.succeeded) {
        this.cache.set(k, { value: JSON.stringify(next), mod: rev, seen: rev });
        this.o.state.applyMirror([{ r: 'counters', ...next }]);
        this.ids = { next: cur.next_node, end: next.next_node };
        return;
      }
      this.st.conflicts++;
      this.applyConflictRead(res, [k], rev);
      await sleep(Math.random() * 5);
    }
  }

  private async runBatch(batchIn: Job[]): Promise<void> {
    let batch = batchIn;
    this.st.batches++;
    const st = this.o.state;
    const giveUpAt = Date.now() + (this.o.unavailableAfterMs ?? 20_000);
    let conflicts = 0;
    for (;;) {
      // A registration hands out at most one node id: make sure the block covers the batch's.
      const allocating = batch.filter((j) => j.allocates).length;
      if (this.ids.end - this.ids.next < allocating) await this.reserveIds(giveUpAt);
      st.setNextNodeId(this.ids.next);
      const outcomes = batch.map((j) => {
        try {
          return j.run();
        } catch (e) {
          return { out: errorReply('internal', e instanceof Error ? e.message : String(e)), events: [], online: [], reaped: [] };
        }
      });
      const used = st.nextNodeId();
      const global = this.globalCounters();
      st.setNextNodeId(global.next_node); // the state shows the directory's counter between batches
      if (used > this.ids.end) throw new PilotError('internal', `node ids ${this.ids.end}..${used - 1} were not reserved`);
      // Ids handed out by an attempt are spent whatever its outcome: an attempt whose reply was
      // lost (etcd error, or a retried commit that then compares false) may have committed them,
      // and the re-run finds those registrations by key. The nodes it creates must not exist yet.
      const fresh = new Set<string>();
      for (let id = this.ids.next; id < used; id++) fresh.add(this.ks.node(id));
      this.ids.next = Math.max(this.ids.next, used);
      // Node ids come from this instance's block: the counters record only carries network ids.
      const records = st.takeRecords().map((r) => (r.r === 'counters' ? { ...r, next_node: global.next_node } : r));
      const ops = this.ks.plan(records, this.cached);
      const compared = [...ops.keys()];
      const online = new Map<string, string | null>();
      for (const o of outcomes) {
        for (const id of o.online) {
          const k = this.ks.online(id);
          if (this.cache.get(k)?.value !== this.instance || this.leaseId === undefined) online.set(k, this.instance);
        }
        for (const id of o.reaped) if (this.cache.get(this.ks.online(id))?.value !== undefined) online.set(this.ks.online(id), null);
      }
      const events = outcomes.flatMap((o) => o.events);
      // Events without a durable change (none today) are pushed locally only.
      if (ops.size === 0 && online.size === 0) {
        batch.forEach((j, i) => j.resolve(outcomes[i]!));
        return;
      }
      if (ops.size + online.size > MAX_OPS && batch.length > 1) {
        // Too many writes for one transaction: undo, run the first half now, queue the rest first.
        this.restoreFromCache(compared);
        const half = Math.ceil(batch.length / 2);
        this.queue.unshift(...batch.slice(half));
        batch = batch.slice(0, half);
        continue;
      }
      let res: ITxnResponse;
      try {
        res = await this.commit(ops, online, ops.size > 0 ? events : [], fresh);
        this.st.transactions++;
      } catch (e) {
        this.st.etcdErrors++;
        this.restoreFromCache(compared);
        if (Date.now() > giveUpAt || this.closed) {
          this.st.failedBatches++;
          const err = new PilotError('unavailable', `etcd did not commit the change: ${e instanceof Error ? e.message : String(e)}`, 'the directory (etcd) has no majority; the change may still be applied once it has one, and retrying is safe');
          for (const j of batch) j.reject(err);
          return;
        }
        this.log.warn('etcd transaction failed; re-reading and retrying', { err: e instanceof Error ? e.message : String(e) });
        await sleep(200);
        await this.reread(compared).catch((err: unknown) => this.log.debug('re-read failed', { err: String(err) }));
        continue;
      }
      const rev = Number(res.header?.revision ?? 0);
      if (res.succeeded) {
        for (const [k, v] of ops) this.cache.set(k, { value: v ?? undefined, mod: v === null ? 0 : rev, seen: rev });
        for (const [k, v] of online) {
          this.cache.set(k, { value: v ?? undefined, mod: v === null ? 0 : rev, seen: rev });
          if (v !== null) this.st.onlineKeysWritten++;
        }
        batch.forEach((j, i) => j.resolve(outcomes[i]!));
        return;
      }
      this.st.conflicts++;
      this.applyConflictRead(res, compared, rev);
      if (++conflicts > MAX_CONFLICTS) {
        this.st.failedBatches++;
        const err = new PilotError('unavailable', `directory write lost ${conflicts} races in a row`, 'another backbone instance is writing the same keys; retry');
        for (const j of batch) j.reject(err);
        return;
      }
      // Two instances writing the same key (the id counter) in lockstep can keep losing to each
      // other: after the first retry, step aside for a random moment (up to 2^n ms, at most 25).
      if (conflicts > 1) await sleep(Math.random() * Math.min(25, 2 ** conflicts));
    }
  }

  /**
   * One transaction: if every written key still has the mod revision the mirror holds, write them
   * (and the online keys, under this instance's lease); else read the written keys and everything
   * in the prefix modified since the mirror's revision.
   */
  private async commit(ops: Map<string, string | null>, online: Map<string, string | null>, events: PendingEvent[], fresh: Set<string>): Promise<ITxnResponse> {
    const c = this.client;
    if (online.size > 0 && this.leaseId === undefined) await this.newLease();
    const writes = [];
    for (const [k, v] of ops) writes.push(v === null ? c.delete().key(k) : c.put(k).value(v));
    for (const [k, v] of online) writes.push(v === null ? c.delete().key(k) : c.put(k).value(v).lease(this.leaseId ?? '0'));
    // Last, so that other mirrors have applied the records before they push the events.
    if (events.length > 0) writes.push(c.put(this.ks.events()).value(JSON.stringify({ from: this.instance, events })));
    const keys = [...ops.keys()];
    const expected = (k: string): number => (fresh.has(k) ? 0 : (this.cache.get(k)?.mod ?? 0));
    let txn = keys.length > 0 ? c.if(keys[0]!, 'Mod', '==', expected(keys[0]!)) : c.if(this.ks.counters(), 'Create', '>', -1);
    for (const k of keys.slice(1)) txn = txn.and(k, 'Mod', '==', expected(k));
    const reads = [...keys.map((k) => c.get(k)), c.getAll().prefix(this.ks.prefix).minModRevision(this.mirrorRev + 1)];
    return txn
      .then(...writes)
      .else(...reads)
      .commit();
  }

  private applyConflictRead(res: ITxnResponse, touched: string[], rev: number): void {
    const present = new Set<string>();
    for (const r of res.responses ?? []) {
      for (const kv of r.response_range?.kvs ?? []) {
        const k = kv.key.toString();
        present.add(k);
        this.learn(k, kv.value.toString(), Number(kv.mod_revision), rev);
      }
    }
    for (const k of touched) if (!present.has(k)) this.learn(k, undefined, 0, rev);
    // Keys the cache already knew at `rev` or later were skipped by learn(): restore those too.
    this.restoreFromCache(touched);
  }

  /** Everything in the prefix modified since the mirror's revision (after a watch reconnect). */
  private async catchUp(): Promise<void> {
    const res = await this.client.getAll().prefix(this.ks.prefix).minModRevision(this.mirrorRev + 1).exec();
    const rev = Number(res.header?.revision ?? 0);
    for (const kv of res.kvs) this.learn(kv.key.toString(), kv.value.toString(), Number(kv.mod_revision), rev);
  }

  /** After an etcd error: read the touched keys again (the transaction may or may not have committed). */
  private async reread(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const c = this.client;
    const res = await c
      .if(this.ks.counters(), 'Create', '<', 0) // never true: the else branch reads
      .else(...keys.map((k) => c.get(k)), c.getAll().prefix(this.ks.prefix).minModRevision(this.mirrorRev + 1))
      .commit();
    this.applyConflictRead(res, keys, Number(res.header?.revision ?? 0));
  }

  // ------------------------------------------------------------------------------------------

  stats(): EtcdDirectoryStats {
    return { instance: this.instance, endpoints: [...this.o.endpoints], prefix: this.ks.prefix, revision: this.mirrorRev, keys: this.cache.size, ...this.st };
  }

  /** Stops the watch, revokes the lease (this instance's online keys go at once) and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.refreshTimer) this.o.clock.clearTimeout(this.refreshTimer);
    while (this.running) await sleep(10);
    const err = new PilotError('unavailable', 'the backbone is shutting down');
    for (const j of this.queue.splice(0)) j.reject(err);
    await this.watcher?.cancel().catch(() => undefined);
    await this.lease?.revoke({ deadline: Date.now() + 2000 }).catch(() => undefined);
    this.client.close();
  }
}
