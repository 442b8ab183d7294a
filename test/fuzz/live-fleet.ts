/**
 * The fleet the live fuzzer attacks: a backbone process, a victim daemon process (started with
 * `pilotctl daemon start`, as a user would), and two in-process nodes registered with the same
 * backbone — an attacker (a real identity: its PILA frames are correctly signed) and a well-behaved
 * friend whose pings must keep succeeding. Plus the probes the report needs: the daemon's drop
 * counters and traffic totals (node.info over its IPC socket), its RSS (/proc/PID/status VmRSS),
 * and whether the process is still the same one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatAddress } from '../../shared/address';
import type { NodeInfoView } from '../../shared/contract';
import { Identity } from '../../main/crypto';
import { PilotNode } from '../../main/node/node';
import { silentLogger } from '../../main/util/log';
import { IpcClient } from '../../main/daemon/client';
import { RawPeer } from '../security/raw-peer';
import { encodePILS } from '../../main/wire/tunnel';
import { envelope, makeHome, pilotctl, startBackboneProc, type BackboneProc, type Home } from '../../main/daemon/testing/procs';

export interface Fleet {
  dir: string;
  bb: BackboneProc;
  victim: Home;
  victimPid: number;
  victimId: number;
  victimName: string;
  /** The victim's UDP tunnel endpoint. */
  victimUdp: { host: string; port: number };
  victimLog: string;
  attacker: PilotNode;
  friend: PilotNode;
  /** A long-lived IPC client to the victim (counters, flow control). */
  ipc: IpcClient;
  /**
   * A second registered attacker driven by hand (test/security/raw-peer.ts) that has done a real key
   * exchange with the victim: `seal(packet)` gives a PILS frame the victim decrypts and accepts, so
   * hostile packets reach its transport and services.
   */
  eve: RawPeer;
  seal: (packet: Uint8Array) => Uint8Array;
}

function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

export async function startFleet(): Promise<Fleet> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-fuzz-'));
  const bb = await startBackboneProc(makeHome(dir, 'bb').env, path.join(dir, 'bb-data'));
  const victim = makeHome(dir, 'victim');
  const victimName = `victim-${Math.random().toString(36).slice(2, 8)}`;
  const r = await pilotctl(victim.env, ['--json', 'daemon', 'start', '--registry', bb.registry, '--beacon', bb.beacon, '--hostname', victimName, '--public', '--listen', '127.0.0.1:0']);
  if (r.code !== 0) throw new Error(`victim daemon did not start: ${r.stderr}`);
  const started = envelope(r)['data'] as { pid: number; node_id: number; log_file: string };
  const node = (name: string): PilotNode =>
    new PilotNode({ identity: Identity.generate(), registry: bb.registry, beacon: bb.beacon, public: true, listen: '127.0.0.1:0', hostname: `${name}-${victimName}`, log: silentLogger });
  const attacker = node('attacker');
  const friend = node('friend');
  await Promise.all([attacker.start(), friend.start()]);
  const ipc = await IpcClient.connect(victim.socket);
  const info = (await ipc.call('node.info', {})) as NodeInfoView;
  const victimUdp = splitHostPort(info.tunnelEndpoint);
  const eve = new RawPeer();
  await eve.start(bb.registry);
  const victimKey = Buffer.from((await attacker.registry.lookup(started.node_id)).public_key, 'base64');
  // The key exchange: our PILA, the victim's answer (resent until it comes: UDP).
  for (let i = 0; eve.pilas.length === 0; i++) {
    if (i % 50 === 0) await eve.send(eve.pilaFrame(), victimUdp);
    if (i > 500) throw new Error('the victim never answered the raw peer\'s key exchange');
    await new Promise((r) => setTimeout(r, 10));
  }
  eve.keyFrom(eve.pilas[0]!, started.node_id, new Uint8Array(victimKey));
  const sealer = eve.sealer(1);
  const seal = (packet: Uint8Array): Uint8Array => {
    const { nonce, sealed } = sealer.seal(packet);
    return encodePILS(eve.nodeId, nonce, sealed);
  };
  return {
    dir,
    bb,
    victim,
    victimPid: started.pid,
    victimId: started.node_id,
    victimName,
    victimUdp,
    victimLog: started.log_file,
    attacker,
    friend,
    ipc,
    eve,
    seal,
  };
}

export async function stopFleet(f: Fleet | undefined): Promise<void> {
  if (!f) return;
  f.ipc.close();
  f.eve.close();
  await Promise.allSettled([f.attacker.stop(), f.friend.stop()]);
  await pilotctl(f.victim.env, ['daemon', 'stop']);
  if (f.bb.proc.exitCode === null) f.bb.proc.kill('SIGKILL');
  fs.rmSync(f.dir, { recursive: true, force: true });
}

/**
 * The daemon's log entries about its own code throwing on inbound traffic, grouped by error message:
 * one line each with the count and the first stack.
 */
export function internalErrorLogs(f: Fleet): string[] {
  let text: string;
  try {
    text = fs.readFileSync(f.victimLog, 'utf8');
  } catch {
    return [];
  }
  const byError = new Map<string, { n: number; stack: string }>();
  for (const line of text.split('\n')) {
    if (!/inbound frame handler failed|unhandled|uncaught/i.test(line)) continue;
    let e: { error?: string; stack?: string; msg?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      continue;
    }
    const key = e.error ?? e.msg ?? line;
    const cur = byError.get(key) ?? { n: 0, stack: e.stack ?? '' };
    cur.n++;
    byError.set(key, cur);
  }
  return [...byError].map(([k, v]) => `${v.n} × ${k}\n      ${v.stack.split('\n').slice(0, 6).join('\n      ')}`);
}

/** Resident set size of a process in kB (VmRSS), or undefined when it is gone. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function victimInfo(f: Fleet): Promise<NodeInfoView> {
  return (await f.ipc.call('node.info', {})) as NodeInfoView;
}

/** Counter differences after − before (keys of either side). */
export function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(after), ...Object.keys(before)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

export function friendAddress(f: Fleet): string {
  return formatAddress({ network: 0, node: f.friend.nodeId });
}
