/**
 * Node benchmarks: `npx tsx bench/node.ts [--runs 5] [--mb 64] [--streams 8] [--pings 2000]
 * [--dials 100] [--cold 20] [--json]`.
 *
 * Two processes on 127.0.0.1 with a real backbone: this process is the sender node, bench/agent.ts
 * the receiver. Measures one stream's throughput (encrypted, native crypto), `--streams` concurrent
 * streams' aggregate (the same `--mb` split between them), control-ping RTT over an established
 * tunnel, a 32-byte echo round trip on an open stream, dial time (SYN → established over an existing
 * tunnel), and cold dial: a fresh node (started, not timed) resolves the agent's hostname at the
 * registry, resolves its endpoint and key, exchanges keys, opens a stream to its echo port and has one
 * 32-byte round trip. A raw UDP baseline between the same two kinds of process is measured in the same
 * run, so the ratio holds on a noisy shared machine. Prints medians as a markdown table, or with
 * `--json` one JSON line with every figure (bench/run.ts reads it).
 */
import dgram from 'node:dgram';
import { startBackbone } from '../main/backbone';
import { Identity } from '../main/crypto';
import { backboneAddress } from '../shared/address';
import { PilotNode } from '../main/node/node';
import type { PilotStream } from '../main/node/stream';
import { silentLogger } from '../main/util/log';
import { jsonChild, median, numArg, pct } from './lib';

const arg = numArg;
const RUNS = arg('runs', 5);
const MB = arg('mb', 64);
const PINGS = arg('pings', 2000);
const DIALS = arg('dials', 100);
const STREAMS = arg('streams', 8);
const COLD = arg('cold', 20);
const JSON_OUT = process.argv.includes('--json');
const stage = (what: string): void => void (process.env.BENCH_DEBUG && process.stderr.write(`node.ts: ${what}\n`));

function startAgent(args: string[]): ReturnType<typeof jsonChild> {
  return jsonChild('bench/agent.ts', args, process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []);
}

async function udpBaseline(bytes: number): Promise<{ mbps: number; pingUs: number; pingP99Us: number }> {
  const agent = startAgent(['udp']);
  const { port } = (await agent.next()) as { port: number };
  const sock = dgram.createSocket({ type: 'udp4', sendBufferSize: 8 << 20 });
  const size = 4166; // a full PILS datagram: 4096 payload + 34 header + 36 tunnel overhead
  const buf = Buffer.alloc(size);
  const results: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    let inflight = 0;
    for (let sent = 0; sent < bytes; sent += size) {
      inflight++;
      sock.send(buf, port, '127.0.0.1', () => inflight--);
      if (inflight > 64) await new Promise<void>((res) => setImmediate(res));
    }
    while (inflight > 0) await new Promise<void>((res) => setImmediate(res));
    sock.send(Buffer.alloc(1), port, '127.0.0.1');
    const { bytes: got } = (await agent.next()) as { bytes: number };
    const secs = (performance.now() - t0) / 1000;
    results.push(got / 1048576 / secs);
  }
  // Ping-pong of 64-byte datagrams with the same kind of process: the floor for the control ping.
  const ping = Buffer.alloc(64);
  const pongs: number[] = [];
  for (let i = 0; i < PINGS + 200; i++) {
    const t0 = performance.now();
    await new Promise<void>((res) => {
      sock.once('message', () => res());
      sock.send(ping, port, '127.0.0.1');
    });
    if (i >= 200) pongs.push((performance.now() - t0) * 1000);
  }
  sock.close();
  agent.child.kill();
  return { mbps: median(results), pingUs: median(pongs), pingP99Us: pct(pongs, 99) };
}

const bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger, registerRatePerMin: 100_000 });
const reg = `127.0.0.1:${bb.registryAddress.port}`;
const bea = `127.0.0.1:${bb.beaconAddress.port}`;
const HOST = `bench-agent-${process.pid}`;
const agent = startAgent(['node', reg, bea, HOST]);
const { nodeId } = (await agent.next()) as { nodeId: number };
const me = new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, public: true, listen: '127.0.0.1:0' });
await me.start();
const peer = backboneAddress(nodeId);

stage('one stream');
const throughput: number[] = [];
/** CPU µs (user + system) per 4096-byte segment, sender and receiver process. */
const senderCpu: number[] = [];
const receiverCpu: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const s = await me.dial(peer, 5000);
  const chunk = new Uint8Array(64 * 1024);
  const total = MB * 1048576;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  for (let sent = 0; sent < total; sent += chunk.length) if (!s.write(chunk.slice())) await s.waitDrain();
  s.end();
  const { received, cpuMs } = (await agent.next()) as { received: number; cpuMs: number };
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (received !== total) throw new Error(`received ${received} of ${total}`);
  throughput.push(total / 1048576 / secs);
  const segs = total / 4096;
  senderCpu.push(((cpu.user + cpu.system) / segs));
  receiverCpu.push((cpuMs * 1000) / segs);
  if (process.env.BENCH_DEBUG) console.error(JSON.stringify(s.stats()));
}

stage('streams');
/** `--streams` streams at once, `--mb` MiB between them: aggregate MB/s. */
const multi: number[] = [];
for (let r = 0; r < RUNS; r++) {
  const per = Math.floor((MB * 1048576) / STREAMS / 65536) * 65536;
  const streams = await Promise.all(Array.from({ length: STREAMS }, () => me.dial(peer, 5000)));
  const t0 = performance.now();
  await Promise.all(
    streams.map(async (s) => {
      const chunk = new Uint8Array(64 * 1024);
      for (let sent = 0; sent < per; sent += chunk.length) if (!s.write(chunk.slice())) await s.waitDrain();
      s.end();
    }),
  );
  let got = 0;
  for (let i = 0; i < STREAMS; i++) got += ((await agent.next()) as { received: number }).received;
  if (got !== per * STREAMS) throw new Error(`received ${got} of ${per * STREAMS}`);
  multi.push((per * STREAMS) / 1048576 / ((performance.now() - t0) / 1000));
}

/** Reads exactly `n` bytes from a buffering stream. */
async function readN(s: PilotStream, n: number): Promise<void> {
  for (let have = 0; have < n; ) {
    const c = await s.read(5000);
    if (!c) throw new Error('stream closed');
    have += c.length;
  }
}

stage('stream echo');
// 32-byte round trips on one open stream to the echo port (what the libp2p baseline measures).
const echoRtts: number[] = [];
{
  const s = await me.dial(peer, 7);
  const msg = new Uint8Array(32);
  for (let i = 0; i < Math.min(PINGS, 2000) + 200; i++) {
    const t0 = performance.now();
    s.write(msg);
    await readN(s, 32);
    if (i >= 200) echoRtts.push((performance.now() - t0) * 1000);
  }
  s.end();
}

stage('cold dial');
// Cold dial: a fresh node each time; timed from the hostname to the first echoed byte.
const cold: number[] = [];
/** Where a cold dial's time goes: hostname → node id, tunnel (lookup + key exchange), SYN → established, first echo. */
const coldStages = { resolve: [] as number[], tunnel: [] as number[], open: [] as number[], echo: [] as number[] };
for (let i = 0; i < COLD; i++) {
  const fresh = new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, public: true, listen: '127.0.0.1:0' });
  await fresh.start();
  const t0 = performance.now();
  const target = await fresh.resolveTarget(HOST);
  const t1 = performance.now();
  await fresh.ensureTunnel(target.nodeId); // what dial() does first: endpoint + key lookup, key exchange
  const t2 = performance.now();
  const s = await fresh.dial(target.address, 7, 5000);
  const t3 = performance.now();
  s.write(new Uint8Array(32));
  await readN(s, 32);
  const t4 = performance.now();
  cold.push(t4 - t0);
  coldStages.resolve.push(t1 - t0);
  coldStages.tunnel.push(t2 - t1);
  coldStages.open.push(t3 - t2);
  coldStages.echo.push(t4 - t3);
  s.abort();
  await fresh.stop();
}

stage('control ping');
const rtts: number[] = [];
for (let i = 0; i < 200; i++) await me.controlPing(nodeId); // warm-up
for (let i = 0; i < PINGS; i++) rtts.push((await me.controlPing(nodeId)) * 1000);

stage('dial');
const dials: number[] = [];
for (let i = 0; i < DIALS; i++) {
  // Paced at 8 per second: a node accepts at most 10 SYNs per second from one source (transport.md
  // §1); faster dialling measures the SYN rate limiter (a dropped SYN is retried after 1 s), not dial.
  await new Promise((r) => setTimeout(r, 125));
  const t0 = performance.now();
  const s = await me.dial(peer, 5000);
  dials.push(performance.now() - t0);
  s.abort();
}

stage('udp');
const { mbps: udp, pingUs: udpPing, pingP99Us: udpPingP99 } = await udpBaseline(MB * 1048576);
const tp = median(throughput);
if (JSON_OUT) {
  console.log(
    JSON.stringify({
      oneMBps: throughput,
      multiMBps: multi,
      streams: STREAMS,
      cpuMsPerMiB: ((median(senderCpu) + median(receiverCpu)) * 256) / 1000,
      senderCpuUs: median(senderCpu),
      receiverCpuUs: median(receiverCpu),
      pingMedianUs: median(rtts),
      pingP99Us: pct(rtts, 99),
      pings: rtts.length,
      echoMedianUs: median(echoRtts),
      echoP99Us: pct(echoRtts, 99),
      dialMs: median(dials),
      coldMs: median(cold),
      coldP99Ms: pct(cold, 99),
      colds: cold,
      coldResolveMs: median(coldStages.resolve),
      coldTunnelMs: median(coldStages.tunnel),
      coldOpenMs: median(coldStages.open),
      coldEchoMs: median(coldStages.echo),
      udpMBps: udp,
      udpPingUs: udpPing,
      udpPingP99Us: udpPingP99,
    }),
  );
  await me.stop();
  agent.child.kill('SIGINT');
  await bb.close();
  process.exit(0);
}
console.log(`## Node (two processes on 127.0.0.1, ${RUNS} runs, medians)\n`);
console.log('| what | figure | baseline (same run) | ratio |');
console.log('|---|---|---|---|');
console.log(`| one stream, ${MB} MiB, encrypted (native AES-GCM) | ${tp.toFixed(1)} MB/s | raw UDP 4166 B datagrams: ${udp.toFixed(1)} MB/s | ${(tp / udp).toFixed(2)} |`);
console.log(`| ${STREAMS} streams at once, ${MB} MiB between them | ${median(multi).toFixed(1)} MB/s aggregate | | |`);
console.log(`| CPU per 4 KiB segment (user + system), sender / receiver | ${median(senderCpu).toFixed(1)} µs / ${median(receiverCpu).toFixed(1)} µs | | |`);
console.log(
  `| control ping over an established tunnel | median ${median(rtts).toFixed(1)} µs, p99 ${pct(rtts, 99).toFixed(1)} µs | raw UDP 64 B ping-pong: median ${udpPing.toFixed(1)} µs | ${(median(rtts) / udpPing).toFixed(2)} |`,
);
console.log(`| 32 B echo round trip on an open stream | median ${median(echoRtts).toFixed(1)} µs, p99 ${pct(echoRtts, 99).toFixed(1)} µs | | |`);
console.log(`| cold dial: fresh node, hostname → first echo round trip | median ${median(cold).toFixed(2)} ms, p99 ${pct(cold, 99).toFixed(2)} ms | | |`);
console.log(`| cold dial stages (medians): resolve / tunnel / stream open / first echo | ${(['resolve', 'tunnel', 'open', 'echo'] as const).map((k) => median(coldStages[k]).toFixed(2)).join(' / ')} ms | | |`);
console.log(`| dial (SYN → established, tunnel up; paced 8/s) | median ${median(dials).toFixed(3)} ms, p99 ${pct(dials, 99).toFixed(3)} ms | | |`);
await me.stop();
agent.child.kill('SIGINT');
await bb.close();
process.exit(0);
