/**
 * A Pilot node in its own process for the failover test (failover.test.ts), given several backbone
 * addresses, whose tunnel socket sends only to the beacons: it has no direct path to any peer, so
 * pinging it (or from it) needs a beacon's relay. Started as
 *
 *   node --import tsx test/etcd/relay-node.ts '{"registry":"a,b","beacon":"a,b","hostname":"h"}'
 *
 * it prints one JSON line `{"ready":true,"node_id":N,...}` when registered, then answers JSON-line
 * commands on stdin, one JSON line each: {"op":"ping","target":"hostname|id"} → {ok, rtt_ms, path},
 * {"op":"status"} → {registry, beacon, failovers}. Logs (JSON lines) go to stderr.
 */
import readline from 'node:readline';
import { Identity } from '../../main/crypto';
import { createLogger, jsonLineSink } from '../../main/util/log';
import { PilotNode } from '../../main/node/node';
import { parseAddressList } from '../../main/node/backbone-failover';
import { bindUdp } from '../../main/node/udp';
import { beaconOnly } from '../../main/node/testing/beacon-only';

interface Args {
  registry: string;
  beacon: string;
  hostname: string;
}

const print = (o: Record<string, unknown>): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2] ?? '{}') as Args;
  const log = createLogger({ level: 'info', sinks: [jsonLineSink((l) => process.stderr.write(l))], fields: { pid: process.pid } });
  const node = new PilotNode({
    identity: Identity.generate(),
    registry: a.registry,
    beacon: a.beacon,
    hostname: a.hostname,
    public: true,
    socket: beaconOnly(await bindUdp('127.0.0.1', 0), parseAddressList(a.beacon, 'beacon')),
    beaconProbeMs: 500,
    tunnel: { punchAfterMs: 50, relayAfterMs: 100 },
    log,
  });
  await node.start();
  const status = (): Record<string, unknown> => ({ registry: node.registryAddress, beacon: node.beaconAddress, failovers: node.backboneFailovers });
  print({ ready: true, node_id: node.nodeId, ...status() });
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const run = async (): Promise<Record<string, unknown>> => {
      const cmd = JSON.parse(line) as { op: string; target?: string };
      if (cmd.op === 'status') return { op: 'status', ...status() };
      if (cmd.op === 'ping') {
        const t = await node.resolveTarget(String(cmd.target));
        const rtt = await node.controlPing(t.nodeId, 8000);
        return { op: 'ping', ok: true, node_id: t.nodeId, rtt_ms: rtt, path: node.tunnels.peerInfo(t.nodeId)?.path };
      }
      return { op: cmd.op, ok: false, error: 'unknown op' };
    };
    run().then(print, (e: unknown) => print({ ok: false, error: e instanceof Error ? e.message : String(e) }));
  });
  rl.on('close', () => {
    node.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`relay-node failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
