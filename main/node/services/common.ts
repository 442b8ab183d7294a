/**
 * Helpers shared by the built-in services: time formats, safe file names and exclusive creates for the
 * mailbox directories, and a frame reader over a PilotStream for request/response clients.
 */
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { PilotError } from '../../../shared/errors';
import { backboneAddress, formatAddress, type Address } from '../../../shared/address';
import type { PilotNode } from '../node';
import type { PilotStream } from '../stream';
import { ServiceFrameDecoder, encodeServiceFrame, type ServiceFrame } from '../../wire/service';
import type { Logger } from '../../util/log';
import type { ParentLike } from '../../observe/tracer';

/** A service target: a node id (backbone address) or a full address. */
export type Target = Address | number;

export function targetAddress(t: Target): Address {
  return typeof t === 'number' ? backboneAddress(t) : t;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** `YYYYMMDD-HHMMSS.mmm` (UTC) — the mailbox file-name stamp (services.md §3). */
export function fileStamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}-` +
    `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/** RFC 3339, UTC, second precision: `2024-05-01T12:00:00Z`. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** Milliseconds of an RFC 3339 text, or undefined. */
export function parseTime(text: unknown): number | undefined {
  if (typeof text !== 'string' || text === '') return undefined;
  const t = Date.parse(text);
  return Number.isNaN(t) ? undefined : t;
}

/**
 * The base name of a peer-supplied file name: no directories (either slash), no control
 * characters, no `.`/`..`, at most 200 bytes; `file` when nothing usable is left.
 */
export function safeBaseName(name: string): string {
  const last = name.split(/[/\\]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  let s = last.replace(/[\u0000-\u001f\u007f]/g, '').trim();
  if (s === '.' || s === '..') s = '';
  s = s.replace(/^\.+/, (m) => (m.length === s.length ? '' : m));
  while (Buffer.byteLength(s) > 200) s = s.slice(0, -1);
  return s === '' ? 'file' : s;
}

/** Splits `report.tar.gz` → [`report.tar`, `.gz`]; dot files keep their name as base. */
export function splitExt(name: string): [string, string] {
  const ext = path.extname(name);
  if (ext === '' || ext === name) return [name, ''];
  return [name.slice(0, -ext.length), ext];
}

/**
 * Creates a new file `<dir>/<base><ext>` (or `<base>-1<ext>`, `-2`, ... when taken) without ever
 * overwriting; returns its path.
 */
export async function writeNewFile(dir: string, base: string, ext: string, data: string | Uint8Array, mode = 0o600): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (let i = 0; i < 1000; i++) {
    const file = path.join(dir, `${base}${i === 0 ? '' : `-${i}`}${ext}`);
    let fh;
    try {
      fh = await open(file, 'wx', mode);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
    return file;
  }
  throw new PilotError('already_exists', `no free file name for ${base}${ext} in ${dir}`);
}

/** The error a client sees when a node resets the stream before answering (trust enforcement). */
export function refusedError(stream: PilotStream): PilotError {
  return new PilotError(
    'connection_failed',
    `connection refused by ${formatAddress(stream.remote)}:${stream.remotePort}`,
    `the node may be private and not trust this node: pilotctl handshake ${stream.remote.node} "reason"`,
  );
}

/**
 * Queues decoded frames from a stream for request/response clients. `next()` resolves the next
 * frame, or undefined once the stream closed; a reset before anything arrived is reported as
 * "connection refused"; a decoding error aborts the stream and rejects.
 */
export class FrameReader<F> {
  private readonly frames: F[] = [];
  private waiters: { resolve: (f: F | undefined) => void; reject: (e: Error) => void }[] = [];
  private error: Error | undefined;
  private received = 0;
  private closed = false;

  constructor(
    readonly stream: PilotStream,
    decode: (chunk: Uint8Array) => F[],
  ) {
    stream.on('data', (chunk) => {
      this.received += chunk.length;
      let got: F[];
      try {
        got = decode(chunk);
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
        stream.abort();
        return;
      }
      for (const f of got) {
        const w = this.waiters.shift();
        if (w) w.resolve(f);
        else this.frames.push(f);
      }
    });
    stream.on('close', (reason) => {
      this.closed = true;
      if (reason === 'rst' && this.received === 0) this.fail(refusedError(stream));
      const ws = this.waiters;
      this.waiters = [];
      for (const w of ws) w.resolve(undefined);
    });
  }

  private fail(e: Error): void {
    if (this.error) return;
    this.error = e;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(e);
  }

  next(timeoutMs: number): Promise<F | undefined> {
    const f = this.frames.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (this.error) return Promise.reject(this.error);
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        const i = this.waiters.indexOf(entry);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new PilotError('timeout', `no reply from ${formatAddress(this.stream.remote)}:${this.stream.remotePort} within ${timeoutMs} ms`));
      }, timeoutMs);
      const entry = {
        resolve: (v: F | undefined) => {
          clearTimeout(t);
          resolve(v);
        },
        reject: (e: Error) => {
          clearTimeout(t);
          reject(e);
        },
      };
      this.waiters.push(entry);
    });
  }
}

/** Writes on a stream; a stream already reset by the peer (refused) becomes "connection refused". */
export async function writeOrRefused(stream: PilotStream, data: Uint8Array): Promise<void> {
  if (stream.closed) throw stream.closeReason === 'rst' ? refusedError(stream) : new PilotError('connection_failed', `${stream} closed`);
  await stream.writeAll(data);
}

/** Resolves when the stream has closed (or after `timeoutMs`), with the close reason if known. */
export function whenClosed(stream: PilotStream, timeoutMs: number): Promise<string | undefined> {
  if (stream.closed) return Promise.resolve(stream.closeReason);
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      stream.off('close', on);
      resolve(undefined);
    }, timeoutMs);
    const on = (reason: string): void => {
      clearTimeout(t);
      resolve(reason);
    };
    stream.once('close', on);
  });
}

/**
 * Sends one request on a fresh stream and ends it gracefully: dial, write, end, wait for the close
 * (so the bytes were delivered), bounded by `timeoutMs`. A reset before the close → refused.
 */
export async function sendOneShot(node: PilotNode, target: Target, port: number, data: Uint8Array, timeoutMs = 10_000, parent?: ParentLike): Promise<void> {
  const s = await node.dial(targetAddress(target), port, timeoutMs, parent ? { parent } : {});
  s.stopBuffering();
  await writeOrRefused(s, data);
  s.end();
  const reason = await whenClosed(s, timeoutMs);
  if (reason === 'rst') throw refusedError(s);
}

/**
 * Background work a service started and may need to finish (or let tests wait for). Work started by
 * inbound traffic ends here: a failure is logged (with `what`), never an unhandled rejection.
 */
export class WorkSet {
  private readonly set = new Set<Promise<unknown>>();
  constructor(private readonly log: Logger) {}
  add(p: Promise<unknown>, what: string, fields?: Record<string, unknown>): void {
    const q: Promise<unknown> = p
      .catch((e: unknown) => this.log.warn(`${what} failed`, { ...fields, error: e instanceof Error ? e.message : String(e) }))
      .finally(() => this.set.delete(q));
    this.set.add(q);
  }
  async settled(): Promise<void> {
    while (this.set.size > 0) await Promise.allSettled([...this.set]);
  }
}

/**
 * One request frame in, one answer frame out, then the stream ends: the shape of the query services
 * (trace-query, fleet-query). Bad framing aborts the stream and calls `badFraming`; `handle` gets the
 * first complete frame and a `reply(type, body)` that writes one JSON frame and ends the stream (a
 * second reply, or one after the peer closed, does nothing).
 */
export function serveOneFrame(
  s: PilotStream,
  maxBytes: number,
  on: { badFraming: (e: unknown) => void; frame: (f: ServiceFrame, reply: (type: number, body: unknown) => void) => void },
): void {
  s.stopBuffering();
  const decoder = new ServiceFrameDecoder(maxBytes);
  let done = false;
  const reply = (type: number, body: unknown): void => {
    done = true;
    if (s.closed) return;
    try {
      s.write(jsonServiceFrame(type, body));
    } finally {
      s.end();
    }
  };
  s.on('data', (chunk) => {
    if (done) return;
    let frames: ServiceFrame[];
    try {
      frames = decoder.push(Uint8Array.from(chunk));
    } catch (e) {
      done = true;
      s.abort();
      on.badFraming(e);
      return;
    }
    const f = frames[0];
    if (!f) return;
    done = true;
    on.frame(f, reply);
  });
}

const jsonEncoder = new TextEncoder();

/** A service frame whose payload is `body` as JSON. */
export function jsonServiceFrame(type: number, body: unknown): Uint8Array {
  return encodeServiceFrame(type, jsonEncoder.encode(JSON.stringify(body)));
}
