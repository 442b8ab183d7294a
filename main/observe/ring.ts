/** A fixed-capacity ring buffer: newest entries overwrite the oldest. */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private start = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    const i = (this.start + this.count) % this.capacity;
    this.items[i] = item;
    if (this.count < this.capacity) this.count++;
    else this.start = (this.start + 1) % this.capacity;
  }

  get size(): number {
    return this.count;
  }

  /** Oldest first; at most the last `limit` entries. */
  toArray(limit = this.count): T[] {
    const n = Math.min(limit, this.count);
    const out: T[] = [];
    for (let k = this.count - n; k < this.count; k++) out.push(this.items[(this.start + k) % this.capacity] as T);
    return out;
  }
}
