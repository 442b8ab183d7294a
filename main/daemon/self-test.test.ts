import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from './testing/procs';

// Issue 15, "Self-tests a user runs": ping, traceroute, bench, send and connect to the node's own
// address or hostname go through the node's own stack (the tunnel layer's loopback, then the real
// transport, services and echo) and succeed; handshake to oneself is refused as oneself; ping keeps
// a non-zero exit status when no reply arrives. Real backbone and daemon processes, real pilotctl.
describe('self-tests against one real daemon', () => {
  let dir: string;
  let bb: BackboneProc;
  let a: Home;
  let p: Home;
  const suffix = Math.random().toString(36).slice(2, 7);
  const ha = `self-${suffix}`;
  const hp = `selfpriv-${suffix}`;
  let addrA = '';
  let addrP = '';

  const start = async (h: Home, hostname: string, visibility: string[]): Promise<string> => {
    const r = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--hostname', hostname, ...visibility, '--listen', '127.0.0.1:0']);
    expect(r.code, r.stderr).toBe(0);
    return String((envelope(r)['data'] as Record<string, unknown>)['address']);
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-self-'));
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    a = makeHome(dir, 'a');
    p = makeHome(dir, 'p');
    [addrA, addrP] = await Promise.all([start(a, ha, ['--public']), start(p, hp, [])]);
  });

  afterAll(async () => {
    await Promise.all([pilotctl(a.env, ['daemon', 'stop']), pilotctl(p.env, ['daemon', 'stop'])]);
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ping to its own address and hostname succeeds with exit 0', async () => {
    const byAddr = await pilotctl(a.env, ['ping', addrA, '--count', '2']);
    expect(byAddr.code, byAddr.stderr).toBe(0);
    expect(byAddr.stdout).toMatch(/✓ reply from .* · [\d.]+ms/);
    expect(byAddr.stdout).toMatch(/2 sent, 2 received, 0% loss/);
    const byName = envelope(await pilotctl(a.env, ['--json', 'ping', ha, '--count', '2']));
    expect(byName['status']).toBe('ok');
    expect((byName['data'] as { stats: { received: number } }).stats.received).toBe(2);
  });

  it('a private node pings itself too (trust gates others, not itself)', async () => {
    const r = await pilotctl(p.env, ['ping', addrP, '--count', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 sent, 1 received/);
  });

  it('traceroute, bench, connect and send to itself go through its own echo', async () => {
    const tr = await pilotctl(a.env, ['traceroute', addrA, '--timeout', '20s']);
    expect(tr.code, tr.stderr).toBe(0);
    const bench = envelope(await pilotctl(a.env, ['--json', 'bench', ha, '1', '--timeout', '60s']));
    expect(bench['status'], JSON.stringify(bench)).toBe('ok');
    const conn = envelope(await pilotctl(a.env, ['--json', 'connect', addrA, '7', '--message', 'hello me', '--timeout', '10s']));
    expect((conn['data'] as { response: string }).response).toBe('hello me');
    const sent = envelope(await pilotctl(a.env, ['--json', 'send', ha, '7', '--data', 'echo me', '--timeout', '10s']));
    expect((sent['data'] as { response: string }).response).toBe('echo me');
  });

  it('handshake to itself is refused with a message that says it is itself', async () => {
    for (const target of [addrA, ha]) {
      const r = await pilotctl(a.env, ['handshake', target, 'me']);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/is this node itself/);
    }
  });

  it('ping to a node that does not answer exits non-zero', async () => {
    // A registered node whose daemon is gone without deregistering (SIGKILL): the registry still
    // gives its endpoint, nothing answers there.
    const g = makeHome(dir, 'g');
    const addrG = await start(g, `gone-${suffix}`, ['--public']);
    const first = await pilotctl(a.env, ['ping', addrG, '--count', '1']);
    expect(first.code, first.stderr).toBe(0); // the tunnel is up
    const pid = Number(fs.readFileSync(path.join(g.home, 'pilot.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    const r = await pilotctl(a.env, ['ping', addrG, '--count', '1', '--timeout', '3s']);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/1 sent, 0 received, 100% loss/);
    expect(r.stderr).toMatch(/no reply from/);
  });
});
