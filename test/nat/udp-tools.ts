// Test-side drivers for the UDP agent (udp-agent.ts) running inside lab namespaces: a reflector
// (beacon-like: reports the observed source ip:port, coordinates punches, relays) and a peer
// driven by JSON commands on stdin. Every wait is bounded: readiness lines and command results.

import { fileURLToPath } from 'node:url';
import type { Lab, LabProcess } from './lab';

export const AGENT_SCRIPT = fileURLToPath(new URL('./udp-agent.ts', import.meta.url));

/** Datagrams between agents (JSON). */
export type Wire =
  | { t: 'who' }
  | { t: 'seen'; ip: string; port: number; via: number }
  | { t: 'reg'; id: string }
  | { t: 'registered'; ip: string; port: number }
  | { t: 'punch'; id: string; target: string }
  | { t: 'punch-to'; id: string; ip: string; port: number }
  | { t: 'relay'; from: string; to: string; data: string }
  | { t: 'relayed'; from: string; data: string }
  | { t: 'probe'; run: string; seq: number }
  | { t: 'count'; run: string; q: number }
  | { t: 'counted'; run: string; q: number; n: number }
  | { t: 'hello'; from: string }
  | { t: 'hello-ack'; from: string };

export interface Retry {
  attempts?: number;
  intervalMs?: number;
}

/** Commands a peer reads from stdin, one JSON object a line. */
export type PeerCommand =
  | ({ op: 'discover'; server: string } & Retry)
  | ({ op: 'register'; server: string; name: string } & Retry)
  | ({ op: 'punch'; server: string; name: string; target: string } & Retry)
  | ({ op: 'connect'; to: string; name: string } & Retry)
  | ({ op: 'relay'; server: string; name: string; to: string; data: string } & Retry)
  | { op: 'probe'; server: string; count: number; batch?: number }
  | { op: 'quit' };

export type PeerResult =
  | { re: number; ok: true; ip?: string; port?: number; sent?: number; received?: number; data?: string }
  | { re: number; ok: false; error: string };

/** Unsolicited events a peer prints. */
export type PeerEvent =
  | { ev: 'punch-to'; id: string; ip: string; port: number }
  | { ev: 'connected'; peer: string; ip: string; port: number }
  | { ev: 'relayed'; from: string; data: string };

export interface Endpoint {
  ip: string;
  port: number;
}

export const fmt = (e: Endpoint): string => `${e.ip}:${e.port}`;

export function parseEndpoint(s: string): Endpoint {
  const i = s.lastIndexOf(':');
  const port = Number(s.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad endpoint ${s}`);
  return { ip: s.slice(0, i), port };
}

function parseJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

async function ready(proc: LabProcess, timeoutMs: number): Promise<Record<string, unknown>> {
  const line = await proc.waitForLine(/^READY /, timeoutMs);
  const info = parseJson(line.slice('READY '.length));
  if (!isObject(info)) throw new Error(`${proc.label}: bad READY line ${line}`);
  return info;
}

/** A reflector listening on one or more UDP ports of a lab host. */
export class Reflector {
  private constructor(
    readonly proc: LabProcess,
    readonly ip: string,
    readonly ports: number[],
  ) {}

  static async start(lab: Lab, host: string, ports: number[], timeoutMs = 15_000): Promise<Reflector> {
    const proc = lab.spawnTs(host, AGENT_SCRIPT, ['reflector', ...ports.map(String)]);
    await ready(proc, timeoutMs);
    return new Reflector(proc, lab.host(host).ip, ports);
  }

  /** "ip:port" of the n-th port. */
  addr(n = 0): string {
    const port = this.ports[n];
    if (port === undefined) throw new Error(`reflector has no port #${n}`);
    return `${this.ip}:${port}`;
  }
}

/** A UDP peer (one socket) driven through stdin commands. */
export class Peer {
  private nextId = 1;

  private constructor(
    readonly proc: LabProcess,
    readonly name: string,
    readonly localPort: number,
  ) {}

  static async start(lab: Lab, host: string, port = 0, timeoutMs = 15_000): Promise<Peer> {
    const proc = lab.spawnTs(host, AGENT_SCRIPT, ['peer', host, String(port)]);
    const info = await ready(proc, timeoutMs);
    return new Peer(proc, host, Number(info['port']));
  }

  /** Sends a command; resolves with its result line (ok or not); rejects only when no result comes. */
  async cmd(command: PeerCommand, timeoutMs = 15_000): Promise<PeerResult> {
    const id = this.nextId++;
    const since = this.proc.lines.length;
    this.proc.write(JSON.stringify({ id, ...command }));
    const line = await this.proc.waitForLine(
      (l) => {
        const v = parseJson(l);
        return isObject(v) && v['re'] === id;
      },
      timeoutMs,
      since,
    );
    return JSON.parse(line) as PeerResult;
  }

  /** Like `cmd`, but rejects unless the result is ok. */
  async ok(command: PeerCommand, timeoutMs?: number): Promise<Extract<PeerResult, { ok: true }>> {
    const r = await this.cmd(command, timeoutMs);
    if (!r.ok) throw new Error(`${this.name}: ${command.op} failed: ${r.error}`);
    return r;
  }

  /** The public endpoint a reflector sees for this peer's socket. */
  async discover(server: string): Promise<Endpoint> {
    const r = await this.ok({ op: 'discover', server });
    return { ip: r.ip ?? '', port: r.port ?? 0 };
  }

  /** Waits for an event line printed at or after index `since` of the output. */
  async event<E extends PeerEvent['ev']>(ev: E, since = 0, timeoutMs = 10_000): Promise<Extract<PeerEvent, { ev: E }>> {
    const line = await this.proc.waitForLine(
      (l) => {
        const v = parseJson(l);
        return isObject(v) && v['ev'] === ev;
      },
      timeoutMs,
      since,
    );
    return JSON.parse(line) as Extract<PeerEvent, { ev: E }>;
  }

  /** Asks the peer to exit; SIGTERM/SIGKILL if it has not within `graceMs`. */
  async quit(graceMs = 2_000): Promise<void> {
    if (!this.proc.running) return;
    this.proc.write(JSON.stringify({ id: 0, op: 'quit' }));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.proc.exited, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.proc.stop();
  }
}
