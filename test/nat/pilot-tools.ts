// Test-side drivers for real Pilot processes inside lab namespaces: the backbone
// (`pilotctl backbone start`) and node daemons (`pilotctl daemon start --foreground`), each in its
// own namespace, reached from the test through their IPC sockets on the filesystem (a Unix socket
// under /tmp is reachable across namespaces). `pilotctl` itself runs inside the node's namespace,
// like an operator on that host. Every wait is bounded: readiness lines, command exits, polls.

import { createHash, randomBytes } from 'node:crypto';
import { execFile, spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { backboneAddress } from '../../shared/address';
import type { ConnectionView, NetcheckView, PeerDetail, PeerView } from '../../shared/contract';
import { IpcClient, type IpcConn } from '../../main/daemon/client';
import type { Lab, LabProcess } from './lab';

export const PILOTCTL = fileURLToPath(new URL('../../bin/pilotctl.mjs', import.meta.url));

const REGISTRY_PORT = 9000;
const BEACON_PORT = 9001;
const TMP_PREFIX = 'pf-';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes `/tmp/pf-<pid>-pilot-*` directories whose owner process is gone (leftovers of killed runs). */
export function sweepTempDirs(): string[] {
  const removed: string[] = [];
  for (const name of readdirSync('/tmp')) {
    const m = /^pf-(\d+)-pilot-/.exec(name);
    if (!m) continue;
    const owner = Number(m[1]);
    if (owner === process.pid || pidAlive(owner)) continue;
    rmSync(`/tmp/${name}`, { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The `--json` envelope (last stdout line on success, last stderr line on failure), when there is one. */
  json?: { status: string; data?: unknown; code?: string; message?: string };
}

export interface PilotHost {
  name: string;
  home: string;
  socket: string;
  nodeId: number;
  address: string;
  proc: LabProcess;
  /** IPC connection of the test to this node's daemon (console API calls, streams). */
  ipc: IpcClient;
}

export interface TransferResult {
  /** Bytes written by the sender. */
  bytes: number;
  sentSha: string;
  /** Hash of what the receiver got until the stream closed ('' when it never closed). */
  recvSha: string;
  recvBytes: number;
  ms: number;
  /** The receiving daemon's connection id (-1: the stream never closed at the receiver). */
  connId: number;
  /** Connections the receiver accepted on the transfer's port: exactly one when nothing was re-dialed. */
  accepted: number;
  /** Why the transfer stopped early. */
  error?: string;
  /** The sender's last sample of its connection (peers.inspect), for failure messages. */
  lastConn?: ConnectionView;
}

export interface Progress {
  /** Bytes written so far (handed to the sender's daemon). */
  written: number;
  /** Bytes the receiver has got so far. */
  received: number;
  /** The writer stops here; `during` may raise it. */
  limit: number;
}

const CHUNK = 256 * 1024;

/** Resolves true when `p` settles before `deadline` (epoch ms), false otherwise. */
async function withDeadline(p: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function c0(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** One line about a failed or slow transfer, for assertion messages. */
export function describeTransfer(r: TransferResult): string {
  const c = r.lastConn;
  const conn = c ? `; sender's connection when last seen: state ${c.state}, ${c.bytesSent} bytes sent, ${c.retransmits} retransmits, srtt ${Math.round(c.srttMs)} ms, cwnd ${c.cwnd}` : '';
  // Through the IPC a reset and a graceful close look alike (CloseOK): a short stream that "closed"
  // at the receiver was reset by the sender's transport.
  const early = !r.error && r.connId !== -1 && r.recvBytes < r.bytes ? '; the stream ended at the receiver before all data arrived (the sender reset it: through the IPC an RST looks like a close)' : '';
  return `${r.recvBytes} of ${r.bytes} bytes arrived in ${(r.ms / 1000).toFixed(1)} s (${(r.recvBytes / 1048576 / (r.ms / 1000)).toFixed(2)} MB/s)${r.error ? `; ${r.error}` : ''}${early}${conn}`;
}

let nextPort = 5000;

/** A backbone and node daemons running in a lab, plus the test's IPC connections to them. */
export class PilotFleet {
  readonly dir: string;
  registry = '';
  beacon = '';
  private backboneProc: LabProcess | undefined;
  private readonly hosts = new Map<string, PilotHost>();
  private closed = false;
  private readonly onExit = (): void => rmSync(this.dir, { recursive: true, force: true });

  constructor(readonly lab: Lab) {
    sweepTempDirs();
    this.dir = mkdtempSync(`/tmp/${TMP_PREFIX}${process.pid}-pilot-`);
    process.once('exit', this.onExit);
    // Like the lab's reaper: a detached shell holding a pipe from us removes the directory once this
    // process is gone, however it died (a signal or SIGKILL skips 'exit').
    const reaper = spawn('sh', ['-c', `cat >/dev/null; rm -rf '${this.dir}'`], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    reaper.on('error', () => undefined);
    reaper.unref();
    if (reaper.stdin instanceof Socket) reaper.stdin.unref();
  }

  /** `pilotctl backbone start` in `host`'s namespace; resolves at its readiness line. */
  async startBackbone(host = 'beacon'): Promise<void> {
    const proc = this.lab.spawn(host, process.execPath, [PILOTCTL, '--json', 'backbone', 'start', '--registry', `:${REGISTRY_PORT}`, '--beacon', `:${BEACON_PORT}`, '--data', `${this.dir}/backbone`]);
    const line = await proc.waitForLine(/"status"/, 30_000);
    const env = JSON.parse(line) as { status: string };
    if (env.status !== 'ok') throw new Error(`backbone did not start: ${line}\n${proc.stderr}`);
    this.backboneProc = proc;
    const ip = this.lab.host(host).ip;
    this.registry = `${ip}:${REGISTRY_PORT}`;
    this.beacon = `${ip}:${BEACON_PORT}`;
  }

  get backbone(): LabProcess {
    if (!this.backboneProc) throw new Error('backbone not started');
    return this.backboneProc;
  }

  private envFor(name: string): { home: string; socket: string } {
    return { home: `${this.dir}/${name}`, socket: `${this.dir}/${name}.sock` };
  }

  /**
   * `pilotctl daemon start --foreground --public` in the host's namespace (public visibility at the
   * registry, so peers may resolve its endpoint without a trust handshake); resolves when the
   * daemon printed its readiness envelope and the test's IPC connection is open.
   */
  async startNode(name: string, agent?: string[]): Promise<PilotHost> {
    const { home, socket } = this.envFor(name);
    mkdirSync(home, { recursive: true, mode: 0o700 });
    const env = { ...process.env, PILOT_HOME: home, PILOT_SOCKET: socket };
    const proc = agent
      ? this.lab.spawnTs(name, agent[0] as string, [name, this.registry, this.beacon, socket, ...agent.slice(1)], { env })
      : this.lab.spawn(
          name,
          process.execPath,
          [PILOTCTL, '--json', 'daemon', 'start', '--foreground', '--public', '--hostname', `node-${name}`, '--registry', this.registry, '--beacon', this.beacon, '--socket', socket],
          { env },
        );
    const line = await proc.waitForLine(/"status"/, 30_000);
    const ready = JSON.parse(line) as { status: string; data?: { node_id: number; address: string } };
    if (ready.status !== 'ok' || !ready.data) throw new Error(`daemon ${name} did not start: ${line}\n${proc.stderr}`);
    const ipc = await IpcClient.connect(socket);
    const h: PilotHost = { name, home, socket, nodeId: ready.data.node_id, address: ready.data.address, proc, ipc };
    this.hosts.set(name, h);
    return h;
  }

  node(name: string): PilotHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no pilot node on ${name}`);
    return h;
  }

  /** Runs `pilotctl --json <args>` inside the node's namespace against its daemon. Never rejects on a non-zero exit. */
  pilotctl(name: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
    const { home, socket } = this.envFor(name);
    const argv = ['netns', 'exec', this.lab.ns(name), 'env', `PILOT_HOME=${home}`, `PILOT_SOCKET=${socket}`, process.execPath, PILOTCTL, '--json', ...args];
    return new Promise((resolve) => {
      execFile('ip', argv, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        const r: CliResult = { code, stdout: String(stdout), stderr: String(stderr) };
        const last = (code === 0 ? r.stdout : r.stderr).trim().split('\n').pop() ?? '';
        try {
          r.json = JSON.parse(last) as CliResult['json'];
        } catch {
          // no envelope (e.g. killed by the timeout)
        }
        resolve(r);
      });
    });
  }

  /** `pilotctl peers --json` on `name`: its view of `peer`. */
  async cliPeer(name: string, peer: string): Promise<PeerView | undefined> {
    const r = await this.pilotctl(name, ['peers']);
    if (r.code !== 0 || r.json?.status !== 'ok') throw new Error(`pilotctl peers on ${name} failed (exit ${r.code}): ${r.stderr || r.stdout}`);
    const data = r.json.data as { peers: PeerView[] };
    return data.peers.find((p) => p.nodeId === this.node(peer).nodeId);
  }

  /** The console API (`peers.list`, through the daemon's IPC extension) on `name`: its view of `peer`. */
  async apiPeer(name: string, peer: string): Promise<PeerView | undefined> {
    const list = await this.node(name).ipc.call('peers.list', {});
    return list.find((p) => p.nodeId === this.node(peer).nodeId);
  }

  async inspect(name: string, peer: string): Promise<PeerDetail> {
    return this.node(name).ipc.call('peers.inspect', { nodeId: this.node(peer).nodeId });
  }

  async netcheckApi(name: string): Promise<NetcheckView> {
    return this.node(name).ipc.call('node.netcheck', {});
  }

  /**
   * Opens one stream from `from` to `to` through the daemons (a fresh port bound on `to`'s daemon
   * over IPC, dialed from `from`'s), writes `bytes` random bytes (generated and hashed on the fly),
   * closes gracefully, and hashes what `to` received until the stream closed. `during` runs once
   * the first chunk is written, concurrently with the writing; it may raise `progress.limit` (e.g.
   * from Infinity to "what is written now + 4 MB") — the writer stops at the limit, waits for
   * `during` to finish, then writes up to the (possibly new) limit and closes. Never rejects for a
   * failed transfer: the result says what arrived, and `error` why it stopped.
   */
  async transfer(from: string, to: string, bytes: number, opts: { timeoutMs?: number; during?: (p: Progress) => Promise<void> } = {}): Promise<TransferResult> {
    const src = this.node(from);
    const dst = this.node(to);
    const port = nextPort++;
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const progress: Progress = { written: 0, received: 0, limit: bytes };
    const sentHash = createHash('sha256');
    const accepted: number[] = [];
    let recvDone: (v: { sha: string; connId: number }) => void = () => undefined;
    const receiverClosed = new Promise<{ sha: string; connId: number }>((r) => (recvDone = r));
    await dst.ipc.bind(port, (c) => {
      accepted.push(c.id);
      const h = createHash('sha256');
      c.on('data', (chunk) => {
        progress.received += chunk.length;
        h.update(chunk);
      });
      c.once('close', () => recvDone({ sha: h.digest('hex'), connId: c.id }));
    });
    const started = Date.now();
    const deadline = started + timeoutMs;
    let lastConn: ConnectionView | undefined;
    const sampler = setInterval(() => {
      void src.ipc
        .call('peers.inspect', { nodeId: dst.nodeId })
        .then((d) => {
          lastConn = d.connections.find((c) => c.remotePort === port) ?? lastConn;
        })
        .catch(() => undefined);
    }, 1000);
    let error: string | undefined;
    let during: Promise<void> | undefined;
    let conn: IpcConn | undefined;
    try {
      conn = await src.ipc.dial(backboneAddress(dst.nodeId), port);
      const c = conn;
      const write = async (): Promise<void> => {
        while (progress.written < progress.limit) {
          if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
          const n = Math.min(CHUNK, progress.limit - progress.written);
          const chunk = randomBytes(n);
          sentHash.update(chunk);
          c.write(chunk);
          progress.written += n;
          // The daemon stops reading its IPC socket while the stream's send buffer is full: bounded.
          if (!(await withDeadline(src.ipc.flush(), deadline))) throw new Error(`timed out after ${timeoutMs} ms (the stream stopped taking data)`);
          if (!during && opts.during) {
            during = opts.during(progress).catch((e: unknown) => {
              progress.limit = progress.written;
              throw e;
            });
          }
        }
      };
      await write();
      if (during) {
        await during;
        await write();
      }
    } catch (e) {
      error = c0(e);
    }
    // Graceful close (FIN after every byte is delivered), then wait for the receiver to see the end.
    if (conn && !conn.closed) await withDeadline(conn.close(), Math.max(deadline, Date.now() + 5_000));
    else if (conn && !error) error = `the node closed the stream after ${progress.written} bytes were written`;
    const left = Math.max(1, deadline - Date.now());
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      receiverClosed,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), left);
      }),
    ]);
    clearTimeout(timer);
    clearInterval(sampler);
    if (!r) error ??= `timed out after ${timeoutMs} ms`;
    const result: TransferResult = {
      bytes: progress.written,
      sentSha: sentHash.digest('hex'),
      recvSha: r?.sha ?? '',
      recvBytes: progress.received,
      ms: Date.now() - started,
      connId: r?.connId ?? -1,
      accepted: accepted.length,
    };
    if (error) result.error = error;
    if (lastConn) result.lastConn = lastConn;
    return result;
  }

  /** IP fragment reassembly state in a host's namespace (why fragmented datagrams vanish). */
  async fragStats(name: string): Promise<string> {
    const { stdout } = await this.lab.exec(name, 'cat', ['/proc/net/sockstat', '/proc/net/snmp', '/proc/sys/net/ipv4/ipfrag_high_thresh']);
    const frag = /^FRAG: .*$/m.exec(stdout)?.[0] ?? 'FRAG: ?';
    const memory = Number(/^FRAG: .*memory (\d+)/m.exec(stdout)?.[1] ?? 0);
    const high = Number(stdout.trim().split('\n').pop());
    const ipLines = stdout.split('\n').filter((l) => l.startsWith('Ip: '));
    let reasm = '';
    if (ipLines.length >= 2) {
      const keys = (ipLines[0] as string).split(/\s+/);
      const vals = (ipLines[1] as string).split(/\s+/);
      reasm = keys
        .map((k, i) => [k, vals[i]] as const)
        .filter(([k]) => k.startsWith('Reasm'))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
    }
    const full =
      high > 0 && memory >= 0.9 * high
        ? ` — the reassembly memory is full (ipfrag_high_thresh ${high}) of orphan fragments of lost datagrams: every fragmented datagram is dropped until they expire (ipfrag_time, 30 s)`
        : '';
    return `${frag}; ${reasm}${full}`;
  }

  /** Stops every process (the lab's teardown does the same) and removes the temp directory. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const h of this.hosts.values()) h.ipc.close();
    await Promise.all([...this.hosts.values()].map((h) => h.proc.stop(2000)));
    await this.backboneProc?.stop(2000);
    rmSync(this.dir, { recursive: true, force: true });
    process.off('exit', this.onExit);
  }
}

