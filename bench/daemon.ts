/**
 * Daemon benchmarks over real processes: `npx tsx bench/daemon.ts [--runs 5] [--mb 16] [--tunnels 100] [--json]`.
 *
 * Two real daemons (`pilotctl daemon start`, each its own process and IPC socket) and a backbone in
 * this process, all on 127.0.0.1.
 *  1. `pilotctl bench <B> <mb>` run from A's side (CLI → A's IPC socket → A's node → B's echo
 *     service → back) against the same transfer made in process: a node in this process dials B's
 *     echo port and sends the same bytes in the same 4 KiB blocks. Runs alternate; figures are the
 *     echoed MB per second of wall time.
 *  2. The resident memory (VmRSS from /proc) of a third daemon C that did nothing else: idle, then
 *     while `--tunnels` nodes packed in one other process (bench/agent.ts peers) each hold a tunnel to
 *     C and an open stream to its echo port.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBackbone } from '../main/backbone';
import { Identity } from '../main/crypto';
import { PilotNode } from '../main/node/node';
import { silentLogger } from '../main/util/log';
import { envelope, makeHome, pilotctl, type Home } from '../main/daemon/testing/procs';
import { buildCli, currentBuild, jsonChild, median, numArg } from './lib';

const RUNS = numArg('runs', 5);
const MB = numArg('mb', 16);
const TUNNELS = numArg('tunnels', 100);
const JSON_OUT = process.argv.includes('--json');

const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-bench-daemon-'));
const bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger, registerRatePerMin: 100_000 });
const reg = `127.0.0.1:${bb.registryAddress.port}`;
const bea = `127.0.0.1:${bb.beaconAddress.port}`;
const homes: string[] = [];
let peers: ReturnType<typeof jsonChild> | undefined;
let me: PilotNode | undefined;

async function startDaemon(name: string): Promise<{ home: Home; pid: number; nodeId: number; address: string }> {
  const home = makeHome(dir, name);
  if (!homes.includes(home.home)) homes.push(home.home);
  const r = await pilotctl(home.env, ['--json', 'daemon', 'start', '--registry', reg, '--beacon', bea, '--public', '--listen', '127.0.0.1:0', '--hostname', `${name}-${process.pid}`]);
  if (r.code !== 0) throw new Error(`daemon ${name} did not start: ${r.stderr}`);
  const d = envelope(r)['data'] as { pid: number; node_id: number; address: string };
  return { home, pid: d.pid, nodeId: d.node_id, address: d.address };
}

/** The in-process twin of `pilotctl bench`: 4 KiB blocks to B's echo port, until all came back. */
async function inProcessEcho(node: PilotNode, nodeId: number, bytes: number): Promise<number> {
  const s = await node.dial(nodeId, 7, 10_000);
  s.stopBuffering();
  let recv = 0;
  const done = new Promise<void>((res) => s.on('data', (c) => (recv += c.length) >= bytes && res()));
  const t0 = performance.now();
  const block = new Uint8Array(4096);
  for (let off = 0; off < bytes; off += 4096) {
    const n = Math.min(4096, bytes - off);
    for (let i = 0; i < n; i++) block[i] = (off + i) & 0xff;
    if (!s.write(block.slice(0, n))) await s.waitDrain();
  }
  await done;
  const ms = performance.now() - t0;
  s.end();
  return bytes / 1048576 / (ms / 1000);
}

try {
  // The daemons must run the compiled build, as a user's do: bin/pilotctl.mjs runs the sources
  // through tsx (about 45 MB more RSS) when a source file is newer than the build, and other
  // engineers edit this tree while benchmarks run. A start counts only when the same current build
  // was there before and after it; else the daemons stop and start again (three tries).
  let daemons: Awaited<ReturnType<typeof startDaemon>>[] = [];
  let compiled = false;
  for (let attempt = 0; attempt < 3 && !compiled; attempt++) {
    if (daemons.length) await Promise.all(daemons.map((d) => pilotctl(d.home.env, ['daemon', 'stop'])));
    if (!currentBuild()) buildCli();
    const before = currentBuild();
    daemons = await Promise.all([startDaemon('bench-a'), startDaemon('bench-b'), startDaemon('bench-c')]);
    compiled = before !== undefined && currentBuild() === before;
  }
  const [a, b, c] = daemons as [(typeof daemons)[0], (typeof daemons)[0], (typeof daemons)[0]];
  me = new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, public: true, listen: '127.0.0.1:0' });
  await me.start();
  const bytes = MB * 1048576;
  const cli: number[] = [];
  const inproc: number[] = [];
  // Warm both paths once (tunnels up, JIT), then alternate.
  await pilotctl(a.home.env, ['--json', 'bench', b.address, '1']);
  await inProcessEcho(me, b.nodeId, 1048576);
  for (let r = 0; r < RUNS; r++) {
    const res = await pilotctl(a.home.env, ['--json', 'bench', b.address, String(MB)], 120_000);
    const d = envelope(res)['data'] as { total_mbps: number; recv_bytes: number };
    if (res.code !== 0 || d.recv_bytes < bytes) throw new Error(`pilotctl bench failed: ${res.stdout} ${res.stderr}`);
    // total_mbps is rounded to 0.1 and counts whole milliseconds: fine at these sizes.
    cli.push(d.total_mbps);
    inproc.push(await inProcessEcho(me, b.nodeId, bytes));
  }
  await me.stop();
  me = undefined;

  const idleRss = rssMb(c.pid);
  peers = jsonChild('bench/agent.ts', ['peers', reg, bea, String(c.nodeId), String(TUNNELS)]);
  const ready = (await peers.next()) as { tunnels: number };
  await new Promise((r) => setTimeout(r, 2000)); // let the accept-side work settle
  const heldRss = rssMb(c.pid);
  const info = envelope(await pilotctl(c.home.env, ['--json', 'info']))['data'] as Record<string, unknown>;
  const tunnelsSeen = Array.isArray(info['peers']) ? (info['peers'] as unknown[]).length : Number(info['peers'] ?? info['tunnels'] ?? NaN);
  if (process.env.BENCH_DEBUG) console.error(JSON.stringify(info));
  const out = { cliMBps: cli, inProcMBps: inproc, mb: MB, idleRssMb: idleRss, heldRssMb: heldRss, tunnels: ready.tunnels, tunnelsSeen, compiled: compiled ? 1 : 0 };
  if (JSON_OUT) console.log(JSON.stringify(out));
  else {
    console.log(`## Daemon (real processes on 127.0.0.1, ${RUNS} alternating runs, medians)\n`);
    console.log('| what | figure | baseline (same run) | ratio |\n|---|---|---|---|');
    console.log(`| pilotctl bench ${MB} MB (IPC → daemon A → B's echo → back) | ${median(cli).toFixed(1)} MB/s | in process, same transfer: ${median(inproc).toFixed(1)} MB/s | ${(median(cli) / median(inproc)).toFixed(2)} |`);
    console.log(`| daemon RSS, ${ready.tunnels} tunnels each with an open stream (${compiled ? 'compiled build' : 'tsx: sources changed during the run'}) | ${heldRss.toFixed(1)} MB | idle: ${idleRss.toFixed(1)} MB | |`);
  }
} finally {
  peers?.child.kill('SIGKILL');
  await me?.stop();
  await Promise.all(homes.map((h) => pilotctl(makeHome(dir, path.basename(h)).env, ['daemon', 'stop'])));
  await bb.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
