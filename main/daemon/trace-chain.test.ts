import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SpanView } from '../../shared/contract';
import { IpcClient } from './client';
import { envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from './testing/procs';

// One trace across three real daemons: an agent at the coordinator (its own span, handed over as
// TRACEPARENT) submits a task to a specialist; the specialist's agent reads the received task's
// traceparent and, with it as TRACEPARENT, submits a sub-task to a sub-specialist, whose agent
// sends results back. Each node records only its own spans; together they form one causal chain.
describe('trace context across agents (real daemons, pilotctl with TRACEPARENT)', () => {
  let dir: string;
  let bb: BackboneProc;
  let coord: Home;
  let spec: Home;
  let sub: Home;
  const sfx = Math.random().toString(36).slice(2, 6);
  const AGENT_TRACE = 'a1'.repeat(16);
  const AGENT_SPAN = 'b2'.repeat(8);

  const start = async (h: Home, hostname: string): Promise<void> => {
    const r = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--netcheck', bb.netcheck, '--hostname', hostname, '--listen', '127.0.0.1:0', '--public']);
    expect(r.code, r.stderr).toBe(0);
  };
  const ok = async (h: Home, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Record<string, unknown>> => {
    const r = await pilotctl({ ...h.env, ...env }, ['--json', ...args]);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };
  const spansOf = async (h: Home, traceId: string): Promise<SpanView[]> => {
    const c = await IpcClient.connect(h.socket);
    try {
      return await c.call('traces.get', { traceId });
    } finally {
      c.close();
    }
  };
  const received = async (h: Home, id: string): Promise<{ traceparent?: string; trace_id?: string }> => {
    const list = await ok(h, ['task', 'list', '--type', 'received']);
    const t = (list['tasks'] as { task_id: string; traceparent?: string; trace_id?: string }[]).find((x) => x.task_id === id);
    expect(t).toBeDefined();
    return t!;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-trace-'));
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    coord = makeHome(dir, 'coord');
    spec = makeHome(dir, 'spec');
    sub = makeHome(dir, 'sub');
    await Promise.all([start(coord, `coordinator-${sfx}`), start(spec, `specialist-${sfx}`), start(sub, `sub-specialist-${sfx}`)]);
  });

  afterAll(async () => {
    await Promise.all([coord, spec, sub].map((h) => pilotctl(h.env, ['daemon', 'stop'])));
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('coordinator -> specialist -> sub-specialist is one trace whose parent links form the causal chain', async () => {
    // The coordinator's agent, inside its own span.
    const top = await ok(coord, ['task', 'submit', `specialist-${sfx}`, '--task', 'summarise the literature'], { TRACEPARENT: `00-${AGENT_TRACE}-${AGENT_SPAN}-01` });
    expect(top).toMatchObject({ accepted: true, trace_id: AGENT_TRACE });
    const topId = String(top['task_id']);

    // The specialist's agent continues the task's trace.
    const task = await received(spec, topId);
    expect(task.trace_id).toBe(AGENT_TRACE);
    expect(task.traceparent).toMatch(new RegExp(`^00-${AGENT_TRACE}-[0-9a-f]{16}-01$`));
    const child = await ok(spec, ['task', 'submit', `sub-specialist-${sfx}`, '--task', 'fetch citations'], { TRACEPARENT: task.traceparent! });
    expect(child).toMatchObject({ accepted: true, trace_id: AGENT_TRACE });
    const childId = String(child['task_id']);

    // The sub-specialist's agent answers; the results go back under the same trace.
    const subTask = await received(sub, childId);
    await ok(sub, ['task', 'accept', '--id', childId]);
    await ok(sub, ['task', 'send-results', '--id', childId, '--results', 'three citations'], { TRACEPARENT: subTask.traceparent! });

    const find = (spans: SpanView[], name: string): SpanView => {
      const s = spans.find((x) => x.name === name);
      expect(s, `${name} in ${spans.map((x) => x.name).join(', ')}`).toBeDefined();
      return s!;
    };
    let c: SpanView[] = [];
    let s: SpanView[] = [];
    let u: SpanView[] = [];
    await vi.waitFor(
      async () => {
        [c, s, u] = await Promise.all([spansOf(coord, AGENT_TRACE), spansOf(spec, AGENT_TRACE), spansOf(sub, AGENT_TRACE)]);
        for (const [spans, names] of [
          [c, ['task.submit']],
          [s, ['task.receive', 'task.submit', 'task.results']],
          [u, ['task.receive', 'task.send_results']],
        ] as const) {
          for (const n of names) expect(spans.map((x) => x.name)).toContain(n);
        }
      },
      { timeout: 20_000, interval: 200 },
    );

    // Every span each node holds for this trace is its own.
    for (const [spans, host] of [
      [c, `coordinator-${sfx}`],
      [s, `specialist-${sfx}`],
      [u, `sub-specialist-${sfx}`],
    ] as const) {
      for (const x of spans) {
        expect(x.traceId).toBe(AGENT_TRACE);
        expect(x.node).toBe(host);
      }
    }

    // The causal chain: agent span -> coordinator submit -> specialist receive -> specialist submit
    // -> sub-specialist receive -> sub-specialist send_results -> specialist results.
    const cSubmit = find(c, 'task.submit');
    const sReceive = find(s, 'task.receive');
    const sSubmit = find(s, 'task.submit');
    const uReceive = find(u, 'task.receive');
    const uSend = find(u, 'task.send_results');
    const sResults = find(s, 'task.results');
    expect(cSubmit).toMatchObject({ parentId: AGENT_SPAN, remoteParent: true, kind: 'client', status: 'ok' });
    expect(sReceive).toMatchObject({ parentId: cSubmit.spanId, remoteParent: true, kind: 'server' });
    expect(sSubmit).toMatchObject({ parentId: sReceive.spanId, remoteParent: true, kind: 'client', status: 'ok' });
    expect(uReceive).toMatchObject({ parentId: sSubmit.spanId, remoteParent: true, kind: 'server' });
    expect(uSend).toMatchObject({ parentId: uReceive.spanId, remoteParent: true });
    expect(sResults).toMatchObject({ parentId: uSend.spanId, remoteParent: true, kind: 'server' });

    // The node's own work for the coordinator's submit hangs under it: the stream (and, on the first
    // contact, the tunnel's establishment) — all in the same trace, all
    // with a parent that is one of the coordinator's spans or the agent's (the hostname's
    // resolution comes before the submit).
    const stream = c.find((x) => x.name === 'stream' && x.parentId === cSubmit.spanId);
    expect(stream, c.map((x) => `${x.name}<-${x.parentId}`).join(', ')).toBeDefined();
    const ids = new Set([...c.map((x) => x.spanId), AGENT_SPAN]);
    for (const x of c) if (x !== cSubmit) expect(ids.has(x.parentId ?? ''), `${x.name} parent`).toBe(true);
    expect(c.some((x) => x.name.startsWith('registry.'))).toBe(true);
    // First contact: the tunnel was established inside the submit's stream.
    const establish = find(c, 'tunnel.establish');
    expect(establish).toMatchObject({ parentId: stream!.spanId, kind: 'client', attrs: { path: 'direct' } });
    expect(find(c, 'key_exchange').parentId).toBe(establish.spanId);
    // A dial by hostname: the signed resolve_hostname (before the submit) gave the endpoint and the
    // key, so the establishment asks the registry nothing more (no resolve, no lookup).
    find(c, 'registry.resolve_hostname');
    expect(c.filter((x) => x.name.startsWith('registry.') && x.parentId === establish.spanId).map((x) => x.name)).toEqual([]);
  });

  it('a hostile TRACEPARENT is ignored: the submit starts its own trace', async () => {
    const r = await ok(coord, ['task', 'submit', `specialist-${sfx}`, '--task', 'again'], { TRACEPARENT: '00-zzzz-not-a-trace-01' });
    expect(r['accepted']).toBe(true);
    expect(r['trace_id']).toMatch(/^[0-9a-f]{32}$/);
    expect(r['trace_id']).not.toBe(AGENT_TRACE);
    const spans = await spansOf(coord, String(r['trace_id']));
    expect(spans.find((x) => x.name === 'task.submit')?.parentId).toBeUndefined();
  });
});
