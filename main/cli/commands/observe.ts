/**
 * Observability commands: `trace <id>` (a trace collected from every node that took part, as a text
 * waterfall in lanes per node, clock offsets applied), `trace export <id>` (OTLP/JSON), and `logs`
 * (the daemon's structured log ring, `--follow` over pushed `log` events).
 */
import fs from 'node:fs';
import type { CollectedTrace, LogLine, MethodArgs } from '../../../shared/contract';
import { PilotError } from '../../../shared/errors';
import { parseAddress } from '../../../shared/address';
import { logMatches, type LogQuery } from '../../observe/logs';
import { toOtlpJson } from '../../observe/otlp-json';
import type { CommandContext, CommandResult } from '../command';
import { arg, bool, parseTimeout, resolveTarget, str, withDaemon } from './util';
import { renderWaterfall } from './waterfall';

const TRACE_ID = /^[0-9a-f]{1,64}$/;

function traceIdArg(ctx: CommandContext, usage: string): string {
  const id = arg(ctx, 0, 'trace-id', usage).toLowerCase();
  if (!TRACE_ID.test(id)) throw new PilotError('invalid_argument', `invalid trace id "${id}"`, 'trace ids are hex, e.g. 4bf92f3577b34da6a3ce929d0e0e4736 (see the console or pilotctl logs --json)');
  return id;
}

async function collect(ctx: CommandContext, traceId: string, local: boolean): Promise<CollectedTrace> {
  const timeoutMs = parseTimeout(ctx, 5000);
  return withDaemon(ctx, async (c) => {
    if (!local) {
      const peers: number[] = [];
      for (const x of (str(ctx, 'peer') ?? '').split(',').map((p) => p.trim()).filter(Boolean)) peers.push((await resolveTarget(ctx, c, x)).nodeId);
      return c.call('traces.collect', { traceId, timeoutMs: Math.max(100, Math.min(timeoutMs, 60_000)), ...(peers.length ? { peers: peers.slice(0, 32) } : {}) });
    }
    const spans = await c.call('traces.get', { traceId });
    const info = await c.info();
    const address = String((info as { address?: unknown }).address ?? 'this node');
    const nodeId = Number((info as { node_id?: unknown }).node_id ?? 0);
    return {
      traceId,
      nodes: [{ address, nodeId, self: true, offsetMs: 0, spans: spans.length }],
      spans: spans.map((s) => ({ ...s, lane: address, adjustedStartMs: s.startMs })),
    };
  });
}

export async function trace(ctx: CommandContext): Promise<CommandResult> {
  const traceId = traceIdArg(ctx, 'trace <trace-id> [--peer X,Y] [--timeout 10s]');
  const t = await collect(ctx, traceId, false);
  if (t.spans.length === 0) {
    throw new PilotError('not_found', `no spans of trace ${traceId} on this node or the peers it asked`, 'spans are kept in a bounded ring per node; for a trace this node took no part in, name a node that did: --peer <node>');
  }
  return { data: t, text: renderWaterfall(t) };
}

export async function traceExport(ctx: CommandContext): Promise<CommandResult> {
  const traceId = traceIdArg(ctx, 'trace export <trace-id> [--otlp] [--out FILE] [--local]');
  const t = await collect(ctx, traceId, bool(ctx, 'local'));
  const otlp = toOtlpJson(
    t.nodes.map((n) => ({
      serviceName: n.hostname || n.address,
      address: n.address,
      spans: t.spans.filter((s) => s.lane === n.address),
      // Starts on the collector's clock, so the nodes' spans line up in the viewer.
      startOf: (s) => s.startMs - n.offsetMs,
    })),
  );
  const out = str(ctx, 'out');
  const json = JSON.stringify(otlp);
  if (out) {
    fs.writeFileSync(out, json + '\n', { mode: 0o600 });
    const summary = { file: out, trace_id: traceId, nodes: t.nodes.length, spans: t.spans.length };
    return { data: summary, text: `wrote ${t.spans.length} spans from ${otlp.resourceSpans.length} nodes to ${out} (OTLP/JSON)` };
  }
  if (ctx.json) return { data: otlp };
  ctx.out(json + '\n');
  return { data: null, printed: true };
}

function parsePeer(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  try {
    return parseAddress(text).node;
  } catch {
    throw new PilotError('invalid_argument', `invalid --peer "${text}"`, 'a node id (7) or an address (0:0000.0000.0007)');
  }
}

function logQuery(ctx: CommandContext): LogQuery {
  const q: LogQuery = {};
  const level = str(ctx, 'level');
  if (level !== undefined) {
    if (!['trace', 'debug', 'info', 'warn', 'error'].includes(level)) throw new PilotError('invalid_argument', `invalid --level "${level}"`, 'one of trace|debug|info|warn|error');
    q.level = level as LogLine['level'];
  }
  const peer = str(ctx, 'peer');
  if (peer !== undefined) q.peer = parsePeer(peer);
  const traceId = str(ctx, 'trace');
  if (traceId !== undefined) {
    if (!TRACE_ID.test(traceId)) throw new PilotError('invalid_argument', `invalid --trace "${traceId}"`, 'a hex trace id');
    q.traceId = traceId;
  }
  const component = str(ctx, 'component');
  if (component !== undefined) q.component = component;
  return q;
}

/** `12:00:01.234 INFO  [services] trust request received peer=7 trace_id=…` */
export function formatLogLine(l: LogLine): string {
  const { component, ...rest } = l.fields;
  const time = l.t.length >= 23 ? l.t.slice(11, 23) : l.t;
  const kv = Object.entries(rest)
    .filter(([k]) => k !== 'pid')
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${l.level.toUpperCase().padEnd(5)} ${typeof component === 'string' ? `[${component}] ` : ''}${l.msg}${kv ? ` ${kv}` : ''}`;
}

export async function logs(ctx: CommandContext): Promise<CommandResult> {
  const q = logQuery(ctx);
  const limitText = str(ctx, 'limit');
  if (limitText !== undefined && !/^\d+$/.test(limitText)) throw new PilotError('invalid_argument', `invalid --limit "${limitText}"`, 'a whole number');
  const limit = Math.min(10_000, Math.max(1, Number(limitText ?? 200)));
  const follow = bool(ctx, 'follow');
  return withDaemon(ctx, async (c) => {
    const args: MethodArgs<'logs.tail'> = { limit };
    if (q.level) args.level = q.level;
    if (q.peer !== undefined) args.peer = q.peer;
    if (q.traceId !== undefined) args.traceId = q.traceId;
    if (q.component !== undefined) args.component = q.component;
    const print = (l: LogLine): void => ctx.out((ctx.json ? JSON.stringify({ t: l.t, level: l.level, msg: l.msg, ...l.fields }) : formatLogLine(l)) + '\n');
    if (!follow) {
      const lines = await c.call('logs.tail', args);
      if (ctx.json) return { data: lines };
      return { data: lines, text: lines.length ? lines.map(formatLogLine).join('\n') : 'no matching log lines' };
    }
    // Subscribe before reading the tail, so no line falls between the two (a line in both prints once).
    const seen = new Set<string>();
    const key = (l: LogLine): string => `${l.t}|${l.msg}|${JSON.stringify(l.fields)}`;
    let backlog: LogLine[] | undefined = [];
    c.on('event', (env) => {
      if (env.event !== 'log') return;
      const l = env.data as LogLine;
      if (!logMatches(l, q)) return;
      if (backlog) backlog.push(l);
      else print(l);
    });
    await c.subscribe(['log']);
    for (const l of await c.call('logs.tail', args)) {
      seen.add(key(l));
      print(l);
    }
    for (const l of backlog) if (!seen.has(key(l))) print(l);
    backlog = undefined;
    await new Promise<void>((resolve) => {
      c.once('close', resolve);
      ctx.interrupted.then(resolve, resolve);
    });
    return { data: null, printed: true };
  });
}
