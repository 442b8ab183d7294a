/**
 * Congestion control and loss recovery in simulated time, over the in-memory link
 * (main/transport/testing/link): a bottleneck of `--rate-mbps` with a drop-tail queue of `--queue-kb`,
 * `--rtt-ms` of round trip, random loss in both directions, the node's transport settings
 * (maxTransmissions 16, oooMax 512, 1360-byte segments), per congestion controller (`--cc`).
 *
 *  1. one stream moving `--mb` MB at each loss rate: simulated transfer time, goodput, retransmissions
 *     as % of the data segments, how the loss was repaired (fast recovery, tail probes, RTOs), drops
 *     (random and, in brackets, at the full queue). Median of `--seeds` seeds (by time).
 *  2. fairness: two streams from the same sender through the bottleneck, the second starting
 *     `--stagger-s` later; each one's goodput over the window where both run (from 5 s after the
 *     second started to the end of `--fair-s`), Jain's index (x1+x2)² / (2·(x1²+x2²)), and the RTT
 *     inflation: the streams' smoothed RTT over that window, sampled every 10 ms, against the path's
 *     base RTT (mean and 95th percentile).
 *
 * Deterministic per seed: simulated time only, no wall-clock timing involved.
 *
 *   npx tsx bench/transport-loss.ts [--cc reno,bbr] [--mb 20] [--rtt-ms 40] [--rate-mbps 100]
 *     [--queue-kb 256] [--loss 0,0.01,0.05,0.2] [--seeds 3] [--fair-s 30] [--stagger-s 2] [--no-fair]
 */
import { parseArgs } from 'node:util';
import { LinkPair, pattern } from '../main/transport/testing/link';
import type { StreamConnection } from '../main/transport';
import { CONGESTION_ALGORITHMS, type CongestionAlgorithm } from '../main/transport/config';

const { values } = parseArgs({
  options: {
    cc: { type: 'string', default: CONGESTION_ALGORITHMS.join(',') },
    mb: { type: 'string', default: '20' },
    'rtt-ms': { type: 'string', default: '40' },
    'rate-mbps': { type: 'string', default: '100' },
    'queue-kb': { type: 'string', default: '256' },
    seeds: { type: 'string', default: '3' },
    loss: { type: 'string', default: '0,0.01,0.05,0.2' },
    segment: { type: 'string', default: '1360' },
    'fair-s': { type: 'string', default: '30' },
    'stagger-s': { type: 'string', default: '2' },
    'no-fair': { type: 'boolean', default: false },
  },
});
const MB = 1024 * 1024;
const size = Math.round(Number(values.mb) * MB);
const rtt = Number(values['rtt-ms']);
const rate = (Number(values['rate-mbps']) * 1e6) / 8 / 1000; // bytes per ms
const queueBytes = Number(values['queue-kb']) * 1024;
const seeds = Number(values.seeds);
const segment = Number(values.segment);
const ccs = String(values.cc).split(',') as CongestionAlgorithm[];
for (const cc of ccs) if (!CONGESTION_ALGORITHMS.includes(cc)) throw new Error(`unknown --cc ${cc}`);

function pair(cc: CongestionAlgorithm, loss: number, seed: number): LinkPair {
  const p = new LinkPair({
    seed,
    link: { latencyMs: rtt / 2, loss, rateBytesPerMs: rate, queueBytes },
    transport: { ackBatching: false, maxTransmissions: 16, oooMax: 512, congestion: cc },
    segmentSize: segment,
  });
  p.keepChunks = false;
  return p;
}

function run(cc: CongestionAlgorithm, loss: number, seed: number) {
  const p = pair(cc, loss, seed);
  p.b.listen(1000);
  let server: StreamConnection | undefined;
  p.onAccept = (c) => (server = c);
  const client = p.a.dial(p.addr.b, 1000, p.now);
  p.sendAll(client, pattern(size, seed), false);
  const ok = p.run(() => p.receivedCount(server) === size, 3_600_000);
  const st = client.stats();
  return { ok, ms: p.now, st, drops: p.stats.dropped, qdrops: p.stats.queueDrops };
}

console.log(
  `transport loss recovery, simulated: ${values.mb} MB, RTT ${rtt} ms, bottleneck ${values['rate-mbps']} Mbit/s, ` +
    `queue ${values['queue-kb']} KB, segment ${segment} B, loss both ways, ${seeds} seeds (median)`,
);
console.log('cc   | loss   | time s  | MB/s    | retx %  | fast rec | TLP  | RTO  | drops (queue)');
for (const cc of ccs) {
  for (const loss of String(values.loss).split(',').map(Number)) {
    const rs = [];
    for (let s = 1; s <= seeds; s++) rs.push(run(cc, loss, s));
    rs.sort((x, y) => x.ms - y.ms);
    const m = rs[Math.floor(rs.length / 2)]!;
    const segs = Math.ceil(size / segment);
    console.log(
      [
        cc.padEnd(4),
        `${(loss * 100).toFixed(0)} %`.padEnd(6),
        (m.ok ? (m.ms / 1000).toFixed(2) : 'STALL').padStart(7),
        (size / MB / (m.ms / 1000)).toFixed(2).padStart(7),
        ((m.st.retransmits / segs) * 100).toFixed(1).padStart(7),
        String(m.st.fastRetx).padStart(8),
        String(m.st.tlpProbes).padStart(4),
        String(m.st.timeouts).padStart(4),
        `${m.drops} (${m.qdrops})`,
      ].join(' | '),
    );
  }
}

/** Two streams sharing the bottleneck (see the top of this file). */
function fairness(cc: CongestionAlgorithm) {
  const total = Number(values['fair-s']) * 1000;
  const stagger = Number(values['stagger-s']) * 1000;
  const from = stagger + 5000;
  const p = pair(cc, 0, 1);
  p.b.listen(1000);
  const servers: StreamConnection[] = [];
  p.onAccept = (c) => servers.push(c);
  const big = pattern(2 * Math.ceil(rate * total), 1); // more than the link can move in `total`
  const clients = [p.a.dial(p.addr.b, 1000, p.now)];
  p.sendAll(clients[0]!, big, false);
  p.run(() => false, stagger);
  clients.push(p.a.dial(p.addr.b, 1000, p.now));
  p.sendAll(clients[1]!, big, false);
  p.run(() => false, from - p.now);
  const start = servers.map((s) => p.receivedCount(s));
  const srtts: number[] = [];
  let next = p.now;
  p.run(() => {
    if (p.now >= next) {
      next += 10;
      for (const c of clients) srtts.push(c.stats().srttMs);
    }
    return false;
  }, total - p.now);
  const secs = (total - from) / 1000;
  const x = servers.map((s, i) => (p.receivedCount(s) - start[i]!) / MB / secs);
  const jain = (x[0]! + x[1]!) ** 2 / (2 * (x[0]! ** 2 + x[1]! ** 2));
  srtts.sort((a, b) => a - b);
  const mean = srtts.reduce((a, b) => a + b, 0) / srtts.length;
  const p95 = srtts[Math.floor(srtts.length * 0.95)]!;
  const retx = clients.reduce((a, c) => a + c.stats().retransmits, 0);
  const sent = clients.reduce((a, c) => a + c.stats().bytesSent, 0) / segment;
  return { x, jain, mean, p95, retxPct: (retx / sent) * 100, qdrops: p.stats.queueDrops };
}

if (!values['no-fair']) {
  console.log('');
  console.log(
    `fairness, simulated: two streams through the same bottleneck, the second ${values['stagger-s']} s later, ` +
      `goodput over ${Number(values['stagger-s']) + 5}..${values['fair-s']} s, no random loss`,
  );
  console.log('cc   | stream 1 MB/s | stream 2 MB/s | Jain | sRTT mean ms (x base) | sRTT p95 ms (x base) | retx % | queue drops');
  for (const cc of ccs) {
    const f = fairness(cc);
    console.log(
      [
        cc.padEnd(4),
        f.x[0]!.toFixed(2).padStart(13),
        f.x[1]!.toFixed(2).padStart(13),
        f.jain.toFixed(3),
        `${f.mean.toFixed(1)} (${(f.mean / rtt).toFixed(2)})`.padStart(21),
        `${f.p95.toFixed(0)} (${(f.p95 / rtt).toFixed(2)})`.padStart(20),
        f.retxPct.toFixed(2).padStart(6),
        String(f.qdrops).padStart(11),
      ].join(' | '),
    );
  }
}
