/**
 * pilotctl start-up benchmark: `npx tsx bench/cli-startup.ts [--runs 20]`.
 *
 * Whole-process wall time and peak RSS of `node -e 0` and of pilotctl one-shot commands, each run
 * `--runs` times, interleaved (one of each in turn, so the machine's load falls on all alike), after
 * one warm-up run each. `pilotctl info` runs against no daemon (a socket path that does not exist):
 * it exits 1 with not_running after a full start-up. The PILOT_DEV=1 rows run the TypeScript
 * sources through tsx, as pilotctl did before the compiled build. The build is made first
 * (scripts/build-cli.mjs); a round of runs during which a source changed (pilotctl then falls back
 * to tsx: the tree is shared) is discarded and run again on a fresh build. Peak RSS and CPU time (10 ms resolution; steadier than wall time on a
 * loaded machine) come from GNU time (/usr/bin/time); without it, those columns say n/a. Prints medians as markdown; the target (issue 16) is pilotctl <= 1.5 x `node -e 0`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCli, currentBuild } from './lib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'pilotctl.mjs');
const GNU_TIME = '/usr/bin/time';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const RUNS = arg('runs', 20);

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Case {
  label: string;
  args: string[];
  dev?: boolean;
  /** Expected exit status: a run that differs is a broken benchmark, not a slow one. */
  exit: number;
}

const CASES: Case[] = [
  { label: '`node -e 0`', args: ['-e', '0'], exit: 0 },
  { label: '`pilotctl --help`', args: [BIN, '--help'], exit: 0 },
  { label: '`pilotctl --version`', args: [BIN, '--version'], exit: 0 },
  { label: '`pilotctl info` (no daemon: not_running)', args: [BIN, 'info'], exit: 1 },
  { label: '`pilotctl --help`, PILOT_DEV=1 (tsx)', args: [BIN, '--help'], dev: true, exit: 0 },
  { label: '`pilotctl info`, PILOT_DEV=1 (tsx)', args: [BIN, 'info'], dev: true, exit: 1 },
];

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-cli-bench-'));
const baseEnv: NodeJS.ProcessEnv = { ...process.env, PILOT_HOME: home, PILOT_SOCKET: path.join(home, 'no-daemon.sock') };
delete baseEnv['PILOT_DEV'];
const haveTime = fs.existsSync(GNU_TIME);
const rssFile = path.join(home, 'rss');

/** One run: wall ms (measured here, around the whole process), peak RSS in MB, CPU ms (user + system). */
function runOnce(c: Case): { ms: number; rssMb?: number; cpuMs?: number } {
  const env = c.dev ? { ...baseEnv, PILOT_DEV: '1' } : baseEnv;
  const [cmd, argv] = haveTime ? [GNU_TIME, ['-f', '%M %U %S', '-o', rssFile, process.execPath, ...c.args]] : [process.execPath, c.args];
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== c.exit) throw new Error(`${c.label}: exit ${r.status}, expected ${c.exit}: ${r.stderr.slice(-500)}`);
  if (c.args[1] === 'info' && !r.stderr.includes('not running')) throw new Error(`${c.label}: expected not_running, got: ${r.stderr.slice(-500)}`);
  if (!haveTime) return { ms };
  const [rssKb, user, sys] = fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, rssMb: rssKb! / 1024, cpuMs: (user! + sys!) * 1000 };
}

const samples = CASES.map(() => ({ ms: [] as number[], rss: [] as number[], cpu: [] as number[] }));
buildCli();
for (const c of CASES) runOnce(c); // warm-up (page cache)
let discarded = 0;
for (let i = 0; i < RUNS; ) {
  const before = currentBuild() ?? (buildCli(), currentBuild());
  const round = CASES.map((c) => runOnce(c));
  if (before === undefined || currentBuild() !== before) {
    if (++discarded > 3 * RUNS) throw new Error('the sources keep changing: no round ran on a current build');
    process.stderr.write('x');
    continue;
  }
  round.forEach(({ ms, rssMb, cpuMs }, k) => {
    samples[k]!.ms.push(ms);
    if (rssMb !== undefined) samples[k]!.rss.push(rssMb);
    if (cpuMs !== undefined) samples[k]!.cpu.push(cpuMs);
  });
  process.stderr.write('.');
  i++;
}
process.stderr.write('\n');
fs.rmSync(home, { recursive: true, force: true });

const base = median(samples[0]!.ms);
const lines = [
  `${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown cpu'}), load average ${os.loadavg()[0]!.toFixed(2)} at the end; ${RUNS} runs each, medians${discarded ? ` (${discarded} rounds discarded: sources changed)` : ''}`,
  '',
  '| command | wall time | × `node -e 0` | CPU time (user + sys, 10 ms ticks) | peak RSS |',
  '|---|---|---|---|---|',
];
CASES.forEach((c, k) => {
  const ms = median(samples[k]!.ms);
  const rss = samples[k]!.rss.length ? `${median(samples[k]!.rss).toFixed(0)} MB` : 'n/a';
  const cpu = samples[k]!.cpu.length ? `${median(samples[k]!.cpu).toFixed(0)} ms` : 'n/a';
  lines.push(`| ${c.label} | ${ms.toFixed(0)} ms | ${(ms / base).toFixed(2)} | ${cpu} | ${rss} |`);
});
console.log(lines.join('\n'));
