/**
 * Fairness under a flood: `npx tsx bench/flood.ts [--runs 3] [--mb 16] [--pings 1000]`.
 *
 * A victim node (bench/agent.ts, its own process) serves a well-behaved peer (this process) while an
 * attacker (bench/flood-attacker.ts, its own process, a registered node) floods it with garbage,
 * correctly signed key exchanges with a low-order key, frames with bad tags, un-awaited valid pings
 * and a valid stream running flat out. The well-behaved peer's ping median and stream throughput are
 * measured quiet and under the flood, in the same run. Targets (issue 10): ping median within 2x of
 * quiet, stream at least half of quiet. The victim's drop counters are printed from its own report.
 */
import type { ChildProcess } from 'node:child_process';
import { startBackbone } from '../main/backbone';
import { Identity } from '../main/crypto';
import { backboneAddress } from '../shared/address';
import { PilotNode } from '../main/node/node';
import { silentLogger } from '../main/util/log';
import { jsonChild, median, numArg } from './lib';

const arg = numArg;
const RUNS = arg('runs', 3);
const MB = arg('mb', 16);
const PINGS = arg('pings', 1000);
const ATTACKS = (process.argv.includes('--attack') ? process.argv[process.argv.indexOf('--attack') + 1]! : 'invalid,valid,both').split(',');
const child = (script: string, args: string[]): { proc: ChildProcess; next: () => Promise<Record<string, unknown>> } => {
  const c = jsonChild(script, args);
  return { proc: c.child, next: c.next };
};

const bb = await startBackbone({ registry: '127.0.0.1:0', beacon: '127.0.0.1:0', logger: silentLogger, registerRatePerMin: 10_000 });
const reg = `127.0.0.1:${bb.registryAddress.port}`;
const bea = `127.0.0.1:${bb.beaconAddress.port}`;
const victim = child('bench/agent.ts', ['node', reg, bea]);
const { nodeId } = (await victim.next()) as { nodeId: number };
const me = new PilotNode({ identity: Identity.generate(), registry: reg, beacon: bea, public: true, listen: '127.0.0.1:0' });
await me.start();

async function measure(): Promise<{ pingUs: number; mbps: number; lost: number }> {
  const rtts: number[] = [];
  let lost = 0;
  for (let i = 0; i < PINGS; i++) {
    try {
      rtts.push((await me.controlPing(nodeId, 500)) * 1000);
    } catch {
      lost++;
    }
  }
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const s = await me.dial(backboneAddress(nodeId), 5000);
    const chunk = new Uint8Array(64 * 1024);
    const total = MB * 1048576;
    const t0 = performance.now();
    for (let sent = 0; sent < total; sent += chunk.length) if (!s.write(chunk.slice())) await s.waitDrain();
    s.end();
    // The sink reports every stream it served; the attacker's stream only closes at the end.
    for (;;) {
      const rep = (await victim.next()) as { received?: number };
      if (rep.received === total) break;
    }
    rates.push(total / 1048576 / ((performance.now() - t0) / 1000));
  }
  return { pingUs: rtts.length ? median(rtts) : NaN, mbps: median(rates), lost };
}

const progress = (m: string): boolean => process.stderr.write(`[flood] ${m}\n`);
for (let i = 0; i < 200; i++) await me.controlPing(nodeId); // warm-up
const rows: string[] = [];
const sentBy: Record<string, Record<string, unknown>> = {};
for (const attack of ATTACKS) {
  progress(`quiet run (before ${attack})`);
  const quiet = await measure();
  const attacker = child('bench/flood-attacker.ts', [reg, bea, String(nodeId), attack]);
  await attacker.next();
  progress(`flood run: ${attack}`);
  const loud = await measure();
  attacker.proc.kill('SIGINT');
  sentBy[attack] = await attacker.next();
  const pingRatio = loud.pingUs / quiet.pingUs;
  const streamRatio = loud.mbps / quiet.mbps;
  rows.push(
    `| ${attack} | ping median ${quiet.pingUs.toFixed(1)} → ${loud.pingUs.toFixed(1)} µs (${loud.lost}/${PINGS} lost) | ${pingRatio.toFixed(2)} (<= 2: ${pingRatio <= 2 ? 'met' : 'NOT met'}) | stream ${quiet.mbps.toFixed(1)} → ${loud.mbps.toFixed(1)} MB/s | ${streamRatio.toFixed(2)} (>= 0.5: ${streamRatio >= 0.5 ? 'met' : 'NOT met'}) |`,
  );
}
console.log(`## Flood fairness (three processes on 127.0.0.1: victim, well-behaved peer, attacker; ${RUNS} stream runs of ${MB} MiB and ${PINGS} pings per measurement, medians)\n`);
console.log('| attack | well-behaved ping: quiet → flood | ratio | well-behaved stream: quiet → flood | ratio |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(r);
console.log('\ninvalid = garbage + correctly signed low-order key exchanges + bad-tag frames; valid = un-awaited pings + one stream flat out; both = all of it.');
console.log(`attacker sent: ${JSON.stringify(sentBy)}`);
await me.stop();
victim.proc.kill('SIGINT');
await bb.close();
process.exit(0);
