/**
 * The gateway's control socket (`<PILOT_HOME>/gateway.sock`, mode 0600): how `pilotctl gateway
 * map|unmap|list` reach the running gateway. One JSON request line, one JSON reply line:
 *   {"op":"map","addr":"0:0000.0000.0005","ip":"10.4.0.9"?} | {"op":"unmap","ip":"…"} | {"op":"list"}
 *   → {"status":"ok","data":…} | {"status":"error","code":"…","message":"…","hint"?:"…"}
 * Addresses arrive resolved (canonical text): the CLI resolves hostnames through the daemon.
 * Not part of the reference (its map/unmap act on a table inside the CLI process).
 */
import { chmod, unlink } from 'node:fs/promises';
import net from 'node:net';
import { z } from 'zod';
import { PilotError, toPilotError, ERROR_CODES } from '../../shared/errors';
import type { Mapping } from './mapping';

export interface ControlHandlers {
  map(addr: string, ip?: string): Promise<Mapping>;
  unmap(ip: string): Promise<Mapping>;
  list(): Mapping[];
}

const Request = z.discriminatedUnion('op', [
  z.object({ op: z.literal('map'), addr: z.string().max(64), ip: z.string().max(64).optional() }),
  z.object({ op: z.literal('unmap'), ip: z.string().max(64) }),
  z.object({ op: z.literal('list') }),
]);
export type ControlRequest = z.infer<typeof Request>;

const Reply = z.union([
  z.object({ status: z.literal('ok'), data: z.unknown() }),
  z.object({ status: z.literal('error'), code: z.enum(ERROR_CODES), message: z.string(), hint: z.string().optional() }),
]);

const MAX_LINE = 4096;

export class ControlServer {
  private constructor(
    private readonly server: net.Server,
    private readonly path: string,
  ) {}

  static async listen(path: string, h: ControlHandlers): Promise<ControlServer> {
    // A socket file left by a gateway that died: nobody answers on it (start checked the pid).
    await unlink(path).catch(() => undefined);
    const server = net.createServer((sock) => {
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('error', () => undefined);
      sock.on('data', (chunk: string) => {
        buf += chunk;
        const nl = buf.indexOf('\n');
        if (nl < 0) {
          if (buf.length > MAX_LINE) sock.destroy();
          return;
        }
        const line = buf.slice(0, nl);
        sock.removeAllListeners('data');
        answer(h, line)
          .then((reply) => sock.end(JSON.stringify(reply) + '\n'))
          .catch(() => sock.destroy());
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await chmod(path, 0o600);
    return new ControlServer(server, path);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await unlink(this.path).catch(() => undefined);
  }
}

async function answer(h: ControlHandlers, line: string): Promise<unknown> {
  try {
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      throw new PilotError('invalid_argument', 'control request is not JSON');
    }
    const r = Request.safeParse(raw);
    if (!r.success) throw new PilotError('invalid_argument', `bad control request: ${r.error.issues[0]?.message ?? 'invalid'}`);
    const req = r.data;
    let data: unknown;
    if (req.op === 'map') data = await h.map(req.addr, req.ip);
    else if (req.op === 'unmap') data = await h.unmap(req.ip);
    else data = h.list();
    return { status: 'ok', data };
  } catch (e) {
    const pe = toPilotError(e);
    return { status: 'error', code: pe.code, message: pe.message, ...(pe.hint ? { hint: pe.hint } : {}) };
  }
}

export const GATEWAY_NOT_RUNNING_HINT = 'start it with: sudo pilotctl gateway start';

/** Sends one request to the running gateway; `not_running` when nothing answers. */
export function controlRequest(path: string, req: ControlRequest, timeoutMs = 15_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ path });
    let buf = '';
    const t = setTimeout(() => {
      sock.destroy();
      reject(new PilotError('timeout', `the gateway did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (c: string) => (buf += c));
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(t);
      if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED') reject(new PilotError('not_running', 'gateway is not running', GATEWAY_NOT_RUNNING_HINT));
      else reject(new PilotError('connection_failed', `cannot reach the gateway at ${path}: ${e.message}`));
    });
    sock.on('end', () => {
      clearTimeout(t);
      let v: z.infer<typeof Reply>;
      try {
        v = Reply.parse(JSON.parse(buf.trim()));
      } catch {
        reject(new PilotError('internal', 'the gateway sent an unreadable reply'));
        return;
      }
      if (v.status === 'ok') resolve(v.data);
      else reject(new PilotError(v.code, v.message, v.hint));
    });
  });
}
