/**
 * kill -9 during a stream of acknowledged writes, restart on the same data directory, and check
 * that every acknowledged write survived. The backbone runs in a child process started with
 * `node --import tsx` (not `npx tsx`, whose wrapper process would receive the SIGKILL instead).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Tests drive the server through the real client (node layer); production backbone code never imports it.
// eslint-disable-next-line pilot/layering
import { RegistryClient } from '../node/registry-client';
import { Identity } from '../crypto';
import { crypto, newIdentity } from './testing/helpers';

const SCRIPT = join(import.meta.dirname, 'testing', 'child-backbone.ts');

interface Child {
  proc: ChildProcess;
  port: number;
  exited: Promise<void>;
}

function startChild(dir: string): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', SCRIPT, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\d+) (\d+)/.exec(out);
      if (m) resolve({ proc, port: Number(m[1]), exited });
    });
    proc.once('exit', (code) => reject(new Error(`child exited early (${code}): ${err}`)));
  });
}

interface Acked {
  nodes: Map<number, string>; // id → public key
  hostnames: Map<string, number>;
  tags: Map<number, { acked: number }>; // node → last acked counter
  trust: Set<string>;
  networks: Map<string, number>; // name → creator
}

/** One writer: its own node, then a loop of acknowledged writes until the connection dies. */
async function writer(port: number, w: number, round: number, acked: Acked, stop: { n: number; target: number; onTarget: () => void }): Promise<void> {
  const identity = Identity.generate(crypto);
  const c = new RegistryClient({ address: `127.0.0.1:${port}`, identity, reconnectAttempts: 1, backoffMs: 1, timeoutMs: 3000 });
  try {
    const me = (await c.register({ hostname: `w${round}-${w}` })).node_id;
    acked.nodes.set(me, identity.publicKeyBase64);
    acked.hostnames.set(`w${round}-${w}`, me);
    let lastPeer = me;
    for (let i = 0; ; i++) {
      const note = (): void => {
        if (++stop.n === stop.target) stop.onTarget();
      };
      switch (i % 4) {
        case 0: {
          const k = newIdentity().publicKeyBase64;
          const host = `r${round}-${w}-${i}`;
          const r = await c.request({ type: 'register', listen_addr: ':1', public_key: k, hostname: host });
          const id = r['node_id'] as number;
          acked.nodes.set(id, k);
          acked.hostnames.set(host, id);
          lastPeer = id;
          break;
        }
        case 1:
          await c.setTags([`v${i}`]);
          acked.tags.set(me, { acked: i });
          break;
        case 2:
          await c.reportTrust(lastPeer);
          if (lastPeer !== me) acked.trust.add(me < lastPeer ? `${me}:${lastPeer}` : `${lastPeer}:${me}`);
          break;
        case 3: {
          const name = `n${round}-${w}-${i}`;
          await c.createNetwork(name);
          acked.networks.set(name, me);
          break;
        }
      }
      note();
    }
  } catch {
    // the backbone was killed: the request in flight is unacknowledged
  } finally {
    c.close();
  }
}

let dir: string | undefined;
let child: Child | undefined;
afterEach(async () => {
  if (child && child.proc.exitCode === null) {
    child.proc.kill('SIGKILL');
    await child.exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('crash safety', () => {
  it('every acknowledged write survives kill -9 (two rounds)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'pilot-crash-'));
    const acked: Acked = { nodes: new Map(), hostnames: new Map(), tags: new Map(), trust: new Set(), networks: new Map() };
    for (let round = 0; round < 2; round++) {
      child = await startChild(dir);
      const c = child;
      const stop = {
        n: 0,
        target: 150 + Math.floor(Math.random() * 350), // kill at a random point in the stream
        onTarget: () => c.proc.kill('SIGKILL'),
      };
      await Promise.all(Array.from({ length: 4 }, (_, w) => writer(c.port, w, round, acked, stop)));
      await c.exited;
      expect(c.proc.signalCode).toBe('SIGKILL');
      expect(stop.n).toBeGreaterThanOrEqual(stop.target);
    }

    // restart in a child once more and read the state back over the protocol + a direct reload
    child = await startChild(dir);
    const reader = new RegistryClient({ address: `127.0.0.1:${child.port}` });
    try {
      for (const [id, key] of acked.nodes) {
        const lk = await reader.lookup(id);
        expect(lk.public_key).toBe(key);
      }
      for (const [host, id] of acked.hostnames) expect((await reader.resolveHostname(host)).node_id).toBe(id);
      for (const [node, t] of acked.tags) {
        const tags = (await reader.lookup(node)).tags ?? [];
        // the acknowledged value, or the one write after it that may have landed before the kill
        expect([`v${t.acked}`, `v${t.acked + 4}`]).toContain(tags[0]);
      }
      const nets = new Map((await reader.listNetworks()).networks.map((n) => [n.name, n]));
      for (const [name, creator] of acked.networks) {
        expect(nets.has(name)).toBe(true);
        const members = (await reader.listNodes(name)).nodes.map((n) => n.node_id);
        expect(members).toContain(creator);
      }
    } finally {
      reader.close();
    }
    child.proc.kill('SIGTERM');
    await child.exited;
    // trust pairs are not readable over the protocol without keys: load the store directly
    const { startTestBackbone } = await import('./testing/helpers');
    const bb = await startTestBackbone({ dataDir: dir });
    const pairs = new Set(bb.exportState().trust_pairs ?? []);
    for (const p of acked.trust) expect(pairs.has(p)).toBe(true);
    expect(acked.nodes.size).toBeGreaterThan(40);
    await bb.close();
  }, 60_000);
});
