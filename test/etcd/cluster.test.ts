/** The test harness itself: a real 3-member etcd cluster keeps serving with one member killed and takes it back. */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EtcdCluster, describeEtcd } from './cluster';

function ctl(endpoints: string[], ...args: string[]): string {
  const r = spawnSync('etcdctl', [`--endpoints=${endpoints.join(',')}`, '--command-timeout=5s', ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describeEtcd('test/etcd/cluster.ts harness (real etcd processes)', () => {
  let c: EtcdCluster;
  beforeAll(async () => {
    c = await EtcdCluster.start();
  });
  afterAll(async () => {
    await c?.stop();
  });

  it('writes through a majority while one member is down, and the restarted member catches up', async () => {
    ctl(c.endpoints, 'put', 'a', '1');
    expect(await c.leaderIndex()).toBeTypeOf('number');
    await c.kill(0);
    expect(c.isRunning(0)).toBe(false);
    await c.waitRunningHealthy(); // a new leader (a put forwarded to the dead leader would time out)
    ctl(c.runningEndpoints, 'put', 'b', '2');
    await c.restart(0);
    // Read from the restarted member alone, linearizable: it must have the write made while it was down.
    expect(ctl([c.members[0]!.clientUrl], 'get', 'b', '--print-value-only').trim()).toBe('2');
    expect(ctl([c.members[0]!.clientUrl], 'get', 'a', '--print-value-only').trim()).toBe('1');
  });
});
