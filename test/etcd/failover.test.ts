/**
 * Issue 14, part 3: nodes given several backbone instances fail over between them.
 *
 * Everything real: a 3-member etcd cluster on loopback (cluster.ts), two backbone instances serving
 * one directory from it (`pilotctl backbone start --etcd ...`, real processes), daemons started with
 * `pilotctl daemon start --registry r1,r2 --beacon b1,b2` (real processes), and two nodes in their
 * own processes (relay-node.ts) whose tunnel sockets send only to the beacons, so that a ping
 * between them needs a beacon's relay. Backbone instance 1 is killed (SIGKILL) while a node
 * registers; then a new node registers, nodes look each other up by hostname and ping — directly
 * between daemons, through the relay between the beacon-only nodes — all through instance 2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from '../../main/daemon/testing/procs';
import { EtcdCluster, describeEtcd } from './cluster';

const RELAY_NODE = fileURLToPath(new URL('./relay-node.ts', import.meta.url));

/** A relay-node.ts process: one JSON line per command. */
class RelayNode {
  private readonly lines: string[] = [];
  private waiters: ((l: string) => void)[] = [];
  private errText = '';
  readonly exited: Promise<number | null>;

  private constructor(readonly proc: ChildProcess) {
    readline.createInterface({ input: proc.stdout! }).on('line', (l) => {
      const w = this.waiters.shift();
      if (w) w(l);
      else this.lines.push(l);
    });
    proc.stderr!.on('data', (c: Buffer) => (this.errText = (this.errText + c.toString()).slice(-20_000)));
    this.exited = new Promise((r) => proc.once('exit', (code) => r(code)));
  }

  static async start(args: { registry: string; beacon: string; hostname: string }): Promise<{ node: RelayNode; ready: Record<string, unknown> }> {
    const proc = spawn(process.execPath, ['--import', 'tsx', RELAY_NODE, JSON.stringify(args)], { stdio: ['pipe', 'pipe', 'pipe'] });
    const node = new RelayNode(proc);
    const ready = await node.next(30_000);
    if (ready['ready'] !== true) throw new Error(`relay node not ready: ${JSON.stringify(ready)} ${node.stderr()}`);
    return { node, ready };
  }

  stderr(): string {
    return this.errText;
  }

  next(timeoutMs = 20_000): Promise<Record<string, unknown>> {
    const l = this.lines.shift();
    if (l !== undefined) return Promise.resolve(JSON.parse(l) as Record<string, unknown>);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`relay node: no line within ${timeoutMs} ms; stderr: ${this.errText.slice(-2000)}`)), timeoutMs);
      this.waiters.push((line) => {
        clearTimeout(t);
        resolve(JSON.parse(line) as Record<string, unknown>);
      });
    });
  }

  async cmd(c: Record<string, unknown>, timeoutMs = 20_000): Promise<Record<string, unknown>> {
    this.proc.stdin!.write(JSON.stringify(c) + '\n');
    return this.next(timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    this.proc.stdin!.end();
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

/** Polls `probe` until `ok` holds for its value (never a fixed sleep). */
async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = await probe();
    if (ok(last)) return last;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describeEtcd('backbone failover: two instances on one etcd directory, nodes given both', () => {
  let dir: string;
  let etcd: EtcdCluster;
  let bb1: BackboneProc;
  let bb2: BackboneProc;
  let registries = '';
  let beacons = '';
  const homes: Home[] = [];
  const relays: RelayNode[] = [];
  const suffix = Math.random().toString(36).slice(2, 7);
  const name = (n: string): string => `${n}-${suffix}`;

  const startDaemon = async (h: Home, hostname: string): Promise<Record<string, unknown>> => {
    const r = await pilotctl(h.env, ['--json', 'daemon', 'start', '--registry', registries, '--beacon', beacons, '--hostname', hostname, '--public', '--listen', '127.0.0.1:0']);
    expect(r.code, `daemon start ${hostname}: ${r.stderr}`).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };
  const home = (n: string): Home => {
    const h = makeHome(dir, n);
    homes.push(h);
    return h;
  };
  const info = async (h: Home): Promise<Record<string, unknown>> => {
    const r = await pilotctl(h.env, ['--json', 'info']);
    expect(r.code, r.stderr).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };
  /** `pilotctl lookup` straight at one registry (not through a daemon). */
  const lookupAt = async (registry: string, nodeId: unknown): Promise<Record<string, unknown>> => {
    const r = await pilotctl({ ...homes[0]!.env, PILOT_REGISTRY: registry }, ['--json', 'lookup', String(nodeId)]);
    expect(r.code, r.stderr).toBe(0);
    return envelope(r)['data'] as Record<string, unknown>;
  };

  let a: Home;
  let b: Home;
  let idA: unknown;
  let idB: unknown;
  let r1: RelayNode;
  let r2: RelayNode;
  let idR1: unknown;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-failover-'));
    etcd = await EtcdCluster.start();
    const etcdArgs = ['--etcd', etcd.endpoints.join(',')];
    [bb1, bb2] = await Promise.all([
      startBackboneProc(makeHome(dir, 'bb1').env, path.join(dir, 'bb1-data'), etcdArgs),
      startBackboneProc(makeHome(dir, 'bb2').env, path.join(dir, 'bb2-data'), etcdArgs),
    ]);
    registries = `${bb1.registry},${bb2.registry}`;
    beacons = `${bb1.beacon},${bb2.beacon}`;
    a = home('a');
    b = home('b');
    const [da, db] = await Promise.all([startDaemon(a, name('alpha')), startDaemon(b, name('bravo'))]);
    idA = da['node_id'];
    idB = db['node_id'];
    const [s1, s2] = await Promise.all([
      RelayNode.start({ registry: registries, beacon: beacons, hostname: name('relay-1') }),
      RelayNode.start({ registry: registries, beacon: beacons, hostname: name('relay-2') }),
    ]);
    r1 = s1.node;
    r2 = s2.node;
    relays.push(r1, r2);
    idR1 = s1.ready['node_id'];
  }, 120_000);

  afterAll(async () => {
    await Promise.all(homes.map((h) => pilotctl(h.env, ['daemon', 'stop'])));
    await Promise.all(relays.map((r) => r.stop()));
    for (const p of [bb1, bb2]) if (p && p.proc.exitCode === null) p.proc.kill('SIGKILL');
    await etcd?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('both instances serve one directory: a node registered through instance 1 has the same address and hostname at instance 2', async () => {
    const i = await info(a);
    expect(i).toMatchObject({ registry: bb1.registry, beacon: bb1.beacon, registry_failovers: 0 });
    const at1 = await lookupAt(bb1.registry, idA);
    const at2 = await lookupAt(bb2.registry, idA);
    expect(at2).toMatchObject({ node_id: idA, address: at1['address'], hostname: name('alpha') });
  });

  it('before the kill: daemons ping directly, the beacon-only nodes through the relay of instance 1', async () => {
    const p = await pilotctl(a.env, ['--json', 'ping', name('bravo'), '--count', '1']);
    expect(p.code, p.stderr).toBe(0);
    const rp = await r1.cmd({ op: 'ping', target: name('relay-2') });
    expect(rp).toMatchObject({ ok: true, path: 'relay' });
  });

  it('instance 1 killed while a node registers: everyone carries on through instance 2', async () => {
    // A new daemon registers and others look up at the moment instance 1 dies: lookups in flight
    // are sent again to instance 2.
    const c = home('c');
    let killedAt = 0;
    const find = (from: Home, host: string) => pilotctl(from.env, ['--json', 'find', host]);
    const [dc, ...finds] = await Promise.all([
      startDaemon(c, name('charlie')),
      find(b, name('alpha')),
      find(a, name('bravo')),
      Promise.resolve()
        .then(() => {
          killedAt = Date.now();
          bb1.proc.kill('SIGKILL');
        })
        .then(() => find(b, name('alpha'))),
    ]);
    await bb1.exited;
    for (const f of finds) expect(f.code, f.stderr).toBe(0);
    expect(finds.map((f) => (envelope(f)['data'] as Record<string, unknown>)['node_id'])).toEqual([idA, idB, idA]);
    const idC = dc['node_id'];
    expect(idC).toEqual(expect.any(Number));

    // The daemons notice (their event stream breaks), move to instance 2 and register there again;
    // their beacons are probed at once and the silent one is left 3 s later.
    const registryMoved = await until('the daemons on registry 2', () => Promise.all([a, b, c].map(info)), (v) => v.every((i) => i['registry'] === bb2.registry));
    const registryMs = Date.now() - killedAt;
    expect(registryMoved.map((i) => i['node_id'])).toEqual([idA, idB, idC]);
    await until('the daemons on beacon 2', () => Promise.all([a, b, c].map(info)), (v) => v.every((i) => i['beacon'] === bb2.beacon));
    const beaconMs = Date.now() - killedAt;
    expect(await info(a)).toMatchObject({ node_id: idA, registry_failovers: 1, beacon_failovers: 1 });
    expect(await lookupAt(bb2.registry, idA)).toMatchObject({ node_id: idA, hostname: name('alpha') });

    // Lookup by hostname and pings, all through instance 2.
    const found = await pilotctl(a.env, ['--json', 'find', name('charlie')]);
    expect(found.code, found.stderr).toBe(0);
    expect(envelope(found)['data']).toMatchObject({ node_id: idC, hostname: name('charlie') });
    for (const [from, to] of [
      [a, name('charlie')],
      [c, name('bravo')],
      [b, name('alpha')],
    ] as const) {
      const p = await pilotctl(from.env, ['--json', 'ping', to, '--count', '1']);
      expect(p.code, `ping ${to}: ${p.stderr}`).toBe(0);
    }

    // A registry client given both addresses still answers (the CLI's own lookup fails over too).
    expect(await lookupAt(registries, idC)).toMatchObject({ node_id: idC, hostname: name('charlie') });

    // The beacon-only nodes move to beacon 2 and relay through it; a new one registers there.
    await until('relay nodes on beacon 2', async () => Promise.all([r1.cmd({ op: 'status' }), r2.cmd({ op: 'status' })]), (v) => v.every((s) => s['beacon'] === bb2.beacon && s['registry'] === bb2.registry));
    // Not asserted (timings): how long the moves took, from the daemons' own log lines.
    const loggedAfterKill = (h: Home, msg: string): number[] =>
      fs
        .readFileSync(path.join(h.home, 'pilot.log'), 'utf8')
        .split('\n')
        .filter((l) => l.includes(`"msg":"${msg}"`))
        .map((l) => Date.parse(String((JSON.parse(l) as { t: string }).t)) - killedAt);
    const reg = [a, b].flatMap((h) => loggedAfterKill(h, 'registry failover'));
    const bea = [a, b].flatMap((h) => loggedAfterKill(h, 'beacon failover'));
    console.info(`failover after SIGKILL of instance 1 (daemons a, b): registry moved after ${reg.join(', ')} ms, beacon after ${bea.join(', ')} ms (beacons probed at the registry failover, down after 3 s unanswered); seen by the test within ${registryMs} / ${beaconMs} ms`);
    const again = await r1.cmd({ op: 'ping', target: name('relay-2') }, 30_000);
    expect(again, r1.stderr().slice(-3000)).toMatchObject({ ok: true, path: 'relay' });
    const { node: r3, ready } = await RelayNode.start({ registry: registries, beacon: beacons, hostname: name('relay-3') });
    relays.push(r3);
    expect(ready).toMatchObject({ registry: bb2.registry, beacon: bb2.beacon });
    const fromNew = await r3.cmd({ op: 'ping', target: name('relay-1') }, 30_000);
    expect(fromNew, r3.stderr().slice(-3000)).toMatchObject({ ok: true, node_id: idR1, path: 'relay' });
  }, 180_000);
});
