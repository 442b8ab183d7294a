/**
 * Receive-side replay window for PILS frames (wire.md §6.1): `max` plus a 256-bit bitmap indexed by
 * `counter mod 256`. One window covers one nonce prefix; PrefixReplayGuard (below) keeps one per
 * prefix and refuses retired prefixes (the reference ignores the prefix: see SECURITY.md).
 *
 * Counters are JS numbers, not bigint: the wire carries a u64, but a sender starts at 1 and adds 1
 * per frame, so a real counter never gets near 2^53 (285 years at a million frames a second), and
 * number arithmetic keeps this on the fast path. A counter above Number.MAX_SAFE_INTEGER (which only
 * a broken or hostile peer could send) is refused as `too_old`; `readCounter` gives such counters
 * back as Infinity so they can never alias a real one.
 *
 * One deliberate difference from the reference: it treats `max == 0` as "nothing received" and so
 * accepts a frame with counter 0 again and again until a higher counter arrives. Here counter 0 is
 * marked like any other, so its replay is refused. The reference never sends counter 0, so interop
 * is unchanged.
 */
export type ReplayVerdict = 'ok' | 'replay' | 'too_old';

export const REPLAY_WINDOW_SIZE = 256;

export class ReplayWindow {
  private readonly bits = new Uint32Array(REPLAY_WINDOW_SIZE / 32);
  private maxSeen = 0;

  /** Highest counter accepted so far (0 = none, or only counter 0). */
  get max(): number {
    return this.maxSeen;
  }

  /** What `checkAndAccept` would answer, without changing state. */
  check(counter: number): ReplayVerdict {
    if (!Number.isSafeInteger(counter) || counter < 0) return 'too_old';
    const max = this.maxSeen;
    if (counter > max) return 'ok';
    if (max === 0) {
      // counter === 0 === max: nothing received yet unless counter 0 itself was.
      return this.isMarked(0) ? 'replay' : 'ok';
    }
    if (max - counter >= REPLAY_WINDOW_SIZE) return 'too_old';
    return this.isMarked(counter) ? 'replay' : 'ok';
  }

  /** Records `counter` as received. Call only after `check(counter) === 'ok'`. */
  accept(counter: number): void {
    const max = this.maxSeen;
    if (counter > max) {
      const jump = counter - max;
      if (jump >= REPLAY_WINDOW_SIZE) {
        this.bits.fill(0);
      } else {
        for (let c = max + 1; c < counter; c++) this.unmark(c);
      }
      this.maxSeen = counter;
    }
    this.mark(counter);
  }

  /** check + accept in one step; state changes only when the answer is 'ok'. */
  checkAndAccept(counter: number): ReplayVerdict {
    const v = this.check(counter);
    if (v === 'ok') this.accept(counter);
    return v;
  }

  reset(): void {
    this.bits.fill(0);
    this.maxSeen = 0;
  }

  private isMarked(c: number): boolean {
    // `c & 255` is exact for any safe integer: ToInt32 reduces the exact value modulo 2^32.
    const i = c & (REPLAY_WINDOW_SIZE - 1);
    return ((this.bits[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  private mark(c: number): void {
    const i = c & (REPLAY_WINDOW_SIZE - 1);
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) | (1 << (i & 31));
  }

  private unmark(c: number): void {
    const i = c & (REPLAY_WINDOW_SIZE - 1);
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) & ~(1 << (i & 31));
  }
}

export type PrefixReplayVerdict = ReplayVerdict | 'retired_prefix' | 'own_prefix' | 'prefixes_exhausted';

/**
 * Replay state per nonce prefix, for one session key (wire.md §6.2: a reference peer picks a new
 * random prefix and restarts its counter at 1 on every valid key exchange it receives, even with an
 * unchanged X25519 key, so one key carries several (prefix, counter) sequences).
 *
 * - The last `maxActive` prefixes each keep a full 256-frame ReplayWindow: a peer's fresh counter
 *   under a new prefix is accepted, and frames of the previous prefix still in flight are too.
 * - A prefix pushed out of that set is retired: every later frame with it is refused, whatever its
 *   counter, so a frame recorded under an earlier prefix can never be replayed once its window is gone.
 * - Our own send prefix is refused (a frame of ours reflected back: both directions share the key).
 * - At most `maxRetired` prefixes are remembered per key; past that, new prefixes are refused
 *   ('prefixes_exhausted') until the session is re-keyed, which makes every recording undecryptable.
 *
 * The state lives and dies with the key: a new X25519 exchange means a new TunnelCipher and a new guard.
 */
export class PrefixReplayGuard {
  private readonly windows = new Map<number, ReplayWindow>(); // insertion order: oldest first
  private readonly retired = new Set<number>();
  private currentPrefix = -1;
  private current: ReplayWindow | undefined;

  constructor(
    private readonly ownPrefix: number,
    private readonly maxActive = 4,
    private readonly maxRetired = 4096,
  ) {}

  /** Prefixes with a live window, and prefixes refused for good. */
  get activePrefixes(): number {
    return this.windows.size;
  }
  get retiredPrefixes(): number {
    return this.retired.size;
  }
  /** Highest counter accepted under the most recently used prefix (0 = none). */
  get max(): number {
    return this.current?.max ?? 0;
  }
  /** True once no new prefix can be accepted under this key (the session must re-key). */
  get exhausted(): boolean {
    return this.retired.size >= this.maxRetired;
  }

  /** Judges (prefix, counter) and records it when the answer is 'ok'. */
  checkAndAccept(prefix: number, counter: number): PrefixReplayVerdict {
    if (prefix === this.currentPrefix && this.current) return this.current.checkAndAccept(counter);
    if (prefix === this.ownPrefix) return 'own_prefix';
    let w = this.windows.get(prefix);
    if (!w) {
      if (this.retired.has(prefix)) return 'retired_prefix';
      if (this.exhausted) return 'prefixes_exhausted';
      w = new ReplayWindow();
      const v = w.checkAndAccept(counter);
      if (v !== 'ok') return v;
      this.windows.set(prefix, w);
      while (this.windows.size > this.maxActive) {
        const oldest = this.windows.keys().next().value as number;
        this.windows.delete(oldest);
        this.retired.add(oldest);
      }
      this.currentPrefix = prefix;
      this.current = w;
      return 'ok';
    }
    const v = w.checkAndAccept(counter);
    if (v === 'ok') {
      this.currentPrefix = prefix;
      this.current = w;
    }
    return v;
  }

  /** Forgets everything: only for a new key (a recording under the old key no longer decrypts). */
  reset(): void {
    this.windows.clear();
    this.retired.clear();
    this.currentPrefix = -1;
    this.current = undefined;
  }
}

/** The 4-byte nonce prefix at `offset` as a u32. */
export function readPrefix(b: Uint8Array, offset = 0): number {
  return (((b[offset] ?? 0) << 24) | ((b[offset + 1] ?? 0) << 16) | ((b[offset + 2] ?? 0) << 8) | (b[offset + 3] ?? 0)) >>> 0;
}

const TWO_32 = 0x1_0000_0000;

/** Reads the u64 BE counter at `offset`; counters beyond 2^53 - 1 come back as Infinity. */
export function readCounter(b: Uint8Array, offset: number): number {
  const hi = (((b[offset] ?? 0) << 24) | ((b[offset + 1] ?? 0) << 16) | ((b[offset + 2] ?? 0) << 8) | (b[offset + 3] ?? 0)) >>> 0;
  const lo = (((b[offset + 4] ?? 0) << 24) | ((b[offset + 5] ?? 0) << 16) | ((b[offset + 6] ?? 0) << 8) | (b[offset + 7] ?? 0)) >>> 0;
  if (hi > 0x1f_ffff) return Infinity;
  return hi * TWO_32 + lo;
}

/** Writes `counter` (a safe non-negative integer) as u64 BE at `offset`. */
export function writeCounter(b: Uint8Array, offset: number, counter: number): void {
  const hi = Math.floor(counter / TWO_32);
  const lo = counter >>> 0;
  b[offset] = hi >>> 24;
  b[offset + 1] = (hi >>> 16) & 0xff;
  b[offset + 2] = (hi >>> 8) & 0xff;
  b[offset + 3] = hi & 0xff;
  b[offset + 4] = lo >>> 24;
  b[offset + 5] = (lo >>> 16) & 0xff;
  b[offset + 6] = (lo >>> 8) & 0xff;
  b[offset + 7] = lo & 0xff;
}
