/**
 * Backbone benchmark: `npx tsx bench/backbone.ts [--nodes 100000] [--runs 3] [--tcp-nodes 2000]`.
 *
 * In-process (pure RegistryState, signature checks stubbed to measure the state, not Ed25519):
 * registration rate, lookups/s, find_nodes/s (tag search, anonymous and authenticated) and heap per
 * node. Over real TCP on 127.0.0.1: registrations/s and lookups/s with 20 concurrent clients, and
 * acknowledged writes/s with the fsync'd write-ahead log (group commit). Prints medians as markdown.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { RegistryState } from '../main/backbone/registry-state';
import { startBackbone } from '../main/backbone';
import { RegistryClient } from '../main/node/registry-client';
import { Identity, getCrypto } from '../main/crypto';
import { silentLogger } from '../main/util/log';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const NODES = arg('nodes', 100_000);
const RUNS = arg('runs', 3);
const TCP_NODES = arg('tcp-nodes', 2_000);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const ctx = { sourceIp: '10.0.0.1', sourcePort: 4000, now: Date.now() };
const TAGS = Array.from({ length: 200 }, (_, i) => `tag-${i}`);

interface InProc {
  registerPerSec: number;
  lookupPerSec: number;
  findRarePerSec: number;
  findCommonPerSec: number;
  findAuthPerSec: number;
  bytesPerNode: number;
  snapshotMs: number;
}

function inProcess(): InProc {
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const st = new RegistryState({ verify: () => true, now: ctx.now, registerRatePerMin: 1e12 });
  const keys = Array.from({ length: NODES }, () => randomBytes(32).toString('base64'));
  let t = performance.now();
  for (let i = 0; i < NODES; i++) {
    st.handle({ type: 'register', listen_addr: ':4000', public_key: keys[i], hostname: `node-${i}` }, ctx);
    // tag-0 is on ~1/2 of nodes (common); tag-k for k ≥ 1 on ~1/200 (rare)
    st.handle({ type: 'set_tags', node_id: i + 1, tags: [i % 2 === 0 ? 'tag-0' : TAGS[1 + (i % 199)], TAGS[1 + ((i * 7) % 199)]], signature: 'x' }, ctx);
    if (i % 10 === 0) st.handle({ type: 'set_visibility', node_id: i + 1, public: true, signature: 'x' }, ctx);
    st.takeRecords();
  }
  const registerPerSec = NODES / ((performance.now() - t) / 1000);
  st.takeEvents();
  gc();
  const bytesPerNode = (process.memoryUsage().heapUsed - heap0) / NODES;
  // keys array is part of the delta: subtract its approximate size (44-char strings)
  const rate = (n: number, f: (i: number) => void): number => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f(i);
    return n / ((performance.now() - t0) / 1000);
  };
  const lookupPerSec = rate(200_000, (i) => st.handle({ type: 'lookup', node_id: 1 + ((i * 7919) % NODES) }, ctx));
  const findRarePerSec = rate(20_000, (i) => st.handle({ type: 'find_nodes', tags: [TAGS[1 + (i % 199)]], limit: 100 }, ctx));
  const findCommonPerSec = rate(5_000, () => st.handle({ type: 'find_nodes', tags: ['tag-0'], limit: 100 }, ctx));
  const findAuthPerSec = rate(20_000, (i) =>
    st.handle({ type: 'find_nodes', requester_id: 1 + (i % NODES), signature: 'x', tags: [TAGS[1 + (i % 199)]], limit: 100 }, ctx),
  );
  t = performance.now();
  JSON.stringify(st.snapshot());
  const snapshotMs = performance.now() - t;
  return { registerPerSec, lookupPerSec, findRarePerSec, findCommonPerSec, findAuthPerSec, bytesPerNode, snapshotMs };
}

interface OverTcp {
  registerPerSec: number;
  lookupPerSec: number;
  durableWritesPerSec: number;
}

async function overTcp(): Promise<OverTcp> {
  const dir = await mkdtemp(join(tmpdir(), 'pilot-bench-'));
  const bb = await startBackbone({
    registry: '127.0.0.1:0',
    beacon: '127.0.0.1:0',
    dataDir: dir,
    logger: silentLogger,
    registerRatePerMin: 1e9,
    rateLimit: { perSec: 1e9, burst: 1e9, closeAfter: 1e9 },
  });
  const addr = `127.0.0.1:${bb.registryAddress.port}`;
  const C = 20;
  const backend = getCrypto();
  const clients = Array.from({ length: C }, () => new RegistryClient({ address: addr, identity: Identity.generate(backend) }));
  try {
    let t = performance.now();
    const per = Math.floor(TCP_NODES / C);
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < per; i++) await c.request({ type: 'register', listen_addr: ':1', public_key: randomBytes(32).toString('base64') });
      }),
    );
    const registerPerSec = (per * C) / ((performance.now() - t) / 1000);
    await Promise.all(clients.map((c) => c.register()));
    t = performance.now();
    const L = 500;
    await Promise.all(
      clients.map(async (c, k) => {
        for (let i = 0; i < L; i++) await c.lookup(1 + ((i * 31 + k) % (per * C)));
      }),
    );
    const lookupPerSec = (L * C) / ((performance.now() - t) / 1000);
    t = performance.now();
    const W = 100;
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < W; i++) await c.setTags([`v${i}`]);
      }),
    );
    const durableWritesPerSec = (W * C) / ((performance.now() - t) / 1000);
    return { registerPerSec, lookupPerSec, durableWritesPerSec };
  } finally {
    for (const c of clients) c.close();
    await bb.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const ip: InProc[] = [];
const tcp: OverTcp[] = [];
for (let r = 0; r < RUNS; r++) {
  ip.push(inProcess());
  gc();
  tcp.push(await overTcp());
  process.stderr.write(`run ${r + 1}/${RUNS} done\n`);
}
const m = <T>(xs: T[], k: keyof T): number => median(xs.map((x) => x[k] as number));
const fmt = (n: number): string => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const rows: [string, string][] = [
  [`in-process register + set_tags (${NODES.toLocaleString('en-US')} nodes)`, `${fmt(m(ip, 'registerPerSec'))} nodes/s`],
  ['in-process lookup', `${fmt(m(ip, 'lookupPerSec'))} /s`],
  ['in-process find_nodes, rare tag (~500 matches, limit 100)', `${fmt(m(ip, 'findRarePerSec'))} /s`],
  ['in-process find_nodes, common tag (~50% of nodes, limit 100)', `${fmt(m(ip, 'findCommonPerSec'))} /s`],
  ['in-process find_nodes, authenticated (signature check stubbed)', `${fmt(m(ip, 'findAuthPerSec'))} /s`],
  ['heap per node (incl. hostname, 2 tags, indexes)', `${fmt(m(ip, 'bytesPerNode'))} bytes`],
  ['snapshot serialisation (JSON.stringify)', `${fmt(m(ip, 'snapshotMs'))} ms`],
  [`TCP register, 20 clients (${TCP_NODES.toLocaleString('en-US')} nodes, fsync'd WAL)`, `${fmt(m(tcp, 'registerPerSec'))} /s`],
  ['TCP lookup, 20 clients', `${fmt(m(tcp, 'lookupPerSec'))} /s`],
  ['TCP set_tags (signed, verified, fsync\'d), 20 clients', `${fmt(m(tcp, 'durableWritesPerSec'))} /s`],
];
console.log(`\n### Backbone (median of ${RUNS} runs, Node ${process.version})\n`);
console.log('| measure | value |\n|---|---|');
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
