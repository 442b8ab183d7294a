/**
 * A real fleet on one machine: `npx tsx bench/fleet.ts [--nodes 500] [--workers 4] [--coordinators 5]
 * [--tasks 20] [--heartbeat-ms 30000] [--hold-ms 65000] [--keep]`.
 *
 * One backbone process and `--nodes` real nodes (own identity, UDP socket, registration,
 * heartbeats, tunnels, services) packed into `--workers` processes; the workload and phases are in
 * fleet-run.ts. Prints the figures as markdown (for BENCHMARKS.md). `--keep` leaves the fleet
 * running after the figures and prints how to attach the console to it; Ctrl-C stops it.
 */
import { FLEET_DEFAULTS, runFleet, type FleetOptions, type PhaseStats } from './fleet-run';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const o: FleetOptions = {
  ...FLEET_DEFAULTS,
  nodes: arg('nodes', FLEET_DEFAULTS.nodes),
  workers: arg('workers', FLEET_DEFAULTS.workers),
  coordinators: arg('coordinators', FLEET_DEFAULTS.coordinators),
  tasksPerCoordinator: arg('tasks', FLEET_DEFAULTS.tasksPerCoordinator),
  heartbeatMs: arg('heartbeat-ms', FLEET_DEFAULTS.heartbeatMs),
  holdMs: arg('hold-ms', FLEET_DEFAULTS.holdMs),
  groups: arg('groups', FLEET_DEFAULTS.groups),
  concurrency: arg('concurrency', FLEET_DEFAULTS.concurrency),
  log: (l) => process.stderr.write(`${l}\n`),
};
const keep = process.argv.includes('--keep');

const load0 = (await import('node:os')).loadavg();
const fleet = await runFleet(o);
const r = fleet.report;
const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
const kb = (b: number): string => `${Math.round(b / 1024)} KB`;
const ms = (x: number): string => (x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(2)} ms`);
const phase = (n: string): PhaseStats => r.phases.find((p) => p.name === n)!;
const rows: [string, string][] = [];
const lat = (label: string, p: PhaseStats, key: string): void => {
  const s = p.latencies[`registry.${key}`];
  if (!s || s.n === 0) return;
  rows.push([`${label} (${s.n} in ${(p.ms / 1000).toFixed(1)} s)`, `${(s.n / (p.ms / 1000)).toFixed(1)} /s · p50 ${ms(s.p50)} · p99 ${ms(s.p99)}`]);
};
rows.push([`${r.nodes} nodes started (registered, tagged, services up)`, ms(r.upMs)]);
rows.push(['... and all findable (tag search + hostname resolution)', ms(r.findableMs)]);
lat('registrations, during start-up', phase('up'), 'register');
lat('set_tags, during start-up', phase('up'), 'set_tags');
lat('lookups (5 per node, all at once)', phase('lookups'), 'lookup');
lat('find_nodes by tag (coordinators)', phase('tasks'), 'find_nodes');
lat('group joins', phase('groups'), 'join_network');
lat(`heartbeats, steady state (every ${o.heartbeatMs / 1000} s)`, phase('steady'), 'heartbeat');
const steady = phase('steady');
rows.push(['backbone CPU, steady state (heartbeats only)', `${((100 * steady.backboneCpuMs) / steady.ms).toFixed(2)} % of one core`]);
rows.push(['backbone CPU, start-up phase', `${((100 * phase('up').backboneCpuMs) / phase('up').ms).toFixed(1)} % of one core`]);
rows.push(['backbone RSS at the end', mb(r.backbone.rss)]);
// (RSS growth is not shown: the workers' RSS before their nodes includes tsx's compile garbage, returned later)
rows.push([`memory per node in the ${r.workers} packed worker processes: JS heap growth / total worker RSS ÷ nodes`, `${kb(r.workerHeapPerNode)} / ${kb(r.workerRssTotalPerNode)}`]);
rows.push(['groups: created / joins / leaves / members after join / after leave', `${r.groups.created} / ${r.groups.joined} / ${r.groups.left} / ${r.groups.membersAfterJoin} / ${r.groups.membersAfterLeave}`]);
rows.push([
  'tasks: peers found by tag / pinged / submitted / accepted / completed',
  `${r.tasks.found} / ${r.tasks.pinged} / ${r.tasks.submitted} / ${r.tasks.accepted} / ${r.tasks.completed} (${((100 * r.tasks.completed) / Math.max(1, r.tasks.submitted)).toFixed(1)} % completed)`,
]);
console.log(`\n### Fleet: ${r.nodes} real nodes in ${r.workers} worker processes (${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, load average before ${load0.map((x) => x.toFixed(2)).join(' ')})\n`);
console.log('| measure | value |\n|---|---|');
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
if (Object.keys(r.errors).length > 0) console.log(`\nerrors: ${JSON.stringify(r.errors)}`);
if (keep) {
  process.stderr.write(
    `\nThe fleet is running. Attach the console:\n  npx pilotctl console --registry ${r.registry} --beacon ${r.beacon}\n(or: pilotctl daemon start --registry ${r.registry} --beacon ${r.beacon}; pilotctl find --tag summarize)\nCtrl-C stops the fleet.\n`,
  );
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
}
await fleet.stop();
