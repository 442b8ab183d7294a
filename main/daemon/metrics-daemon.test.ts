import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from './testing/procs';

// A real backbone process and two real daemons; one serves its metrics over HTTP
// (`daemon start --metrics 127.0.0.1:0`), and `pilotctl metrics` reads them over the IPC socket.
describe('daemon metrics over real processes', () => {
  let dir: string;
  let bb: BackboneProc;
  let a: Home;
  let b: Home;
  let addrB = '';

  const start = async (h: Home, extra: string[]): Promise<Record<string, unknown>> => {
    const r = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--public', '--listen', '127.0.0.1:0', ...extra]);
    expect(r.code, r.stderr).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-metrics-'));
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    a = makeHome(dir, 'a');
    b = makeHome(dir, 'b');
    const [, db] = await Promise.all([start(a, ['--metrics', '127.0.0.1:0']), start(b, [])]);
    addrB = String(db['address']);
    const ping = await pilotctl(a.env, ['ping', addrB, '--count', '3']);
    expect(ping.code, ping.stderr).toBe(0);
  });

  afterAll(async () => {
    await Promise.all([a && pilotctl(a.env, ['daemon', 'stop']), b && pilotctl(b.env, ['daemon', 'stop'])]);
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('pilotctl metrics --json: the structured figures, with the HTTP endpoint', async () => {
    const r = await pilotctl(a.env, ['--json', 'metrics']);
    expect(r.code, r.stderr).toBe(0);
    const env = envelope(r) as { status: string; data: { endpoint: string; peers: number; peers_exported: number; metrics: { name: string; values: { labels: Record<string, string>; value: number; metricName?: string }[] }[] } };
    expect(env.status).toBe('ok');
    expect(env.data.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(env.data.peers).toBe(1);
    expect(env.data.peers_exported).toBe(1);
    const rtt = env.data.metrics.find((m) => m.name === 'pilot_peer_rtt_seconds');
    expect(rtt?.values.find((v) => v.metricName === 'pilot_peer_rtt_seconds_count' && v.labels['peer'] === addrB)?.value).toBe(3);
    const sent = env.data.metrics.find((m) => m.name === 'pilot_peer_sent_bytes_total');
    expect(sent?.values.find((v) => v.labels['peer'] === addrB)?.value).toBeGreaterThan(0);
  });

  it('pilotctl metrics: the text exposition', async () => {
    const r = await pilotctl(a.env, ['metrics']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('# TYPE pilot_peer_rtt_seconds histogram');
    expect(r.stdout).toContain(`pilot_peer_rtt_seconds_count{peer="${addrB}"} 3`);
    const none = await pilotctl(a.env, ['metrics', '--peers', '0']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout).not.toContain(`peer="${addrB}"`);
    expect(none.stdout).toContain('pilot_metrics_peers_omitted 1');
    const bad = await pilotctl(a.env, ['--json', 'metrics', '--peers', 'many']);
    expect(bad.code).toBe(1);
    expect(envelope(bad)).toMatchObject({ status: 'error', code: 'invalid_argument' });
  });

  it('the daemon serves /metrics over HTTP', async () => {
    const { data } = envelope(await pilotctl(a.env, ['--json', 'metrics', '--peers', '0'])) as { data: { endpoint: string } };
    const res = await fetch(data.endpoint);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    expect(text).toContain(`pilot_peer_sent_bytes_total{peer="${addrB}"}`);
    expect(text).toMatch(/^pilot_tunnel_sent_packets_total \d+$/m);
  });

  it('a daemon without --metrics serves none over HTTP, and a non-loopback address is refused', async () => {
    const r = await pilotctl(b.env, ['--json', 'metrics']);
    expect(r.code, r.stderr).toBe(0);
    expect((envelope(r)['data'] as Record<string, unknown>)['endpoint']).toBeUndefined();
    const c = makeHome(dir, 'c');
    const refused = await pilotctl(c.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--metrics', '0.0.0.0:0']);
    expect(refused.code).toBe(1);
    expect(envelope(refused)).toMatchObject({ status: 'error', code: 'invalid_argument' });
    expect(String(envelope(refused)['message'])).toContain('not a loopback address');
    expect(fs.existsSync(c.socket)).toBe(false);
  });
});
