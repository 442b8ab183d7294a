import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAddress } from '../../shared/address';
import { Identity, signPila } from '../../main/crypto';
import { encodePILA } from '../../main/wire/tunnel';
import { LOW_ORDER_X25519_HEX } from '../../main/wire/testkit';
import { PilotNode } from '../../main/node/node';
import { silentLogger } from '../../main/util/log';
import { withClient } from '../../main/daemon/client';
import { envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from '../../main/daemon/testing/procs';

// Issue 10: a correctly signed key exchange from a registered node whose X25519 key is a low-order
// point used to stop the receiving daemon (an uncaught rejection from the key agreement). Real
// processes: a backbone, a victim daemon and a friend daemon; the attacker is a registered node of
// its own that signs its PILA frames correctly.
const LOW_ORDER = LOW_ORDER_X25519_HEX.map((h) => Uint8Array.from(Buffer.from(h, 'hex')));

describe('a signed key exchange with a low-order X25519 key', () => {
  let dir: string;
  let bb: BackboneProc;
  let victim: Home;
  let friend: Home;
  let attacker: PilotNode;
  let sock: dgram.Socket;
  let victimId = 0;
  let victimName = '';
  let victimPid = 0;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-loworder-'));
    bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
    victim = makeHome(dir, 'victim');
    friend = makeHome(dir, 'friend');
    victimName = `victim-${Math.random().toString(36).slice(2, 7)}`;
    const start = async (h: Home, name: string): Promise<Record<string, unknown>> => {
      const r = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--hostname', name, '--public', '--listen', '127.0.0.1:0']);
      expect(r.code, r.stderr).toBe(0);
      return envelope(r)['data'] as Record<string, unknown>;
    };
    const [v] = await Promise.all([start(victim, victimName), start(friend, `friend-${victimName}`)]);
    victimId = parseAddress(String(v['address'])).node;
    victimPid = Number(fs.readFileSync(path.join(victim.home, 'pilot.pid'), 'utf8'));
    attacker = new PilotNode({ identity: Identity.generate(), registry: bb.registry, beacon: bb.beacon, public: true, listen: '127.0.0.1:0', log: silentLogger });
    await attacker.start();
    sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  });

  afterAll(async () => {
    sock?.close();
    await attacker?.stop();
    await Promise.all([victim && pilotctl(victim.env, ['daemon', 'stop']), friend && pilotctl(friend.env, ['daemon', 'stop'])]);
    if (bb && bb.proc.exitCode === null) bb.proc.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is dropped as bad_key and the daemon keeps serving', async () => {
    const drops = async (): Promise<Record<string, number>> => (await withClient(victim.socket, (c) => c.call('node.info', {}))).drops;
    const before = await drops();
    const { real_addr } = await attacker.registry.resolve(victimId);
    const [host, port] = [real_addr.slice(0, real_addr.lastIndexOf(':')), Number(real_addr.slice(real_addr.lastIndexOf(':') + 1))];
    for (const x of LOW_ORDER) {
      // Correctly signed by a registered node: the frame passes every check up to the key agreement.
      const frame = encodePILA({ sender: attacker.nodeId, x25519Public: x, ed25519Public: attacker.identity.publicKey, signature: signPila(attacker.identity, attacker.nodeId, x) });
      await new Promise<void>((r) => sock.send(frame, port, host, () => r()));
    }
    await vi.waitFor(async () => expect((await drops())['bad_key'] ?? 0).toBe((before['bad_key'] ?? 0) + LOW_ORDER.length), { timeout: 10_000, interval: 50 });
    // The process is the same one, and it answers a ping from a real peer.
    expect(() => process.kill(victimPid, 0)).not.toThrow();
    const ping = await pilotctl(friend.env, ['ping', victimName, '--count', '2']);
    expect(ping.code, ping.stderr).toBe(0);
    expect(ping.stdout).toMatch(/✓ reply from 0:[0-9A-F.]+ · [\d.]+ms \(direct\)/);
    // A real key exchange from the attacker's node still works afterwards: it was not poisoned.
    expect(await attacker.controlPing(victimId)).toBeGreaterThan(0);
    expect(Number(fs.readFileSync(path.join(victim.home, 'pilot.pid'), 'utf8'))).toBe(victimPid);
  });
});
