/**
 * Packets a node addresses to itself (`pilotctl ping`, `bench`, `send`, `connect` to its own address
 * or hostname, issue 15): they go through the node's own transport, services and echo, but never
 * through a tunnel or a socket. Delivery is asynchronous (one setImmediate per batch), so a sender
 * is never re-entered by its own packet and a bulk stream to oneself leaves room for I/O and timers.
 */
export class Loopback {
  private queue: Uint8Array[] = [];
  private scheduled: ReturnType<typeof setImmediate> | undefined;
  private closed = false;
  /** Packets and bytes looped back (the node's own traffic to itself). */
  readonly totals = { packets: 0, bytes: 0 };

  constructor(private readonly deliver: (packet: Uint8Array) => void) {}

  /** Queues a copy of `packet` (the caller may reuse its buffer) for delivery on a later turn. */
  send(packet: Uint8Array): void {
    if (this.closed) return;
    this.queue.push(Uint8Array.from(packet));
    this.totals.packets++;
    this.totals.bytes += packet.length;
    this.scheduled ??= setImmediate(() => this.flush());
  }

  close(): void {
    this.closed = true;
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.queue = [];
  }

  private flush(): void {
    this.scheduled = undefined;
    const batch = this.queue;
    this.queue = [];
    for (const p of batch) {
      if (this.closed) return;
      this.deliver(p);
    }
  }
}
