/**
 * Loss recovery in simulated time: one stream over the in-memory link (main/transport/testing/link)
 * with a bottleneck, random loss in both directions, the node's transport settings. Reports the
 * simulated transfer time and goodput per loss rate, and how the loss was repaired (fast recovery,
 * tail probes, RTOs, retransmissions). Deterministic per seed; no wall-clock timing involved.
 *
 *   npx tsx bench/transport-loss.ts [--mb 20] [--rtt-ms 1] [--rate-mbps 800] [--seeds 3]
 */
import { parseArgs } from 'node:util';
import { LinkPair, pattern } from '../main/transport/testing/link';
import type { StreamConnection } from '../main/transport';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '20' },
    'rtt-ms': { type: 'string', default: '1' },
    'rate-mbps': { type: 'string', default: '800' },
    seeds: { type: 'string', default: '3' },
    loss: { type: 'string', default: '0,0.01,0.05,0.2' },
    segment: { type: 'string', default: '1360' },
  },
});
const MB = 1024 * 1024;
const size = Math.round(Number(values.mb) * MB);
const rtt = Number(values['rtt-ms']);
const rate = (Number(values['rate-mbps']) * 1e6) / 8 / 1000; // bytes per ms
const seeds = Number(values.seeds);
const segment = Number(values.segment);

function run(loss: number, seed: number) {
  const p = new LinkPair({
    seed,
    link: { latencyMs: rtt / 2, loss, rateBytesPerMs: rate, queueBytes: 256 * 1024 },
    transport: { ackBatching: false, maxTransmissions: 16, oooMax: 512 },
    segmentSize: segment,
  });
  p.keepChunks = false;
  p.b.listen(1000);
  let server: StreamConnection | undefined;
  p.onAccept = (c) => (server = c);
  const client = p.a.dial(p.addr.b, 1000, p.now);
  p.sendAll(client, pattern(size, seed), false);
  const ok = p.run(() => p.receivedCount(server) === size, 3_600_000);
  const st = client.stats();
  return { ok, ms: p.now, st, drops: p.stats.dropped, qdrops: p.stats.queueDrops };
}

console.log(`transport loss recovery, simulated: ${values.mb} MB, RTT ${rtt} ms, bottleneck ${values['rate-mbps']} Mbit/s, segment ${segment} B, ${seeds} seeds (median)`);
console.log('loss   | time s  | MB/s    | retx %  | fast rec | TLP  | RTO  | drops (queue)');
for (const loss of String(values.loss).split(',').map(Number)) {
  const rs = [];
  for (let s = 1; s <= seeds; s++) rs.push(run(loss, s));
  rs.sort((x, y) => x.ms - y.ms);
  const m = rs[Math.floor(rs.length / 2)]!;
  const segs = Math.ceil(size / segment);
  console.log(
    [
      `${(loss * 100).toFixed(0)} %`.padEnd(6),
      (m.ok ? (m.ms / 1000).toFixed(2) : 'STALL').padStart(7),
      (size / MB / (m.ms / 1000)).toFixed(2).padStart(7),
      ((m.st.retransmits / segs) * 100).toFixed(1).padStart(7),
      String(m.st.fastRetx).padStart(8),
      String(m.st.tlpProbes ?? '-').padStart(4),
      String(m.st.timeouts).padStart(4),
      `${m.drops} (${m.qdrops})`,
    ].join(' | '),
  );
}
