/**
 * What the etcd-backed directory costs against the embedded store, same run, same machine:
 *
 *   npx tsx bench/backbone-etcd.ts [--runs 3] [--seq 400] [--bulk 4000] [--conns 32]
 *
 * Needs the `etcd` binary (apt-get install -y etcd-server); starts a 3-member etcd cluster on
 * loopback (test/etcd/cluster.ts, members fsync as usual). Modes, each a fresh directory:
 *   embedded  one backbone, FileStore (fsync'd write-ahead log) — `pilotctl backbone start`
 *   etcd×1    one backbone on the etcd cluster
 *   etcd×2    two backbones on the same prefix, requests split between them
 * Per mode and run, over real TCP on 127.0.0.1:
 *   - one client, one request at a time: register (a new key), lookup, set_hostname (signed,
 *     a new name each time: releases one claim, takes another): p50 / p99 latency
 *   - `--conns` connections registering new keys back to back: acknowledged writes/s
 * Prints medians over runs as markdown (and the per-run figures on stderr).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBackbone, type Backbone } from '../main/backbone';
import { RawConn, newIdentity, regAddr } from '../main/backbone/testing/helpers';
import { RegistryClient } from '../main/node/registry-client';
import { silentLogger } from '../main/util/log';
import { EtcdCluster, etcdAvailable } from '../test/etcd/cluster';
import { median, numArg, pct } from './lib';

const RUNS = numArg('runs', 3);
const SEQ = numArg('seq', 400);
const BULK = numArg('bulk', 4000);
const CONNS = numArg('conns', 32);

type Mode = 'embedded' | 'etcd×1' | 'etcd×2';
interface Figures {
  registerP50: number;
  registerP99: number;
  lookupP50: number;
  lookupP99: number;
  hostnameP50: number;
  hostnameP99: number;
  writesPerSec: number;
}

const common = { registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger, netcheck: false as const, registerRatePerMin: 1e12, rateLimit: { perSec: 1e9, burst: 1e9, closeAfter: 1e9 } };

async function instances(mode: Mode, cluster: EtcdCluster, run: number, dir: string): Promise<Backbone[]> {
  if (mode === 'embedded') return [await startBackbone({ ...common, dataDir: join(dir, `embedded-${run}`) })];
  const etcd = { endpoints: cluster.endpoints, prefix: `/bench/${mode}/${run}/` };
  const n = mode === 'etcd×1' ? 1 : 2;
  const out: Backbone[] = [];
  for (let i = 0; i < n; i++) out.push(await startBackbone({ ...common, etcd }));
  return out;
}

const ms = (t0: number): number => performance.now() - t0;
const newKey = (): string => randomBytes(32).toString('base64');

async function measure(bbs: Backbone[]): Promise<Figures> {
  // Sequential latency: one raw connection per instance, alternating instances.
  const conns = await Promise.all(bbs.map((b) => RawConn.connect(b)));
  for (let i = 0; i < 50; i++) await conns[i % conns.length]!.call({ type: 'register', listen_addr: ':4000', public_key: newKey(), owner: '', hostname: '' }); // warm-up
  const reg: number[] = [];
  const ids: number[] = [];
  for (let i = 0; i < SEQ; i++) {
    const c = conns[i % conns.length]!;
    const t0 = performance.now();
    const r = await c.call({ type: 'register', listen_addr: ':4000', public_key: newKey(), owner: '', hostname: '' });
    reg.push(ms(t0));
    if (r['type'] !== 'register_ok') throw new Error(`register failed: ${JSON.stringify(r)}`);
    ids.push(r['node_id'] as number);
  }
  const look: number[] = [];
  for (let i = 0; i < SEQ * 2; i++) {
    const c = conns[i % conns.length]!;
    const t0 = performance.now();
    const r = await c.call({ type: 'lookup', node_id: ids[i % ids.length] });
    look.push(ms(t0));
    if (r['type'] !== 'lookup_ok') throw new Error(`lookup failed: ${JSON.stringify(r)}`);
  }
  const clients = bbs.map((b) => new RegistryClient({ address: regAddr(b), identity: newIdentity(), timeoutMs: 30_000 }));
  for (const c of clients) await c.register();
  const host: number[] = [];
  const tag = randomBytes(3).toString('hex');
  for (let i = 0; i < SEQ; i++) {
    const c = clients[i % clients.length]!;
    const t0 = performance.now();
    await c.setHostname(`h-${tag}-${i}`);
    host.push(ms(t0));
  }
  for (const c of clients) c.close();
  for (const c of conns) c.close();
  // Throughput: CONNS connections (split over the instances) register new keys back to back.
  const bulk = await Promise.all(Array.from({ length: CONNS }, (_, i) => RawConn.connect(bbs[i % bbs.length]!)));
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    bulk.map(async (c) => {
      while (next < BULK) {
        next++;
        const r = await c.call({ type: 'register', listen_addr: ':4000', public_key: newKey(), owner: '', hostname: '' });
        if (r['type'] !== 'register_ok') throw new Error(`register failed: ${JSON.stringify(r)}`);
      }
    }),
  );
  const writesPerSec = BULK / (ms(t0) / 1000);
  for (const c of bulk) c.close();
  return {
    registerP50: median(reg),
    registerP99: pct(reg, 99),
    lookupP50: median(look),
    lookupP99: pct(look, 99),
    hostnameP50: median(host),
    hostnameP99: pct(host, 99),
    writesPerSec,
  };
}

async function main(): Promise<void> {
  if (!etcdAvailable()) throw new Error('needs the etcd binary: apt-get install -y etcd-server');
  const dir = await mkdtemp(join(tmpdir(), 'pilot-bench-etcd-'));
  const cluster = await EtcdCluster.start();
  const modes: Mode[] = ['embedded', 'etcd×1', 'etcd×2'];
  const results = new Map<Mode, Figures[]>(modes.map((m) => [m, []]));
  try {
    for (let run = 0; run < RUNS; run++) {
      for (const mode of modes) {
        const bbs = await instances(mode, cluster, run, dir);
        try {
          const f = await measure(bbs);
          results.get(mode)!.push(f);
          process.stderr.write(`run ${run + 1} ${mode}: ${JSON.stringify(f)}\n`);
        } finally {
          for (const b of bbs) await b.close();
        }
      }
    }
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const f2 = (x: number): string => x.toFixed(2);
  const med = (m: Mode, k: keyof Figures): number => median(results.get(m)!.map((f) => f[k]));
  console.log(`\nbackbone directory: embedded store vs etcd (3 members on loopback); medians of ${RUNS} runs; ${SEQ} sequential requests per kind, ${BULK} registrations over ${CONNS} connections\n`);
  console.log('| mode | register p50 / p99 (ms) | lookup p50 / p99 (ms) | set_hostname p50 / p99 (ms) | registrations/s (acknowledged) |');
  console.log('|---|---|---|---|---|');
  for (const m of modes) {
    console.log(
      `| ${m} | ${f2(med(m, 'registerP50'))} / ${f2(med(m, 'registerP99'))} | ${f2(med(m, 'lookupP50'))} / ${f2(med(m, 'lookupP99'))} | ${f2(med(m, 'hostnameP50'))} / ${f2(med(m, 'hostnameP99'))} | ${Math.round(med(m, 'writesPerSec'))} |`,
    );
  }
  const base = med('embedded', 'registerP50');
  console.log(`\nregister p50, etcd×1 / embedded: ${(med('etcd×1', 'registerP50') / base).toFixed(2)}×; registrations/s, etcd×1 / embedded: ${(med('etcd×1', 'writesPerSec') / med('embedded', 'writesPerSec')).toFixed(2)}×`);
}

await main();
