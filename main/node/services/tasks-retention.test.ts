import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { newTaskId, type TaskFile } from './tasks';
import { DEFAULT_RETENTION, tasksToEvict, type RetainedTask } from './tasks-retention';
import { TestNet } from './testkit';

const H = 3_600_000;
const policy = { maxTerminal: 3, maxAgeMs: 24 * H, graceMs: 5 * 60_000 };
const t = (id: string, status: string, touched: number): RetainedTask => ({ id, status, touched });

describe('task retention (pure)', () => {
  const now = 100 * H;
  it('keeps everything under the bounds', () => {
    expect(tasksToEvict([t('a', 'COMPLETED', now - H), t('b', 'DECLINED', now - 2 * H), t('c', 'NEW', now - 50 * H)], policy, now)).toEqual([]);
  });

  it('past maxTerminal finished tasks, evicts the oldest first; open tasks neither go nor count', () => {
    const tasks = [
      t('new-old', 'NEW', now - 20 * H),
      t('exec', 'EXECUTING', now - 20 * H),
      t('c1', 'COMPLETED', now - 5 * H),
      t('c2', 'CANCELLED', now - 4 * H),
      t('c3', 'EXPIRED', now - 3 * H),
      t('c4', 'SUCCEEDED', now - 2 * H),
      t('c5', 'COMPLETED', now - H),
    ];
    expect(tasksToEvict(tasks, policy, now)).toEqual(['c1', 'c2']);
  });

  it('evicts finished tasks older than maxAgeMs even under maxTerminal', () => {
    expect(tasksToEvict([t('old', 'COMPLETED', now - 25 * H), t('young', 'COMPLETED', now - H), t('open', 'ACCEPTED', now - 90 * H)], policy, now)).toEqual(['old']);
  });

  it('never evicts a task changed within the grace (a late status update or result must find it), though it counts', () => {
    const tasks = [t('g1', 'COMPLETED', now - 1000), t('g2', 'COMPLETED', now - 2000), t('g3', 'COMPLETED', now - 3000), t('g4', 'COMPLETED', now - 4000), t('old', 'COMPLETED', now - 2 * H)];
    expect(tasksToEvict(tasks, policy, now)).toEqual(['old']);
    expect(tasksToEvict(tasks.slice(0, 4), policy, now)).toEqual([]);
  });

  it('breaks ties of the same age by id, so the choice is stable', () => {
    const tasks = [t('b', 'COMPLETED', now - H), t('a', 'COMPLETED', now - H), t('c', 'COMPLETED', now - H), t('d', 'COMPLETED', now - H)];
    expect(tasksToEvict(tasks, policy, now)).toEqual(['a']);
  });

  it('defaults: 1000 finished per direction, a week, 5 min grace', () => {
    expect(DEFAULT_RETENTION).toEqual({ maxTerminal: 1000, maxAgeMs: 7 * 24 * H, graceMs: 5 * 60_000 });
  });
});

describe('task retention in the task service (real node, task files on disk)', () => {
  let net: TestNet;
  let dir: string;
  beforeAll(async () => {
    net = await TestNet.start();
    dir = mkdtempSync(path.join(tmpdir(), 'pilot-task-retention-'));
  });
  afterAll(async () => {
    await net?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (id: string, status: string): TaskFile => ({
    task_id: id,
    task_description: `task ${id.slice(0, 4)}`,
    created_at: '2026-11-01T00:00:00Z',
    status,
    status_justification: '',
    from: '0:0000.0000.0001',
    to: '0:0000.0000.0002',
  });

  it('at start evicts finished tasks past keepFinished (oldest by last change) and past keepFinishedMs, deletes their files, counts them; open tasks stay', async () => {
    const received = path.join(dir, 'tasks', 'received');
    const submitted = path.join(dir, 'tasks', 'submitted');
    await mkdir(received, { recursive: true });
    await mkdir(submitted, { recursive: true });
    const nowS = Date.now() / 1000;
    const put = async (d: string, status: string, ageH: number): Promise<string> => {
      const id = newTaskId();
      const f = path.join(d, `${id}.json`);
      await writeFile(f, JSON.stringify(file(id, status)));
      await utimes(f, nowS - ageH * 3600, nowS - ageH * 3600); // the file's mtime is the task's last change
      return id;
    };
    // received: 5 finished (1..5 h old), one NEW 50 h old; submitted: one finished 30 h old, one 1 h old.
    const finished = [];
    for (let h = 5; h >= 1; h--) finished.push(await put(received, 'COMPLETED', h));
    const open = await put(received, 'NEW', 50);
    const tooOld = await put(submitted, 'DECLINED', 30);
    const recent = await put(submitted, 'COMPLETED', 1);

    const p = await net.peer({ dir, tasks: { keepFinished: 3, keepFinishedMs: 24 * H, cancelNewAfterMs: 1e12 } });
    const tasks = p.svc.tasks!;
    await tasks.settled();
    expect(tasks.counters.evicted).toBe(3);
    const ids = tasks.list().tasks.map((x) => x.task_id).sort();
    expect(ids).toEqual([...finished.slice(2), open, recent].sort());
    expect(tasks.get(finished[0]!)).toBeUndefined();
    expect(tasks.get(tooOld)).toBeUndefined();
    expect((await readdir(received)).sort()).toEqual([...finished.slice(2), open].map((id) => `${id}.json`).sort());
    expect(await readdir(submitted)).toEqual([`${recent}.json`]);
    // Nothing more to evict: a second pass changes nothing.
    expect(tasks.enforceRetention()).toBe(0);
    expect(tasks.counters.evicted).toBe(3);
  });
});
