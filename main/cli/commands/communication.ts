/** Communication: traceroute, bench, connect, send, recv, listen, broadcast (cli.md §4.4, §4.7); ping is in ping.ts. */
import { PilotError, toPilotError } from '../../../shared/errors';
import { formatAddress, PORTS } from '../../../shared/address';
import type { IpcClient, IpcConn } from '../../daemon/client';
import type { CommandContext, CommandResult } from '../command';
import { goDuration, goJson } from '../output';
import { arg, parseCount, parsePort, parseTimeout, resolveTarget, sleepOrInterrupt, str, text, utf8, withDaemon, withTimeout, type Target } from './util';

// ---- streams through the daemon -----------------------------------------------------------------

async function dialOrFail(c: IpcClient, t: Target, port: number): Promise<IpcConn> {
  try {
    return await c.dial(t.address, port);
  } catch (e) {
    const pe = toPilotError(e);
    if (pe.code === 'not_running') throw pe;
    throw new PilotError(pe.code === 'timeout' ? 'timeout' : 'connection_failed', `cannot connect to ${t.text} port ${port}: ${pe.message}`, `check that ${t.text} is reachable: pilotctl ping ${t.text}`);
  }
}

export async function traceroute(ctx: CommandContext): Promise<CommandResult> {
  const x = arg(ctx, 0, 'address', 'traceroute <address> [--timeout 30s]');
  const timeoutMs = parseTimeout(ctx, 30_000);
  return withDaemon(ctx, async (c) => {
    const t = await resolveTarget(ctx, c, x);
    const lines = [`TRACEROUTE ${t.text}`];
    const t0 = performance.now();
    let conn: IpcConn;
    try {
      conn = await withTimeout(c.dial(t.address, PORTS.echo), timeoutMs, 'dial');
    } catch (e) {
      const setup = performance.now() - t0;
      const err = toPilotError(e).message;
      lines.push(`  1  ${t.text}  connection failed: ${err}`);
      return { data: { target: t.text, setup_ms: round3(setup), error: err }, text: lines.join('\n'), exit: 1 };
    }
    const setup = performance.now() - t0;
    lines.push(`  1  ${t.text}  setup=${goDuration(setup)}`);
    const samples: ({ rtt_ms: number; bytes: number } | { rtt_ms: number; error: string })[] = [];
    for (let i = 0; i < 3; i++) {
      const payload = utf8(`trace-${i}`);
      const s0 = performance.now();
      try {
        conn.write(payload);
        let got = 0;
        while (got < payload.length) {
          const chunk = await conn.read(Math.max(1, timeoutMs - (performance.now() - t0)));
          if (!chunk) throw new PilotError('connection_failed', 'connection closed');
          got += chunk.length;
        }
        const rtt = performance.now() - s0;
        samples.push({ rtt_ms: round3(rtt), bytes: got });
        lines.push(`     rtt=${goDuration(rtt)} bytes=${got}`);
      } catch (e) {
        const err = toPilotError(e).message;
        samples.push({ rtt_ms: round3(performance.now() - s0), error: err });
        lines.push(`     error: ${err}`);
      }
    }
    await conn.close();
    lines.push('', 'setup includes: tunnel negotiation + SYN/ACK handshake', 'rtt is: data round-trip over established connection');
    return { data: { target: t.text, setup_ms: round3(setup), rtt_samples: samples }, text: lines.join('\n') };
  });
}

function round3(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export async function bench(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'bench <address|hostname> [size_mb=1] [--timeout 120s]';
  const x = arg(ctx, 0, 'address|hostname', usage);
  const mbText = ctx.args[1] ?? '1';
  const mb = Number(mbText);
  if (!/^\d+(\.\d+)?$/.test(mbText) || !(mb > 0) || mb > 1024) throw new PilotError('invalid_argument', `invalid size "${mbText}" (MB, 0 < size ≤ 1024)`, `usage: pilotctl ${usage}`);
  const size = Math.round(mb * 1024 * 1024);
  const timeoutMs = parseTimeout(ctx, 120_000);
  return withDaemon(ctx, async (c) => {
    const t = await resolveTarget(ctx, c, x);
    const conn = await dialOrFail(c, t, PORTS.echo);
    if (!ctx.json) ctx.out(`BENCH ${t.text} — sending ${sizeText(size)} via echo port\n`);
    let recv = 0;
    const done = new Promise<void>((resolve) => {
      conn.on('data', (chunk) => {
        recv += chunk.length;
        if (recv >= size) resolve();
      });
      conn.on('close', () => resolve());
    });
    const t0 = performance.now();
    const block = new Uint8Array(4096);
    for (let off = 0; off < size; off += 4096) {
      const n = Math.min(4096, size - off);
      for (let i = 0; i < n; i++) block[i] = (off + i) & 0xff;
      conn.write(block.slice(0, n));
    }
    await c.flush();
    const sendMs = Math.round(performance.now() - t0);
    const ok = await Promise.race([done.then(() => true), sleepOrInterrupt(ctx, timeoutMs).then(() => false)]);
    const totalMs = Math.round(performance.now() - t0);
    await conn.close();
    const mbps = (bytes: number, ms: number): number => Math.round((bytes / 1048576 / Math.max(ms, 1)) * 1000 * 10) / 10;
    const data = { target: t.text, sent_bytes: size, recv_bytes: recv, send_duration_ms: sendMs, total_duration_ms: totalMs, send_mbps: mbps(size, sendMs), total_mbps: mbps(recv, totalMs) };
    const lines = [
      `  Sent:     ${sizeText(size)} in ${goDuration(sendMs)} (${data.send_mbps.toFixed(1)} MB/s)`,
      `  Echoed:   ${sizeText(recv)} in ${goDuration(totalMs)} (${data.total_mbps.toFixed(1)} MB/s round-trip)`,
    ];
    if (!ok || recv < size) lines.push(`warning: receive timed out (got ${sizeText(recv)} of ${sizeText(size)})`);
    if (ctx.json) return { data };
    ctx.out(lines.join('\n') + '\n');
    return { data, printed: true };
  });
}

function sizeText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}

async function readStdin(): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString('utf8').split('\n').filter((l, i, a) => !(i === a.length - 1 && l === '')).join('\n');
}

async function exchange(ctx: CommandContext, x: string, port: number, message: string, timeoutMs: number): Promise<CommandResult> {
  return withDaemon(ctx, async (c) => {
    const t = await resolveTarget(ctx, c, x);
    const conn = await dialOrFail(c, t, port);
    const payload = utf8(message);
    conn.write(payload);
    let chunk: Uint8Array | undefined;
    try {
      chunk = await conn.read(timeoutMs);
    } catch {
      await conn.close();
      throw new PilotError('timeout', `no response within ${goDuration(timeoutMs)}`, `is anything answering on ${t.text} port ${port}?`);
    }
    await conn.close();
    const response = chunk ? text(chunk.subarray(0, 65_535)) : '';
    const data = { target: t.text, port, sent: payload.length, response };
    if (!chunk && !ctx.json) ctx.err(`sent ${payload.length} bytes (no response)\n`);
    return { data, text: chunk ? response : '' };
  });
}

export async function connect(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'connect <address|hostname> [port=1000] [--message M] [--timeout 30s]';
  const x = arg(ctx, 0, 'address|hostname', usage);
  const port = parsePort(ctx.args[1] ?? '1000');
  const timeoutMs = parseTimeout(ctx, 30_000);
  let message = str(ctx, 'message');
  if (message === undefined) {
    if (process.stdin.isTTY !== false) throw new PilotError('invalid_argument', '--message is required (interactive mode not supported)', `usage: pilotctl ${usage}`);
    message = await readStdin();
  }
  return exchange(ctx, x, port, message, timeoutMs);
}

export async function send(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'send <address|hostname> <port> --data D [--timeout 30s]';
  const x = arg(ctx, 0, 'address|hostname', usage);
  const port = parsePort(arg(ctx, 1, 'port', usage));
  const data = str(ctx, 'data');
  if (data === undefined) throw new PilotError('invalid_argument', '--data is required', `usage: pilotctl ${usage}`);
  return exchange(ctx, x, port, data, parseTimeout(ctx, 30_000));
}

export async function recv(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'recv <port> [--count 1] [--timeout 30s]';
  const port = parsePort(arg(ctx, 0, 'port', usage));
  const count = parseCount(ctx, 1);
  const timeoutMs = parseTimeout(ctx, 30_000);
  return withDaemon(ctx, async (c) => {
    const messages: ({ seq: number; port: number; data: string; bytes: number } | { seq: number; port: number; error: string })[] = [];
    const queue: IpcConn[] = [];
    let wake: (() => void) | undefined;
    await c.bind(port, (conn) => {
      queue.push(conn);
      wake?.();
    });
    const deadline = Date.now() + timeoutMs;
    let timedOut = false;
    while (messages.length < count) {
      if (queue.length === 0) {
        const left = deadline - Date.now();
        if (left <= 0) {
          timedOut = true;
          break;
        }
        const woke = await Promise.race([new Promise<boolean>((r) => (wake = () => r(true))), sleepOrInterrupt(ctx, left).then(() => false)]);
        wake = undefined;
        if (!woke) {
          timedOut = true;
          break;
        }
        continue;
      }
      const conn = queue.shift()!;
      const seq = messages.length + 1;
      try {
        const chunk = await conn.read(Math.max(1, deadline - Date.now()));
        const d = chunk ? text(chunk) : '';
        messages.push({ seq, port, data: d, bytes: chunk?.length ?? 0 });
        if (!ctx.json) ctx.out(d + '\n');
      } catch (e) {
        messages.push({ seq, port, error: toPilotError(e).message });
      }
      await conn.close();
    }
    if (timedOut && !ctx.json) ctx.err('timeout\n');
    const data = { messages: messages.length ? messages : null, timeout: timedOut };
    if (ctx.json) return { data };
    return { data, printed: true };
  });
}

export async function listen(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'listen <port> [--count N] [--timeout D]';
  const port = parsePort(arg(ctx, 0, 'port', usage));
  const count = parseCount(ctx, 0, 0);
  const timeoutMs = parseTimeout(ctx, 0, true);
  const bounded = count > 0 || timeoutMs > 0;
  return withDaemon(ctx, async (c) => {
    const messages: { src_addr: string; src_port: number; data: string; bytes: number }[] = [];
    if (!ctx.json) ctx.err(`listening on port ${port} — waiting for datagrams...\n`);
    let finish: (timedOut: boolean) => void = () => undefined;
    const finished = new Promise<boolean>((r) => (finish = r));
    c.on('recv_from', (m) => {
      if (m.dstPort !== port) return;
      const msg = { src_addr: formatAddress(m.src), src_port: m.srcPort, data: text(m.data), bytes: m.data.length };
      messages.push(msg);
      if (ctx.json && !bounded) ctx.out(goJson(msg) + '\n');
      else if (!ctx.json) ctx.out(`[${msg.src_addr}:${msg.src_port}] ${msg.data}\n`);
      if (count > 0 && messages.length >= count) finish(false);
    });
    c.on('close', () => finish(false));
    // Any request makes sure the daemon registered this client before datagrams are expected.
    await c.info();
    const timer = timeoutMs > 0 ? setTimeout(() => finish(true), timeoutMs) : undefined;
    ctx.interrupted.then(() => finish(false), () => undefined);
    const timedOut = await finished;
    if (timer) clearTimeout(timer);
    if (timedOut && !ctx.json) ctx.err('timeout\n');
    if (ctx.json && bounded) return { data: { messages, timeout: timedOut } };
    return { data: null, printed: true };
  });
}

export async function broadcast(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'broadcast <group> <message> [--port P]';
  const name = arg(ctx, 0, 'group', usage);
  const message = arg(ctx, 1, 'message', usage);
  const portText = str(ctx, 'port');
  const port = portText !== undefined ? parsePort(portText) : undefined;
  const r = await withDaemon(ctx, (c) => c.call('groups.broadcast', { name, message, ...(port !== undefined ? { port } : {}) }));
  return { data: r, text: `broadcast to ${r.group}: sent to ${r.sent} of ${r.members} member(s)` };
}
