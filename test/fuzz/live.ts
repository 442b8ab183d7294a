/**
 * The live fuzzer (issue 10): real processes, real sockets, counted outcomes.
 *
 *   npx tsx test/fuzz/live.ts [--datagrams N] [--beacon N] [--frames N] [--ws N] [--seed S] [--only udp,beacon,registry,ipc,ws] [--json]
 *
 * Defaults are the long budget `npm run fuzz` runs: 1,000,000 datagrams at a daemon's UDP socket,
 * 100,000 at the backbone's beacon port, 10,000 malformed frames at the registry and at the daemon's IPC socket, 10,000 malformed or
 * oversized messages at the console WebSocket. Prints what happened to each (by reason, from the
 * node's own counters where it keeps them) and exits 1 when a check failed: a process died, a ping
 * from the well-behaved peer failed, or a good client was not served afterwards.
 */
import { formatAddress } from '../../shared/address';
import { internalErrorLogs, startFleet, stopFleet, type Fleet } from './live-fleet';
import { fuzzBeacon, fuzzUdp, type BeaconFuzzResult, type UdpFuzzResult } from './live-udp';
import { fuzzIpc, fuzzRegistry, fuzzWebConsole, type StreamFuzzResult } from './live-streams';

export interface LiveBudget {
  datagrams: number;
  beacon: number;
  frames: number;
  ws: number;
  seed: number;
  only?: readonly string[];
  progress?: (line: string) => void;
}

export interface LiveReport {
  date: string;
  budget: Omit<LiveBudget, 'progress'>;
  udp?: UdpFuzzResult;
  beacon?: BeaconFuzzResult;
  registry?: StreamFuzzResult;
  ipc?: StreamFuzzResult;
  ws?: StreamFuzzResult;
  /** Every check that failed, in words (empty: all passed). */
  failures: string[];
}

export async function runLive(b: LiveBudget): Promise<LiveReport> {
  const say = b.progress ?? ((): void => undefined);
  const on = (part: string): boolean => !b.only || b.only.includes(part);
  const report: LiveReport = { date: new Date().toISOString(), budget: { datagrams: b.datagrams, beacon: b.beacon, frames: b.frames, ws: b.ws, seed: b.seed, ...(b.only ? { only: b.only } : {}) }, failures: [] };
  let fleet: Fleet | undefined;
  try {
    if (on('udp') || on('beacon') || on('registry') || on('ipc')) {
      fleet = await startFleet();
      say(`fleet up: backbone pid ${fleet.bb.proc.pid}, victim ${formatAddress({ network: 0, node: fleet.victimId })} pid ${fleet.victimPid} udp ${fleet.victimUdp.host}:${fleet.victimUdp.port}`);
    }
    if (fleet && on('udp')) {
      say(`udp: ${b.datagrams} datagrams`);
      const r = await fuzzUdp(fleet, { datagrams: b.datagrams, seed: b.seed, pingEvery: Math.max(100, Math.min(10_000, Math.floor(b.datagrams / 20))), progress: (n) => say(`  udp ${n}/${b.datagrams}`) });
      report.udp = r;
      if (!r.alive) report.failures.push('udp: the daemon process died');
      if (r.pings.failed > 0) report.failures.push(`udp: ${r.pings.failed} of ${r.pings.ok + r.pings.failed} pings from the well-behaved peer failed (${r.pings.errors.join('; ')})`);
      if ((r.drops['internal_error'] ?? 0) > 0) report.failures.push(`udp: ${r.drops['internal_error']} datagrams made the daemon's own code throw (internal_error); from its log:\n    ${internalErrorLogs(fleet).join('\n    ')}`);
    }
    if (fleet && on('beacon')) {
      say(`beacon: ${b.beacon} datagrams`);
      const r = await fuzzBeacon(fleet, { datagrams: b.beacon, seed: b.seed });
      report.beacon = r;
      if (!r.alive) report.failures.push(`beacon: the backbone process exited: ${fleet.bb.stderr().slice(-2000)}`);
      if (r.barriers.hang > 0) report.failures.push(`beacon: ${r.barriers.hang} discover barriers were not answered within 5 s`);
      if (!r.goodClientOk) report.failures.push('beacon: a good client was not answered afterwards');
    }
    if (fleet && on('registry')) {
      say(`registry: ${b.frames} frames`);
      const r = await fuzzRegistry(fleet, { frames: b.frames, seed: b.seed });
      report.registry = r;
      report.failures.push(...r.failures.map((x) => `registry: ${x}`));
    }
    if (fleet && on('ipc')) {
      say(`ipc: ${b.frames} frames`);
      const r = await fuzzIpc(fleet, { frames: b.frames, seed: b.seed });
      report.ipc = r;
      report.failures.push(...r.failures.map((x) => `ipc: ${x}`));
    }
    if (on('ws')) {
      say(`ws: ${b.ws} messages`);
      const r = await fuzzWebConsole({ messages: b.ws, seed: b.seed });
      report.ws = r;
      report.failures.push(...r.failures.map((x) => `ws: ${x}`));
    }
  } finally {
    await stopFleet(fleet);
  }
  return report;
}

const fmt = (n: number): string => n.toLocaleString('en-US');
const counts = (c: Record<string, number>): string =>
  Object.entries(c)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${fmt(v)}`)
    .join(', ') || '-';

export function formatReport(r: LiveReport): string {
  const lines: string[] = [`live fuzz ${r.date} (seed ${r.budget.seed})`];
  if (r.udp) {
    const u = r.udp;
    lines.push(
      `UDP: ${fmt(u.sent)} datagrams in ${(u.durationMs / 1000).toFixed(1)} s; the daemon read ${fmt(u.delivered)} (incl. pings); daemon alive: ${u.alive ? 'yes' : 'NO'}`,
      `  families: ${counts(u.byFamily)}`,
      `  drops by reason (node.info drops): ${counts(u.drops)}`,
      `  first half, family by family (sent: drops by reason; read without a drop counted):`,
      ...Object.entries(u.perFamily).map(([k, v]) => `    ${k} ${fmt(v.sent)}: ${counts(v.drops)}; not dropped ${fmt(v.notDropped)}`),
      `  pings from the well-behaved peer: ${u.pings.ok} ok, ${u.pings.failed} failed`,
      `  daemon RSS: ${u.rssKb.before ?? '?'} kB before, ${u.rssKb.after ?? '?'} kB after, max ${u.rssKb.max ?? '?'} kB`,
      `  RSS along the run (datagrams: kB): ${[0.1, 0.25, 0.5, 0.75, 1].map((q) => u.rssSamples[Math.max(0, Math.ceil(q * u.rssSamples.length) - 1)]).filter((x) => x !== undefined).map(([n, kb]) => `${fmt(n)}: ${fmt(kb)}`).join(', ')}`,
    );
  }
  if (r.beacon) {
    const bc = r.beacon;
    lines.push(
      `beacon UDP: ${fmt(bc.sent)} datagrams in ${(bc.durationMs / 1000).toFixed(1)} s; discover barriers answered ${fmt(bc.barriers.answered)}, unanswered ${bc.barriers.hang}; backbone alive: ${bc.alive ? 'yes' : 'NO'}`,
      `  good client answered afterwards: ${bc.goodClientOk ? 'yes' : 'NO'}; backbone RSS ${bc.rssKb.before ?? '?'} → ${bc.rssKb.after ?? '?'} kB`,
    );
  }
  for (const [name, s] of [['registry TCP', r.registry], ['IPC socket', r.ipc], ['console WebSocket', r.ws]] as const) {
    if (!s) continue;
    lines.push(
      `${name}: ${fmt(s.sent)} frames in ${(s.durationMs / 1000).toFixed(1)} s over ${fmt(s.connections)} connections; ${s.target}`,
      `  outcomes: ${counts(s.outcomes)}`,
      ...(s.serverCounters ? [`  server counters: ${counts(s.serverCounters)}`] : []),
      `  good client served afterwards: ${s.goodClientOk ? 'yes' : 'NO'}${s.rssKb ? `; RSS ${s.rssKb.before ?? '?'} → ${s.rssKb.after ?? '?'} kB` : ''}`,
    );
  }
  lines.push(r.failures.length === 0 ? 'result: 0 crashes, 0 hangs, every check passed' : `result: ${r.failures.length} FAILED checks:\n  ${r.failures.join('\n  ')}`);
  return lines.join('\n');
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const num = (name: string, d: number): number => {
    const v = arg(name);
    return v === undefined ? d : Number(v.replace(/_/g, ''));
  };
  const only = arg('only')?.split(',');
  const report = await runLive({
    datagrams: num('datagrams', 1_000_000),
    beacon: num('beacon', 100_000),
    frames: num('frames', 10_000),
    ws: num('ws', 10_000),
    seed: num('seed', 1),
    ...(only ? { only } : {}),
    progress: (l) => process.stderr.write(`${l}\n`),
  });
  process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  process.exitCode = report.failures.length === 0 ? 0 : 1;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`live fuzz failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 2;
  });
}
