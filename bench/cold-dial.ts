/**
 * Cold dial, step by step: `npx tsx bench/cold-dial.ts [--cold 40] [--whole] [--no-tracing] [--timeline] [--json]`.
 *
 * The cold dial of bench/node.ts on its own, with a timeline of both sides: this process holds the
 * backbone and a fresh dialling node per dial (started, not timed); bench/cold-dial-agent.ts is the
 * answering node in another process (echo service on port 7). Each side records, per dial, when its
 * registry requests went out and came back and when each tunnel datagram (PILA, PILS, ...) was sent or
 * received, on one clock (performance.timeOrigin + now(), µs; both processes run on this machine).
 *
 * Staged (default, as bench/node.ts): resolveTarget, ensureTunnel, dial, one 32-byte echo, each
 * awaited in turn. `--whole`: resolveTarget then dial() (which makes the tunnel itself), then the echo:
 * what an application does. Prints the medians of each step (µs after the dial's start) and, with
 * `--timeline`, every dial's merged timeline.
 */
import { startBackbone } from '../main/backbone';
import { Identity } from '../main/crypto';
import { PilotNode } from '../main/node/node';
import type { PilotStream } from '../main/node/stream';
import { silentLogger } from '../main/util/log';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { median, numArg, pct } from './lib';
import { Recorder, recordingSocket } from './cold-dial-probe';

const COLD = numArg('cold', 40);
const WHOLE = process.argv.includes('--whole');
const TIMELINE = process.argv.includes('--timeline');
const JSON_OUT = process.argv.includes('--json');
/** `--no-tracing`: both nodes without spans (what tracing costs a cold dial). */
const TRACING = !process.argv.includes('--no-tracing');

const bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger, registerRatePerMin: 100_000 });
const reg = `127.0.0.1:${bb.registryAddress.port}`;
const bea = `127.0.0.1:${bb.beaconAddress.port}`;
const HOST = `cold-agent-${process.pid}`;
const child = spawn(process.execPath, [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), '--import', 'tsx', 'bench/cold-dial-agent.ts', reg, bea, HOST, String(TRACING)], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines: string[] = [];
const waiting: ((l: string) => void)[] = [];
createInterface({ input: child.stdout }).on('line', (l) => (waiting.length ? waiting.shift()!(l) : lines.push(l)));
const agent = {
  child,
  next: (): Promise<unknown> => new Promise<string>((r) => (lines.length ? r(lines.shift()!) : waiting.push(r))).then((l) => JSON.parse(l) as unknown),
};
await agent.next();

async function readN(s: PilotStream, n: number): Promise<void> {
  for (let have = 0; have < n; ) {
    const c = await s.read(5000);
    if (!c) throw new Error('stream closed');
    have += c.length;
  }
}

const totals: number[] = [];
/** Step name → µs after the dial's start, per dial (first occurrence). */
const steps = new Map<string, number[]>();
for (let i = 0; i < COLD; i++) {
  const rec = new Recorder('A');
  const fresh = new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, public: true, listen: '127.0.0.1:0', tracing: TRACING, socket: await recordingSocket(rec) });
  await fresh.start();
  rec.wrapRegistry(fresh.registry);
  // The same idle gap before each dial as bench/node.ts's fresh node has after start (none forced).
  const start = rec.now();
  rec.mark('start');
  const target = await fresh.resolveTarget(HOST);
  rec.mark('resolved');
  if (!WHOLE) {
    await fresh.ensureTunnel(target.nodeId);
    rec.mark('tunnel');
  }
  const s = await fresh.dial(target.address, 7, 5000);
  rec.mark('open');
  s.write(new Uint8Array(32));
  await readN(s, 32);
  rec.mark('echo');
  totals.push((rec.now() - start) / 1000);
  agent.child.stdin.write('report\n');
  const theirs = (await agent.next()) as { events: [number, string][] };
  const all = [...rec.events, ...theirs.events.map(([t, w]) => [t, w] as [number, string])].sort((a, b) => a[0] - b[0]);
  const seen = new Set<string>();
  for (const [t, what] of all) {
    if (t < start || seen.has(what)) continue;
    seen.add(what);
    let xs = steps.get(what);
    if (!xs) steps.set(what, (xs = []));
    xs.push(t - start);
  }
  if (TIMELINE) {
    process.stderr.write(`dial ${i}: ${(totals[i]! * 1).toFixed(2)} ms\n`);
    for (const [t, what] of all) if (t >= start) process.stderr.write(`  ${((t - start) / 1).toFixed(0).padStart(6)} µs  ${what}\n`);
  }
  s.abort();
  await fresh.stop();
}
agent.child.stdin.end();
agent.child.kill('SIGINT');
await new Promise((r) => agent.child.once('exit', r));
await bb.close();

const order = [...steps.entries()].filter(([, xs]) => xs.length >= COLD / 2).sort((a, b) => median(a[1]) - median(b[1]));
if (JSON_OUT) {
  console.log(JSON.stringify({ coldMs: median(totals), coldP99Ms: pct(totals, 99), colds: totals, steps: Object.fromEntries(order.map(([k, xs]) => [k, median(xs)])) }));
} else {
  console.log(`cold dial (${WHOLE ? 'whole' : 'staged'}, ${COLD} dials): median ${median(totals).toFixed(2)} ms, p90 ${pct(totals, 90).toFixed(2)} ms, min ${Math.min(...totals).toFixed(2)} ms`);
  console.log('step medians (µs after start; A = dialler, B = answering node; n = dials that had the step):');
  for (const [k, xs] of order) console.log(`  ${median(xs).toFixed(0).padStart(6)}  ${k}  (n=${xs.length})`);
}
process.exit(0);
