/**
 * Client side of the built-in services, run by pilotctl over IPC streams (as the reference does):
 * send-message / send-file (data exchange, port 1001), publish / subscribe (event stream, port
 * 1002), and the local mailboxes `received` and `inbox` under PILOT_HOME.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PilotError, toPilotError } from '../../../shared/errors';
import { PORTS } from '../../../shared/address';
import { pilotPaths } from '../../daemon/paths';
import type { IpcClient, IpcConn } from '../../daemon/client';
import { DATA_TYPE, encodeEvent, encodeFilePayload, encodeServiceFrame, EventDecoder, ServiceFrameDecoder } from '../../wire/service';
import type { CommandContext, CommandResult } from '../command';
import { goJson } from '../output';
import { arg, localTime, pad, parseCount, parseTimeout, resolveTarget, str, text, utf8, withDaemon, type Target } from './util';

async function dial(c: IpcClient, t: Target, port: number): Promise<IpcConn> {
  try {
    return await c.dial(t.address, port);
  } catch (e) {
    const pe = toPilotError(e);
    if (pe.code === 'not_running') throw pe;
    throw new PilotError(pe.code === 'timeout' ? 'timeout' : 'connection_failed', `cannot connect to ${t.text} port ${port}: ${pe.message}`, `check that ${t.text} is reachable (and trusts you): pilotctl ping ${t.text}`);
  }
}

/** Writes one data-exchange frame and waits for the ACK frame (best effort: undefined if none). */
async function exchangeFrame(conn: IpcConn, type: number, payload: Uint8Array, timeoutMs: number): Promise<string | undefined> {
  conn.write(encodeServiceFrame(type, payload));
  const decoder = new ServiceFrameDecoder();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const chunk = await conn.read(Math.max(1, deadline - Date.now()));
      if (!chunk) return undefined;
      const [f] = decoder.push(chunk);
      if (f) return text(f.payload);
    }
  } catch {
    return undefined;
  } finally {
    await conn.close();
  }
}

export async function sendMessage(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'send-message <address|hostname> --data D [--type text|json|binary]';
  const x = arg(ctx, 0, 'address|hostname', usage);
  const data = str(ctx, 'data');
  if (data === undefined) throw new PilotError('invalid_argument', '--data is required', `usage: pilotctl ${usage}`);
  const type = (str(ctx, 'type') ?? 'text').toLowerCase();
  const code = { text: DATA_TYPE.TEXT, json: DATA_TYPE.JSON, binary: DATA_TYPE.BINARY }[type];
  if (code === undefined) throw new PilotError('invalid_argument', `invalid --type "${type}"`, 'one of text|json|binary');
  if (type === 'json') {
    try {
      JSON.parse(data);
    } catch {
      throw new PilotError('invalid_argument', '--data is not valid JSON (with --type json)');
    }
  }
  return withDaemon(ctx, async (c) => {
    const t = await resolveTarget(ctx, c, x);
    const payload = utf8(data);
    const ack = await exchangeFrame(await dial(c, t, PORTS.dataExchange), code, payload, 30_000);
    if (ack?.startsWith('ERR ')) throw new PilotError('internal', `remote: ${ack}`);
    return { data: { target: t.text, type, bytes: payload.length, ...(ack ? { ack } : {}) }, text: `sent ${payload.length} bytes to ${t.text}${ack ? ` — ${ack}` : ' (no acknowledgement)'}` };
  });
}

export async function sendFile(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'send-file <address|hostname> <path>';
  const x = arg(ctx, 0, 'address|hostname', usage);
  const file = arg(ctx, 1, 'path', usage);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PilotError('not_found', `file not found: ${file}`);
    if (code === 'EISDIR') throw new PilotError('invalid_argument', `${file} is a directory`);
    throw new PilotError('invalid_argument', `cannot read ${file}: ${(e as Error).message}`);
  }
  if (bytes.length > (1 << 24) - 1024) throw new PilotError('invalid_argument', `${file} is too large (${bytes.length} bytes; the limit is 16 MiB)`);
  const name = path.basename(file);
  return withDaemon(ctx, async (c) => {
    const t = await resolveTarget(ctx, c, x);
    const ack = await exchangeFrame(await dial(c, t, PORTS.dataExchange), DATA_TYPE.FILE, encodeFilePayload(name, bytes), 60_000);
    if (ack?.startsWith('ERR ')) throw new PilotError('internal', `remote: ${ack}`);
    return { data: { filename: name, bytes: bytes.length, destination: t.text, ...(ack ? { ack } : {}) }, text: `sent ${name} (${bytes.length} bytes) to ${t.text}${ack ? ` — ${ack}` : ''}` };
  });
}

export async function publish(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'publish <address|hostname> <topic> --data D';
  const x = arg(ctx, 0, 'address|hostname', usage);
  const topic = arg(ctx, 1, 'topic', usage);
  const data = str(ctx, 'data');
  if (data === undefined) throw new PilotError('invalid_argument', '--data is required', `usage: pilotctl ${usage}`);
  return withDaemon(ctx, async (c) => {
    const t = await resolveTarget(ctx, c, x);
    const conn = await dial(c, t, PORTS.eventStream);
    const payload = utf8(data);
    conn.write(encodeEvent(topic, new Uint8Array(0))); // the first event is the subscription
    conn.write(encodeEvent(topic, payload));
    await conn.close();
    return { data: { target: t.text, topic, bytes: payload.length }, text: `published ${payload.length} bytes to "${topic}" on ${t.text}` };
  });
}

export async function subscribe(ctx: CommandContext): Promise<CommandResult> {
  const usage = 'subscribe <address|hostname> <topic> [--count N] [--timeout D]';
  const x = arg(ctx, 0, 'address|hostname', usage);
  const topic = arg(ctx, 1, 'topic', usage);
  const count = parseCount(ctx, 0, 0);
  const timeoutMs = parseTimeout(ctx, 0, true);
  const bounded = count > 0 || timeoutMs > 0;
  return withDaemon(ctx, async (c) => {
    const t = await resolveTarget(ctx, c, x);
    const conn = await dial(c, t, PORTS.eventStream);
    conn.write(encodeEvent(topic, new Uint8Array(0)));
    if (!ctx.json) ctx.err(`subscribed to "${topic}" on ${t.text} — waiting for events...\n`);
    const events: { topic: string; data: string; bytes: number }[] = [];
    const decoder = new EventDecoder();
    let finish: (r: { timedOut: boolean; error?: string }) => void = () => undefined;
    const finished = new Promise<{ timedOut: boolean; error?: string }>((r) => (finish = r));
    conn.on('data', (chunk) => {
      let evs;
      try {
        evs = decoder.push(chunk);
      } catch (e) {
        finish({ timedOut: false, error: toPilotError(e).message });
        return;
      }
      for (const ev of evs) {
        const e = { topic: ev.topic, data: text(ev.payload), bytes: ev.payload.length };
        events.push(e);
        if (ctx.json && !bounded) ctx.out(goJson(e) + '\n');
        else if (!ctx.json) ctx.out(`[${e.topic}] ${e.data}\n`);
        if (count > 0 && events.length >= count) finish({ timedOut: false });
      }
    });
    conn.on('close', () => finish({ timedOut: false, error: 'event stream closed' }));
    const timer = timeoutMs > 0 ? setTimeout(() => finish({ timedOut: true }), timeoutMs) : undefined;
    ctx.interrupted.then(() => finish({ timedOut: false }), () => undefined);
    const r = await finished;
    if (timer) clearTimeout(timer);
    await conn.close();
    if (r.timedOut && !ctx.json) ctx.err('timeout\n');
    if (r.error && events.length === 0) {
      throw new PilotError('connection_failed', `subscription to ${t.text} ended: ${r.error}`, `is ${t.text} trusting you? pilotctl handshake ${t.text} "reason"`);
    }
    if (ctx.json && bounded) return { data: { events, timeout: r.timedOut, ...(r.error ? { error: r.error } : {}) } };
    return { data: null, printed: true };
  });
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
  } catch {
    return [];
  }
}

function clearDir(dir: string, names: string[]): number {
  let n = 0;
  for (const name of names) {
    try {
      fs.unlinkSync(path.join(dir, name));
      n++;
    } catch {
      // raced
    }
  }
  return n;
}

export async function received(ctx: CommandContext): Promise<CommandResult> {
  const dir = path.join(pilotPaths(ctx.env).dataDir, 'received');
  const names = listDir(dir);
  if (ctx.flags['clear'] === true) {
    const n = clearDir(dir, names);
    return { data: { cleared: n }, text: `cleared ${n} received file(s)` };
  }
  const files = names.flatMap((name) => {
    try {
      const st = fs.statSync(path.join(dir, name));
      return st.isFile() ? [{ name, bytes: st.size, modified: st.mtime.toISOString(), path: path.join(dir, name), mtimeMs: st.mtimeMs }] : [];
    } catch {
      return [];
    }
  });
  const text = files.length
    ? [`  ${pad('NAME', 40)}  ${pad('SIZE', 10)}  RECEIVED`, ...files.map((f) => `  ${pad(f.name, 40)}  ${pad(`${f.bytes} B`, 10)}  ${localTime(f.mtimeMs)}`), `total: ${files.length}`].join('\n')
    : `no received files\n  files arrive in ${dir} when someone runs: pilotctl send-file <you> <path>`;
  return { data: { files: files.map(({ mtimeMs: _m, ...f }) => f), total: files.length, dir }, text };
}

export async function inbox(ctx: CommandContext): Promise<CommandResult> {
  const dir = path.join(pilotPaths(ctx.env).dataDir, 'inbox');
  const names = listDir(dir).filter((n) => n.endsWith('.json'));
  if (ctx.flags['clear'] === true) {
    const n = clearDir(dir, names);
    return { data: { cleared: n }, text: `cleared ${n} message(s)` };
  }
  const messages = names.flatMap((n) => {
    try {
      return [JSON.parse(fs.readFileSync(path.join(dir, n), 'utf8')) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
  const lines = [`Inbox (${messages.length} messages):`];
  for (const m of messages) {
    const d = String(m['data'] ?? '');
    lines.push(`  [${String(m['received_at'] ?? '')}] from ${String(m['from'] ?? '?')} type=${String(m['type'] ?? '?')}`, `    ${d.length > 80 ? d.slice(0, 80) + '...' : d}`);
  }
  if (messages.length) lines.push('', 'clear with: pilotctl inbox --clear');
  return { data: { messages, total: messages.length, dir }, text: lines.join('\n') };
}
