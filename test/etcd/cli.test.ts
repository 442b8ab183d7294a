/**
 * `pilotctl backbone start --etcd ...` as real processes on one directory in a real 3-member etcd
 * cluster: what one instance registers the other looks up; liveness lives in each instance's
 * lease (an instance killed with SIGKILL loses its online keys when the lease expires, and a node
 * that heartbeats at the surviving instance gets an online key there).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeHome, startBackboneProc, type BackboneProc } from '../../main/daemon/testing/procs';
import { RegistryClient } from '../../main/node/registry-client';
import { newIdentity } from '../../main/backbone/testing/helpers';
import { EtcdCluster, describeEtcd } from './cluster';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeEtcd('pilotctl backbone start --etcd (real processes, real etcd cluster)', () => {
  let cluster: EtcdCluster;
  let dir: string;
  let etcd: Etcd3;
  const procs: BackboneProc[] = [];
  const clients: RegistryClient[] = [];

  beforeAll(async () => {
    cluster = await EtcdCluster.start();
    etcd = new Etcd3({ hosts: cluster.endpoints });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-etcd-cli-'));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    for (const p of procs) p.proc.kill('SIGKILL');
    etcd?.close();
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('two instances serve one directory; a killed instance\'s online keys expire with its lease', async () => {
    const args = ['--etcd', cluster.endpoints.join(','), '--etcd-prefix', '/cli/'];
    const a = await startBackboneProc(makeHome(dir, 'a').env, path.join(dir, 'a-data'), args);
    procs.push(a);
    const b = await startBackboneProc(makeHome(dir, 'b').env, path.join(dir, 'b-data'), args);
    procs.push(b);
    const identity = newIdentity();
    const atA = new RegistryClient({ address: a.registry, identity, timeoutMs: 10_000 });
    clients.push(atA);
    const reg = await atA.register({ hostname: 'served-by-a' });
    await atA.setVisibility(true);
    const other = new RegistryClient({ address: b.registry, identity: newIdentity(), timeoutMs: 10_000 });
    clients.push(other);
    await other.register();
    // b sees a's writes when its watch delivers them (not at once): ask until it does.
    const end0 = Date.now() + 15_000;
    for (;;) {
      const found = await other.resolveHostname('served-by-a').then(
        (x) => x.node_id,
        () => undefined,
      );
      if (found !== undefined) {
        expect(found).toBe(reg.node_id);
        break;
      }
      if (Date.now() > end0) throw new Error('b never resolved the hostname registered through a');
      await sleep(50);
    }
    expect((await other.lookup(reg.node_id)).public).toBe(true);
    const onlineKey = `/cli/online/${reg.node_id}`;
    const ownerA = await etcd.get(onlineKey).string();
    expect(ownerA).toBeTruthy();
    // SIGKILL: no lease revoke; the key goes when the lease expires (TTL 10 s).
    a.proc.kill('SIGKILL');
    await a.exited;
    const end = Date.now() + 30_000;
    while ((await etcd.get(onlineKey).string()) === ownerA) {
      if (Date.now() > end) throw new Error('online key of the killed instance did not expire');
      await sleep(250);
    }
    // The node keeps its registration and hostname in the directory, and heartbeats at b now.
    const atB = new RegistryClient({ address: b.registry, identity, nodeId: reg.node_id, timeoutMs: 10_000 });
    clients.push(atB);
    expect((await atB.heartbeat()).type).toBe('heartbeat_ok');
    const ownerB = await etcd.get(onlineKey).string();
    expect(ownerB).toBeTruthy();
    expect(ownerB).not.toBe(ownerA);
    expect((await other.resolveHostname('served-by-a')).node_id).toBe(reg.node_id);
    // Clean stop (SIGTERM): the lease is revoked, b's online keys go at once.
    b.proc.kill('SIGTERM');
    await b.exited;
    expect(await etcd.get(onlineKey).string()).toBeNull();
    expect(await etcd.get(`/cli/node/${reg.node_id}`).string()).toContain('served-by-a');
  }, 90_000);
});
