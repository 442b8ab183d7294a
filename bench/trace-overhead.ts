/**
 * Tracing overhead: `npx tsx bench/trace-overhead.ts [--runs 9] [--mb 16] [--pings 200]` (`--aa`:
 * both pairs with tracing off, an A/A run that shows the noise floor of the machine).
 *
 * One process, one real backbone, two pairs of nodes on 127.0.0.1: one pair with tracing on (the
 * default: every stream, dial, registry call and API ping recorded as spans into the nodes' rings),
 * one with `tracing: false`. Runs alternate on/off so drift on a shared machine hits both alike.
 * Measures one stream's throughput (a fresh stream per run: its lifetime span and the receiver's are
 * recorded) and `peers.ping` through the API layer (a root span, resolve and tunnel spans and one
 * span per echo when on): the RTT it reports and the wall time per ping. Prints medians and the
 * on/off ratios as markdown (BENCHMARKS.md, "Tracing overhead").
 */
import { startBackbone } from '../main/backbone';
import { Identity } from '../main/crypto';
import { PilotNode } from '../main/node/node';
import { createNodeService, type NodeService } from '../main/api/node-service';
import { LogRing } from '../main/observe/logs';
import { silentLogger } from '../main/util/log';
import { formatAddress } from '../shared/address';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const RUNS = arg('runs', 9);
const MB = arg('mb', 16);
const PINGS = arg('pings', 200);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Pair {
  label: 'on' | 'off';
  sender: PilotNode;
  receiver: PilotNode;
  api: NodeService;
  received: () => Promise<number>;
  mbps: number[];
  /** Process CPU (user + system) per MiB streamed / per ping: less disturbed by a loaded machine than wall time. */
  cpuPerMb: number[];
  rttUs: number[];
  wallUs: number[];
  cpuPerPing: number[];
}

const bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger });
const reg = `127.0.0.1:${bb.registryAddress.port}`;
const bea = `127.0.0.1:${bb.beaconAddress.port}`;

async function pair(label: 'on' | 'off'): Promise<Pair> {
  const mk = (): PilotNode => new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, public: true, listen: '127.0.0.1:0', tracing: label === 'on' && !process.argv.includes('--aa') });
  const sender = mk();
  const receiver = mk();
  await sender.start();
  await receiver.start();
  const waiters: ((n: number) => void)[] = [];
  receiver.listen(5000, (s) => {
    s.stopBuffering();
    let n = 0;
    s.on('data', (c) => (n += c.length));
    s.on('close', () => waiters.shift()?.(n));
  });
  const api = createNodeService({ node: sender, tracer: sender.tracer, logs: new LogRing(100) });
  return { label, sender, receiver, api, received: () => new Promise((r) => waiters.push(r)), mbps: [], cpuPerMb: [], rttUs: [], wallUs: [], cpuPerPing: [] };
}

async function streamRun(p: Pair): Promise<void> {
  const total = MB * 1048576;
  const chunk = new Uint8Array(64 * 1024);
  const done = p.received();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const s = await p.sender.dial(p.receiver.address, 5000);
  for (let sent = 0; sent < total; sent += chunk.length) if (!s.write(chunk.slice())) await s.waitDrain();
  s.end();
  const got = await done;
  if (got !== total) throw new Error(`received ${got} of ${total}`);
  p.mbps.push(total / 1048576 / ((performance.now() - t0) / 1000));
  const cpu = process.cpuUsage(cpu0);
  p.cpuPerMb.push((cpu.user + cpu.system) / MB);
}

async function pingRun(p: Pair): Promise<void> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const report = await p.api.call('peers.ping', { target: formatAddress(p.receiver.address), count: PINGS, timeoutMs: 60_000 });
  const wall = ((performance.now() - t0) * 1000) / PINGS;
  const cpu = process.cpuUsage(cpu0);
  p.cpuPerPing.push((cpu.user + cpu.system) / PINGS);
  const rtts = report.replies.flatMap((r) => (r.rttMs !== undefined ? [r.rttMs * 1000] : []));
  if (rtts.length !== PINGS) throw new Error(`${PINGS - rtts.length} pings lost`);
  p.rttUs.push(median(rtts));
  p.wallUs.push(wall);
}

const on = await pair('on');
const off = await pair('off');
// Warm-up: tunnels, JIT, the ring's first allocation.
for (const p of [on, off]) {
  await pingRun(p);
  await streamRun(p);
  p.mbps.length = p.cpuPerMb.length = p.rttUs.length = p.wallUs.length = p.cpuPerPing.length = 0;
}
for (let r = 0; r < RUNS; r++) {
  const order = r % 2 === 0 ? [on, off] : [off, on];
  for (const p of order) await streamRun(p);
  for (const p of order) await pingRun(p);
}

const spans = on.sender.tracer.size + on.receiver.tracer.size;
if (!process.argv.includes('--aa') && off.sender.tracer.size + off.receiver.tracer.size !== 0) throw new Error('tracing off recorded spans');
const row = (what: string, a: number, b: number, unit: string, digits: number, better: 'higher' | 'lower'): string => {
  const ratio = a / b;
  const cost = better === 'higher' ? 1 - ratio : ratio - 1;
  return `| ${what} | ${a.toFixed(digits)} ${unit} | ${b.toFixed(digits)} ${unit} | ${ratio.toFixed(3)} | ${(cost * 100).toFixed(1)} % |`;
};
console.log(`## Tracing overhead (one process, 127.0.0.1, ${RUNS} alternating runs per side, medians)\n`);
console.log(process.argv.includes('--aa') ? '| what | pair 1 (off) | pair 2 (off) | 1 / 2 | difference |' : '| what | tracing on | tracing off | on / off | cost |');
console.log('|---|---|---|---|---|');
console.log(row(`one stream, ${MB} MiB, encrypted`, median(on.mbps), median(off.mbps), 'MB/s', 1, 'higher'));
console.log(row('stream CPU per MiB (both nodes)', median(on.cpuPerMb), median(off.cpuPerMb), 'µs', 0, 'lower'));
console.log(row(`ping median RTT (peers.ping, ${PINGS} per run)`, median(on.rttUs), median(off.rttUs), 'µs', 1, 'lower'));
console.log(row('peers.ping wall time per ping (API loop: spans, events)', median(on.wallUs), median(off.wallUs), 'µs', 1, 'lower'));
console.log(row('peers.ping CPU per ping (both nodes)', median(on.cpuPerPing), median(off.cpuPerPing), 'µs', 1, 'lower'));
console.log(`\nSpans recorded with tracing on: ${spans} (rings of ${on.sender.tracer.capacity}); with tracing off: 0.`);

await Promise.all([on, off].flatMap((p) => [p.sender.stop(), p.receiver.stop()]));
for (const p of [on, off]) p.api.close();
await bb.close();
process.exit(0);
