/**
 * `pilotctl ping` (cli.md §4.7). Against a Pilot Fleet daemon: the node's control ping through the
 * IPC extension (`peers.ping`), with the path of each reply. Against a daemon that answers only the
 * reference's IPC commands (a reference daemon): the reference CLI's own way, per probe a new
 * stream to the echo port 7 through Dial/Send/Recv/Close, `ping-<i>` written and one chunk read,
 * the RTT measured from before the dial, 1 s between probes.
 */
import { PilotError, toPilotError } from '../../../shared/errors';
import { PORTS } from '../../../shared/address';
import type { ConsoleEvents, PingReply, PingReport } from '../../../shared/contract';
import { isNoExtensions, type IpcClient, type IpcConn } from '../../daemon/client';
import type { CommandContext, CommandResult } from '../command';
import { goJson } from '../output';
import { arg, fmtMs, parseCount, parseTimeout, resolveTarget, sleepOrInterrupt, traceparentOf, utf8, withDaemon, withTimeout, type Target } from './util';

/** The path label of replies that came over an echo stream (the reference's IPC tells no path). */
export const ECHO_STREAM = 'echo stream';

export async function ping(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'ping <address|hostname> [--count 4] [--timeout 30s]';
  const x = arg(ctx, 0, 'address|hostname', usage);
  const count = parseCount(ctx, 4);
  if (count > 1000) throw new PilotError('invalid_argument', `--count must be at most 1000, got ${count}`);
  const timeoutMs = Math.min(parseTimeout(ctx, 30_000), 600_000);
  return withDaemon(ctx, async (c) => {
    const t = await resolveTarget(ctx, c, x);
    // From here on Ctrl-C ends the run with its summary (as ping(8) does). Said before the first line
    // is out: a signal right after it must not take the default exit (130) while the control ping
    // finds out whether the daemon has our IPC extension.
    ctx.interrupted.catch(() => undefined);
    if (!ctx.json) ctx.out(`PING ${t.text}\n`);
    const printed = new Set<number>();
    let report: PingReport;
    let via: 'control' | 'echo' = 'control';
    try {
      report = await controlPing(ctx, c, t, count, timeoutMs, printed);
    } catch (e) {
      if (!isNoExtensions(e)) throw e;
      via = 'echo';
      report = await echoPing(ctx, c, t, count, timeoutMs, printed);
    }
    const timedOut = report.replies.length < count;
    const path = via === 'echo' ? ECHO_STREAM : (report.replies.find((r) => r.path)?.path ?? 'pending');
    const data = {
      target: t.text,
      address: report.address,
      node_id: report.nodeId,
      path,
      via,
      results: report.replies.map((r) => (r.rttMs !== undefined ? { seq: r.seq, rtt_ms: Math.round(r.rttMs * 1000) / 1000, bytes: r.bytes ?? 0, path: r.path } : { seq: r.seq, error: r.error })),
      stats: report.stats,
      timeout: timedOut,
    };
    if (!ctx.json) {
      for (const r of report.replies) if (!printed.has(r.seq)) ctx.out(line(t, r) + '\n');
      if (timedOut) ctx.out('timeout\n');
      const s = report.stats;
      const loss = s.sent ? Math.round(((s.sent - s.received) / s.sent) * 100) : 100;
      const rtts = s.received ? ` · rtt min/median/max ${fmtMs(s.minMs ?? 0)}/${fmtMs(s.medianMs ?? 0)}/${fmtMs(s.maxMs ?? 0)}` : '';
      ctx.out(`--- ${t.text}: ${s.sent} sent, ${s.received} received, ${loss}% loss${rtts}\n`);
    }
    if (report.stats.received === 0) {
      throw new PilotError('timeout', `no reply from ${t.text}`, `check the peer is up and reachable: pilotctl peers --search ${t.nodeId}`);
    }
    if (ctx.json) ctx.out(goJson({ data, status: 'ok' }) + '\n');
    return { data, printed: true };
  });
}

function line(t: Target, r: PingReply): string {
  return r.rttMs !== undefined ? `✓ reply from ${t.text} · ${fmtMs(r.rttMs)} (${r.path ?? ECHO_STREAM})` : `✗ seq=${r.seq} error: ${r.error ?? 'no reply'}`;
}

/** The node's control ping through the extension; replies print as they come (text mode). */
async function controlPing(ctx: CommandContext, c: IpcClient, t: Target, count: number, timeoutMs: number, printed: Set<number>): Promise<PingReport> {
  if (!ctx.json) {
    await c.subscribe(['ping.reply']);
    c.on('event', (env) => {
      if (env.event !== 'ping.reply') return;
      const d = env.data as ConsoleEvents['ping.reply'];
      if (d.target !== t.text || printed.has(d.reply.seq)) return;
      printed.add(d.reply.seq);
      ctx.out(line(t, d.reply) + '\n');
    });
  }
  return c.call('peers.ping', { target: t.text, count, timeoutMs, ...traceparentOf(ctx) });
}

/**
 * The reference CLI's ping over plain stream commands: each probe dials the echo port, writes
 * `ping-<seq>` and waits for the echo (it may come in pieces), then closes. `timeoutMs` bounds the
 * whole run; Ctrl-C ends it after the probe under way.
 */
export async function echoPing(ctx: CommandContext, c: IpcClient, t: Target, count: number, timeoutMs: number, printed: Set<number>): Promise<PingReport> {
  const replies: PingReply[] = [];
  const deadline = performance.now() + timeoutMs;
  let stop = false;
  // Ctrl-C ends the run at once, also in the middle of a probe (its dial may wait for long).
  const interrupted = ctx.interrupted.then(
    () => {
      stop = true;
      return 'interrupted' as const;
    },
    () => 'interrupted' as const,
  );
  for (let seq = 0; seq < count && !stop; seq++) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    const r = await Promise.race([echoProbe(c, t, seq, left), interrupted]);
    if (r === 'interrupted' || r === undefined) break; // Ctrl-C, or the overall timeout ran out during this probe
    replies.push(r);
    if (!ctx.json) {
      printed.add(r.seq);
      ctx.out(line(t, r) + '\n');
    }
    if (seq < count - 1 && !stop) {
      const pause = Math.min(1000, deadline - performance.now());
      if (pause <= 0 || (await sleepOrInterrupt(ctx, pause))) break;
    }
  }
  const rtts = replies.flatMap((r) => (r.rttMs !== undefined ? [r.rttMs] : [])).sort((a, b) => a - b);
  const stats: PingReport['stats'] = { sent: replies.length, received: rtts.length };
  if (rtts.length) {
    stats.minMs = rtts[0]!;
    stats.medianMs = rtts[Math.floor((rtts.length - 1) / 2)]!;
    stats.p99Ms = rtts[Math.min(rtts.length - 1, Math.ceil(rtts.length * 0.99) - 1)]!;
    stats.maxMs = rtts[rtts.length - 1]!;
  }
  return { target: t.text, address: t.text, nodeId: t.nodeId, replies, stats };
}

/** One probe; undefined when `budgetMs` ran out before it finished. */
async function echoProbe(c: IpcClient, t: Target, seq: number, budgetMs: number): Promise<PingReply | undefined> {
  const payload = utf8(`ping-${seq}`);
  const t0 = performance.now();
  const left = (): number => Math.max(1, budgetMs - (performance.now() - t0));
  let conn: IpcConn;
  try {
    conn = await withTimeout(c.dial(t.address, PORTS.echo), budgetMs, 'dial');
  } catch (e) {
    const pe = toPilotError(e);
    if (pe.code === 'timeout' && performance.now() - t0 >= budgetMs) return undefined;
    if (pe.code === 'not_running' || c.closed) throw pe;
    return { seq, error: `dial: ${pe.message}` };
  }
  try {
    conn.write(payload);
    let got = 0;
    while (got < payload.length) {
      const chunk = await conn.read(left());
      if (!chunk) return { seq, error: 'the echo port closed the stream' };
      got += chunk.length;
    }
    return { seq, rttMs: performance.now() - t0, bytes: got };
  } catch (e) {
    const pe = toPilotError(e);
    if (pe.code === 'timeout') return undefined;
    return { seq, error: pe.message };
  } finally {
    await conn.close();
  }
}
