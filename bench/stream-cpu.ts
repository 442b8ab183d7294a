/**
 * CPU per MiB of one stream, first transfer vs warmed up, two node processes vs two nodes in one
 * process: `npx tsx bench/stream-cpu.ts [--reps 3] [--runs 5] [--mb 32] [--json]`.
 *
 * Why it exists: `npm run bench` measures one stream in FRESH processes (bench/node.ts `--runs 1`):
 * its CPU per MiB includes V8 warming up (TurboFan compiling the data path on background threads,
 * which `process.cpuUsage` counts, unoptimised code meanwhile, a young generation that starts
 * small), in both processes. bench/trace-overhead.ts measures two nodes in one process after a
 * warm-up. This bench puts the four figures side by side, in the same minutes.
 *
 * Each rep starts a fresh pair of each kind (alternating), in fresh processes: two processes (a child
 * of this one the sender, with a real backbone; bench/agent.ts the receiver) and two nodes in one
 * child process (with their own backbone). Each pair moves `--runs` streams of `--mb` MiB in turn
 * (one stream at a time, 64 KiB writes); "first" is run 0 of a fresh pair, "warm" the median of the
 * later runs. CPU is user + system of both processes (the receiver's from `process.cpuUsage` inside
 * bench/agent.ts, for the stream's lifetime; the in-process pair's from its process), per MiB moved.
 * Also prints the ACKs the sender received per 100 data segments (the receiver's ACK pattern).
 */
import { startBackbone, type Backbone } from '../main/backbone';
import { Identity } from '../main/crypto';
import { PilotNode } from '../main/node/node';
import { silentLogger } from '../main/util/log';
import { backboneAddress } from '../shared/address';
import { jsonChild, median, numArg } from './lib';

const REPS = numArg('reps', 3);
const RUNS = numArg('runs', 5);
const MB = numArg('mb', 32);
const JSON_OUT = process.argv.includes('--json');

interface Run {
  mbps: number;
  cpuMsPerMiB: number;
  acksPer100: number;
}

/** What a pair offers: a receiver that reports per stream, and the sending node. */
interface Pair {
  sender: PilotNode;
  receiverId: number;
  /** The receiver's report when a stream closed: bytes and its CPU ms (0 when it shares our process). */
  received: () => Promise<{ received: number; cpuMs: number }>;
  close: () => Promise<void>;
}

async function backbone(): Promise<{ bb: Backbone; reg: string; bea: string }> {
  const bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger, registerRatePerMin: 100_000 });
  return { bb, reg: `127.0.0.1:${bb.registryAddress.port}`, bea: `127.0.0.1:${bb.beaconAddress.port}` };
}

async function startSender(reg: string, bea: string): Promise<PilotNode> {
  const me = new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, public: true, listen: '127.0.0.1:0' });
  await me.start();
  return me;
}

async function twoProcesses(): Promise<Pair> {
  const { bb, reg, bea } = await backbone();
  const agent = jsonChild('bench/agent.ts', ['node', reg, bea, `stream-cpu-${process.pid}`]);
  const { nodeId } = (await agent.next()) as { nodeId: number };
  const sender = await startSender(reg, bea);
  return {
    sender,
    receiverId: nodeId,
    received: async () => (await agent.next()) as { received: number; cpuMs: number },
    close: async () => {
      await sender.stop();
      agent.child.kill('SIGINT');
      await bb.close();
    },
  };
}

async function oneProcess(): Promise<Pair> {
  const { bb, reg, bea } = await backbone();
  const receiver = new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, public: true, listen: '127.0.0.1:0' });
  await receiver.start();
  const waiters: ((v: { received: number; cpuMs: number }) => void)[] = [];
  receiver.listen(5000, (s) => {
    s.stopBuffering();
    let n = 0;
    s.on('data', (c) => (n += c.length));
    s.on('close', () => waiters.shift()?.({ received: n, cpuMs: 0 }));
  });
  const sender = await startSender(reg, bea);
  return {
    sender,
    receiverId: receiver.nodeId,
    received: () => new Promise((r) => waiters.push(r)),
    close: async () => {
      await sender.stop();
      await receiver.stop();
      await bb.close();
    },
  };
}

async function streamRun(p: Pair): Promise<Run> {
  const total = MB * 1048576;
  const s = await p.sender.dial(backboneAddress(p.receiverId), 5000);
  const chunk = new Uint8Array(64 * 1024);
  const done = p.received();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let sent = 0; sent < total; sent += chunk.length) if (!s.write(chunk.slice())) await s.waitDrain();
  s.end();
  const { received, cpuMs } = await done;
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (received !== total) throw new Error(`received ${received} of ${total}`);
  const st = s.stats();
  return {
    mbps: total / 1048576 / secs,
    cpuMsPerMiB: ((cpu.user + cpu.system) / 1000 + cpuMs) / MB,
    acksPer100: (100 * st.segsRecv) / (total / 4096),
  };
}

type Kind = 'two processes' | 'one process';
const KINDS: Kind[] = ['two processes', 'one process'];
const childKind = process.argv.indexOf('--child');
if (childKind >= 0) {
  // One fresh pair in this fresh process: every run's figures as one JSON line.
  const kind = KINDS[Number(process.argv[childKind + 1])]!;
  const pair = kind === 'two processes' ? await twoProcesses() : await oneProcess();
  const runs: Run[] = [];
  for (let r = 0; r < RUNS; r++) runs.push(await streamRun(pair));
  await pair.close();
  console.log(JSON.stringify({ runs }));
  process.exit(0);
}

const results: Record<Kind, { first: Run[]; warm: Run[] }> = { 'two processes': { first: [], warm: [] }, 'one process': { first: [], warm: [] } };
for (let rep = 0; rep < REPS; rep++) {
  for (const [i, kind] of KINDS.entries()) {
    // A fresh process per pair and rep: the sender's (and the in-process receiver's) code starts cold too.
    const child = jsonChild('bench/stream-cpu.ts', ['--child', String(i), '--runs', String(RUNS), '--mb', String(MB)]);
    const { runs } = (await child.next()) as { runs: Run[] };
    results[kind].first.push(runs[0]!);
    // The warm figure of this rep: the median of the later runs (one value per rep).
    const later = runs.slice(1);
    if (later.length > 0) {
      results[kind].warm.push({
        mbps: median(later.map((x) => x.mbps)),
        cpuMsPerMiB: median(later.map((x) => x.cpuMsPerMiB)),
        acksPer100: median(later.map((x) => x.acksPer100)),
      });
    }
  }
}

const summary = (xs: Run[]): Run | undefined =>
  xs.length === 0 ? undefined : { mbps: median(xs.map((x) => x.mbps)), cpuMsPerMiB: median(xs.map((x) => x.cpuMsPerMiB)), acksPer100: median(xs.map((x) => x.acksPer100)) };
const out = Object.fromEntries(
  (Object.keys(results) as Kind[]).map((k) => [k, { first: summary(results[k].first), warm: summary(results[k].warm), firstCpu: results[k].first.map((x) => x.cpuMsPerMiB), warmCpu: results[k].warm.map((x) => x.cpuMsPerMiB) }]),
);
if (JSON_OUT) console.log(JSON.stringify({ reps: REPS, runs: RUNS, mb: MB, ...out }));
else {
  console.log(`## One stream, CPU per MiB: first transfer vs warm (${REPS} reps × ${RUNS} runs × ${MB} MiB, medians over reps)\n`);
  console.log('| pair | first transfer: CPU ms/MiB (per rep) | MB/s | warm: CPU ms/MiB (per rep) | MB/s | ACKs per 100 segments (first / warm) |');
  console.log('|---|---|---|---|---|---|');
  for (const k of Object.keys(results) as Kind[]) {
    const r = out[k]!;
    const f = (x: number): string => x.toFixed(2);
    console.log(
      `| ${k} | ${r.first ? f(r.first.cpuMsPerMiB) : '-'} (${r.firstCpu.map(f).join(', ')}) | ${r.first?.mbps.toFixed(1) ?? '-'} | ${r.warm ? f(r.warm.cpuMsPerMiB) : '-'} (${r.warmCpu.map(f).join(', ')}) | ${r.warm?.mbps.toFixed(1) ?? '-'} | ${r.first?.acksPer100.toFixed(1) ?? '-'} / ${r.warm?.acksPer100.toFixed(1) ?? '-'} |`,
    );
  }
}
process.exit(0);
