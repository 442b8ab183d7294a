/**
 * A benchmark peer in its own process: a Pilot node that sinks streams on port 5000 (reports the
 * byte count when the stream closes) and answers pings; or a raw UDP sink for the baseline.
 * Prints one JSON line when ready. Usage: tsx bench/agent.ts node <registry> <beacon> | udp
 */
import dgram from 'node:dgram';
import { Identity } from '../main/crypto';
import { PilotNode } from '../main/node/node';

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
} else {
  const node = new PilotNode({ identity: Identity.generate(), registry: process.argv[3], beacon: process.argv[4], public: true, listen: '127.0.0.1:0' });
  await node.start();
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
