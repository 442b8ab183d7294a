/** A binary min-heap of (time, item) entries: O(log n) push/pop. Stale entries are the caller's business. */
export class DeadlineHeap<T> {
  private ats: number[] = [];
  private items: T[] = [];

  get size(): number {
    return this.ats.length;
  }

  push(at: number, item: T): void {
    const ats = this.ats;
    const items = this.items;
    let i = ats.length;
    ats.push(at);
    items.push(item);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (ats[p]! <= at) break;
      ats[i] = ats[p]!;
      items[i] = items[p]!;
      i = p;
    }
    ats[i] = at;
    items[i] = item;
  }

  /** Time of the earliest entry, or Infinity when empty. */
  peekAt(): number {
    return this.ats.length > 0 ? this.ats[0]! : Infinity;
  }

  peekItem(): T | undefined {
    return this.items[0];
  }

  /** Removes the earliest entry and returns its item (undefined when empty). */
  pop(): T | undefined {
    const ats = this.ats;
    const items = this.items;
    const n = ats.length;
    if (n === 0) return undefined;
    const top = items[0];
    const lastAt = ats.pop()!;
    const lastItem = items.pop()!;
    if (n > 1) {
      const m = n - 1;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= m) break;
        const r = l + 1;
        const c = r < m && ats[r]! < ats[l]! ? r : l;
        if (ats[c]! >= lastAt) break;
        ats[i] = ats[c]!;
        items[i] = items[c]!;
        i = c;
      }
      ats[i] = lastAt;
      items[i] = lastItem;
    }
    return top;
  }

  clear(): void {
    this.ats.length = 0;
    this.items.length = 0;
  }
}
