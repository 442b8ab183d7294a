import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { formatAddress } from '../../../shared/address';
import { TASK_ID_RE, bestMember, newTaskId, taskReward, type TaskCategory, type TaskFile } from './tasks';
import { TestNet, waitFor, type Peer } from './testkit';

describe('task helpers (pure)', () => {
  it('makes UUID-like ids', () => {
    const ids = new Set(Array.from({ length: 50 }, newTaskId));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(TASK_ID_RE);
  });

  it.each([
    [{}, 1], // nothing measured: base 1
    [{ cpuMs: 60_000 }, 2], // 1 + log2(2) = 2
    [{ cpuMs: 180_000 }, 3], // 1 + log2(4) = 3
    [{ cpuMs: 420_000 }, 4], // 1 + log2(8) = 4
    [{ cpuMs: 420_000, idleMs: 60_000 }, 3], // 4 × 0.7 = 2.8
    [{ cpuMs: 420_000, idleMs: 600_000, stagedMs: 6_000_000 }, 2], // 4 × max(0.4, 0.4) = 1.6
    [{ cpuMs: 180_000, idleMs: 30_000 }, 3], // 3 × 0.85 = 2.55 → 3
    [{ cpuMs: 60_000, idleMs: 60_000, stagedMs: 600_000 }, 1], // 2 × 0.4 = 0.8 → 1
    [{ cpuMs: 180_000, idleMs: 60_000 }, 2], // 3 × 0.7 = 2.1
    [{ cpuMs: 60_000, stagedMs: 150_000 }, 2], // 2 × 0.925 = 1.85 → 2
  ])('reward(%j) = %i', (t, want) => {
    expect(taskReward(t)).toBe(want);
  });

  it('rounds half up', () => {
    // 1 + log2(1 + x) = 2.5 / 1 → x = 2^1.5 − 1 minutes
    expect(taskReward({ cpuMs: (2 ** 1.5 - 1) * 60_000 + 1 })).toBe(3);
  });
});

describe('task submit (port 1003) over real nodes', () => {
  let net: TestNet;
  let submitter: Peer;
  let worker: Peer;
  beforeAll(async () => {
    net = await TestNet.start();
    // The submitter is private and does not trust the worker: the worker's answers still get in.
    submitter = await net.peer({ public: false });
    worker = await net.peer({ public: true, tags: ['gpu'] });
  });
  afterAll(async () => {
    await net?.close();
  });

  const statusAt = (p: Peer, id: string, status: string): Promise<unknown> => {
    if (p.svc.tasks!.get(id)?.task.status === status) return Promise.resolve();
    return waitFor(p.svc.tasks!, 'changed', (c: { task: TaskFile }) => c.task.task_id === id && c.task.status === status);
  };
  const readTask = async (p: Peer, cat: TaskCategory, id: string): Promise<TaskFile> => {
    await p.svc.settled(); // file writes trail the in-memory state
    return JSON.parse(await readFile(path.join(p.svc.tasksDir, cat, `${id}.json`), 'utf8')) as TaskFile;
  };

  it('submit → NEW → accept → execute → send-results: results saved, COMPLETED, polo updated', async () => {
    const polo0 = {
      s: (await submitter.node.registry.getPoloScore(submitter.node.nodeId)).polo_score,
      w: (await worker.node.registry.getPoloScore(worker.node.nodeId)).polo_score,
    };
    const arrived = waitFor<[TaskFile]>(worker.svc.tasks!, 'received');
    const r = await submitter.svc.tasks!.submit(worker.node.nodeId, 'render frame 7');
    expect(r).toMatchObject({ target: formatAddress(worker.node.address), task: 'render frame 7', status: 200, message: 'Task received with status NEW', accepted: true });
    const id = r.task_id;
    const [got] = await arrived;
    expect(got).toMatchObject({ task_id: id, status: 'NEW', from: formatAddress(submitter.node.address), trace_id: r.trace_id });

    const onDisk = await readTask(worker, 'received', id);
    expect(Object.keys(onDisk).slice(0, 7)).toEqual(['task_id', 'task_description', 'created_at', 'status', 'status_justification', 'from', 'to']);
    expect(onDisk).toMatchObject({ task_id: id, task_description: 'render frame 7', status: 'NEW' });
    expect((await readTask(submitter, 'submitted', id)).status).toBe('NEW');
    expect(worker.svc.tasks!.queue()).toMatchObject({ count: 1, queue: [{ task_id: id, description: 'render frame 7' }] });

    const accepted = statusAt(submitter, id, 'ACCEPTED');
    expect(await worker.svc.tasks!.accept(id)).toEqual({ task_id: id, status: 'ACCEPTED', message: 'Task accepted' });
    await accepted;
    await expect(worker.svc.tasks!.accept(id)).rejects.toMatchObject({ code: 'invalid_state', message: `task ${id} is already ACCEPTED` });
    await expect(worker.svc.tasks!.accept(newTaskId())).rejects.toMatchObject({ code: 'not_found' });

    expect(await worker.svc.tasks!.execute()).toMatchObject({ task_id: id, status: 'EXECUTING', from: formatAddress(submitter.node.address) });
    await expect(worker.svc.tasks!.execute()).rejects.toMatchObject({ code: 'not_found' });

    const result = waitFor<[{ task_id: string; path: string; reward: number }]>(submitter.svc.tasks!, 'result');
    expect(await worker.svc.tasks!.sendResults(id, { text: 'frame rendered' })).toMatchObject({ task_id: id, status: 'SUCCEEDED', sent_type: 'text' });
    const [res] = await result;
    await submitter.svc.settled();
    expect(res.path).toBe(path.join(submitter.svc.tasksDir, 'results', `${id}_result.txt`));
    expect(await readFile(res.path, 'utf8')).toBe('frame rendered');
    const final = await readTask(submitter, 'submitted', id);
    expect(final.status).toBe('COMPLETED'); // the later SUCCEEDED status update does not undo it
    expect(final.completed_at).toMatch(/Z$/);
    expect((await readTask(worker, 'received', id)).status).toBe('SUCCEEDED');

    expect((await submitter.node.registry.getPoloScore(submitter.node.nodeId)).polo_score).toBe(polo0.s - 1);
    expect((await worker.node.registry.getPoloScore(worker.node.nodeId)).polo_score).toBe(polo0.w + res.reward);
    expect(res.reward).toBeGreaterThanOrEqual(1);

    expect(submitter.svc.tasks!.list('submitted').tasks).toContainEqual(expect.objectContaining({ task_id: id, status: 'COMPLETED', category: 'submitted' }));
    expect(worker.svc.tasks!.list('received').tasks).toContainEqual(expect.objectContaining({ task_id: id, status: 'SUCCEEDED', category: 'received' }));
  });

  it('sends file results and honours decline', async () => {
    // The worker now has a higher score than the submitter (previous test): even it out.
    await worker.node.registry.setPoloScore(worker.node.nodeId, 0);
    await submitter.node.registry.setPoloScore(submitter.node.nodeId, 0);
    const r1 = await submitter.svc.tasks!.submit(worker.node.nodeId, 'make a csv');
    const r2 = await submitter.svc.tasks!.submit(worker.node.nodeId, 'something odd');
    expect([r1.accepted, r2.accepted]).toEqual([true, true]);
    await worker.svc.tasks!.accept(r1.task_id);
    const result = waitFor<[{ task_id: string; path: string }]>(submitter.svc.tasks!, 'result');
    expect(await worker.svc.tasks!.sendResults(r1.task_id, { filename: '../out.csv', data: new TextEncoder().encode('a,b\n1,2\n') })).toMatchObject({
      sent_type: 'file',
      filename: 'out.csv',
      file_size: 8,
    });
    const [res] = await result;
    expect(path.basename(res.path)).toBe(`${r1.task_id}_out.csv`);
    expect(await readFile(res.path, 'utf8')).toBe('a,b\n1,2\n');

    const declined = statusAt(submitter, r2.task_id, 'DECLINED');
    expect(await worker.svc.tasks!.decline(r2.task_id, 'out of scope')).toMatchObject({ status: 'DECLINED', justification: 'out of scope' });
    await declined;
    expect((await readTask(submitter, 'submitted', r2.task_id)).status_justification).toBe('out of scope');
    expect(await readdir(path.join(submitter.svc.tasksDir, 'results'))).toHaveLength(2);
  });

  it('refuses a submitter whose polo score is lower', async () => {
    await worker.node.registry.setPoloScore(worker.node.nodeId, 5);
    await submitter.node.registry.setPoloScore(submitter.node.nodeId, 2);
    const r = await submitter.svc.tasks!.submit(worker.node.nodeId, 'please');
    expect(r).toMatchObject({ status: 400, accepted: false, message: 'Polo score too low: submitter=2, receiver=5' });
    expect(submitter.svc.tasks!.get(r.task_id)).toBeUndefined();
    await worker.node.registry.setPoloScore(worker.node.nodeId, 0);
    await submitter.node.registry.setPoloScore(submitter.node.nodeId, 0);
  });

  it('cancels a task not accepted in time and tells the submitter', async () => {
    const quick = await net.peer({ public: true, tasks: { cancelNewAfterMs: 150, cancelCheckMs: 50 } });
    const r = await submitter.svc.tasks!.submit(quick.node.nodeId, 'hurry');
    expect(r.accepted).toBe(true);
    await statusAt(submitter, r.task_id, 'CANCELLED');
    expect(quick.svc.tasks!.get(r.task_id)?.task.status).toBe('CANCELLED');
    await expect(quick.svc.tasks!.accept(r.task_id)).rejects.toMatchObject({ code: 'invalid_state' });
    expect(quick.svc.tasks!.queue().count).toBe(0);
  });

  it('ignores results from a node the task was not submitted to', async () => {
    const r = await submitter.svc.tasks!.submit(worker.node.nodeId, 'mine');
    const intruder = await net.peer({ public: true });
    const { sendOneShot } = await import('./common');
    const { encodeServiceFrame, TASK_TYPE } = await import('../../wire/service');
    const before = submitter.svc.tasks!.counters.ignored;
    // the submitter is private: the intruder needs a tunnel first (the submitter pings it)
    await submitter.node.controlPing(intruder.node.nodeId);
    const body = JSON.stringify({ task_id: r.task_id, result_type: 'text', result_text: 'fake', completed_at: '2024-01-01T00:00:00Z' });
    // refused outright by enforcement (private submitter, untrusted intruder, no task with it)
    await expect(sendOneShot(intruder.node, submitter.node.nodeId, 1003, encodeServiceFrame(TASK_TYPE.SEND_RESULTS, new TextEncoder().encode(body)))).rejects.toMatchObject({
      message: expect.stringMatching(/refused/),
    });
    expect(submitter.svc.tasks!.get(r.task_id)?.task.status).toBe('NEW');
    expect(submitter.svc.tasks!.counters.ignored).toBe(before);

    // A public submitter lets the frame in, and the task check drops it.
    const open = await net.peer({ public: true });
    const r2 = await open.svc.tasks!.submit(worker.node.nodeId, 'also mine');
    const body2 = JSON.stringify({ task_id: r2.task_id, result_type: 'text', result_text: 'fake', completed_at: '2024-01-01T00:00:00Z' });
    await sendOneShot(intruder.node, open.node.nodeId, 1003, encodeServiceFrame(TASK_TYPE.SEND_RESULTS, new TextEncoder().encode(body2)));
    await open.svc.settled();
    expect(open.svc.tasks!.counters.ignored).toBe(1);
    expect(open.svc.tasks!.get(r2.task_id)?.task.status).toBe('NEW');
  });

  it('bestMember picks the reachable node with the tag', async () => {
    const other = await net.peer({ public: true, tags: ['cpu'] });
    const best = await bestMember(submitter.node, { tag: '#gpu' });
    expect(best).toMatchObject({ nodeId: worker.node.nodeId, address: formatAddress(worker.node.address) });
    expect(best.reason).toMatch(/lowest RTT .* #gpu/);
    expect(best.candidates.map((c) => c.nodeId)).toEqual([worker.node.nodeId]);
    expect((await bestMember(submitter.node, { tag: 'cpu' })).nodeId).toBe(other.node.nodeId);
    await expect(bestMember(submitter.node, { tag: 'quantum' })).rejects.toMatchObject({ code: 'not_found' });
  });
});
