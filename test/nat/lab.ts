// NAT traversal lab: real network topologies built from Linux network namespaces, veth pairs and
// iptables NAT, with processes running inside them.
//
// Layout of one lab (all namespaces are named `pf-<owner pid>-<lab seq>-<name>`):
//
//   pf-…-inet   the "internet": a router namespace. Every node attached to it gets its own /30
//               point-to-point link out of 203.0.113.0/24 (inet side .4k+1, node side .4k+2), so
//               every packet between two public addresses is *forwarded* by inet, where per-link
//               loss rules (iptables FORWARD + `-m statistic`) apply.
//   pf-…-<r>    a NAT router: WAN `wan0` on 203.0.113.x, one /30 LAN link per host behind it, out
//               of a /26 of 198.51.100.0/24 or 192.0.2.0/24. POSTROUTING MASQUERADE (port-keeping)
//               or MASQUERADE --random (port-randomising, endpoint-dependent mapping) or no NAT;
//               by default a stateful firewall drops unsolicited packets arriving on the WAN, as a
//               home router does (this also keeps a punch packet that arrives "too early" from
//               leaving a conntrack entry behind that would make the NAT pick another port).
//   pf-…-<h>    a host, either public (linked to inet) or behind a router; `eth0`, default route.
//
// Nothing is ever linked to the host's own namespace: veth pairs are created directly inside the
// lab's namespaces (`ip -n A link add … peer … netns B`), and every iptables rule lives inside a lab
// namespace, so deleting the namespaces removes every interface and every rule.
//
// Clean-up, in layers:
//   1. `teardown()` (idempotent): stops the lab's processes, kills whatever else runs in its
//      namespaces, deletes them.
//   2. process hooks (installed once): `exit`, SIGINT, SIGTERM, SIGHUP, uncaught errors, and the loss
//      of the parent's IPC channel (a test worker orphaned) → a synchronous teardown of every live lab.
//   3. a reaper: one detached `sh` per process, holding a pipe from us; when this process dies in
//      any way (even SIGKILL) the pipe closes and the reaper deletes every `pf-<our pid>-*` namespace.
//   4. `sweepLeftovers()` (run by every `setup()`): deletes `pf-*` namespaces whose owner pid is no
//      longer alive — leftovers of a crashed run — without touching a parallel live run.
//
// What this kernel/userland does (Debian 12, kernel 6.18, checked 2026-11):
//   - `iptables` is iptables-nft 1.8.9 (nf_tables backend). MASQUERADE, MASQUERADE --random,
//     `-m statistic --mode random`, `-m conntrack --ctstate`, `-j CT --zone` all work inside a
//     namespace. The lab only ever calls `iptables`/`iptables-restore`, never the legacy binaries
//     (mixing backends in one namespace makes both confusing).
//   - The conntrack table is per namespace. `conntrack -F` (Debian package `conntrack`, not installed
//     by default) run inside the router's namespace flushes only that router. Without the tool,
//     `setNat` moves the router to a fresh conntrack zone (raw PREROUTING/OUTPUT `-j CT --zone N`):
//     old entries are never matched again, which is what a flush achieves.
//   - MASQUERADE keeps the source port when it is free (endpoint-independent mapping; conntrack's
//     filtering is address-and-port dependent, i.e. a "port-restricted cone"). `--random` hashes
//     (source, destination, destination port) into the port: a new port per destination, stable for
//     one destination — an endpoint-dependent ("symmetric") mapping.
//   - `tc netem` is missing (no delay/reordering here): loss is iptables `statistic` only.

import { execFile, execFileSync, spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export type NatKind = 'masquerade' | 'random' | 'none';

export interface RouterSpec {
  /** Address translation on the WAN: port-keeping MASQUERADE, MASQUERADE --random, or none (routing only). */
  nat: NatKind;
  /** Drop unsolicited packets arriving on the WAN (default true). */
  firewall?: boolean;
}

export interface HostSpec {
  /** Name of the router this host sits behind; omitted → a public host on the internet. */
  behind?: string;
}

export interface Topology {
  routers?: Record<string, RouterSpec>;
  hosts: Record<string, HostSpec>;
}

export interface HostInfo {
  name: string;
  ns: string;
  /** Address on the host's own interface (eth0). */
  ip: string;
  /** Address the internet sees: `ip` for a public host, the router's WAN address behind a NAT router. */
  publicIp: string;
  /** Router name, for a host behind a router. */
  router?: string;
}

export interface RouterInfo {
  name: string;
  ns: string;
  wanIp: string;
  lanCidr: string;
  nat: NatKind;
  firewall: boolean;
  hosts: string[];
}

/** How a NAT change forgets existing mappings. */
export type ConntrackReset =
  /** `conntrack -F` in the router's namespace (needs the `conntrack` tool). */
  | 'flush'
  /** Move new packets to a fresh conntrack zone (`iptables -t raw … -j CT --zone N`): old entries are never matched again. No extra tool. */
  | 'zone'
  /** Keep existing mappings: only new flows see the new NAT. */
  | 'none';

export interface ExecResult {
  stdout: string;
  stderr: string;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const DEFAULT_WAIT_MS = 10_000;
const NAME_RE = /^[a-z][a-z0-9]{0,9}$/;
const PREFIX = 'pf-';
const LAN_POOLS = ['198.51.100', '192.0.2'] as const;
const INET = 'inet';

/** Path of the tsx loader, for running TypeScript inside namespaces with plain `node --import`. */
export const TSX_LOADER = createRequire(import.meta.url).resolve('tsx');
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

// ---------------------------------------------------------------------------------------------------
// Small process helpers

function run(cmd: string, args: string[], timeoutMs = DEFAULT_WAIT_MS): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message.trim()}${stderr ? `\n${stderr.trim()}` : ''}`));
      } else {
        resolve({ stdout, stderr });
      }
    });
  });
}

function runSync(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { timeout: 5_000, stdio: ['ignore', 'pipe', 'ignore'] }).toString();
  } catch {
    return '';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Names of all network namespaces (`ip netns list` prints "name (id: n)"). */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return parseNetnsList(stdout);
}

function parseNetnsList(out: string): string[] {
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

function killNamespacePidsSync(ns: string): void {
  for (const p of runSync('ip', ['netns', 'pids', ns]).split(/\s+/)) {
    const pid = Number(p);
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

async function deleteNamespace(ns: string): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'pids', ns]).catch(() => ({ stdout: '' }));
  for (const p of stdout.split(/\s+/)) {
    const pid = Number(p);
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  await run('ip', ['netns', 'del', ns]).catch((e: unknown) => {
    // Gone already is fine (teardown is idempotent); anything else is worth knowing.
    if (!/No such file|Cannot remove|not found/i.test(String(e))) throw e;
  });
}

/**
 * Deletes `pf-*` namespaces left over by runs that are no longer alive (the owner pid is encoded in
 * the name: `pf-<pid>-…`; a `pf-` name without one is always a leftover). Processes still running
 * inside them are killed first. Returns the names it deleted.
 */
export async function sweepLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    if (!ns.startsWith(PREFIX)) continue;
    const owner = Number(/^pf-(\d+)-/.exec(ns)?.[1]);
    if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) continue;
    await deleteNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------------
// Processes inside namespaces

export type LineMatch = RegExp | ((line: string) => boolean);

/** A child process running inside a lab namespace, with its stdout split into lines. */
export class LabProcess {
  readonly child: ChildProcess;
  /** Every stdout line so far, in order. */
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined = undefined;
  private stdoutDone: boolean;
  private readonly stderrTail: string[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly label: string,
    child: ChildProcess,
  ) {
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? null : 0);
        this.wake();
        resolve(code);
      });
      child.once('error', (err) => {
        this.stderrTail.push(`spawn error: ${err.message}`);
        this.exitCode = null;
        this.wake();
        resolve(null);
      });
    });
    this.stdoutDone = !child.stdout;
    // PILOT_LAB_LOGS=<dir>: every line of every lab process (stdout and stderr) also goes to
    // <dir>/<label>.log, to read after a failed run (the error messages carry only a tail).
    const logDir = process.env['PILOT_LAB_LOGS'];
    const logTo = logDir ? createWriteStream(join(logDir, `${label.replace(/[^\w.-]/g, '_')}.log`), { flags: 'a' }) : undefined;
    logTo?.on('error', () => {});
    if (logTo) {
      child.stdout?.on('data', (b: Buffer) => logTo.write(b));
      child.stderr?.on('data', (b: Buffer) => logTo.write(b));
      child.once('exit', () => logTo.end());
    }
    if (child.stdout) {
      const rl = createInterface({ input: child.stdout });
      rl.on('line', (line) => {
        this.lines.push(line);
        this.wake();
      });
      rl.on('close', () => {
        this.stdoutDone = true;
        this.wake();
      });
    }
    if (child.stderr) {
      createInterface({ input: child.stderr }).on('line', (line) => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > 40) this.stderrTail.shift();
      });
    }
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Last lines of stderr, for error messages. */
  get stderr(): string {
    return this.stderrTail.join('\n');
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /**
   * Resolves with the first stdout line at index ≥ `since` that matches; rejects when the process
   * exits first or after `timeoutMs`.
   */
  waitForLine(match: LineMatch, timeoutMs = DEFAULT_WAIT_MS, since = 0): Promise<string> {
    const test = typeof match === 'function' ? match : (l: string) => match.test(l);
    return new Promise((resolve, reject) => {
      let next = since;
      const check = (): void => {
        for (; next < this.lines.length; next++) {
          const line = this.lines[next] as string;
          if (test(line)) {
            done();
            resolve(line);
            return;
          }
        }
        // Exited and every line read: nothing more can come.
        if (this.exitCode !== undefined && this.stdoutDone) {
          done();
          reject(new Error(`${this.label} exited (code ${String(this.exitCode)}) before printing ${String(match)}\n${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `${this.label}: no line matching ${String(match)} within ${timeoutMs} ms\nstdout tail:\n${this.lines.slice(-10).join('\n')}\nstderr tail:\n${this.stderr}`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Writes one line to the process's stdin. */
  write(line: string): void {
    if (!this.child.stdin || this.child.stdin.destroyed) throw new Error(`${this.label}: stdin is closed`);
    this.child.stdin.write(`${line}\n`);
  }

  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`. */
  async stop(graceMs = 1_000): Promise<void> {
    if (!this.running) return;
    this.child.stdin?.destroy();
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut && this.running) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Process-wide safety nets

const liveLabs = new Set<Lab>();
let hooksInstalled = false;

function teardownAllSync(): void {
  for (const lab of [...liveLabs]) lab.teardownSync();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', teardownAllSync);
  // A monitor does not change how the error is handled (vitest keeps reporting it); the `exit`
  // hook then runs as the process dies.
  process.on('uncaughtExceptionMonitor', teardownAllSync);
  // A test-runner worker whose parent died (e.g. `timeout` killed only the main process) would
  // otherwise run on against the lab; losing the parent is an interruption too.
  if (process.send) process.on('disconnect', teardownAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      teardownAllSync();
      process.removeListener(sig, onSignal);
      // Nobody else handles it → die of the signal as we would have without this hook.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
  startReaper();
}

/** A detached shell that deletes our namespaces once this process is gone, however it died. */
function startReaper(): void {
  const script = [
    'cat >/dev/null', // returns when our end of the pipe closes, i.e. when we die
    'for ns in $(ip netns list | awk \'{print $1}\'); do',
    `  case "$ns" in ${PREFIX}${process.pid}-*) ;; *) continue ;; esac`,
    '  for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done',
    '  ip netns del "$ns" 2>/dev/null',
    'done',
  ].join('\n');
  const child = spawnChild('sh', ['-c', script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  child.on('error', () => undefined);
  child.unref();
  if (child.stdin instanceof Socket) child.stdin.unref();
}

// ---------------------------------------------------------------------------------------------------
// The lab

interface Link {
  /** Namespace and interface where the link's forwarded traffic is filtered (loss rules). */
  filterNs: string;
  filterIf: string;
}

let labSeq = 0;

export class Lab {
  readonly id: string;
  readonly prefix: string;
  private readonly namespaces: string[] = [];
  private readonly processes = new Set<LabProcess>();
  private readonly hostInfo = new Map<string, HostInfo>();
  private readonly routerInfo = new Map<string, RouterInfo>();
  private readonly links = new Map<string, Link>();
  private readonly zones = new Map<string, number>();
  private state: 'new' | 'up' | 'down' = 'new';
  private hasConntrack: boolean | undefined;

  constructor() {
    labSeq += 1;
    this.id = `${process.pid}-${labSeq}`;
    this.prefix = `${PREFIX}${this.id}-`;
  }

  /** Namespace name of a node (`inet`, a router or a host). */
  ns(name: string): string {
    if (name === INET) return this.prefix + INET;
    if (!this.hostInfo.has(name) && !this.routerInfo.has(name)) throw new Error(`lab: no node named ${name}`);
    return this.prefix + name;
  }

  host(name: string): HostInfo {
    const h = this.hostInfo.get(name);
    if (!h) throw new Error(`lab: no host named ${name}`);
    return h;
  }

  router(name: string): RouterInfo {
    const r = this.routerInfo.get(name);
    if (!r) throw new Error(`lab: no router named ${name}`);
    return r;
  }

  /** Namespaces created so far (including ones a failed setup left half-built). */
  get namespaceNames(): readonly string[] {
    return this.namespaces;
  }

  async setup(topology: Topology): Promise<void> {
    if (this.state !== 'new') throw new Error('lab: setup() may only be called once');
    this.state = 'up';
    const routers = Object.entries(topology.routers ?? {});
    const hosts = Object.entries(topology.hosts);
    validate(routers.map(([n]) => n), hosts, topology);

    installHooks();
    liveLabs.add(this);
    await sweepLeftovers();
    try {
      await this.build(routers, hosts);
    } catch (e) {
      await this.teardown();
      throw e;
    }
  }

  private async build(routers: [string, RouterSpec][], hosts: [string, HostSpec][]): Promise<void> {
    const inet = await this.addNamespace(INET);
    await this.sysctl(inet, ['net.ipv4.ip_forward=1']);
    let k = 0; // next /30 on 203.0.113.0/24
    const attach = async (name: string, ifName: string): Promise<{ ip: string; gw: string }> => {
      const gw = `203.0.113.${4 * k + 1}`;
      const ip = `203.0.113.${4 * k + 2}`;
      k += 1;
      const ns = this.prefix + name;
      const inetIf = `i-${name}`;
      await this.ip(['-n', inet, 'link', 'add', inetIf, 'type', 'veth', 'peer', 'name', ifName, 'netns', ns]);
      await this.ip(['-n', inet, 'addr', 'add', `${gw}/30`, 'dev', inetIf]);
      await this.ip(['-n', inet, 'link', 'set', inetIf, 'up']);
      await this.ip(['-n', ns, 'addr', 'add', `${ip}/30`, 'dev', ifName]);
      await this.ip(['-n', ns, 'link', 'set', ifName, 'up']);
      this.links.set(name, { filterNs: inet, filterIf: inetIf });
      return { ip, gw };
    };

    for (const [i, [name, spec]] of routers.entries()) {
      const pool = LAN_POOLS[i % 2] as string;
      const base = 64 * Math.floor(i / 2);
      const ns = await this.addNamespace(name);
      await this.sysctl(ns, ['net.ipv4.ip_forward=1']);
      const { ip: wanIp, gw } = await attach(name, 'wan0');
      await this.ip(['-n', ns, 'route', 'add', 'default', 'via', gw]);
      const lanCidr = `${pool}.${base}/26`;
      // The internet routes the LAN to the router: harmless behind NAT + firewall, and what makes
      // `nat: 'none'` a plain router.
      await this.ip(['-n', inet, 'route', 'add', lanCidr, 'via', wanIp]);
      const info: RouterInfo = { name, ns, wanIp, lanCidr, nat: spec.nat, firewall: spec.firewall ?? true, hosts: [] };
      this.routerInfo.set(name, info);
      const rules = ['*filter'];
      if (info.firewall) {
        for (const chain of ['INPUT', 'FORWARD']) {
          rules.push(`-A ${chain} -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT`);
          rules.push(`-A ${chain} -i wan0 -m comment --comment pf-firewall -j DROP`);
        }
      }
      rules.push('COMMIT', '*nat', ...natRules(spec.nat), 'COMMIT', '*raw', ...zoneRules(0), 'COMMIT');
      await this.iptablesRestore(ns, rules);
      this.zones.set(name, 0);
    }

    const lanIndex = new Map<string, number>();
    for (const [name, spec] of hosts) {
      const ns = await this.addNamespace(name);
      if (!spec.behind) {
        const { ip, gw } = await attach(name, 'eth0');
        await this.ip(['-n', ns, 'route', 'add', 'default', 'via', gw]);
        this.hostInfo.set(name, { name, ns, ip, publicIp: ip });
        continue;
      }
      const r = this.router(spec.behind);
      const j = lanIndex.get(r.name) ?? 0;
      lanIndex.set(r.name, j + 1);
      const [pool, base] = splitCidr(r.lanCidr);
      const gw = `${pool}.${base + 4 * j + 1}`;
      const ip = `${pool}.${base + 4 * j + 2}`;
      const rIf = `l-${name}`;
      await this.ip(['-n', r.ns, 'link', 'add', rIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      await this.ip(['-n', r.ns, 'addr', 'add', `${gw}/30`, 'dev', rIf]);
      await this.ip(['-n', r.ns, 'link', 'set', rIf, 'up']);
      await this.ip(['-n', ns, 'addr', 'add', `${ip}/30`, 'dev', 'eth0']);
      await this.ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
      await this.ip(['-n', ns, 'route', 'add', 'default', 'via', gw]);
      this.links.set(name, { filterNs: r.ns, filterIf: rIf });
      r.hosts.push(name);
      this.hostInfo.set(name, { name, ns, ip, publicIp: r.wanIp, router: r.name });
    }
  }

  private async addNamespace(name: string): Promise<string> {
    const ns = this.prefix + name;
    await run('ip', ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await this.ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    // IPv6 is not part of the lab; keep the links quiet (no router solicitations, no DAD).
    await this.sysctl(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    return ns;
  }

  private async ip(args: string[]): Promise<void> {
    await run('ip', args);
  }

  private async sysctl(ns: string, settings: string[]): Promise<void> {
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...settings]);
  }

  private async iptables(ns: string, args: string[]): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', ns, 'iptables', '-w', '5', ...args]);
  }

  /** Applies whole tables at once (`iptables-restore` replaces the tables it names). */
  private async iptablesRestore(ns: string, lines: string[]): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile('ip', ['netns', 'exec', ns, 'iptables-restore', '-w', '5'], { timeout: DEFAULT_WAIT_MS }, (err, _out, stderr) =>
        err ? reject(new Error(`iptables-restore in ${ns} failed: ${err.message}\n${stderr}`)) : resolve(),
      );
      child.stdin?.end(`${lines.join('\n')}\n`);
    });
  }

  private target(name: string): string {
    return name === INET ? this.prefix + INET : this.ns(name);
  }

  /** Runs a command to completion inside a node's namespace; rejects on a non-zero exit or after `timeoutMs`. */
  exec(name: string, cmd: string, args: string[] = [], timeoutMs = DEFAULT_WAIT_MS): Promise<ExecResult> {
    return run('ip', ['netns', 'exec', this.target(name), cmd, ...args], timeoutMs);
  }

  /** Starts a process inside a node's namespace; it is stopped by `teardown()`. */
  spawn(name: string, cmd: string, args: string[] = [], opts: SpawnOptions = {}): LabProcess {
    if (this.state !== 'up') throw new Error('lab: not set up');
    const child = spawnChild('ip', ['netns', 'exec', this.target(name), cmd, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd ?? REPO_ROOT,
    });
    const proc = new LabProcess(`${name}:${cmd}`, child);
    this.processes.add(proc);
    void proc.exited.then(() => this.processes.delete(proc));
    return proc;
  }

  /** Starts a TypeScript program (run through tsx's loader) inside a node's namespace. */
  spawnTs(name: string, script: string, args: string[] = [], opts: SpawnOptions = {}): LabProcess {
    const proc = this.spawn(name, process.execPath, ['--import', TSX_LOADER, script, ...args], opts);
    return proc;
  }

  /**
   * Drops each packet forwarded over a node's link with probability `p`, in both directions
   * (iptables `-m statistic --mode random`, in the namespace that forwards the link's traffic:
   * inet for public hosts and routers, the router for a host behind it). Replaces earlier loss on
   * that link; `p = 0` removes it.
   */
  async addLoss(name: string, probability: number): Promise<void> {
    if (!(probability >= 0 && probability <= 1)) throw new Error(`lab: loss probability ${probability} outside [0, 1]`);
    await this.removeLoss(name);
    if (probability === 0) return;
    const link = this.link(name);
    for (const dir of ['-i', '-o']) {
      await this.iptables(link.filterNs, ['-I', 'FORWARD', '1', ...lossRule(name, dir, link.filterIf, probability)]);
    }
  }

  async removeLoss(name: string): Promise<void> {
    const link = this.link(name);
    const { stdout } = await this.iptables(link.filterNs, ['-S', 'FORWARD']);
    const tag = `pf-loss-${name}`;
    for (const line of stdout.split('\n')) {
      if (!line.startsWith('-A FORWARD') || !line.includes(` ${tag} `)) continue;
      await this.iptables(link.filterNs, ['-D', ...splitRule(line.slice(3))]);
    }
  }

  /** Packets dropped on a node's link by its loss rules so far (both directions). */
  async lossDrops(name: string): Promise<number> {
    const link = this.link(name);
    const { stdout } = await this.iptables(link.filterNs, ['-n', '-v', '-x', '-L', 'FORWARD']);
    let total = 0;
    for (const line of stdout.split('\n')) {
      if (line.includes(`/* pf-loss-${name} */`)) total += Number(line.trim().split(/\s+/)[0]);
    }
    return total;
  }

  private link(name: string): Link {
    const l = this.links.get(name);
    if (!l) throw new Error(`lab: no link for ${name}`);
    return l;
  }

  /**
   * Changes a router's NAT at run time. Existing conntrack entries would keep their old mapping,
   * so by default they are forgotten: `conntrack -F` when the tool is installed, else a switch to a
   * fresh conntrack zone (same effect, no tool needed). Either way established flows through the
   * router lose their mapping, as after a router reconfiguration.
   */
  async setNat(name: string, kind: NatKind, opts: { reset?: ConntrackReset } = {}): Promise<void> {
    const r = this.router(name);
    const reset = opts.reset ?? ((await this.conntrackAvailable()) ? 'flush' : 'zone');
    const zone = (this.zones.get(name) ?? 0) + (reset === 'zone' ? 1 : 0);
    const tables = ['*nat', ...natRules(kind), 'COMMIT'];
    if (reset === 'zone') tables.push('*raw', ...zoneRules(zone), 'COMMIT');
    await this.iptablesRestore(r.ns, tables);
    this.zones.set(name, zone);
    if (reset === 'flush') await run('ip', ['netns', 'exec', r.ns, 'conntrack', '-F']);
    r.nat = kind;
  }

  private async conntrackAvailable(): Promise<boolean> {
    if (this.hasConntrack === undefined) {
      this.hasConntrack = await run('conntrack', ['--version']).then(
        () => true,
        () => false,
      );
    }
    return this.hasConntrack;
  }

  /** Stops every process and deletes every namespace (and with them every interface and rule). Idempotent. */
  async teardown(): Promise<void> {
    if (this.state === 'down' && this.namespaces.length === 0) return;
    this.state = 'down';
    await Promise.all([...this.processes].map((p) => p.stop(500)));
    this.processes.clear();
    // Hosts first, inet last: deleting a namespace removes its end of each veth pair, and the peer with it.
    for (const ns of [...this.namespaces].reverse()) {
      await deleteNamespace(ns);
      this.namespaces.splice(this.namespaces.indexOf(ns), 1);
    }
    liveLabs.delete(this);
  }

  /** Synchronous teardown for exit and signal hooks. */
  teardownSync(): void {
    this.state = 'down';
    for (const p of this.processes) {
      try {
        p.child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    this.processes.clear();
    for (const ns of [...this.namespaces].reverse()) {
      killNamespacePidsSync(ns);
      runSync('ip', ['netns', 'del', ns]);
    }
    this.namespaces.length = 0;
    liveLabs.delete(this);
  }
}

function validate(routerNames: string[], hosts: [string, HostSpec][], topology: Topology): void {
  const seen = new Set<string>();
  for (const name of [...routerNames, ...hosts.map(([n]) => n)]) {
    if (!NAME_RE.test(name)) throw new Error(`lab: node name ${JSON.stringify(name)} must match ${NAME_RE}`);
    if (name === INET) throw new Error(`lab: "${INET}" is reserved`);
    if (seen.has(name)) throw new Error(`lab: duplicate node name ${name}`);
    seen.add(name);
  }
  if (routerNames.length > 8) throw new Error('lab: at most 8 routers (8 LAN /26 blocks)');
  const behind = new Map<string, number>();
  for (const [name, spec] of hosts) {
    if (spec.behind === undefined) continue;
    if (!(topology.routers ?? {})[spec.behind]) throw new Error(`lab: host ${name} is behind unknown router ${spec.behind}`);
    behind.set(spec.behind, (behind.get(spec.behind) ?? 0) + 1);
    if ((behind.get(spec.behind) ?? 0) > 16) throw new Error(`lab: more than 16 hosts behind ${spec.behind} (16 /30 links per /26 LAN)`);
  }
  const onInternet = routerNames.length + hosts.filter(([, h]) => h.behind === undefined).length;
  if (onInternet > 64) throw new Error('lab: more than 64 nodes on the internet (64 /30 links in 203.0.113.0/24)');
}

function natRules(kind: NatKind): string[] {
  switch (kind) {
    case 'masquerade':
      return ['-A POSTROUTING -o wan0 -m comment --comment pf-nat -j MASQUERADE'];
    case 'random':
      return ['-A POSTROUTING -o wan0 -m comment --comment pf-nat -j MASQUERADE --random'];
    case 'none':
      return [];
  }
}

function zoneRules(zone: number): string[] {
  if (zone === 0) return [];
  return [`-A PREROUTING -j CT --zone ${zone}`, `-A OUTPUT -j CT --zone ${zone}`];
}

function lossRule(name: string, dir: string, ifName: string, p: number): string[] {
  return [dir, ifName, '-m', 'statistic', '--mode', 'random', '--probability', String(p), '-m', 'comment', '--comment', `pf-loss-${name}`, '-j', 'DROP'];
}

/** Splits an `iptables -S` rule line (our rules contain no quoted spaces). */
function splitRule(rule: string): string[] {
  return rule.split(/\s+/).filter((s) => s.length > 0);
}

function splitCidr(cidr: string): [string, number] {
  const m = /^(\d+\.\d+\.\d+)\.(\d+)\/\d+$/.exec(cidr);
  if (!m) throw new Error(`lab: bad CIDR ${cidr}`);
  return [m[1] as string, Number(m[2])];
}

// ---------------------------------------------------------------------------------------------------
// Preconditions

export type Preconditions = { ok: true; backend: string; conntrack: boolean } | { ok: false; reason: string };

/**
 * Can this machine run the lab? Root, `ip`, `iptables` with NAT and `-m statistic` working inside a
 * namespace. Builds and deletes a throw-away `pf-<pid>-probe` namespace.
 */
export async function checkPreconditions(): Promise<Preconditions> {
  if (process.platform !== 'linux') return { ok: false, reason: `network namespaces need Linux (this is ${process.platform})` };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { ok: false, reason: `the NAT lab needs root (running as uid ${process.getuid()})` };
  }
  for (const [tool, args, pkg] of [
    ['ip', ['-V'], 'iproute2'],
    ['iptables', ['--version'], 'iptables'],
    ['iptables-restore', ['--version'], 'iptables'],
    ['sysctl', ['--version'], 'procps'],
  ] as const) {
    try {
      await run(tool, [...args]);
    } catch {
      return { ok: false, reason: `\`${tool}\` is missing (apt-get install -y ${pkg})` };
    }
  }
  const version = (await run('iptables', ['--version'])).stdout.trim();
  const backend = /\((\w+)\)/.exec(version)?.[1] ?? 'unknown';
  const conntrack = await run('conntrack', ['--version']).then(
    () => true,
    () => false,
  );
  const ns = `${PREFIX}${process.pid}-probe`;
  try {
    await run('ip', ['netns', 'add', ns]);
    try {
      await run('ip', ['netns', 'exec', ns, 'iptables', '-w', '5', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'lo', '-j', 'MASQUERADE', '--random']);
      await run('ip', ['netns', 'exec', ns, 'iptables', '-w', '5', '-A', 'FORWARD', '-m', 'statistic', '--mode', 'random', '--probability', '0.5', '-j', 'DROP']);
      await run('ip', ['netns', 'exec', ns, 'iptables', '-w', '5', '-A', 'FORWARD', '-m', 'conntrack', '--ctstate', 'ESTABLISHED', '-j', 'ACCEPT']);
      await run('ip', ['netns', 'exec', ns, 'iptables', '-w', '5', '-t', 'raw', '-A', 'PREROUTING', '-j', 'CT', '--zone', '1']);
    } finally {
      await deleteNamespace(ns);
    }
  } catch (e) {
    return { ok: false, reason: `iptables NAT/statistic/conntrack rules do not work in a network namespace (${backend} backend): ${(e as Error).message}` };
  }
  return { ok: true, backend, conntrack };
}
