/**
 * The application's handle on one stream connection: events for data and close, a write with
 * backpressure, graceful `end()` (every queued byte is delivered before the FIN) and `abort()`.
 */
import { EventEmitter } from 'node:events';
import { PilotError } from '../../shared/errors';
import { formatAddress, type Address } from '../../shared/address';
import type { CloseReason, StreamConnection, StreamStats } from '../transport';

export interface PilotStreamEvents {
  data: [chunk: Uint8Array];
  drain: [];
  close: [reason: CloseReason, lostBytes: number];
}

export interface StreamDriver {
  write(conn: StreamConnection, data: Uint8Array): number;
  end(conn: StreamConnection): void;
  abort(conn: StreamConnection): void;
}

export class PilotStream extends EventEmitter<PilotStreamEvents> {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private ended = false;
  private closedReason: CloseReason | undefined;
  private readonly chunks: Uint8Array[] = [];
  private readers: { resolve: (c: Uint8Array | undefined) => void; reject: (e: Error) => void }[] = [];
  private buffering = true;
  /** pause(): received chunks wait here (their window slots stay taken until resume()). */
  private held: Uint8Array[] = [];
  private paused = false;
  private heldClose: [CloseReason, number] | undefined;

  constructor(
    readonly conn: StreamConnection,
    private readonly driver: StreamDriver,
  ) {
    super();
  }

  get id(): number {
    return this.conn.id;
  }
  get remote(): Address {
    return this.conn.remoteAddr;
  }
  get remotePort(): number {
    return this.conn.remotePort;
  }
  get localPort(): number {
    return this.conn.localPort;
  }
  get closed(): boolean {
    return this.closedReason !== undefined;
  }
  get closeReason(): CloseReason | undefined {
    return this.closedReason;
  }
  stats(): StreamStats {
    return this.conn.stats();
  }
  override toString(): string {
    return `stream#${this.id} ${formatAddress(this.remote)}:${this.remotePort}`;
  }

  /**
   * Queues data; returns false when the caller should wait for 'drain' (bytes are still kept and
   * sent in order — nothing is dropped).
   */
  write(data: Uint8Array): boolean {
    if (this.closedReason !== undefined || this.ended || this.heldClose) throw new PilotError('invalid_state', `${this} is closed`);
    if (data.length === 0) return true;
    if (this.pending.length === 0) {
      const n = this.driver.write(this.conn, data);
      if (n === data.length) return true;
      data = data.subarray(n);
    }
    this.pending.push(data);
    this.pendingBytes += data.length;
    return false;
  }

  /** Writes and resolves once the bytes are accepted by the connection's send buffer. */
  async writeAll(data: Uint8Array): Promise<void> {
    if (!this.write(data)) await this.waitDrain();
  }

  waitDrain(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        if (this.pending.length === 0) {
          cleanup();
          resolve();
        }
      };
      const onClose = (): void => {
        cleanup();
        reject(new PilotError('connection_failed', `${this} closed before the data was sent`));
      };
      const cleanup = (): void => {
        this.off('drain', onDrain);
        this.off('close', onClose);
      };
      this.on('drain', onDrain);
      this.on('close', onClose);
    });
  }

  /** Graceful close: everything written is delivered, then FIN. */
  end(): void {
    if (this.ended || this.closedReason !== undefined) return;
    this.ended = true;
    if (this.pending.length === 0) this.driver.end(this.conn);
  }

  abort(): void {
    if (this.closedReason !== undefined) return;
    this.pending = [];
    this.pendingBytes = 0;
    this.driver.abort(this.conn);
  }

  /** Resolves with the next received chunk, or undefined at close. For request/response clients. */
  read(timeoutMs?: number): Promise<Uint8Array | undefined> {
    const c = this.chunks.shift();
    if (c) return Promise.resolve(c);
    if (this.closedReason !== undefined) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject };
      this.readers.push(entry);
      if (timeoutMs !== undefined) {
        const t = setTimeout(() => {
          const i = this.readers.indexOf(entry);
          if (i >= 0) this.readers.splice(i, 1);
          reject(new PilotError('timeout', `no data from ${this} within ${timeoutMs} ms`));
        }, timeoutMs);
        const orig = entry.resolve;
        entry.resolve = (v) => {
          clearTimeout(t);
          orig(v);
        };
      }
    });
  }

  /**
   * Flow control for a reader that cannot keep up (e.g. the daemon's IPC client): stop handing out
   * received data. With the table's `manualConsume` the chunks keep their receive-window slots, so
   * the window closes and the sender stops; nothing is lost. A close waits behind the held data.
   */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    while (this.held.length > 0 && !this.paused) this.hand(this.held.shift()!);
    if (this.held.length === 0 && this.heldClose && !this.paused) {
      const [reason, lost] = this.heldClose;
      this.heldClose = undefined;
      this.finished(reason, lost);
    }
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Stop keeping chunks for read(): use 'data' events only (servers, bulk transfers). */
  stopBuffering(): void {
    this.buffering = false;
    this.chunks.length = 0;
  }

  // ---- called by the node's driver ----

  /** @internal */
  deliver(chunk: Uint8Array): void {
    if (this.paused || this.held.length > 0) this.held.push(chunk);
    else this.hand(chunk);
  }

  private hand(chunk: Uint8Array): void {
    const r = this.readers.shift();
    if (r) r.resolve(chunk);
    else if (this.buffering && this.listenerCount('data') === 0) this.chunks.push(chunk);
    this.emit('data', chunk);
    this.conn.consumed(1); // frees the chunk's window slot (manualConsume; a no-op otherwise)
  }

  /** @internal */
  drained(): void {
    while (this.pending.length > 0) {
      const head = this.pending[0]!;
      const n = this.driver.write(this.conn, head);
      this.pendingBytes -= n;
      if (n < head.length) {
        this.pending[0] = head.subarray(n);
        return;
      }
      this.pending.shift();
    }
    if (this.ended) this.driver.end(this.conn);
    this.emit('drain');
  }

  /** @internal */
  finished(reason: CloseReason, lostBytes: number): void {
    if (this.closedReason !== undefined) return;
    if (this.held.length > 0 && reason !== 'aborted') {
      this.heldClose ??= [reason, lostBytes]; // delivered after the held data, at resume()
      return;
    }
    this.held = [];
    this.closedReason = reason;
    const rs = this.readers;
    this.readers = [];
    for (const r of rs) r.resolve(undefined);
    this.emit('close', reason, lostBytes + this.pendingBytes);
  }
}
