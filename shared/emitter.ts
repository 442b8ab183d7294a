/**
 * One small typed emitter for an event map (`{ name: payload }`): per-event handlers (`on`) and
 * listeners of every event (`onAny`). Every subscription returns its unsubscribe function; the same
 * handler subscribed twice is two subscriptions. Isomorphic (no Node, no DOM): main, the preload and
 * the renderer all fan out with it.
 */
export type AnyListener<Events> = <E extends keyof Events>(event: E, data: Events[E]) => void;

export class Emitter<Events extends object> {
  private readonly byName = new Map<keyof Events, Set<(data: never) => void>>();
  private readonly any = new Set<AnyListener<Events>>();

  on<E extends keyof Events>(event: E, handler: (data: Events[E]) => void): () => void {
    let set = this.byName.get(event);
    if (!set) this.byName.set(event, (set = new Set()));
    const entry = (data: Events[E]): void => handler(data);
    const s = set as Set<(data: Events[E]) => void>;
    s.add(entry);
    return () => {
      s.delete(entry);
    };
  }

  onAny(listener: AnyListener<Events>): () => void {
    const entry: AnyListener<Events> = (event, data) => listener(event, data);
    this.any.add(entry);
    return () => {
      this.any.delete(entry);
    };
  }

  emit<E extends keyof Events>(event: E, data: Events[E]): void {
    const set = this.byName.get(event) as Set<(data: Events[E]) => void> | undefined;
    if (set) for (const h of [...set]) h(data);
    for (const l of [...this.any]) l(event, data);
  }

  /** Number of live subscriptions (per-event and any). */
  get size(): number {
    let n = this.any.size;
    for (const s of this.byName.values()) n += s.size;
    return n;
  }

  clear(): void {
    this.byName.clear();
    this.any.clear();
  }
}
