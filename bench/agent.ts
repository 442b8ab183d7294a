/**
 * A benchmark peer in its own process: a Pilot node that sinks streams on port 5000 (reports the
 * byte count when the stream closes), runs the echo service (port 7) and answers pings; or a raw UDP
 * sink for the baseline. Prints one JSON line when ready.
 * Or `peers`: <count> nodes packed in this process, each of which dials <target>'s echo port, has
 * one 32-byte round trip and keeps the stream open (a node holding that many tunnels, bench/daemon.ts).
 * Usage: tsx bench/agent.ts node <registry> <beacon> [hostname] | udp | peers <registry> <beacon> <target> <count>
 */
import dgram from 'node:dgram';
import { Identity } from '../main/crypto';
import { PilotNode } from '../main/node/node';
import { EchoService } from '../main/node/services/echo';
import { silentLogger } from '../main/util/log';

const mode = process.argv[2];
if (mode === 'udp') {
  const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 << 20 });
  let bytes = 0;
  sock.on('message', (m, from) => {
    if (m.length === 64) {
      sock.send(m, from.port, from.address); // ping-pong baseline: echo
      return;
    }
    if (m.length === 1) {
      process.stdout.write(JSON.stringify({ bytes }) + '\n');
      bytes = 0;
      return;
    }
    bytes += m.length;
  });
  sock.bind(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ ready: true, port: sock.address().port }) + '\n'));
} else if (mode === 'peers') {
  const [registry, beacon, target, count] = process.argv.slice(3);
  const nodes: PilotNode[] = [];
  const open = async (): Promise<void> => {
    const node = new PilotNode({ identity: Identity.generate(), registry, beacon, public: true, listen: '127.0.0.1:0', tracing: false });
    nodes.push(node);
    await node.start();
    const s = await node.dial(Number(target), 7, 20_000);
    const back = new Promise<void>((res) => s.once('data', () => res()));
    s.write(new Uint8Array(32));
    await back;
  };
  // Ten at a time: every node registers and exchanges keys through the same backbone and target.
  for (let i = 0; i < Number(count); i += 10) await Promise.all(Array.from({ length: Math.min(10, Number(count) - i) }, open));
  process.stdout.write(JSON.stringify({ ready: true, tunnels: nodes.length }) + '\n');
} else {
  const node = new PilotNode({ identity: Identity.generate(), registry: process.argv[3], beacon: process.argv[4], hostname: process.argv[5], public: true, listen: '127.0.0.1:0' });
  await node.start();
  new EchoService(node, silentLogger).start();
  node.listen(5000, (s) => {
    s.stopBuffering();
    let n = 0;
    const cpu0 = process.cpuUsage();
    s.on('data', (c) => (n += c.length));
    s.on('close', () => {
      // CPU time (user + system) this process spent on the stream: a figure the machine's load
      // disturbs far less than wall-clock throughput.
      const c = process.cpuUsage(cpu0);
      process.stdout.write(JSON.stringify({ received: n, cpuMs: (c.user + c.system) / 1000 }) + '\n');
    });
  });
  process.stdout.write(JSON.stringify({ ready: true, nodeId: node.nodeId }) + '\n');
}
process.on('SIGINT', () => process.exit(0));
