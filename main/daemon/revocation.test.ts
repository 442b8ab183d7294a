import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from './testing/procs';

// Issue 15, "Revocation": revoking trust changes permissions, not the reachability of a public node.
// After `untrust` on either side, two public nodes still ping each other both ways, the other side
// learns of the revoke at once, and a trust approval that arrives after the revoke creates nothing.
describe('revocation between two public daemons', () => {
  let dir: string;
  let bb: BackboneProc;
  let a: Home;
  let b: Home;
  const suffix = Math.random().toString(36).slice(2, 7);
  let addrA = '';
  let addrB = '';
  let idA = 0;
  let idB = 0;

  const start = async (h: Home, hostname: string): Promise<Record<string, unknown>> => {
    const r = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--hostname', hostname, '--public', '--listen', '127.0.0.1:0']);
    expect(r.code, r.stderr).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };
  const trustedIds = async (h: Home): Promise<number[]> => {
    const d = envelope(await pilotctl(h.env, ['--json', 'trust']))['data'] as { trusted?: { node_id: number }[] };
    return (d.trusted ?? []).map((t) => t.node_id);
  };
  const pingOk = async (h: Home, target: string): Promise<void> => {
    const r = await pilotctl(h.env, ['ping', target, '--count', '1', '--timeout', '5s']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  };
  const establishTrust = async (): Promise<void> => {
    expect((await pilotctl(a.env, ['handshake', addrB, 'test'])).code).toBe(0);
    expect((await pilotctl(b.env, ['handshake', addrA, 'test'])).code).toBe(0);
    await vi.waitFor(async () => {
      expect(await trustedIds(a)).toContain(idB);
      expect(await trustedIds(b)).toContain(idA);
    }, { timeout: 20_000, interval: 200 });
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-revoke-'));
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    a = makeHome(dir, 'a');
    b = makeHome(dir, 'b');
    const [da, db] = await Promise.all([start(a, `rva-${suffix}`), start(b, `rvb-${suffix}`)]);
    addrA = String(da['address']);
    addrB = String(db['address']);
    idA = Number(da['node_id']);
    idB = Number(db['node_id']);
  });

  afterAll(async () => {
    await Promise.all([pilotctl(a.env, ['daemon', 'stop']), pilotctl(b.env, ['daemon', 'stop'])]);
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const side of ['a', 'b'] as const) {
    it(`after untrust on ${side}, both still ping each other and both know at once`, async () => {
      await establishTrust();
      await pingOk(a, addrB);
      const [revoker, target] = side === 'a' ? [a, String(idB)] : [b, String(idA)];
      const r = await pilotctl(revoker.env, ['untrust', target]);
      expect(r.code, r.stderr).toBe(0);
      // The other side learns it from the direct message, not from a later poll.
      await vi.waitFor(async () => {
        expect(await trustedIds(a)).not.toContain(idB);
        expect(await trustedIds(b)).not.toContain(idA);
      }, { timeout: 4000, interval: 100 });
      await pingOk(a, addrB);
      await pingOk(b, addrA);
    });
  }
});
