/**
 * One framed JSON connection to a registry (registry.md §1: u32 length ‖ JSON), used by
 * RegistryClient for requests and for event subscriptions. One request in flight; frames that are
 * not its reply (pushed events, anything unexpected) go to `onMessage`. Bytes that are not frames
 * of JSON end the connection with a ConnectionFailure marked `malformed`.
 */
import net from 'node:net';
import { FrameDecoder, decodeJson, encodeJsonFrame } from '../wire/framing';

type Json = Record<string, unknown>;

export class ConnectionFailure extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
    /** The registry sent bytes that are not a frame of JSON: not a reason to retry. */
    readonly malformed = false,
  ) {
    super(message);
  }
}

export const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One framed JSON connection (used by the request client and by subscriptions). */
export class FramedConnection {
  private readonly decoder = new FrameDecoder();
  private waiter: { resolve: (v: unknown) => void; reject: (e: Error) => void } | undefined;
  private dead: Error | undefined;
  /** Frames that are not the reply to a request: pushed events, or anything unexpected. */
  onMessage: ((m: unknown) => void) | undefined;
  onClose: ((e: Error) => void) | undefined;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let frames: Uint8Array[];
      try {
        frames = this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch (e) {
        this.fail(new ConnectionFailure(`bad frame: ${e instanceof Error ? e.message : String(e)}`, false, true));
        return;
      }
      for (const f of frames) {
        let v: unknown;
        try {
          v = decodeJson(f);
        } catch (e) {
          this.fail(new ConnectionFailure(e instanceof Error ? e.message : String(e), false, true));
          return;
        }
        if ((isObject(v) && v['type'] === 'event') || !this.waiter) {
          this.onMessage?.(v);
          continue;
        }
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(v);
      }
    });
    socket.on('error', (e) => this.fail(new ConnectionFailure(e.message)));
    socket.on('close', () => this.fail(new ConnectionFailure('connection closed by the registry')));
  }

  static connect(host: string, port: number, timeoutMs: number): Promise<FramedConnection> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionFailure(`connect to ${host}:${port} timed out`, true));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(new FramedConnection(s));
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new ConnectionFailure(e.message));
      });
    });
  }

  get alive(): boolean {
    return this.dead === undefined;
  }

  private fail(e: Error): void {
    if (this.dead) return;
    this.dead = e;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(e);
    this.onClose?.(e);
  }

  /** Sends one request and resolves with the next frame that is not an event (any JSON value). */
  async request(msg: Json, timeoutMs: number): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new ConnectionFailure(`no reply within ${timeoutMs} ms`, true));
      }, timeoutMs);
      this.waiter = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.socket.write(encodeJsonFrame(msg));
    });
  }

  send(msg: Json): void {
    if (!this.dead) this.socket.write(encodeJsonFrame(msg));
  }

  close(): void {
    this.fail(new ConnectionFailure('closed'));
  }
}
