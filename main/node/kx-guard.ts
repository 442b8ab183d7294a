/**
 * Guards of the key exchange path, kept per claimed sender: a budget of exchanges judged (spent
 * before any signature check or key agreement, so a flood of signed exchanges cannot take the CPU
 * from other peers), and the X25519 keys each peer has replaced (an exchange offering one again is
 * a recorded exchange replayed, which would bring back the old key with a fresh replay window).
 * Both tables are bounded.
 */
import { TokenBucket } from '../util/token-bucket';
import { isRetiredKey } from './tunnel-rules';

/** Retired X25519 keys remembered per node, and nodes remembered (oldest forgotten first). */
const MAX_RETIRED_PER_NODE = 8;
const MAX_RETIRED_NODES = 4096;
/**
 * Key exchanges judged per claimed sender: a node sends one per 250 ms while it establishes a tunnel
 * and one per 5 s while it probes a relayed peer, so 10/s with a burst of 20 never limits an honest peer.
 */
const KX_PER_SEC = 10;
const KX_BURST = 20;
const MAX_KX_BUCKETS = 4096;

export class KxGuard {
  private readonly retiredKeys = new Map<number, Uint8Array[]>();
  private readonly kxBuckets = new Map<number, TokenBucket>();

  /** Takes one key exchange from `sender`'s budget; false when it is spent. */
  budget(sender: number, now: number): boolean {
    let b = this.kxBuckets.get(sender);
    if (!b) {
      if (this.kxBuckets.size >= MAX_KX_BUCKETS) {
        for (const [id, bucket] of this.kxBuckets) if (bucket.isFull(now)) this.kxBuckets.delete(id);
        if (this.kxBuckets.size >= MAX_KX_BUCKETS) this.kxBuckets.clear();
      }
      b = new TokenBucket(KX_PER_SEC, KX_BURST, now);
      this.kxBuckets.set(sender, b);
    }
    return b.take(now);
  }

  /** Whether `key` is one `nodeId` has already replaced. */
  isRetired(nodeId: number, key: Uint8Array): boolean {
    return isRetiredKey(this.retiredKeys.get(nodeId), key);
  }

  /** Remembers that `nodeId` replaced `key`. */
  retire(nodeId: number, key: Uint8Array): void {
    let list = this.retiredKeys.get(nodeId);
    if (!list) {
      if (this.retiredKeys.size >= MAX_RETIRED_NODES) this.retiredKeys.delete(this.retiredKeys.keys().next().value!);
      this.retiredKeys.set(nodeId, (list = []));
    }
    list.push(key);
    if (list.length > MAX_RETIRED_PER_NODE) list.shift();
  }
}
