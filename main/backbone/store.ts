/**
 * Crash-safe persistence for the registry: a write-ahead log of JSON lines plus periodic snapshots.
 *
 * - `append(records)` buffers records; `sync()` resolves once everything appended so far is on disk
 *   (written and fdatasync'd). Concurrent callers share one write + one fdatasync (group commit):
 *   while one fsync is in flight, new appends accumulate and go out together in the next one.
 * - `writeSnapshot(make)` calls `make()` synchronously and queues a segment switch right behind the
 *   records appended so far (in the same buffer, so the writer switches files exactly there); once
 *   the old segment is durable and the new one exists, the snapshot is written to a temp file,
 *   fsync'd, renamed over `snapshot.json`, the directory fsync'd, and the covered segments deleted.
 *   A crash at any point leaves either the old snapshot + all segments or the new snapshot + the
 *   segments after it.
 * - `load()` = snapshot + replay of every segment from the snapshot's `wal_from` on. A line that does
 *   not parse (a torn final write from a crash) is skipped and counted; each process start writes
 *   to a fresh segment, so a torn tail is never appended to.
 *
 * Layout of the data directory: `snapshot.json`, `wal-<000000000N>.jsonl`.
 */
import { closeSync, fdatasync, fsyncSync, openSync, write } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface LoadedData {
  snapshot: unknown;
  records: unknown[];
  /** Lines that could not be parsed (a torn tail after a crash). */
  skippedLines: number;
}

export interface StoreStats {
  appended: number;
  fsyncs: number;
  snapshots: number;
  /** Bytes in the current log segment(s) since the last snapshot. */
  walBytes: number;
  walRecords: number;
}

export interface Store {
  load(): Promise<LoadedData>;
  append(records: readonly unknown[]): void;
  /** Resolves when every record appended before the call is durable. */
  sync(): Promise<void>;
  /** `make` is called synchronously; the snapshot replaces the log written so far. */
  writeSnapshot(make: () => unknown): Promise<void>;
  stats(): StoreStats;
  close(): Promise<void>;
}

/** In-memory store (unit tests, and backbones started without a data directory). */
export class MemoryStore implements Store {
  private snap: string | undefined;
  private lines: string[] = [];
  private readonly s: StoreStats = { appended: 0, fsyncs: 0, snapshots: 0, walBytes: 0, walRecords: 0 };

  async load(): Promise<LoadedData> {
    return {
      snapshot: this.snap === undefined ? undefined : (JSON.parse(this.snap) as unknown),
      records: this.lines.map((l) => JSON.parse(l) as unknown),
      skippedLines: 0,
    };
  }
  append(records: readonly unknown[]): void {
    for (const r of records) {
      const line = JSON.stringify(r);
      this.lines.push(line);
      this.s.appended++;
      this.s.walRecords++;
      this.s.walBytes += line.length + 1;
    }
  }
  async sync(): Promise<void> {}
  async writeSnapshot(make: () => unknown): Promise<void> {
    this.snap = JSON.stringify(make());
    this.lines = [];
    this.s.snapshots++;
    this.s.walBytes = 0;
    this.s.walRecords = 0;
  }
  stats(): StoreStats {
    return { ...this.s };
  }
  async close(): Promise<void> {}
}

const SNAPSHOT = 'snapshot.json';
const SEGMENT_RE = /^wal-(\d{10})\.jsonl$/;
const segName = (n: number): string => `wal-${String(n).padStart(10, '0')}.jsonl`;

interface Waiter {
  upTo: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A log-segment switch queued in the write buffer, in order with the records around it. */
interface Rotation {
  newNo: number;
  done: (e?: Error) => void;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const writeAll = async (fd: number, data: string): Promise<void> => {
  let buf = Buffer.from(data, 'utf8');
  while (buf.length > 0) {
    const { bytesWritten } = await pWrite(fd, buf, 0, buf.length, null);
    buf = buf.subarray(bytesWritten);
  }
};
const pWrite = promisify(write);
const pDatasync = promisify(fdatasync);

function parseLines(text: string): { values: unknown[]; skipped: number } {
  const values: unknown[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      values.push(JSON.parse(line) as unknown);
    } catch {
      skipped++;
    }
  }
  return { values, skipped };
}

export class FileStore implements Store {
  private fd = -1;
  private segmentNo = 0;
  /** Highest segment number handed out (rotations may be queued but not yet applied). */
  private plannedNo = 0;
  /** Segments whose records a completed rotation's snapshot will cover. */
  private obsolete: number[] = [];
  private buf: (string | Rotation)[] = [];
  private bufBytes = 0;
  private appendedSeq = 0;
  private durableSeq = 0;
  private waiters: Waiter[] = [];
  private chain: Promise<void> = Promise.resolve();
  private flushQueued = false;
  private failed: Error | undefined;
  private loaded: LoadedData | undefined;
  private closed = false;
  private readonly s: StoreStats = { appended: 0, fsyncs: 0, snapshots: 0, walBytes: 0, walRecords: 0 };

  private constructor(readonly dir: string) {}

  /** Opens (creating) the data directory, reads its contents and starts a fresh log segment. */
  static async open(dir: string): Promise<FileStore> {
    const st = new FileStore(dir);
    await st.init();
    return st;
  }

  private async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    let snapshot: unknown;
    let walFrom = 0;
    try {
      const doc = JSON.parse(await readFile(join(this.dir, SNAPSHOT), 'utf8')) as unknown;
      if (typeof doc === 'object' && doc !== null && 'state' in doc) {
        snapshot = (doc as { state: unknown }).state;
        const wf = (doc as { wal_from?: unknown }).wal_from;
        walFrom = typeof wf === 'number' ? wf : 0;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const segs = (await readdir(this.dir))
      .map((f) => SEGMENT_RE.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const records: unknown[] = [];
    let skipped = 0;
    for (const n of segs) {
      if (n < walFrom) {
        await unlink(join(this.dir, segName(n))); // covered by the snapshot (crash before deletion)
        continue;
      }
      const text = await readFile(join(this.dir, segName(n)), 'utf8');
      const r = parseLines(text);
      records.push(...r.values);
      skipped += r.skipped;
      this.obsolete.push(n);
      this.s.walBytes += text.length;
      this.s.walRecords += r.values.length;
    }
    this.loaded = { snapshot, records, skippedLines: skipped };
    this.segmentNo = Math.max(walFrom, (segs[segs.length - 1] ?? -1) + 1);
    this.plannedNo = this.segmentNo;
    this.fd = openSync(join(this.dir, segName(this.segmentNo)), 'a');
    fsyncDir(this.dir);
  }

  async load(): Promise<LoadedData> {
    const l = this.loaded ?? { snapshot: undefined, records: [], skippedLines: 0 };
    this.loaded = undefined; // free memory; a second load is not needed
    return l;
  }

  append(records: readonly unknown[]): void {
    if (records.length === 0) return;
    for (const r of records) {
      const line = JSON.stringify(r) + '\n';
      this.buf.push(line);
      this.bufBytes += line.length;
      this.s.appended++;
      this.s.walRecords++;
    }
    this.appendedSeq++;
  }

  sync(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    const upTo = this.appendedSeq;
    if (this.durableSeq >= upTo) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ upTo, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.chain = this.chain.then(() => {
      this.flushQueued = false;
      return this.flushOnce();
    });
  }

  private fail(e: unknown): void {
    this.failed = e instanceof Error ? e : new Error(String(e));
    for (const w of this.waiters) w.reject(this.failed);
    this.waiters = [];
    for (const item of this.buf) if (typeof item !== 'string') item.done(this.failed);
    this.buf = [];
  }

  /**
   * Writes and fdatasyncs whatever is buffered, in order, switching segments where a rotation
   * marker sits; then releases the waiters it covers.
   */
  private async flushOnce(): Promise<void> {
    if (this.buf.length === 0 || this.failed) return;
    const items = this.buf;
    const upTo = this.appendedSeq;
    this.buf = [];
    this.bufBytes = 0;
    let chunk = '';
    const put = async (): Promise<void> => {
      if (chunk === '') return;
      await writeAll(this.fd, chunk);
      await pDatasync(this.fd);
      this.s.fsyncs++;
      chunk = '';
    };
    try {
      for (const item of items) {
        if (typeof item === 'string') {
          chunk += item;
          continue;
        }
        await put();
        const oldFd = this.fd;
        this.obsolete.push(this.segmentNo);
        this.fd = openSync(join(this.dir, segName(item.newNo)), 'a');
        this.segmentNo = item.newNo;
        fsyncDir(this.dir);
        closeSync(oldFd);
        item.done();
      }
      await put();
    } catch (e) {
      for (const item of items) if (typeof item !== 'string') item.done(e instanceof Error ? e : new Error(String(e)));
      this.fail(e);
      return;
    }
    this.durableSeq = upTo;
    const still: Waiter[] = [];
    for (const w of this.waiters) (w.upTo <= upTo ? w.resolve : () => still.push(w))();
    this.waiters = still;
  }

  writeSnapshot(make: () => unknown): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('store is closed'));
    // Synchronously: capture the state and queue the segment switch right behind the records it covers.
    const newNo = ++this.plannedNo;
    const snapshotText = JSON.stringify({ format: 'pilot-registry-snapshot', version: 1, wal_from: newNo, state: make() });
    const rotated = new Promise<void>((resolve, reject) => {
      this.buf.push({ newNo, done: (e) => (e ? reject(e) : resolve()) });
    });
    this.appendedSeq++;
    this.s.walBytes = 0;
    this.s.walRecords = 0;
    this.scheduleFlush();
    return rotated.then(async () => {
      const covered = this.obsolete.filter((n) => n < newNo);
      const tmp = join(this.dir, `${SNAPSHOT}.tmp`);
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(snapshotText, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(this.dir, SNAPSHOT));
      fsyncDir(this.dir);
      this.s.snapshots++;
      for (const n of covered) await unlink(join(this.dir, segName(n))).catch(() => undefined);
      this.obsolete = this.obsolete.filter((n) => n >= newNo);
    });
  }

  stats(): StoreStats {
    return { ...this.s, walBytes: this.s.walBytes + this.bufBytes };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sync().catch(() => undefined);
    await this.chain;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
