import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtemp, readdir, rm, appendFile, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, MemoryStore } from './store';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pilot-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('FileStore', () => {
  it('persists appended records once sync() resolves and replays them on reopen', async () => {
    const s = await FileStore.open(dir);
    expect(await s.load()).toEqual({ snapshot: undefined, records: [], skippedLines: 0 });
    s.append([{ r: 1 }, { r: 2 }]);
    await s.sync();
    s.append([{ r: 3 }]);
    await s.sync();
    await s.close();
    const s2 = await FileStore.open(dir);
    expect((await s2.load()).records).toEqual([{ r: 1 }, { r: 2 }, { r: 3 }]);
    await s2.close();
  });

  it('group-commits concurrent writers into few fsyncs', async () => {
    const s = await FileStore.open(dir);
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      s.append([{ i }]);
      waits.push(s.sync());
    }
    await Promise.all(waits);
    expect(s.stats().fsyncs).toBeGreaterThanOrEqual(1);
    expect(s.stats().fsyncs).toBeLessThan(300);
    await s.close();
    const s2 = await FileStore.open(dir);
    expect((await s2.load()).records).toHaveLength(300);
    await s2.close();
  });

  it('ignores a torn final line and never appends to it', async () => {
    const s = await FileStore.open(dir);
    s.append([{ a: 1 }]);
    await s.sync();
    await s.close();
    const seg = (await readdir(dir)).find((f) => f.startsWith('wal-'))!;
    await appendFile(join(dir, seg), '{"a":2,"tor'); // crash mid-write
    const s2 = await FileStore.open(dir);
    const l = await s2.load();
    expect(l.records).toEqual([{ a: 1 }]);
    expect(l.skippedLines).toBe(1);
    s2.append([{ a: 3 }]);
    await s2.sync();
    await s2.close();
    const s3 = await FileStore.open(dir);
    expect((await s3.load()).records).toEqual([{ a: 1 }, { a: 3 }]);
    await s3.close();
  });

  it('snapshot replaces the log; later records replay on top', async () => {
    const s = await FileStore.open(dir);
    s.append([{ n: 1 }, { n: 2 }]);
    const synced = s.sync();
    let state = { total: 3 };
    await s.writeSnapshot(() => state);
    await synced;
    state = { total: 99 }; // not captured: the snapshot was taken synchronously
    s.append([{ n: 4 }]);
    await s.sync();
    expect(s.stats().snapshots).toBe(1);
    await s.close();
    const files = (await readdir(dir)).sort();
    expect(files.filter((f) => f.startsWith('wal-'))).toHaveLength(1);
    const s2 = await FileStore.open(dir);
    const l = await s2.load();
    expect(l.snapshot).toEqual({ total: 3 });
    expect(l.records).toEqual([{ n: 4 }]);
    await s2.close();
  });

  it('records appended right after a snapshot call land in the new segment, even with a flush already queued', async () => {
    const s = await FileStore.open(dir);
    s.append([{ a: 1 }]);
    const p1 = s.sync(); // a flush is queued before the snapshot
    const snap = s.writeSnapshot(() => ({ covers: ['a1'] }));
    s.append([{ a: 2 }]); // after the snapshot: must survive the deletion of the old segment
    const p2 = s.sync();
    await Promise.all([p1, p2, snap]);
    s.append([{ a: 3 }]);
    await s.sync();
    await s.close();
    const s2 = await FileStore.open(dir);
    const l = await s2.load();
    expect(l.snapshot).toEqual({ covers: ['a1'] });
    expect(l.records).toEqual([{ a: 2 }, { a: 3 }]);
    await s2.close();
  });

  it('a crash between snapshot rename and segment deletion does not replay old segments', async () => {
    const s = await FileStore.open(dir);
    s.append([{ old: true }]);
    await s.sync();
    await s.close();
    const oldSeg = (await readdir(dir)).find((f) => f.startsWith('wal-'))!;
    const oldText = await readFile(join(dir, oldSeg), 'utf8');
    const s2 = await FileStore.open(dir);
    await s2.load();
    await s2.writeSnapshot(() => ({ snap: 1 }));
    s2.append([{ fresh: true }]);
    await s2.sync();
    await s2.close();
    await writeFile(join(dir, oldSeg), oldText); // resurrect a segment the snapshot covers
    const s3 = await FileStore.open(dir);
    const l = await s3.load();
    expect(l.snapshot).toEqual({ snap: 1 });
    expect(l.records).toEqual([{ fresh: true }]);
    expect(await readdir(dir)).not.toContain(oldSeg);
    await s3.close();
  });
});

describe('MemoryStore', () => {
  it('keeps records and snapshots in memory', async () => {
    const m = new MemoryStore();
    m.append([{ x: 1 }]);
    await m.writeSnapshot(() => ({ s: 1 }));
    m.append([{ x: 2 }]);
    expect(await m.load()).toEqual({ snapshot: { s: 1 }, records: [{ x: 2 }], skippedLines: 0 });
  });
});
