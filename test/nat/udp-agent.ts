// A small UDP program run inside lab namespaces (node --import tsx udp-agent.ts …).
//
//   reflector PORT...      beacon-like server on each port: `who` → `seen` (observed source ip:port),
//                          `reg`/`punch` → records names and sends `punch-to` to both sides, `relay` →
//                          forwards to the named peer's recorded endpoint, `probe`/`count` → counts
//                          distinct probes per run (for loss measurements).
//   peer NAME [PORT]       one UDP socket; JSON commands on stdin (see PeerCommand in udp-tools.ts),
//                          results ({"re": id, "ok": …}) and events ({"ev": …}) on stdout.
//
// Both print `READY {…}` once their sockets are bound. Every retry loop is bounded by its attempts.
// The agent exits when stdin closes, so it cannot outlive the test that started it.

import dgram from 'node:dgram';
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import type { Endpoint, PeerCommand, PeerEvent, PeerResult, Wire } from './udp-tools';

type Socket = dgram.Socket;

function out(v: PeerResult | PeerEvent | Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(v)}\n`);
}

function decode(msg: Buffer): Wire | undefined {
  try {
    const v = JSON.parse(msg.toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && typeof (v as { t?: unknown }).t === 'string' ? (v as Wire) : undefined;
  } catch {
    return undefined;
  }
}

function send(sock: Socket, to: Endpoint, m: Wire): void {
  sock.send(JSON.stringify(m), to.port, to.ip);
}

function endpoint(s: string): Endpoint {
  const i = s.lastIndexOf(':');
  return { ip: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

const key = (e: Endpoint): string => `${e.ip}:${e.port}`;

function bind(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
    sock.once('error', reject);
    sock.bind(port, '0.0.0.0', () => {
      sock.off('error', reject);
      sock.on('error', (e) => process.stderr.write(`socket error: ${e.message}\n`));
      resolve(sock);
    });
  });
}

/**
 * Calls `tick` now and every `intervalMs`, at most `attempts` times, until `done()`; gives the last
 * attempt one more interval. `wake` lets an arriving answer end the wait at once.
 */
function repeat(attempts: number, intervalMs: number, done: () => boolean, tick: () => void): { result: Promise<boolean>; wake: () => void } {
  let wake = (): void => undefined;
  const result = new Promise<boolean>((resolve) => {
    let n = 0;
    let timer: NodeJS.Timeout | undefined;
    const step = (): void => {
      clearTimeout(timer);
      if (done()) return resolve(true);
      if (n >= attempts) return resolve(false);
      n += 1;
      tick();
      timer = setTimeout(step, intervalMs);
    };
    wake = () => {
      if (done()) {
        clearTimeout(timer);
        resolve(true);
      }
    };
    step();
  });
  return { result, wake };
}

// ---------------------------------------------------------------------------------------------------

async function reflector(ports: number[]): Promise<void> {
  const table = new Map<string, { sock: Socket; ep: Endpoint }>();
  const probes = new Map<string, Set<number>>();
  const socks: Socket[] = [];
  for (const port of ports) {
    const sock = await bind(port);
    socks.push(sock);
    sock.on('message', (msg, rinfo) => {
      const m = decode(msg);
      if (!m) return;
      const src: Endpoint = { ip: rinfo.address, port: rinfo.port };
      switch (m.t) {
        case 'who':
          send(sock, src, { t: 'seen', ip: src.ip, port: src.port, via: port });
          break;
        case 'reg':
          table.set(m.id, { sock, ep: src });
          send(sock, src, { t: 'registered', ip: src.ip, port: src.port });
          break;
        case 'punch': {
          table.set(m.id, { sock, ep: src });
          const target = table.get(m.target);
          if (!target) break; // like the beacon: unknown target → silently dropped
          send(sock, src, { t: 'punch-to', id: m.target, ip: target.ep.ip, port: target.ep.port });
          send(target.sock, target.ep, { t: 'punch-to', id: m.id, ip: src.ip, port: src.port });
          break;
        }
        case 'relay': {
          const target = table.get(m.to);
          if (target) send(target.sock, target.ep, { t: 'relayed', from: m.from, data: m.data });
          break;
        }
        case 'probe': {
          let seen = probes.get(m.run);
          if (!seen) probes.set(m.run, (seen = new Set()));
          seen.add(m.seq);
          break;
        }
        case 'count':
          send(sock, src, { t: 'counted', run: m.run, q: m.q, n: probes.get(m.run)?.size ?? 0 });
          break;
        default:
          break;
      }
    });
  }
  process.stdout.write(`READY ${JSON.stringify({ ports: socks.map((s) => s.address().port) })}\n`);
  const rl = createInterface({ input: process.stdin });
  rl.on('close', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------------

async function peer(name: string, port: number): Promise<void> {
  const sock = await bind(port);
  /** Handlers waiting for a datagram; each returns true once satisfied (and is then removed). */
  const listeners = new Set<(m: Wire, src: Endpoint) => boolean>();
  /** Endpoints we are currently sending hellos to, and the peers that have acknowledged us. */
  const helloLoops = new Set<string>();
  const acked = new Set<string>();
  const connected = new Set<string>();
  /** Names we have received a punch-to for. */
  const punchedTo = new Set<string>();

  const startHellos = (to: Endpoint, attempts: number, intervalMs: number): void => {
    const k = key(to);
    if (helloLoops.has(k)) return;
    helloLoops.add(k);
    void repeat(
      attempts,
      intervalMs,
      () => acked.has(k),
      () => send(sock, to, { t: 'hello', from: name }),
    ).result.then(() => helloLoops.delete(k));
  };

  sock.on('message', (msg, rinfo) => {
    const m = decode(msg);
    if (!m) return;
    const src: Endpoint = { ip: rinfo.address, port: rinfo.port };
    switch (m.t) {
      case 'hello':
        send(sock, src, { t: 'hello-ack', from: name });
        break;
      case 'hello-ack':
        acked.add(key(src));
        break;
      case 'punch-to':
        out({ ev: 'punch-to', id: m.id, ip: m.ip, port: m.port });
        punchedTo.add(m.id);
        startHellos({ ip: m.ip, port: m.port }, 40, 50);
        break;
      case 'relayed':
        out({ ev: 'relayed', from: m.from, data: m.data });
        // Echo plain relayed data back through the same relay so the sender can confirm the round trip.
        if (!m.data.startsWith('echo:')) send(sock, src, { t: 'relay', from: name, to: m.from, data: `echo:${m.data}` });
        break;
      default:
        break;
    }
    if ((m.t === 'hello' || m.t === 'hello-ack') && !connected.has(m.from)) {
      connected.add(m.from);
      out({ ev: 'connected', peer: m.from, ip: src.ip, port: src.port });
    }
    for (const l of [...listeners]) if (l(m, src)) listeners.delete(l);
  });

  /** Resolves with the first datagram `pick` accepts, sending with `tick` meanwhile; undefined when attempts run out. */
  const exchange = async <T>(
    attempts: number,
    intervalMs: number,
    tick: () => void,
    pick: (m: Wire, src: Endpoint) => T | undefined,
  ): Promise<T | undefined> => {
    let got: T | undefined;
    const r = repeat(attempts, intervalMs, () => got !== undefined, tick);
    const l = (m: Wire, src: Endpoint): boolean => {
      got = pick(m, src);
      if (got === undefined) return false;
      r.wake();
      return true;
    };
    listeners.add(l);
    await r.result;
    listeners.delete(l);
    return got;
  };

  const handle = async (id: number, c: PeerCommand): Promise<void> => {
    switch (c.op) {
      case 'discover':
      case 'register': {
        const server = endpoint(c.server);
        const r = await exchange(
          c.attempts ?? 20,
          c.intervalMs ?? 100,
          () => send(sock, server, c.op === 'discover' ? { t: 'who' } : { t: 'reg', id: c.name }),
          (m) => (m.t === 'seen' || m.t === 'registered' ? m : undefined),
        );
        return out(r ? { re: id, ok: true, ip: r.ip, port: r.port } : { re: id, ok: false, error: 'timeout' });
      }
      case 'punch': {
        const server = endpoint(c.server);
        const attempts = c.attempts ?? 40;
        const intervalMs = c.intervalMs ?? 50;
        punchedTo.delete(c.target);
        // The hello loop is started by the punch-to handler above (both sides get one).
        const r = await exchange(
          attempts,
          intervalMs,
          () => {
            if (!punchedTo.has(c.target)) send(sock, server, { t: 'punch', id: c.name, target: c.target });
          },
          (m, src) => ((m.t === 'hello' || m.t === 'hello-ack') && m.from === c.target ? src : undefined),
        );
        return out(r ? { re: id, ok: true, ip: r.ip, port: r.port } : { re: id, ok: false, error: 'no packet from peer' });
      }
      case 'connect': {
        const to = endpoint(c.to);
        const r = await exchange(
          c.attempts ?? 40,
          c.intervalMs ?? 50,
          () => send(sock, to, { t: 'hello', from: name }),
          (m, src) => (m.t === 'hello' || m.t === 'hello-ack' ? src : undefined),
        );
        return out(r ? { re: id, ok: true, ip: r.ip, port: r.port } : { re: id, ok: false, error: 'no answer' });
      }
      case 'relay': {
        const server = endpoint(c.server);
        const r = await exchange(
          c.attempts ?? 20,
          c.intervalMs ?? 100,
          () => send(sock, server, { t: 'relay', from: name, to: c.to, data: c.data }),
          (m) => (m.t === 'relayed' && m.from === c.to && m.data === `echo:${c.data}` ? m : undefined),
        );
        return out(r ? { re: id, ok: true, data: r.data } : { re: id, ok: false, error: 'no echo through the relay' });
      }
      case 'probe': {
        const server = endpoint(c.server);
        const run = randomBytes(4).toString('hex');
        const batch = c.batch ?? 100;
        let sent = 0;
        let received = 0;
        let q = 0;
        // Probes go out in batches; after each, a `count` query (retried until answered) travels the
        // same FIFO path, so its answer counts every probe of the batch that survived — and paces us
        // so the reflector's socket buffer never overflows.
        while (sent < c.count) {
          const n = Math.min(batch, c.count - sent);
          for (let i = 0; i < n; i++) send(sock, server, { t: 'probe', run, seq: sent + i });
          sent += n;
          q += 1;
          const query = q;
          const r = await exchange(
            100,
            50,
            () => send(sock, server, { t: 'count', run, q: query }),
            (m) => (m.t === 'counted' && m.run === run && m.q === query ? m.n : undefined),
          );
          if (r === undefined) return out({ re: id, ok: false, error: `no count answer after ${sent} probes` });
          received = r;
        }
        return out({ re: id, ok: true, sent, received });
      }
      case 'quit':
        sock.close();
        process.exit(0);
    }
  };

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    let c: ({ id: number } & PeerCommand) | undefined;
    try {
      c = JSON.parse(line) as { id: number } & PeerCommand;
    } catch {
      process.stderr.write(`bad command: ${line}\n`);
      return;
    }
    handle(c.id, c).catch((e: unknown) => out({ re: c.id, ok: false, error: String(e) }));
  });
  rl.on('close', () => process.exit(0));
  process.stdout.write(`READY ${JSON.stringify({ port: sock.address().port })}\n`);
}

// ---------------------------------------------------------------------------------------------------

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'reflector') {
  await reflector(rest.map(Number));
} else if (mode === 'peer') {
  await peer(rest[0] ?? 'peer', Number(rest[1] ?? 0));
} else {
  process.stderr.write('usage: udp-agent.ts reflector PORT... | peer NAME [PORT]\n');
  process.exit(2);
}
