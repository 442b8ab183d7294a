/**
 * Registered Ed25519 keys of other nodes, as the tunnel needs them to judge key exchanges: a cache,
 * one registry lookup in flight per node, "not registered" answers reused for a while, and a
 * throttled refresh when a frame disagrees with the cached key.
 *
 * This is the only asynchronous step of the tunnel's inbound path, and it is closed here: a lookup
 * never rejects out of this class, a continuation that throws is handed to `onFault`, and the number
 * of nodes being looked up and of frames waiting on each is bounded (a flood of key exchanges claiming
 * random node ids is refused, not queued).
 */
export interface KeyDirectoryLimits {
  /** Nodes looked up at once; further unknown senders are refused until one finishes. */
  maxLookups: number;
  /** Key exchanges waiting on one lookup; more are refused (the peer resends anyway). */
  maxWaitersPerNode: number;
  /** A disagreeing frame makes us forget a cached key at most this often per node. */
  refreshMs: number;
  /** How long "the registry does not know this node" is believed. */
  unknownRetryMs: number;
  /** Negative answers remembered at most (then the table starts over). */
  maxUnknown: number;
}

export const DEFAULT_KEY_LIMITS: KeyDirectoryLimits = {
  maxLookups: 256,
  maxWaitersPerNode: 32,
  refreshMs: 30_000,
  unknownRetryMs: 10_000,
  maxUnknown: 4096,
};

/** How `withKey` went: the callback ran now, will run when the lookup ends, or was refused. */
export type KeyWait = 'now' | 'queued' | 'refused';

export class KeyDirectory {
  private readonly cache = new Map<number, Uint8Array>();
  private readonly waiting = new Map<number, ((key: Uint8Array | undefined) => void)[]>();
  private readonly refreshedAt = new Map<number, number>();
  private readonly unknownUntil = new Map<number, number>();
  private readonly limits: KeyDirectoryLimits;
  /** Registry lookups made (forged key exchanges must not turn into a lookup each). */
  lookupCount = 0;

  constructor(
    private readonly lookup: (nodeId: number) => Promise<Uint8Array | undefined>,
    private readonly now: () => number,
    private readonly onFault: (e: unknown) => void,
    limits: Partial<KeyDirectoryLimits> = {},
  ) {
    this.limits = { ...DEFAULT_KEY_LIMITS, ...limits };
  }

  remember(nodeId: number, key: Uint8Array): void {
    this.cache.set(nodeId, key);
    this.unknownUntil.delete(nodeId);
  }

  /** Lookups in flight (bounded by `maxLookups`). */
  get pending(): number {
    return this.waiting.size;
  }

  /**
   * Runs `then` with the node's registered key (undefined: not registered): synchronously when the
   * answer is known, else when the lookup ends. `then` must not throw for control flow; if it does,
   * `onFault` gets the error.
   */
  withKey(nodeId: number, then: (key: Uint8Array | undefined) => void): KeyWait {
    const cached = this.cache.get(nodeId);
    if (cached) {
      then(cached);
      return 'now';
    }
    const until = this.unknownUntil.get(nodeId);
    if (until !== undefined) {
      if (this.now() < until) {
        then(undefined);
        return 'now';
      }
      this.unknownUntil.delete(nodeId);
    }
    const queue = this.waiting.get(nodeId);
    if (queue) {
      if (queue.length >= this.limits.maxWaitersPerNode) return 'refused';
      queue.push(then);
      return 'queued';
    }
    if (this.waiting.size >= this.limits.maxLookups) return 'refused';
    this.waiting.set(nodeId, [then]);
    this.lookupCount++;
    this.lookup(nodeId)
      .catch(() => undefined)
      .then((key) => this.settle(nodeId, key))
      .catch((e: unknown) => this.onFault(e));
    return 'queued';
  }

  /** A frame disagreed with the cached key: the registry may know a rotated one. Throttled per node. */
  disagree(nodeId: number): void {
    const now = this.now();
    const last = this.refreshedAt.get(nodeId);
    if (last !== undefined && now - last < this.limits.refreshMs) return;
    if (this.refreshedAt.size >= this.limits.maxUnknown) this.refreshedAt.clear();
    this.refreshedAt.set(nodeId, now);
    this.cache.delete(nodeId);
  }

  private settle(nodeId: number, key: Uint8Array | undefined): void {
    const waiters = this.waiting.get(nodeId) ?? [];
    this.waiting.delete(nodeId);
    if (key) this.cache.set(nodeId, key);
    else {
      if (this.unknownUntil.size >= this.limits.maxUnknown) this.unknownUntil.clear();
      this.unknownUntil.set(nodeId, this.now() + this.limits.unknownRetryMs);
    }
    for (const w of waiters) {
      try {
        w(key);
      } catch (e) {
        this.onFault(e);
      }
    }
  }
}
