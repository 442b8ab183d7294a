/**
 * Baselines for `npm run bench`, in their own package (bench/libp2p/package.json) so js-libp2p never
 * becomes a dependency of the product. Plain JavaScript: this folder is outside the root tsconfig.
 *
 *   node --import ./shim.mjs bench.mjs server <tcp|libp2p-tcp|libp2p-quic>
 *       prints one JSON line {ready, addr}; serves a sink (replies with the 8-byte count after the
 *       peer's end of stream) and a 32-byte echo
 *   node --import ./shim.mjs bench.mjs client <kind> <addr> [--mb 64] [--streams 8] [--pings 10000] [--dials 20]
 *       prints one JSON line: one-stream MB/s, 8-stream aggregate MB/s, ping-pong median/p99 µs,
 *       cold dial + first round trip in ms (a fresh client node per dial; its start is not timed)
 *
 * kinds: tcp = plain node:net (one connection per stream), libp2p-tcp = TCP + Noise + yamux,
 * libp2p-quic = @chainsafe/libp2p-quic.
 */
import net from 'node:net';

const SINK = '/pilot-bench/sink/1';
const ECHO = '/pilot-bench/echo/1';

function numArg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function libp2pNode(kind, listen) {
  const { createLibp2p } = await import('libp2p');
  // A benchmark dials the same host many times in a row: lift the per-host inbound rate limit.
  const connectionManager = { inboundConnectionThreshold: 1e6, maxIncomingPendingConnections: 1000, maxConnections: 1000 };
  if (kind === 'libp2p-quic') {
    const { quic } = await import('@chainsafe/libp2p-quic');
    return createLibp2p({ connectionManager, transports: [quic()], addresses: { listen: listen ? ['/ip4/127.0.0.1/udp/0/quic-v1'] : [] } });
  }
  const { tcp } = await import('@libp2p/tcp');
  const { noise } = await import('@chainsafe/libp2p-noise');
  const { yamux } = await import('@chainsafe/libp2p-yamux');
  return createLibp2p({ connectionManager, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], addresses: { listen: listen ? ['/ip4/127.0.0.1/tcp/0'] : [] } });
}

// ---- a byte stream over either library: send with backpressure, read exactly n bytes, end ----------

/** Bytes as they arrive; `read(n)` resolves with exactly the next n. */
function byteQueue() {
  const chunks = [];
  let have = 0;
  let want = null;
  return {
    push(d) {
      chunks.push(d);
      have += d.byteLength;
      if (want && have >= want.n) want.resolve();
    },
    read(n) {
      return new Promise((resolve) => {
        const done = () => {
          want = null;
          const all = Buffer.concat(chunks.splice(0));
          have = all.length - n;
          if (have > 0) chunks.push(all.subarray(n));
          resolve(all.subarray(0, n));
        };
        if (have >= n) done();
        else want = { n, resolve: done };
      });
    },
  };
}

/** Wraps a libp2p Stream. */
function wrapLibp2p(stream) {
  const q = byteQueue();
  stream.addEventListener('message', (e) => q.push(e.data.subarray ? e.data.subarray() : e.data));
  return {
    async write(buf) {
      if (!stream.send(buf)) await stream.onDrain();
    },
    async end() {
      await stream.close();
    },
    read: q.read,
    close() {
      stream.abort(new Error('done'));
    },
  };
}

/** Wraps a net.Socket with the same surface. */
function wrapSocket(sock) {
  const q = byteQueue();
  sock.setNoDelay(true);
  sock.on('data', (d) => q.push(d));
  return {
    async write(buf) {
      if (!sock.write(buf)) await new Promise((r) => sock.once('drain', r));
    },
    async end() {
      sock.end();
    },
    read: q.read,
    close() {
      sock.destroy();
    },
  };
}

/** The sink's answer: bytes received (8 bytes) and the server's CPU µs (user + system) since the stream opened. */
function sinkReply(n, cpu0) {
  const c = process.cpuUsage(cpu0);
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(BigInt(n));
  b.writeBigUInt64BE(BigInt(c.user + c.system), 8);
  return b;
}

// ---- server ------------------------------------------------------------------------------------------

async function server(kind) {
  if (kind === 'tcp') {
    const sink = net.createServer((s) => {
      let n = 0;
      const cpu0 = process.cpuUsage();
      s.on('data', (d) => (n += d.length));
      s.on('end', () => s.end(sinkReply(n, cpu0)));
      s.on('error', () => {});
    });
    const echo = net.createServer((s) => {
      s.setNoDelay(true);
      s.on('data', (d) => s.write(d));
      s.on('error', () => {});
    });
    await new Promise((r) => sink.listen(0, '127.0.0.1', r));
    await new Promise((r) => echo.listen(0, '127.0.0.1', r));
    return `${sink.address().port},${echo.address().port}`;
  }
  const node = await libp2pNode(kind, true);
  await node.handle(SINK, (stream) => {
    let n = 0;
    const cpu0 = process.cpuUsage();
    stream.addEventListener('message', (e) => (n += e.data.byteLength));
    stream.addEventListener('remoteCloseWrite', () => {
      stream.send(sinkReply(n, cpu0));
      stream.close().catch(() => {});
    });
  }, { maxInboundStreams: 64 });
  await node.handle(ECHO, (stream) => {
    stream.addEventListener('message', (e) => stream.send(e.data));
    stream.addEventListener('remoteCloseWrite', () => stream.close().catch(() => {}));
  }, { maxInboundStreams: 64 });
  return node.getMultiaddrs()[0].toString();
}

// ---- client ------------------------------------------------------------------------------------------

async function connector(kind, addr) {
  if (kind === 'tcp') {
    const [sinkPort, echoPort] = addr.split(',').map(Number);
    const open = (port) =>
      new Promise((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(wrapSocket(s)));
        s.once('error', reject);
      });
    return { open: (which) => open(which === 'sink' ? sinkPort : echoPort), fresh: async () => ({ open: (w) => open(w === 'sink' ? sinkPort : echoPort), stop: async () => {} }), stop: async () => {} };
  }
  const { multiaddr } = await import('@multiformats/multiaddr');
  const ma = multiaddr(addr);
  const make = async () => {
    const node = await libp2pNode(kind, false);
    await node.start();
    return {
      open: async (which) => wrapLibp2p(await node.dialProtocol(ma, which === 'sink' ? SINK : ECHO)),
      stop: () => node.stop(),
    };
  };
  const main = await make();
  return { open: main.open, fresh: make, stop: main.stop };
}

async function sinkRun(c, streams, totalBytes) {
  const chunk = Buffer.alloc(64 * 1024, 7);
  const per = Math.floor(totalBytes / streams);
  const conns = await Promise.all(Array.from({ length: streams }, () => c.open('sink')));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let serverCpuUs = 0;
  await Promise.all(
    conns.map(async (s) => {
      for (let sent = 0; sent < per; sent += chunk.length) await s.write(chunk);
      await s.end();
      const reply = await s.read(16);
      const got = Number(reply.readBigUInt64BE(0));
      serverCpuUs = Math.max(serverCpuUs, Number(reply.readBigUInt64BE(8)));
      if (got !== per) throw new Error(`sink counted ${got} of ${per}`);
      s.close();
    }),
  );
  const mbps = (per * streams) / 1048576 / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(cpu0);
  // CPU of both processes per MiB moved (a figure the machine's load disturbs far less than MB/s);
  // with several streams the server's figure is the longest stream's (they overlap).
  return { mbps, cpuMsPerMiB: (cpu.user + cpu.system + serverCpuUs) / 1000 / ((per * streams) / 1048576) };
}

async function client(kind, addr) {
  const MB = numArg('mb', 64);
  const STREAMS = numArg('streams', 8);
  const PINGS = numArg('pings', 10000);
  const DIALS = numArg('dials', 20);
  const c = await connector(kind, addr);
  const stage = (s) => process.env.BENCH_DEBUG && process.stderr.write(`${kind}: ${s}\n`);
  stage('one stream');
  const { mbps: one, cpuMsPerMiB } = await sinkRun(c, 1, MB * 1048576);
  stage('streams');
  const { mbps: multi } = await sinkRun(c, STREAMS, MB * 1048576);

  stage('ping');
  const e = await c.open('echo');
  const ping = Buffer.alloc(32, 1);
  const rtts = [];
  for (let i = 0; i < PINGS + 200; i++) {
    const t0 = performance.now();
    await e.write(ping);
    await e.read(32);
    if (i >= 200) rtts.push((performance.now() - t0) * 1000);
  }
  e.close();

  stage('dials');
  const dials = [];
  for (let i = 0; i < DIALS; i++) {
    const f = await c.fresh();
    const t0 = performance.now();
    const s = await f.open('echo');
    await s.write(ping);
    await s.read(32);
    dials.push(performance.now() - t0);
    s.close();
    await f.stop();
  }
  await c.stop();
  return { kind, oneMBps: one, cpuMsPerMiB, multiMBps: multi, streams: STREAMS, pingMedianUs: median(rtts), pingP99Us: pct(rtts, 99), dialMs: median(dials), dialP99Ms: pct(dials, 99) };
}

const [role, kind, addr] = process.argv.slice(2);
if (role === 'server') {
  const a = await server(kind);
  process.stdout.write(JSON.stringify({ ready: true, addr: a }) + '\n');
  process.on('SIGTERM', () => process.exit(0));
} else if (role === 'client') {
  const r = await client(kind, addr);
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
} else {
  console.error('usage: bench.mjs server <kind> | client <kind> <addr> [--mb 64] [--streams 8] [--pings 10000] [--dials 20]');
  process.exit(2);
}
