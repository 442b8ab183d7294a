import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { CollectedTrace, LogLine, SpanView } from '../../shared/contract';
import { IpcClient } from './client';
import { PILOTCTL, envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from './testing/procs';

// Real processes: a backbone and three daemons. alpha collects traces; beta trusts alpha (answers its
// trace queries); gamma trusts nobody (refuses them, counted and logged). pilotctl trace, trace
// export and logs (incl. --follow) over the daemons' IPC sockets.
describe('pilotctl trace / trace export / logs against real daemons', () => {
  let dir: string;
  let bb: BackboneProc;
  let alpha: Home;
  let beta: Home;
  let gamma: Home;
  const ids: Record<string, number> = {};
  const sfx = Math.random().toString(36).slice(2, 6);

  const ok = async (h: Home, args: string[]): Promise<Record<string, unknown>> => {
    const r = await pilotctl(h.env, ['--json', ...args]);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };
  const start = async (h: Home, name: string): Promise<void> => {
    const d = await ok(h, ['daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--netcheck', bb.netcheck, '--hostname', `${name}-${sfx}`, '--listen', '127.0.0.1:0', '--public']);
    ids[name] = Number(d['node_id']);
  };
  /** Pings `target` from `h` once; the trace id of that ping (the newest local `ping` span). */
  const pingTrace = async (h: Home, target: string): Promise<string> => {
    await ok(h, ['ping', target, '--count', '1']);
    const c = await IpcClient.connect(h.socket);
    try {
      const spans: SpanView[] = await c.call('traces.list', { limit: 1000 });
      const s = spans.filter((x) => x.name === 'ping').pop();
      expect(s, `a ping span toward ${target}: ${spans.map((x) => x.name).join(',')}`).toBeDefined();
      return s!.traceId;
    } finally {
      c.close();
    }
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-trace-'));
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    alpha = makeHome(dir, 'alpha');
    beta = makeHome(dir, 'beta');
    gamma = makeHome(dir, 'gamma');
    await Promise.all([start(alpha, 'alpha'), start(beta, 'beta'), start(gamma, 'gamma')]);
    // beta trusts alpha.
    expect(await ok(alpha, ['handshake', `beta-${sfx}`, 'traces'])).toMatchObject({ status: 'sent' });
    await vi.waitFor(async () => expect(((await ok(beta, ['pending']))['pending'] as unknown[]).length).toBe(1), { timeout: 15_000, interval: 100 });
    await ok(beta, ['approve', String(ids['alpha'])]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([alpha, beta, gamma].filter(Boolean).map((h) => pilotctl(h.env, ['daemon', 'stop'])));
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('collects from a trusting peer; an untrusted node refuses (counted in its log), and the waterfall says so', async () => {
    const toBeta = await pingTrace(alpha, `beta-${sfx}`);
    const t = (await ok(alpha, ['trace', toBeta])) as unknown as CollectedTrace;
    expect(t.traceId).toBe(toBeta);
    expect(t.nodes.map((n) => [n.hostname, n.self, n.error])).toEqual([
      [`alpha-${sfx}`, true, undefined],
      [`beta-${sfx}`, false, undefined],
    ]);
    expect(t.nodes[0]!.spans).toBeGreaterThanOrEqual(3); // ping, resolve, tunnel, echo
    expect(t.nodes[1]!.rttMs).toBeTypeOf('number');
    expect(new Set(t.spans.map((s) => s.lane))).toContain(t.nodes[0]!.address);

    const toGamma = await pingTrace(alpha, `gamma-${sfx}`);
    const g = (await ok(alpha, ['trace', toGamma])) as unknown as CollectedTrace;
    expect(g.nodes[1]).toMatchObject({ hostname: `gamma-${sfx}`, spans: 0, error: expect.stringContaining('refused') });
    const text = await pilotctl(alpha.env, ['trace', toGamma]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`gamma-${sfx}`);
    expect(text.stdout).toMatch(/no spans: trace query refused/);
    expect(text.stdout).toMatch(/\|█+/);

    // gamma logged each refusal (two queries above) with component, peer and trace id; logs filters find them.
    const lines = (await ok(gamma, ['logs', '--component', 'tracequery', '--trace', toGamma])) as unknown as LogLine[];
    const refusal = ['info', expect.stringContaining('refused'), ids['alpha'], toGamma];
    expect(lines.map((l) => [l.level, l.msg, l.fields['peer'], l.fields['trace_id']])).toEqual([refusal, refusal]);
    expect(await ok(gamma, ['logs', '--component', 'tracequery', '--level', 'warn'])).toEqual([]);
    const byPeer = (await ok(gamma, ['logs', '--peer', String(ids['alpha'])])) as unknown as LogLine[];
    expect(byPeer.some((l) => l.fields['trace_id'] === toGamma)).toBe(true);
  });

  it('trace export writes OTLP/JSON with one resourceSpans per node that had spans', async () => {
    const id = await pingTrace(alpha, `beta-${sfx}`);
    const file = path.join(dir, 'trace.json');
    expect(await ok(alpha, ['trace', 'export', id, '--otlp', '--out', file])).toMatchObject({ file, trace_id: id });
    const otlp = JSON.parse(fs.readFileSync(file, 'utf8')) as { resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: { traceId: string; startTimeUnixNano: string }[] }[] }[] };
    expect(otlp.resourceSpans.map((r) => r.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue)).toContain(`alpha-${sfx}`);
    const spans = otlp.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    expect(spans.length).toBeGreaterThanOrEqual(3);
    expect(spans.every((s) => s.traceId === id && /^\d+$/.test(s.startTimeUnixNano))).toBe(true);
    const stdout = await pilotctl(alpha.env, ['trace', 'export', id, '--local']);
    expect(JSON.parse(stdout.stdout)).toMatchObject({ resourceSpans: [{ scopeSpans: [{ scope: { name: 'pilot-fleet' } }] }] });
    const bad = await pilotctl(alpha.env, ['--json', 'trace', 'nothex']);
    expect(envelope(bad)).toMatchObject({ status: 'error', code: 'invalid_argument' });
  });

  it('logs --follow prints new matching lines as the daemon writes them', async () => {
    const child = spawn(process.execPath, [PILOTCTL, 'logs', '--follow', '--component', 'tracequery', '--limit', '1'], { env: gamma.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      // The tail (one old refusal) is printed first: the follower is attached.
      await vi.waitFor(() => expect(out).toContain('[tracequery]'), { timeout: 20_000, interval: 50 });
      const before = out.split('\n').filter(Boolean).length;
      const id = await pingTrace(alpha, `gamma-${sfx}`);
      await ok(alpha, ['trace', id]);
      await vi.waitFor(() => expect(out.split('\n').filter((l) => l.includes(id)).length).toBeGreaterThan(0), { timeout: 20_000, interval: 50 });
      expect(out.split('\n').filter(Boolean).length).toBeGreaterThan(before);
    } finally {
      child.kill('SIGINT');
      await exited;
    }
  });
});
