/**
 * What the parts of one connection (lifecycle in stream.ts, sender, receiver, loss recovery) share:
 * the settings, the way out to the driver, and the activity time of the idle and keepalive timers.
 * Segments go to the driver at once (`emit`); data and events are queued and delivered by `flush` at
 * the end of the public call, when the connection is consistent (see StreamConnection).
 */
import type { TransportConfig } from './config';
import type { StreamConnection } from './stream';
import type { StreamEvent, StreamHooks } from './stream-types';

type Outbox = Uint8Array | StreamEvent;

export class StreamContext {
  readonly conn: StreamConnection;
  readonly hooks: StreamHooks;
  readonly config: TransportConfig;
  /** Payload bytes per data segment (≤ MSS). */
  readonly segmentSize: number;
  /** Last time new data was sent or the peer was heard from (idle and keepalive timers). */
  lastActivity: number;
  /** Segments emitted (stats). */
  segsSent = 0;
  private readonly outbox: Outbox[] = [];
  private outIdx = 0;

  constructor(conn: StreamConnection, hooks: StreamHooks, config: TransportConfig, segmentSize: number, now: number) {
    this.conn = conn;
    this.hooks = hooks;
    this.config = config;
    this.segmentSize = segmentSize;
    this.lastActivity = now;
  }

  /** One segment to the driver, now. */
  emit(flags: number, seq: number, ack: number, window: number, payload: Uint8Array): void {
    this.segsSent++;
    this.hooks.send(this.conn, { flags, seq, ack, window, payload });
  }

  /** An in-order payload for the application (delivered by `flush`). */
  queueData(chunk: Uint8Array): void {
    this.outbox.push(chunk);
  }

  queueEvent(ev: StreamEvent): void {
    this.outbox.push(ev);
  }

  /** Delivers the queued data and events in order. */
  flush(): void {
    const box = this.outbox;
    // A callback may re-enter (write/close/abort) and flush nested: both loops share outIdx, so the
    // order of deliveries is preserved.
    while (this.outIdx < box.length) {
      const item = box[this.outIdx++]!;
      if (item instanceof Uint8Array) this.hooks.data(this.conn, item);
      else this.hooks.event(this.conn, item);
    }
    box.length = 0;
    this.outIdx = 0;
  }
}
