/**
 * One backbone process under a simulated population, over real TCP:
 *   npx tsx bench/backbone-scale.ts [--agents 150000] [--conns 500] [--heartbeat-ms 30000]
 *     [--active-share 0.05] [--public-share 0.1] [--window-ms 60000] [--cpu-prof DIR]
 *
 * The backbone is bench/fleet-backbone.ts (startBackbone with the crash-safe FileStore), with the
 * registrations-per-IP limit and the per-connection request limit raised: all agents come from
 * 127.0.0.1 and each of the `--conns` connections carries agents/conns agents (requests pipelined
 * in order on it, as the server answers in order).
 *
 * Each simulated agent has its own Ed25519 key (node:crypto) and registers with a hostname, sets
 * two tags (of 200), `--public-share` of them turn public; then every agent heartbeats once per
 * `--heartbeat-ms` (the reference daemon's 30 s, registry.md §7), spread evenly, and
 * `--active-share` of them also do one lookup of a random agent and one authenticated find-by-tag
 * per heartbeat. Measured during `--window-ms` of that steady state: backbone CPU share (per 1,000
 * agents), RSS per agent, p50/p99 of each request type as the agents see it (client-side, including
 * the driver's own event-loop delays on this shared machine). A connection with `--max-pending`
 * unanswered requests gets no more (counted as shed): a saturated backbone shows as shed load and
 * bounded latencies instead of an ever-growing queue. Then: the backbone is killed
 * (SIGKILL, as a crash) and restarted on its data directory: time to readiness and nodes restored;
 * then a clean stop (snapshot) and restart again.
 *
 * Signatures of constant challenges (`heartbeat:<id>`, `find_nodes:<id>`) are made once per agent
 * (Ed25519 is deterministic, the server cannot tell), so the driver's CPU goes to the load itself.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { FrameDecoder, MAX_FRAME, decodeJson, encodeJsonFrame } from '../main/wire/framing';
import { percentileSummary, type Summary } from './fleet-common';
import { startBenchBackbone } from './fleet-run';

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
function sarg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const AGENTS = arg('agents', 150_000);
const CONNS = Math.min(arg('conns', 500), AGENTS);
const HEARTBEAT_MS = arg('heartbeat-ms', 30_000);
const ACTIVE_SHARE = arg('active-share', 0.05);
const PUBLIC_SHARE = arg('public-share', 0.1);
const WINDOW_MS = arg('window-ms', 60_000);
const CPU_PROF = sarg('cpu-prof');
const TAGS = Array.from({ length: 200 }, (_, i) => `skill-${i}`);
const log = (l: string): void => {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${l}\n`);
};

type Json = Record<string, unknown>;

/** One TCP connection to the registry, requests pipelined, replies matched in order. */
class Conn {
  /** Requests sent and not answered yet. */
  get pending(): number {
    return this.queue.length;
  }
  private readonly decoder = new FrameDecoder(MAX_FRAME);
  private readonly queue: { t0: number; resolve: (r: Json) => void; reject: (e: Error) => void }[] = [];
  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      for (const f of this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        this.queue.shift()?.resolve(decodeJson(f) as Json);
      }
    });
    const fail = (e: Error): void => {
      for (const q of this.queue.splice(0)) q.reject(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }
  static open(host: string, port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => {
        s.off('error', reject);
        resolve(new Conn(s));
      });
      s.once('error', reject);
    });
  }
  /** Sends one request; resolves with the reply and its round trip in ms. */
  request(msg: Json): Promise<{ reply: Json; ms: number }> {
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      this.queue.push({ t0, resolve: (reply) => resolve({ reply, ms: performance.now() - t0 }), reject });
      this.socket.write(encodeJsonFrame(msg));
    });
  }
  close(): void {
    this.socket.destroy();
  }
}

interface Agent {
  id: number;
  pub: string;
  hbSig: string;
  findSig: string;
}

const sigOf = (key: KeyObject, text: string): string => sign(null, Buffer.from(text), key).toString('base64');

function rawPublic(k: KeyObject): string {
  const jwk = k.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

/** Runs `fn` over items with `width` in flight on each connection. */
async function perConn<T>(conns: Conn[], items: T[], width: number, fn: (c: Conn, x: T) => Promise<void>): Promise<void> {
  await Promise.all(
    conns.map(async (c, k) => {
      const mine = items.filter((_, i) => i % conns.length === k);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(width, mine.length) }, async () => {
          while (next < mine.length) await fn(c, mine[next++]!);
        }),
      );
    }),
  );
}

function expectOk(r: Json, what: string): void {
  if (r['type'] === 'error') throw new Error(`${what}: ${JSON.stringify(r)}`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pilot-bbscale-'));
const dataDir = path.join(dir, 'data');
const load0 = os.loadavg();
// --cpu-prof DIR: the loaded backbone process writes a .cpuprofile there when it stops cleanly
let { bb, ready } = await startBenchBackbone(dataDir, [], CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROF] : []);
const [host, portText] = [ready.registry.slice(0, ready.registry.lastIndexOf(':')), ready.registry.slice(ready.registry.lastIndexOf(':') + 1)];
const port = Number(portText);
const base = await bb.status();
log(`backbone pid ${ready.pid} on ${ready.registry}; empty RSS ${(base.mem.rss / 1048576).toFixed(1)} MB`);

// Keys are made per agent just before it registers, and only its signatures are kept: holding
// 150,000 private KeyObjects at once hung this Node (v20.20.2) twice in generateKeyPairSync between
// 100,000 and 150,000 keys (main thread parked on a futex, no CPU), also outside this bench.
const agents: Agent[] = Array.from({ length: AGENTS }, () => ({ id: 0, pub: '', hbSig: '', findSig: '' }));

// ---- register: hostname, two tags, some public
const conns = await Promise.all(Array.from({ length: CONNS }, () => Conn.open(host, port)));
const regLat: number[] = [];
const t = performance.now();
const cpuReg0 = await bb.status();
const regCpu = (s: typeof cpuReg0): number => s.cpu.user + s.cpu.system;
await perConn(
  conns,
  agents.map((a, i) => ({ a, i })),
  4,
  async (c, { a, i }) => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    a.pub = rawPublic(publicKey);
    const r = await c.request({ type: 'register', listen_addr: `:${4000 + (i % 60000)}`, public_key: a.pub, hostname: `agent-${i}` });
    expectOk(r.reply, 'register');
    regLat.push(r.ms);
    a.id = r.reply['node_id'] as number;
    const tags = [TAGS[i % 200]!, TAGS[(i * 7 + 3) % 200]!];
    expectOk((await c.request({ type: 'set_tags', node_id: a.id, tags, signature: sigOf(privateKey, `set_tags:${a.id}`) })).reply, 'set_tags');
    if (i % Math.round(1 / PUBLIC_SHARE) === 0) {
      expectOk((await c.request({ type: 'set_visibility', node_id: a.id, public: true, signature: sigOf(privateKey, `set_visibility:${a.id}`) })).reply, 'set_visibility');
    }
    a.hbSig = sigOf(privateKey, `heartbeat:${a.id}`);
    a.findSig = sigOf(privateKey, `find_nodes:${a.id}`);
  },
);
const regMs = performance.now() - t;
const afterReg = await bb.status();
const regCpuShare = (regCpu(afterReg) - regCpu(cpuReg0)) / 1000 / regMs;
log(`registered ${AGENTS} in ${Math.round(regMs)} ms; backbone RSS ${(afterReg.mem.rss / 1048576).toFixed(1)} MB`);

// ---- steady state: heartbeats spread over the interval, lookups and tag searches from a share
const lat: Record<string, number[]> = { heartbeat: [], lookup: [], find_nodes: [] };
let errors = 0;
let measuring = false;
let sent = 0;
let cursor = 0;
const activeEvery = Math.max(1, Math.round(1 / ACTIVE_SHARE));
const started = performance.now();
let inflight = 0;
/** Requests not sent because their connection already had MAX_PENDING unanswered (backbone saturated). */
let shed = 0;
let offered = 0;
const MAX_PENDING = arg('max-pending', 100);
const fire = (c: Conn, msg: Json, kind: string): void => {
  if (measuring) offered++;
  if (c.pending >= MAX_PENDING) {
    if (measuring) shed++;
    return;
  }
  inflight++;
  c.request(msg).then(
    (r) => {
      inflight--;
      if (r.reply['type'] === 'error') errors++;
      else if (measuring) lat[kind]!.push(r.ms);
    },
    () => {
      inflight--;
      errors++;
    },
  );
};
const ticker = setInterval(() => {
  const due = Math.floor(((performance.now() - started) / HEARTBEAT_MS) * AGENTS);
  while (sent < due) {
    const i = cursor;
    cursor = (cursor + 1) % AGENTS;
    sent++;
    const a = agents[i]!;
    const c = conns[i % CONNS]!;
    fire(c, { type: 'heartbeat', node_id: a.id, signature: a.hbSig }, 'heartbeat');
    if (i % activeEvery === 0) {
      fire(c, { type: 'lookup', node_id: agents[(i * 7919 + sent) % AGENTS]!.id }, 'lookup');
      fire(c, { type: 'find_nodes', tags: [TAGS[(i + sent) % 200]!], limit: 20, requester_id: a.id, signature: a.findSig }, 'find_nodes');
    }
  }
}, 5);
// one warm-up round of heartbeats, then the window
await new Promise((r) => setTimeout(r, Math.min(HEARTBEAT_MS, 30_000)));
const w0 = await bb.status();
measuring = true;
const tw = performance.now();
await new Promise((r) => setTimeout(r, WINDOW_MS));
measuring = false;
const w1 = await bb.status();
const windowMs = performance.now() - tw;
clearInterval(ticker);
for (let k = 0; k < 600 && inflight > 0; k++) await new Promise((r) => setTimeout(r, 50));
for (const c of conns) c.close();
const cpuShare = (w1.cpu.user + w1.cpu.system - w0.cpu.user - w0.cpu.system) / 1000 / windowMs;
const summaries: Record<string, Summary> = Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, percentileSummary(v)]));
const reg = percentileSummary(regLat);
log(`window ${Math.round(windowMs)} ms: cpu ${(cpuShare * 100).toFixed(1)} %`);

// ---- restart after a crash (SIGKILL) and after a clean stop
const restart = async (how: 'SIGKILL' | 'SIGTERM'): Promise<{ ms: number; restoreMs: number; nodes: number }> => {
  if (how === 'SIGTERM') bb.proc.stdin!.end();
  else bb.proc.kill('SIGKILL');
  await bb.exited;
  const t1 = performance.now();
  ({ bb, ready } = await startBenchBackbone(dataDir));
  return { ms: performance.now() - t1, restoreMs: ready.restoreMs, nodes: ready.nodes };
};
// with --cpu-prof the loaded process must stop cleanly to write its profile: clean stop first then
let crash: Awaited<ReturnType<typeof restart>>;
let clean: Awaited<ReturnType<typeof restart>>;
if (CPU_PROF) {
  clean = await restart('SIGTERM');
  crash = await restart('SIGKILL');
} else {
  crash = await restart('SIGKILL');
  clean = await restart('SIGTERM');
}
log(`after SIGKILL: ready in ${Math.round(crash.ms)} ms, ${crash.nodes} nodes; after a clean stop: ${Math.round(clean.ms)} ms, ${clean.nodes} nodes`);
bb.proc.stdin!.end();
await bb.exited;
fs.rmSync(dir, { recursive: true, force: true });

const ms = (x: number): string => (x >= 100 ? `${Math.round(x)} ms` : `${x.toFixed(2)} ms`);
const row = (k: string, s: Summary): string => `| ${k} (${s.n.toLocaleString('en-US')} in the window) | ${(s.n / (windowMs / 1000)).toFixed(0)} /s · p50 ${ms(s.p50)} · p99 ${ms(s.p99)} |`;
console.log(
  `\n### Backbone at scale: ${AGENTS.toLocaleString('en-US')} simulated agents over TCP (${new Date().toISOString().slice(0, 16)}Z, Node ${process.version}, ${os.cpus().length} cores, load average before ${load0.map((x) => x.toFixed(2)).join(' ')})\n`,
);
console.log(`Flags: --agents ${AGENTS} --conns ${CONNS} --heartbeat-ms ${HEARTBEAT_MS} --active-share ${ACTIVE_SHARE} --public-share ${PUBLIC_SHARE} --window-ms ${WINDOW_MS}\n`);
console.log('| measure | value |\n|---|---|');
console.log(`| registration (register + set_tags, ${PUBLIC_SHARE * 100} % also set_visibility), ${CONNS} connections | ${Math.round(AGENTS / (regMs / 1000)).toLocaleString('en-US')} agents/s · register p50 ${ms(reg.p50)} · p99 ${ms(reg.p99)} · backbone CPU ${(regCpuShare * 100).toFixed(0)} % |`);
console.log(`| backbone CPU, steady state | ${(cpuShare * 100).toFixed(1)} % of one core = ${((cpuShare * 100 * 1000) / AGENTS).toFixed(3)} % per 1,000 agents |`);
console.log(`| backbone RSS with ${AGENTS.toLocaleString('en-US')} agents (empty: ${(base.mem.rss / 1048576).toFixed(0)} MB) | ${(w1.mem.rss / 1048576).toFixed(0)} MB = ${((w1.mem.rss - base.mem.rss) / AGENTS).toFixed(0)} bytes per agent (heap ${(w1.mem.heapUsed / 1048576).toFixed(0)} MB) |`);
console.log(row('heartbeat', summaries['heartbeat']!));
console.log(row('lookup', summaries['lookup']!));
console.log(row('find_nodes by tag, authenticated, limit 20', summaries['find_nodes']!));
console.log(`| requests offered in the window / not sent because the connection had ${MAX_PENDING} unanswered (saturation) / error replies | ${offered.toLocaleString('en-US')} / ${shed.toLocaleString('en-US')} / ${errors} |`);
console.log(`| restart after SIGKILL (WAL + last snapshot): process start to ready / restore inside | ${ms(crash.ms)} / ${ms(crash.restoreMs)} · ${crash.nodes.toLocaleString('en-US')} nodes |`);
console.log(`| restart after a clean stop (snapshot): process start to ready / restore inside | ${ms(clean.ms)} / ${ms(clean.restoreMs)} · ${clean.nodes.toLocaleString('en-US')} nodes |`);
