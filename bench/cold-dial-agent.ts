/**
 * The answering node of bench/cold-dial.ts, in its own process: echo service on port 7, its datagrams
 * and registry requests recorded; each `report` line on stdin prints the steps recorded since the
 * last one as a JSON line. Usage: tsx bench/cold-dial-agent.ts <registry> <beacon> <hostname> [true|false (tracing)]
 */
import { createInterface } from 'node:readline';
import { Identity } from '../main/crypto';
import { PilotNode } from '../main/node/node';
import { EchoService } from '../main/node/services/echo';
import { silentLogger } from '../main/util/log';
import { Recorder, recordingSocket } from './cold-dial-probe';

const [registry, beacon, hostname, tracing] = process.argv.slice(2);
const rec = new Recorder('B');
const node = new PilotNode({ identity: Identity.generate(), registry, beacon, hostname, public: true, listen: '127.0.0.1:0', tracing: tracing !== 'false', socket: await recordingSocket(rec) });
await node.start();
rec.wrapRegistry(node.registry);
new EchoService(node, silentLogger).start();
rec.take();
createInterface({ input: process.stdin }).on('line', () => process.stdout.write(JSON.stringify({ events: rec.take() }) + '\n'));
process.stdout.write(JSON.stringify({ ready: true, nodeId: node.nodeId }) + '\n');
process.on('SIGINT', () => process.exit(0));
