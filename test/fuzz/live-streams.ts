/**
 * Live fuzzing of the stream-oriented doors: the registry's TCP port, the daemon's IPC socket and
 * the console WebSocket. Lock-step: one malformed frame, then its outcome (a reply, by type or error
 * code, or the server closing the connection) before the next, so every frame is accounted for and
 * a frame that gets neither within 5 s is counted as a hang. Afterwards a good client must be served.
 */
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { METHOD_NAMES, type MethodArgs, type MethodName, type MethodResult, type ResponseEnvelope } from '../../shared/contract';
import { decodeJson, encodeFrame, FrameDecoder, MAX_FRAME } from '../../main/wire/framing';
import { decodeIpc, IPC_CMD } from '../../main/wire/ipc';
import { validateCall } from '../../main/api/dispatch';
import type { ConsoleService } from '../../main/api/service';
import { startWebConsole } from '../../main/console/web-server';
import { RegistryClient } from '../../main/node/registry-client';
import { withClient } from '../../main/daemon/client';
import { mulberry32 } from '../../main/util/random';
import { mutateRandomly } from './mutate';
import { alive, rssKb, type Fleet } from './live-fleet';

export interface StreamFuzzResult {
  target: string;
  sent: number;
  connections: number;
  /** What each frame got: `reply:<type>`, `error:<code or message class>`, `closed`, `closed:<ws code>`, `hang`. */
  outcomes: Record<string, number>;
  /** Counters the server keeps itself, where it exposes them. */
  serverCounters?: Record<string, number>;
  byFamily: Record<string, number>;
  goodClientOk: boolean;
  rssKb?: { before?: number; after?: number };
  durationMs: number;
  failures: string[];
}

const HANG_MS = 5000;

type Rand = () => number;
const mk = (rand: Rand) => {
  const int = (n: number): number => Math.floor(rand() * n);
  const bytes = (n: number): Uint8Array => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = int(256);
    return b;
  };
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { int, bytes, pick };
};

/** JSON values that break naive field handling (same spirit as the property tests' `hostile`). */
function hostileValue(rand: Rand): unknown {
  const { int, pick } = mk(rand);
  return pick<() => unknown>([
    () => pick([0, -1, 1.5, 0xffffffff, 2 ** 32, 2 ** 53, 1e308, -1e308, '', '0', null, true, [], {}, [null], 'x'.repeat(int(5000))]),
    () => int(0x100000000),
    () => String.fromCharCode(...Array.from({ length: int(40) }, () => int(0x3000))),
    () => ({ [String(int(100))]: int(10) }),
  ])();
}

function mutateJsonObject(rand: Rand, t: Record<string, unknown>): Record<string, unknown> {
  const { int, pick } = mk(rand);
  const o: Record<string, unknown> = { ...t };
  const keys = Object.keys(o);
  for (let i = 0, n = 1 + int(3); i < n; i++) {
    const r = rand();
    if (r < 0.6 && keys.length) o[pick(keys)] = hostileValue(rand);
    else if (r < 0.8 && keys.length) delete o[pick(keys)];
    else o[pick(['extra', 'x', 'constructor', 'node_id', 'type'])] = hostileValue(rand);
  }
  return o;
}

/** A framed connection: send bytes, await the next frame or the close. */
class Framed {
  private readonly decoder = new FrameDecoder();
  private readonly frames: Uint8Array[] = [];
  private waiter: ((v: Uint8Array | 'closed') => void) | undefined;
  closed = false;

  private constructor(readonly sock: net.Socket) {
    sock.on('data', (c: Buffer) => {
      try {
        for (const f of this.decoder.push(new Uint8Array(c.buffer, c.byteOffset, c.length))) this.frames.push(f);
      } catch {
        sock.destroy();
      }
      this.wake();
    });
    sock.on('close', () => {
      this.closed = true;
      this.wake();
    });
    sock.on('error', () => undefined);
  }

  static open(opts: net.NetConnectOpts): Promise<Framed> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(opts);
      s.once('connect', () => resolve(new Framed(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    const f = this.frames.shift();
    if (f) {
      this.waiter = undefined;
      w(f);
    } else if (this.closed) {
      this.waiter = undefined;
      w('closed');
    }
  }

  /** Writes raw bytes and waits for one frame, the close, or `hang` after HANG_MS. */
  exchange(bytes: Uint8Array): Promise<Uint8Array | 'closed' | 'hang'> {
    if (!this.closed) this.sock.write(bytes);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        resolve('hang');
      }, HANG_MS);
      this.waiter = (v): void => {
        clearTimeout(t);
        resolve(v);
      };
      this.wake();
    });
  }

  close(): void {
    this.sock.destroy();
  }
}

function bump(c: Record<string, number>, k: string): void {
  c[k] = (c[k] ?? 0) + 1;
}

// ---- registry ----------------------------------------------------------------------------------

export async function fuzzRegistry(f: Fleet, o: { frames: number; seed: number }): Promise<StreamFuzzResult> {
  const t0 = performance.now();
  const rand = mulberry32(o.seed ^ 0x5eed);
  const { int, bytes, pick } = mk(rand);
  const [host, port] = [f.bb.registry.slice(0, f.bb.registry.lastIndexOf(':')), Number(f.bb.registry.slice(f.bb.registry.lastIndexOf(':') + 1))];
  const templates: Record<string, unknown>[] = [
    { type: 'lookup', node_id: f.victimId },
    { type: 'resolve', node_id: f.victimId, requester_id: f.attacker.nodeId, signature: 'AAAA' },
    { type: 'heartbeat', node_id: f.victimId, signature: 'AAAA' },
    { type: 'deregister', node_id: f.victimId, signature: Buffer.from(bytes(64)).toString('base64') },
    { type: 'set_hostname', node_id: f.victimId, hostname: 'pwned', signature: 'AAAA' },
    { type: 'resolve_hostname', hostname: f.victimName },
    { type: 'register', listen_addr: '127.0.0.1:1', public_key: Buffer.from(bytes(32)).toString('base64'), hostname: f.victimName },
    { type: 'list_nodes', network_id: 0 },
    { type: 'find_nodes', node_id: f.attacker.nodeId, tag: 'x', signature: 'AAAA' },
    { type: 'punch', requester_id: f.attacker.nodeId, node_a: f.victimId, node_b: f.attacker.nodeId, signature: 'AAAA' },
    { type: 'beacon_register', beacon_id: 9, addr: '10.0.0.1:1' },
    { type: 'subscribe_replication' },
  ];
  const families: Record<string, () => Uint8Array> = {
    random_bytes: () => encodeFrame(bytes(int(200))),
    json_not_object: () => encodeFrame(new TextEncoder().encode(JSON.stringify(pick([1, 'x', null, [], [{ type: 'lookup' }], true])))),
    json_mutated: () => encodeFrame(new TextEncoder().encode(JSON.stringify(mutateJsonObject(rand, pick(templates))))),
    json_bytes_mutated: () => encodeFrame(mutateRandomly(rand, new TextEncoder().encode(JSON.stringify(pick(templates))))),
    unknown_type: () => encodeFrame(new TextEncoder().encode(JSON.stringify({ type: pick(['', 'x', '__proto__', 'constructor', 'toString', String(int(1e6))]) }))),
    invalid_utf8: () => encodeFrame(Uint8Array.of(0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d)),
    deep_json: () => encodeFrame(new TextEncoder().encode('['.repeat(50_000 + int(50_000)))),
    oversize_prefix: () => Uint8Array.of(...[pick([MAX_FRAME + 1, 0x7fffffff, 0xffffffff])].flatMap((n) => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]), 1, 2, 3),
  };
  const names = Object.keys(families);
  const outcomes: Record<string, number> = {};
  const byFamily: Record<string, number> = {};
  const rssBefore = rssKb(f.bb.proc.pid!);
  let conn: Framed | undefined;
  let onConn = 0;
  let connections = 0;
  for (let i = 0; i < o.frames; i++) {
    // A fresh connection when the last one was closed, and every 300 requests (under the per-connection burst).
    if (!conn || conn.closed || onConn >= 300) {
      conn?.close();
      conn = await Framed.open({ host, port });
      connections++;
      onConn = 0;
    }
    const fam = pick(names);
    bump(byFamily, fam);
    onConn++;
    const r = await conn.exchange(families[fam]!());
    if (r === 'closed' || r === 'hang') bump(outcomes, r);
    else {
      const reply = decodeJson(r) as Record<string, unknown>;
      bump(outcomes, reply['type'] === 'error' ? `error:${String(reply['code'])}` : `reply:${String(reply['type'])}`);
    }
  }
  conn?.close();
  let goodClientOk: boolean;
  const rc = new RegistryClient({ address: f.bb.registry, reconnectAttempts: 1, connectTimeoutMs: 3000, timeoutMs: 5000 });
  try {
    const l = await rc.lookup(f.victimId);
    goodClientOk = l.node_id === f.victimId;
  } catch {
    goodClientOk = false;
  } finally {
    rc.close();
  }
  const failures: string[] = [];
  if (f.bb.proc.exitCode !== null) failures.push(`the backbone process exited (${f.bb.proc.exitCode}): ${f.bb.stderr().slice(-2000)}`);
  if (outcomes['hang']) failures.push(`${outcomes['hang']} frames got neither a reply nor a close within ${HANG_MS} ms`);
  if (outcomes['error:internal']) failures.push(`${outcomes['error:internal']} frames got an internal error`);
  if (!goodClientOk) failures.push('a good client was not served afterwards');
  return { target: `registry ${f.bb.registry}`, sent: o.frames, connections, outcomes, byFamily, goodClientOk, rssKb: { before: rssBefore, after: rssKb(f.bb.proc.pid!) }, durationMs: Math.round(performance.now() - t0), failures };
}

// ---- IPC ---------------------------------------------------------------------------------------

const DRIVER_BOUND = new Set([IPC_CMD.BindOK, IPC_CMD.DialOK, IPC_CMD.Accept, IPC_CMD.Recv, IPC_CMD.CloseOK, IPC_CMD.Error, IPC_CMD.RecvFrom, IPC_CMD.InfoOK, IPC_CMD.HandshakeOK, IPC_CMD.ResolveHostnameOK, IPC_CMD.SetHostnameOK, IPC_CMD.SetVisibilityOK, IPC_CMD.DeregisterOK, IPC_CMD.SetTagsOK, IPC_CMD.SetWebhookOK, IPC_CMD.SetTaskExecOK, IPC_CMD.ExtResponse, IPC_CMD.ExtEvent] as number[]);

/**
 * True when an IPC message is malformed or has no effect on the daemon: it does not decode, is a
 * daemon→driver kind, names a connection that does not exist, is a handshake sub-command that is
 * unknown or read-only, or an extension request the contract rejects. Well-formed commands that
 * would change the victim (set_hostname, deregister, dial, a valid console call...) are not sent:
 * the fuzzer must not turn the daemon into something else than what the good client checks.
 */
function harmless(frame: Uint8Array): boolean {
  let m;
  try {
    m = decodeIpc(frame);
  } catch {
    return true;
  }
  if (DRIVER_BOUND.has(frame[0]!)) return true;
  switch (m.cmd) {
    case 'send':
    case 'close':
      return m.connId > 1_000_000;
    case 'handshake':
      return m.sub === 4 || m.sub === 5 || m.sub === 0 || m.sub > 6 || m.body.length < 4;
    case 'ext_request': {
      let req: unknown;
      try {
        req = decodeJson(m.json);
      } catch {
        return true;
      }
      if (!req || typeof req !== 'object' || Array.isArray(req)) return true;
      const { method, params } = req as { method?: unknown; params?: unknown };
      if (typeof method === 'string' && method.startsWith('events.')) return false;
      return !validateCall(method, params).ok || method === 'node.info' || method === 'peers.list';
    }
    case 'info':
      return true;
    default:
      return false;
  }
}

export async function fuzzIpc(f: Fleet, o: { frames: number; seed: number }): Promise<StreamFuzzResult> {
  const t0 = performance.now();
  const rand = mulberry32(o.seed ^ 0x1bc);
  const { int, bytes, pick } = mk(rand);
  const withCmd = (cmd: number, payload: Uint8Array): Uint8Array => Uint8Array.of(cmd, ...payload);
  const ext = (json: Uint8Array): Uint8Array => withCmd(IPC_CMD.ExtRequest, Uint8Array.of(...bytes(4), ...json));
  const enc = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));
  const families: Record<string, () => Uint8Array> = {
    random: () => bytes(int(200)),
    unknown_cmd: () => withCmd(pick([0x00, 0x1f, 0x20, 0x3f, 0x43, 0x80, 0xff, 0x1f + int(0x21)]), bytes(int(64))),
    driver_bound_cmd: () => withCmd(pick([...DRIVER_BOUND]), bytes(int(64))),
    truncated_fixed: () => withCmd(pick([IPC_CMD.Bind, IPC_CMD.Dial, IPC_CMD.Close, IPC_CMD.Send, IPC_CMD.SendTo, IPC_CMD.Handshake, IPC_CMD.ExtRequest]), bytes(int(2))),
    unknown_conn: () => withCmd(pick([IPC_CMD.Close, IPC_CMD.Send]), Uint8Array.of(0xff, ...bytes(3), ...bytes(int(32)))),
    bad_handshake: () => withCmd(IPC_CMD.Handshake, Uint8Array.of(pick([0, 7, 0x80, 0xff, 1, 2, 3, 6]), ...bytes(int(4)))),
    set_tags_bad_json: () => withCmd(IPC_CMD.SetTags, pick([bytes(int(40)), enc([1, 2]), enc('x'), enc({ tags: [] })])),
    ext_bad_json: () => ext(bytes(int(100))),
    ext_bad_envelope: () => ext(enc(pick<unknown>([null, 1, [], 'x', { method: 1 }, { params: {} }, { method: '__proto__' }]))),
    ext_bad_params: () => ext(enc({ method: pick(METHOD_NAMES), params: mutateJsonObject(rand, { nodeId: 1, target: 'x', name: 'g', hostname: 'h', tags: [] }) })),
    ext_unknown_method: () => ext(enc({ method: pick(['x', 'node', 'node.', '.info', 'constructor', 'toString', 'node.info.x']), params: {} })),
    mutated_valid: () => mutateRandomly(rand, withCmd(pick([IPC_CMD.Info, IPC_CMD.Close, IPC_CMD.SetTags, IPC_CMD.ExtRequest]), Uint8Array.of(0, 0, 0, 1, ...enc({ method: 'node.info', params: {} })))),
  };
  const names = Object.keys(families);
  const outcomes: Record<string, number> = {};
  const byFamily: Record<string, number> = {};
  const rssBefore = rssKb(f.victimPid);
  let conn: Framed | undefined;
  let connections = 0;
  let skipped = 0;
  for (let i = 0; i < o.frames; i++) {
    if (!conn || conn.closed) {
      conn = await Framed.open({ path: f.victim.socket });
      connections++;
    }
    let fam = pick(names);
    let body = families[fam]!();
    while (!harmless(body)) {
      skipped++;
      fam = pick(names);
      body = families[fam]!();
    }
    bump(byFamily, fam);
    // 1 in 200: a length prefix past the 1 MiB limit instead (the daemon must close that connection).
    const oversize = int(200) === 0;
    if (oversize) bump(byFamily, 'oversize_prefix');
    const r = await conn.exchange(oversize ? Uint8Array.of(0xff, 0xff, 0xff, 0xff, 1) : encodeFrame(body));
    if (r === 'closed' || r === 'hang') bump(outcomes, r);
    else {
      let m;
      try {
        m = decodeIpc(r);
      } catch {
        bump(outcomes, 'undecodable_reply');
        continue;
      }
      if (m.cmd === 'error') bump(outcomes, `error:${m.message.replace(/0x[0-9a-f]+|\d+/g, 'N').replace(/^(invalid JSON)[\s\S]*/, '$1').slice(0, 48)}`);
      else if (m.cmd === 'ext_response') {
        const j = decodeJson(m.json) as { ok: boolean; error?: { code: string } };
        bump(outcomes, j.ok ? 'ext:ok' : `ext:${j.error?.code ?? '?'}`);
      } else bump(outcomes, `reply:${m.cmd}`);
    }
  }
  conn?.close();
  let goodClientOk: boolean;
  try {
    const info = await withClient(f.victim.socket, (c) => c.call('node.info', {}));
    goodClientOk = info.nodeId === f.victimId;
  } catch {
    goodClientOk = false;
  }
  const failures: string[] = [];
  if (!alive(f.victimPid)) failures.push('the daemon process died');
  if (outcomes['hang']) failures.push(`${outcomes['hang']} frames got neither a reply nor a close within ${HANG_MS} ms`);
  if (outcomes['ext:internal']) failures.push(`${outcomes['ext:internal']} extension requests got an internal error`);
  if (!goodClientOk) failures.push('a good client was not served afterwards');
  return {
    target: `daemon IPC socket (${skipped} generated frames that would have changed the daemon were not sent)`,
    sent: o.frames,
    connections,
    outcomes,
    byFamily,
    goodClientOk,
    rssKb: { before: rssBefore, after: rssKb(f.victimPid) },
    durationMs: Math.round(performance.now() - t0),
    failures,
  };
}

// ---- console WebSocket -------------------------------------------------------------------------

export async function fuzzWebConsole(o: { messages: number; seed: number }): Promise<StreamFuzzResult> {
  const t0 = performance.now();
  const rand = mulberry32(o.seed ^ 0x3e6);
  const { int, bytes, pick } = mk(rand);
  const reached: Record<string, number> = {};
  const service: ConsoleService = {
    call<M extends MethodName>(method: M, _args: MethodArgs<M>): Promise<MethodResult<M>> {
      bump(reached, method);
      return Promise.resolve([] as unknown as MethodResult<M>);
    },
    on: () => () => undefined,
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-fuzz-web-'));
  fs.writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>fuzz</title>');
  const maxPayload = 256 * 1024;
  const web = await startWebConsole({ service, staticDir: dir, port: 0, maxPayloadBytes: maxPayload });
  const url = `ws://127.0.0.1:${web.port}/api?token=${encodeURIComponent(web.token)}`;
  const openOnce = (): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  // The server caps API sockets (503 at the cap) and frees a slot when it has seen the last one
  // close: retry the upgrade until it has.
  const open = async (): Promise<WebSocket> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await openOnce();
      } catch (e) {
        if (attempt >= 200) throw e;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  type Msg = { data: string | Buffer; binary: boolean };
  const text = (v: unknown): Msg => ({ data: JSON.stringify(v), binary: false });
  const families: Record<string, () => Msg> = {
    not_json: () => ({ data: Buffer.from(bytes(int(100))).toString('latin1'), binary: false }),
    binary: () => ({ data: Buffer.from(bytes(int(100))), binary: true }),
    bad_envelope: () => text(pick<unknown>([null, 1, 'x', [], {}, { id: -1, method: 'node.info' }, { id: 1.5, method: 'node.info' }, { id: 1, method: 'node.info', params: {}, extra: 1 }, { id: 1, method: 'x'.repeat(65) }])),
    mutated_envelope: () => text(mutateJsonObject(rand, { id: int(1000), method: pick(METHOD_NAMES), params: {} })),
    bad_params: () => text({ id: int(1000), method: pick(METHOD_NAMES), params: mutateJsonObject(rand, { nodeId: 1, target: 'x', name: 'g', limit: 5 }) }),
    unknown_method: () => text({ id: int(1000), method: pick(['x', '__proto__', 'constructor', 'hasOwnProperty', 'node.info.x', 'toString']), params: {} }),
    deep_json: () => ({ data: `{"id":1,"method":"peers.ping","params":${'['.repeat(5000)}${']'.repeat(5000)}}`, binary: false }),
    invalid_utf8: () => ({ data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), binary: false }),
    oversized: () => ({ data: 'x'.repeat(maxPayload + 1 + int(1000)), binary: false }),
  };
  // The oversized family is 1 in ~100 (each costs a reconnect), the rest are even.
  const pickFamily = (): string => (int(100) === 0 ? 'oversized' : pick(Object.keys(families).filter((k) => k !== 'oversized')));
  const outcomes: Record<string, number> = {};
  const byFamily: Record<string, number> = {};
  const rssBefore = Math.round(process.memoryUsage().rss / 1024);
  let ws: WebSocket | undefined;
  let connections = 0;
  try {
    for (let i = 0; i < o.messages; i++) {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        ws?.terminate();
        ws = await open();
        connections++;
      }
      const fam = pickFamily();
      bump(byFamily, fam);
      const m = families[fam]!();
      const sock = ws;
      const r = await new Promise<string>((resolve) => {
        const t = setTimeout(() => done('hang'), HANG_MS);
        const onMsg = (d: Buffer): void => {
          const env = JSON.parse(d.toString('utf8')) as ResponseEnvelope;
          done(env.ok ? 'reply:ok' : `error:${env.error.code}`);
        };
        const onClose = (code: number): void => done(`closed:${code}`);
        function done(v: string): void {
          clearTimeout(t);
          sock.off('message', onMsg);
          sock.off('close', onClose);
          resolve(v);
        }
        sock.on('message', onMsg);
        sock.on('close', onClose);
        sock.send(m.data, { binary: m.binary });
      });
      bump(outcomes, r);
    }
    ws?.terminate();
    let goodClientOk = false;
    try {
      const good = await open();
      const reply = await new Promise<string>((resolve) => {
        good.once('message', (d: Buffer) => resolve(d.toString('utf8')));
        good.send(JSON.stringify({ id: 7, method: 'node.info', params: {} }));
      });
      goodClientOk = (JSON.parse(reply) as ResponseEnvelope).ok && (JSON.parse(reply) as ResponseEnvelope).id === 7;
      good.terminate();
    } catch {
      goodClientOk = false;
    }
    const failures: string[] = [];
    if (outcomes['hang']) failures.push(`${outcomes['hang']} messages got neither a reply nor a close within ${HANG_MS} ms`);
    if (!goodClientOk) failures.push('a good client was not served afterwards');
    return {
      target: `console WebSocket (maxPayload ${maxPayload} bytes; calls that passed validation reached the service: ${Object.values(reached).reduce((a, b) => a + b, 0)})`,
      sent: o.messages,
      connections,
      outcomes,
      byFamily,
      goodClientOk,
      rssKb: { before: rssBefore, after: Math.round(process.memoryUsage().rss / 1024) },
      durationMs: Math.round(performance.now() - t0),
      failures,
    };
  } finally {
    ws?.terminate();
    await web.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
