import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DemoView, TaskView } from '../../shared/contract';
import { silentLogger } from '../util/log';
import { launchConsole, type LaunchedConsole } from './launcher';

// The console with an embedded backbone and the demo fleet of real node processes: the coordinator's
// workload and the specialists' agents complete tasks with no one calling anything.
describe('the demo fleet works on its own', () => {
  let dir: string;
  let launched: LaunchedConsole;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-demo-'));
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, PILOT_HOME: path.join(dir, '.pilot'), PILOT_SOCKET: path.join(dir, 'pilot.sock') };
    delete env['PILOT_REGISTRY'];
    delete env['PILOT_BEACON'];
    launched = await launchConsole({ env, log: silentLogger, demoTimings: { pollMs: 100, intervalMs: [200, 400] } });
  }, 60_000);

  afterAll(async () => {
    await launched?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('tasks by capability complete, and a citation is one trace over coordinator, papers and news', async () => {
    expect(launched.demo.map((d) => d.hostname).sort()).toEqual(['specialist-fx', 'specialist-news', 'specialist-papers']);
    const svc = launched.service;
    let done: TaskView[] = [];
    await vi.waitFor(
      async () => {
        const tasks = await svc.call('tasks.list', { category: 'submitted' });
        done = tasks.filter((t) => t.completedAt);
        // Two rounds of requests (citations, fx rates, news) answered: each worker serves a
        // submitter again after it was paid (a worker refuses a submitter scored below it).
        expect(done.filter((t) => t.description.startsWith('cite:')).length).toBeGreaterThanOrEqual(2);
        expect(done.length).toBeGreaterThanOrEqual(5);
        // The workload counts a task when its loop has the result, a moment after the task file says so.
        expect((await svc.call('demo.status', {})).completed).toBeGreaterThanOrEqual(5);
      },
      { timeout: 45_000, interval: 250 },
    );
    const status = await svc.call('demo.status', {});
    expect(status).toMatchObject({ available: true, paused: false });
    expect(status.completed).toBeGreaterThanOrEqual(5);
    expect(status.failed).toBe(0);
    for (const t of done) expect(t.durationMs).toBeGreaterThan(0);

    const citation = done.find((t) => t.description.startsWith('cite:'))!;
    expect(citation).toBeDefined();
    expect(await svc.call('tasks.get', { taskId: citation.taskId })).toMatchObject({ taskId: citation.taskId, category: 'submitted', traceId: citation.traceId, status: 'COMPLETED' });
    const all = await svc.call('tasks.list', { category: 'submitted' });
    const newest = await svc.call('tasks.list', { category: 'submitted', limit: 2 });
    expect(newest.map((t) => t.taskId)).toEqual(all.slice(-2).map((t) => t.taskId));
    const result = await svc.call('tasks.result', { taskId: citation.taskId });
    expect(result.text).toMatch(/\(\d{4}\)\..*\n\nContext:\nHeadlines on/s);

    // The coordinator collects the task's trace from the nodes it touched.
    await vi.waitFor(
      async () => {
        const trace = await svc.call('traces.collect', { traceId: citation.traceId!, timeoutMs: 3000 });
        const hosts = new Set(trace.spans.map((s) => s.node));
        expect([...hosts].sort()).toEqual(expect.arrayContaining(['specialist-news', 'specialist-papers']));
        expect(hosts.size).toBeGreaterThanOrEqual(3);
        expect(trace.spans.filter((s) => s.node === 'specialist-papers').map((s) => s.name)).toEqual(expect.arrayContaining(['task.receive', 'task.submit', 'task.send_results']));
      },
      { timeout: 20_000, interval: 500 },
    );
  }, 90_000);

  it('pauses and resumes from the console, with a demo.changed event each time', async () => {
    const svc = launched.service;
    const seen: DemoView[] = [];
    const off = svc.on((event, data) => {
      if (event === 'demo.changed') seen.push(data as DemoView);
    });
    try {
      expect(await svc.call('demo.setPaused', { paused: true })).toMatchObject({ paused: true });
      expect(seen.at(-1)).toMatchObject({ paused: true });
      // Whatever was in flight settles; then nothing new is submitted while paused.
      await vi.waitFor(async () => {
        const s = await svc.call('demo.status', {});
        expect(s.completed + s.failed).toBe(s.submitted);
      }, { timeout: 30_000, interval: 200 });
      const before = await svc.call('demo.status', {});
      const resumed = await svc.call('demo.setPaused', { paused: false });
      expect(resumed).toMatchObject({ paused: false, submitted: before.submitted });
      await vi.waitFor(async () => expect((await svc.call('demo.status', {})).submitted).toBeGreaterThan(before.submitted), { timeout: 20_000, interval: 200 });
      expect(seen.map((s) => s.paused)).toEqual(expect.arrayContaining([true, false]));
    } finally {
      off();
    }
  }, 60_000);
});
