/**
 * `npm run bench`: every speed target of the project in one run, each next to its baseline measured
 * in the same run, with repeats, medians and spread; prints the table and writes it into BENCHMARKS.md
 * (the "## npm run bench" section at the top, replaced on each run).
 *
 *   npm run bench                  the targets (about 10 minutes here)
 *   npm run bench -- --reps 3      fewer repeats (default 5)
 *   npm run bench -- --no-write    print only
 *   npm run bench -- --all         also the slow scale benches (fleet of 500 nodes, backbone-scale)
 *   npm run bench:scale            only the slow scale benches
 *
 * Parts (each its own process): bench/node.ts (ours: two node processes), bench/libp2p/bench.mjs
 * (js-libp2p TCP+Noise+yamux, js-libp2p QUIC, plain TCP: an isolated package installed here on first
 * use with `npm ci --prefix bench/libp2p`, or `npm install --no-save` where npm ci refuses its lock), bench/daemon.ts (pilotctl bench through a real daemon's
 * IPC; RSS of a daemon holding 100 tunnels), then once each: bench/transport-loss.ts (simulated
 * 40 ms / 100 Mbit/s path), bench/cli-startup.ts, bench/backbone.ts, bench/trace-overhead.ts.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { buildCli, median, numArg } from './lib';

const ROOT = path.resolve(import.meta.dirname, '..');
const LIBP2P_DIR = path.join(ROOT, 'bench', 'libp2p');
const REPS = numArg('reps', 5);
const WRITE = !process.argv.includes('--no-write');
const SCALE_ONLY = process.argv.includes('--scale-only');
const ALL = process.argv.includes('--all') || SCALE_ONLY;
const started = Date.now();
const loadStart = os.loadavg();
const log = (s: string): void => void process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${s}\n`);

type Json = Record<string, number | number[] | string>;

/** Runs a command to its end; its stdout (stderr passes through). */
function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd ?? ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: opts.timeoutMs ?? 600_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal}\n${r.stdout}`);
  return r.stdout;
}
const tsx = (script: string, args: string[], timeoutMs?: number): string => run(process.execPath, ['--import', 'tsx', script, ...args], { timeoutMs });
const lastJson = (out: string): Json => JSON.parse(out.trim().split('\n').pop()!) as Json;

/** One js-libp2p (or plain TCP) server + client pair: the client's JSON line. */
async function baseline(kind: string): Promise<Json> {
  const server = spawn(process.execPath, ['--import', './shim.mjs', 'bench.mjs', 'server', kind], { cwd: LIBP2P_DIR, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const first = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).once('line', resolve);
      server.once('exit', (c) => reject(new Error(`${kind} server exited (${c})`)));
    });
    const { addr } = JSON.parse(first) as { addr: string };
    return lastJson(run(process.execPath, ['--import', './shim.mjs', 'bench.mjs', 'client', kind, addr, '--mb', '64', '--streams', '8', '--pings', '10000', '--dials', '20'], { cwd: LIBP2P_DIR, timeoutMs: 240_000 }));
  } finally {
    server.kill('SIGKILL');
  }
}

const num = (j: Json, k: string): number => {
  const v = j[k];
  return Array.isArray(v) ? median(v) : Number(v);
};
const med = (xs: Json[], k: string): number => median(xs.map((x) => num(x, k)));
const spread = (xs: Json[], k: string, digits: number): string => {
  const v = xs.map((x) => num(x, k)).sort((a, b) => a - b);
  return `${v[0]!.toFixed(digits)}–${v[v.length - 1]!.toFixed(digits)}`;
};
const f = (x: number, d = 1): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const verdict = (ok: boolean): string => (ok ? '**met**' : '**not met**');

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(LIBP2P_DIR, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

/** Demotes headings of an embedded bench's output below the section's own. */
const embed = (out: string): string => out.trim().replace(/^#{1,3} /gm, '#### ');

function scaleBenches(): string {
  log('fleet of 500 nodes (bench/fleet.ts)');
  const fleet = tsx('bench/fleet.ts', [], 3_600_000);
  log('backbone at scale (bench/backbone-scale.ts)');
  const scale = tsx('bench/backbone-scale.ts', ['--agents', process.env.SCALE_AGENTS ?? '30000'], 3_600_000);
  return `${fleet}\n${scale}`;
}

if (SCALE_ONLY) {
  console.log(scaleBenches());
  process.exit(0);
}

// ---- set-up ------------------------------------------------------------------------------------------
if (!fs.existsSync(path.join(LIBP2P_DIR, 'node_modules', 'libp2p'))) {
  log('installing the js-libp2p baseline package (npm ci --prefix bench/libp2p)');
  try {
    run('npm', ['ci', '--prefix', LIBP2P_DIR, '--no-audit', '--no-fund']);
  } catch {
    // `npm ci` refuses this lock here: @chainsafe/libp2p-quic lists platform packages the registry
    // does not serve (darwin-arm64 2.1.1 answers 404), so npm cannot record them and calls the lock
    // out of sync. `npm install --no-save` installs the same locked versions and leaves the lock as it is.
    log('npm ci refused the lock (unservable optional platform packages); npm install --no-save instead');
    run('npm', ['install', '--no-save', '--prefix', LIBP2P_DIR, '--no-audit', '--no-fund']);
  }
}
log('building pilotctl (the daemons below run the compiled build)');
buildCli();

// ---- repeated parts ----------------------------------------------------------------------------------
const ours: Json[] = [];
const lp: Record<string, Json[]> = { 'libp2p-tcp': [], 'libp2p-quic': [], tcp: [] };
const daemon: Json[] = [];
for (let r = 1; r <= REPS; r++) {
  log(`rep ${r}/${REPS}: ours (bench/node.ts)`);
  ours.push(lastJson(tsx('bench/node.ts', ['--runs', '1', '--mb', '64', '--streams', '8', '--pings', '10000', '--dials', '20', '--cold', '20', '--json'], 300_000)));
  for (const kind of Object.keys(lp)) {
    log(`rep ${r}/${REPS}: ${kind}`);
    lp[kind]!.push(await baseline(kind));
  }
  log(`rep ${r}/${REPS}: daemons (bench/daemon.ts)`);
  daemon.push(lastJson(tsx('bench/daemon.ts', ['--runs', '1', '--mb', '16', '--tunnels', '100', '--json'], 300_000)));
}

// ---- once-only parts ---------------------------------------------------------------------------------
log('loss on a simulated 40 ms / 100 Mbit/s path (bench/transport-loss.ts)');
const lossOut = tsx('bench/transport-loss.ts', ['--cc', 'reno,bbr', '--loss', '0,0.01,0.05', '--no-fair', '--seeds', '3']);
log('pilotctl start-up (bench/cli-startup.ts)');
const startupOut = tsx('bench/cli-startup.ts', ['--runs', '10']);
log('backbone (bench/backbone.ts)');
const backboneOut = tsx('bench/backbone.ts', []);
log('tracing overhead (bench/trace-overhead.ts)');
const traceOut = tsx('bench/trace-overhead.ts', []);
const scaleOut = ALL ? scaleBenches() : '';

// ---- targets -----------------------------------------------------------------------------------------
const lt = lp['libp2p-tcp']!;
const lq = lp['libp2p-quic']!;
const tcp = lp['tcp']!;
const one = med(ours, 'oneMBps');
const multi = med(ours, 'multiMBps');
const pingMed = med(ours, 'pingMedianUs');
const pingP99 = med(ours, 'pingP99Us');
const cold = med(ours, 'coldMs');
const cli = med(daemon, 'cliMBps');
const inproc = med(daemon, 'inProcMBps');
// RSS counts only reps whose daemons ran the compiled build (bench/daemon.ts: tsx adds ~45 MB).
const compiledReps = daemon.filter((d) => d['compiled'] === 1);
const rssReps = compiledReps.length ? compiledReps : daemon;
const rss = med(rssReps, 'heldRssMb');

/** MB/s of cc at loss% from transport-loss's table (`cc | loss | time s | MB/s | ...`). */
function lossMBps(cc: string, loss: number): number {
  const row = lossOut.split('\n').find((l) => l.startsWith(cc.padEnd(4) + ' | ') && l.split('|')[1]!.trim() === `${loss} %`);
  return row ? Number(row.split('|')[3]) : NaN;
}
const lossRows = ['reno', 'bbr'].map((cc) => ({ cc, v: [0, 1, 5].map((l) => lossMBps(cc, l)) }));
const lossOk = (v: number[]): boolean => v[0]! >= 10 && v[1]! >= 6 && v[2]! >= 3;
/** Ratio column of cli-startup's table for a command label. */
function startupRatio(label: string): number {
  const row = startupOut.split('\n').find((l) => l.startsWith(`| ${label} |`));
  return row ? Number(row.split('|')[3]) : NaN;
}
const startups = ['`pilotctl --help`', '`pilotctl --version`', '`pilotctl info` (no daemon: not_running)'].map((l) => ({ l, r: startupRatio(l) }));
const worstStartup = Math.max(...startups.map((s) => s.r));

const rows: string[] = [
  '| target | measured (median of reps; spread) | baseline in the same run | ratio | verdict |',
  '|---|---|---|---|---|',
  `| one stream, two node processes, 64 MiB: ≥ 1.3 × js-libp2p TCP | ${f(one)} MB/s (${spread(ours, 'oneMBps', 1)}) | js-libp2p TCP ${f(med(lt, 'oneMBps'))} MB/s (${spread(lt, 'oneMBps', 1)}); QUIC ${f(med(lq, 'oneMBps'))}; plain TCP ${f(med(tcp, 'oneMBps'))}; raw UDP ${f(med(ours, 'udpMBps'))} | ${f(one / med(lt, 'oneMBps'), 2)} | ${verdict(one >= 1.3 * med(lt, 'oneMBps'))} |`,
  `| (not a target) CPU per MiB moved on one stream, both processes: a figure the machine's load disturbs far less than MB/s | ${f(med(ours, 'cpuMsPerMiB'), 2)} ms (${spread(ours, 'cpuMsPerMiB', 2)}) | js-libp2p TCP ${f(med(lt, 'cpuMsPerMiB'), 2)} ms (${spread(lt, 'cpuMsPerMiB', 2)}); QUIC ${f(med(lq, 'cpuMsPerMiB'), 2)} ms; plain TCP ${f(med(tcp, 'cpuMsPerMiB'), 2)} ms | ${f(med(lt, 'cpuMsPerMiB') / med(ours, 'cpuMsPerMiB'), 2)} (libp2p TCP / ours) | |`,
  `| 8 concurrent streams, aggregate: ≥ 1.3 × js-libp2p TCP's 8 streams | ${f(multi)} MB/s (${spread(ours, 'multiMBps', 1)}) | js-libp2p TCP ${f(med(lt, 'multiMBps'))} MB/s (${spread(lt, 'multiMBps', 1)}); QUIC ${f(med(lq, 'multiMBps'))}; plain TCP (8 connections) ${f(med(tcp, 'multiMBps'))} | ${f(multi / med(lt, 'multiMBps'), 2)} | ${verdict(multi >= 1.3 * med(lt, 'multiMBps'))} |`,
  `| ping over an established tunnel, 10,000 pings: median ≤ 100 µs, p99 ≤ 500 µs | median ${f(pingMed)} µs (${spread(ours, 'pingMedianUs', 0)}), p99 ${f(pingP99)} µs (${spread(ours, 'pingP99Us', 0)}) | raw UDP 64 B ping-pong, same count: median ${f(med(ours, 'udpPingUs'))} µs, p99 ${f(med(ours, 'udpPingP99Us'), 0)} µs; 32 B echo on one stream: ours ${f(med(ours, 'echoMedianUs'))} µs (p99 ${f(med(ours, 'echoP99Us'), 0)}), js-libp2p TCP ${f(med(lt, 'pingMedianUs'))} µs (p99 ${f(med(lt, 'pingP99Us'), 0)}), QUIC ${f(med(lq, 'pingMedianUs'))} µs, plain TCP ${f(med(tcp, 'pingMedianUs'))} µs (p99 ${f(med(tcp, 'pingP99Us'), 0)}) | ${f(pingMed / med(ours, 'udpPingUs'), 2)} × raw UDP | median ${verdict(pingMed <= 100)}, p99 ${verdict(pingP99 <= 500)} |`,
  `| cold dial (fresh node: hostname resolve + key exchange + stream open + first echo): ≤ 3 ms median | ${f(cold, 2)} ms (${spread(ours, 'coldMs', 2)}), p99 ${f(med(ours, 'coldP99Ms'), 1)} ms; stages: hostname ${f(med(ours, 'coldResolveMs'), 2)} / tunnel (endpoint + key lookup, key exchange) ${f(med(ours, 'coldTunnelMs'), 2)} / stream open ${f(med(ours, 'coldOpenMs'), 2)} / first echo ${f(med(ours, 'coldEchoMs'), 2)} ms | js-libp2p TCP ${f(med(lt, 'dialMs'), 2)} ms; QUIC ${f(med(lq, 'dialMs'), 2)} ms; plain TCP connect + echo ${f(med(tcp, 'dialMs'), 2)} ms; ours over an existing tunnel (SYN → established) ${f(med(ours, 'dialMs'), 2)} ms | ${f(cold / med(lt, 'dialMs'), 2)} × js-libp2p TCP | ${verdict(cold <= 3)} |`,
  `| \`pilotctl bench\` through the daemon's IPC: ≥ 0.5 × in process | ${f(cli)} MB/s (${spread(daemon, 'cliMBps', 1)}) | the same 16 MB echo from a node in process: ${f(inproc)} MB/s (${spread(daemon, 'inProcMBps', 1)}) | ${f(cli / inproc, 2)} | ${verdict(cli >= 0.5 * inproc)} |`,
  `| simulated 40 ms RTT, 100 Mbit/s, 0/1/5 % loss: ≥ 10/6/3 MB/s | ${lossRows.map((r) => `${r.cc} ${r.v.map((x) => f(x, 2)).join(' / ')}`).join('; ')} | (simulated time: deterministic) | | ${lossRows.map((r) => `${r.cc} ${verdict(lossOk(r.v))}`).join(', ')} (the node uses bbr towards every peer not on loopback, reno on loopback only: main/node/node.ts congestionFor) |`,
  `| memory: RSS ≤ 80 MB for a daemon holding 100 tunnels, a stream each | ${f(rss)} MB (${spread(rssReps, 'heldRssMb', 1)}; compiled build in ${compiledReps.length} of ${daemon.length} reps${compiledReps.length ? '' : ': these figures are tsx-run daemons'}) | the same daemon idle before: ${f(med(rssReps, 'idleRssMb'))} MB; \`node -e 0\` ≈ 42 MB | ${f(rss / med(rssReps, 'idleRssMb'), 2)} × idle | ${verdict(rss <= 80)} |`,
  `| pilotctl start-up: ≤ 1.5 × \`node -e 0\` | ${startups.map((s) => `${s.l.replace(' (no daemon: not_running)', '')} ${f(s.r, 2)}×`).join(', ')} | \`node -e 0\` | ${f(worstStartup, 2)} (worst) | ${verdict(worstStartup <= 1.5)} |`,
];

const libp2pVersions = ['libp2p', '@libp2p/tcp', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux', '@chainsafe/libp2p-quic'].map((p) => `${p} ${versionOf(p)}`).join(', ');
const minutes = (Date.now() - started) / 60000;
const cpu = os.cpus()[0]?.model.trim() ?? 'unknown cpu';
const section = [
  '## npm run bench',
  '',
  `\`npm run bench\` (\`tsx bench/run.ts --reps ${REPS}\`${ALL ? ' --all' : ''}), run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${f(minutes, 1)} minutes.`,
  `Machine: ${os.cpus().length} cores (${cpu}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${loadStart.map((x) => x.toFixed(2)).join(' ')} at the start and ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} at the end (the machine is shared: other engineers' test runs share its 2 cores). Node ${process.version}; baselines: ${libp2pVersions} (bench/libp2p, Promise.withResolvers shim).`,
  `Each repeated part ran ${REPS} times in turn (ours, js-libp2p TCP, js-libp2p QUIC, plain TCP, daemons), each time in fresh processes; figures are medians over the reps, spread is min–max.`,
  '',
  ...rows,
  '',
  '<details><summary>Raw figures per rep (JSON lines)</summary>',
  '',
  '```',
  ...ours.map((j) => `ours ${JSON.stringify({ ...j, colds: undefined })}`),
  ...Object.entries(lp).flatMap(([k, js]) => js.map((j) => `${k} ${JSON.stringify(j)}`)),
  ...daemon.map((j) => `daemon ${JSON.stringify(j)}`),
  '```',
  '</details>',
  '',
  '#### Loss (bench/transport-loss.ts, simulated)',
  '',
  '```',
  lossOut.trim(),
  '```',
  '',
  '#### pilotctl start-up (bench/cli-startup.ts)',
  '',
  embed(startupOut),
  '',
  embed(backboneOut),
  '',
  embed(traceOut),
  ...(scaleOut ? ['', embed(scaleOut)] : []),
  '',
  '<!-- end of npm run bench: bench/run.ts replaces everything from "## npm run bench" to this line -->',
].join('\n');

console.log(section);
if (WRITE) {
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const text = fs.readFileSync(file, 'utf8');
  const endMark = /<!-- end of npm run bench[^\n]*-->\n?/;
  const start = text.indexOf('## npm run bench\n');
  let next: string;
  if (start >= 0 && endMark.test(text)) {
    const m = endMark.exec(text)!;
    next = text.slice(0, start) + section + '\n' + text.slice(m.index + m[0].length);
  } else {
    // First run: after the file's introduction, before its first section.
    const first = text.indexOf('\n## ') + 1;
    next = text.slice(0, first) + section + '\n\n' + text.slice(first);
  }
  fs.writeFileSync(file, next);
  log(`wrote the "## npm run bench" section of BENCHMARKS.md (${f(minutes, 1)} minutes)`);
}
