/** Helpers shared by the pilotctl commands: flags, targets, the daemon connection, tables. */
import { PilotError } from '../../../shared/errors';
import { backboneAddress, formatAddress, parseAddress, type Address } from '../../../shared/address';
import { IpcClient } from '../../daemon/client';
import { resolveSocketPath } from '../../daemon/paths';
import type { CommandContext } from '../command';
import { parseDuration } from '../output';
import { parseTraceparent } from '../../observe/traceparent';

export function socketOf(ctx: CommandContext): string {
  const flag = ctx.flags['socket'];
  return resolveSocketPath(ctx.env, typeof flag === 'string' ? flag : undefined);
}

/** Connects to the daemon, runs `fn`, closes. Daemon absent → not_running. */
export async function withDaemon<T>(ctx: CommandContext, fn: (c: IpcClient) => Promise<T>): Promise<T> {
  const c = await IpcClient.connect(socketOf(ctx));
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(ctx: CommandContext, name: string): boolean {
  const v = ctx.flags[name];
  return v === true || v === 'true' || v === '1' || v === '';
}

export function usageError(message: string, usage: string): PilotError {
  return new PilotError('invalid_argument', message, `usage: pilotctl ${usage}`);
}

export function arg(ctx: CommandContext, i: number, name: string, usage: string): string {
  const v = ctx.args[i];
  if (v === undefined || v === '') throw usageError(`missing <${name}>`, usage);
  return v;
}

export function parsePort(text: string): number {
  if (!/^\d+$/.test(text)) throw new PilotError('invalid_argument', `invalid port "${text}"`, 'ports are 0..65535');
  const n = Number(text);
  if (n > 65535) throw new PilotError('invalid_argument', `port out of range: ${n}`, 'ports are 0..65535');
  return n;
}

export function parseCount(ctx: CommandContext, dflt: number, min = 1): number {
  const t = str(ctx, 'count');
  if (t === undefined) return dflt;
  if (!/^\d+$/.test(t)) throw new PilotError('invalid_argument', `invalid --count "${t}"`, 'a whole number');
  const n = Number(t);
  if (n < min) throw new PilotError('invalid_argument', `--count must be at least ${min}, got ${n}`);
  return n;
}

/** `--timeout` in ms (Go duration or seconds); `dflt` when absent; 0 allowed only when `allowZero`. */
export function parseTimeout(ctx: CommandContext, dfltMs: number, allowZero = false): number {
  const t = str(ctx, 'timeout');
  if (t === undefined) return dfltMs;
  const ms = parseDuration(t);
  if (ms === undefined || (ms === 0 && !allowZero)) throw new PilotError('invalid_argument', `invalid --timeout "${t}"`, 'use a duration like 500ms, 30s, 1m30s, or seconds');
  return ms;
}

export interface Target {
  address: Address;
  text: string;
  nodeId: number;
  hostname?: string;
}

export function cannotResolve(x: string): PilotError {
  return new PilotError('not_found', `cannot resolve "${x}" — is the hostname correct and is there mutual trust? (see: pilotctl handshake)`, `list nodes with: pilotctl find --tag <tag>, or ask for trust: pilotctl handshake ${x} "reason"`);
}

/**
 * `<address|hostname>` (cli.md §3.1): full address text as is, a decimal node id → its backbone
 * address, else a hostname resolved through the daemon (text mode notes it on stderr).
 */
export async function resolveTarget(ctx: CommandContext, c: IpcClient, x: string): Promise<Target> {
  if (x.includes(':')) {
    const a = parseAddress(x);
    return { address: a, text: formatAddress(a), nodeId: a.node };
  }
  if (/^\d+$/.test(x)) {
    const n = Number(x);
    if (n < 1 || n > 0xffffffff) throw new PilotError('invalid_argument', `node id out of range: ${x}`, 'node ids are 1..4294967295');
    const a = backboneAddress(n);
    return { address: a, text: formatAddress(a), nodeId: n };
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(x)) throw new PilotError('invalid_argument', `invalid target "${x}"`, 'use an address (0:0000.0000.0007), a node id or a hostname');
  let r: Record<string, unknown>;
  try {
    r = await c.requestJson({ cmd: 'resolve_hostname', hostname: x }, 'resolve_hostname_ok');
  } catch (e) {
    if (e instanceof PilotError && (e.code === 'not_running' || e.code === 'timeout' || registryUnreachable(e))) throw e;
    throw cannotResolve(x);
  }
  const nodeId = Number(r['node_id']);
  if (!Number.isInteger(nodeId) || nodeId <= 0) throw cannotResolve(x);
  const a = backboneAddress(nodeId);
  if (!ctx.json) ctx.err(`resolved "${x}" → ${formatAddress(a)}\n`);
  return { address: a, text: formatAddress(a), nodeId, hostname: x };
}

/**
 * A daemon Error that means "the registry could not be reached" (`registry <host:port>: <cause>`),
 * not "the registry said no" (`registry: <reason>`: ours say "request failed", a reference registry
 * may give its reason, e.g. "hostname not found").
 */
export function registryUnreachable(e: PilotError): boolean {
  return /\bregistry \S+:\d+(: | failed )/.test(e.message) || e.message.includes('cannot reach registry');
}

/** A node id argument (decimal). */
export function parseNodeId(text: string): number {
  if (!/^\d+$/.test(text)) throw new PilotError('invalid_argument', `invalid node id "${text}"`, 'node ids are decimal numbers, e.g. 7');
  const n = Number(text);
  if (n < 1 || n > 0xffffffff) throw new PilotError('invalid_argument', `node id out of range: ${text}`, 'node ids are 1..4294967295');
  return n;
}

/** printf-ish left padding. */
export function pad(s: string | number, n: number): string {
  return String(s).padEnd(n);
}

export function fmtMs(ms: number): string {
  const d = ms < 1 ? 2 : ms < 100 ? 1 : 0;
  return `${Number(ms.toFixed(d))}ms`;
}

export function localTime(unixMs: number): string {
  const d = new Date(unixMs);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
export function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

/** Resolves after `ms`, or at interruption (then `interrupted` is true). */
export function sleepOrInterrupt(ctx: CommandContext, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    ctx.interrupted.then(
      () => {
        clearTimeout(t);
        resolve(true);
      },
      () => undefined,
    );
  });
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new PilotError('timeout', `${what} did not finish within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

/**
 * `{traceparent}` from the TRACEPARENT environment variable (the CLI convention for W3C trace
 * context) when it is valid, else `{}`: the daemon's spans for this request join the caller's trace.
 */
export function traceparentOf(ctx: CommandContext): { traceparent?: string } {
  const v = ctx.env['TRACEPARENT']?.trim();
  return v && parseTraceparent(v) ? { traceparent: v } : {};
}

