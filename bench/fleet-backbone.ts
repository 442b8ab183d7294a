/**
 * The backbone process of the scale benchmarks (bench/fleet.ts, bench/backbone-scale.ts,
 * test/scale): the same startBackbone() `pilotctl backbone start` runs, with the two per-source
 * limits raised because every simulated agent shares 127.0.0.1:
 *   - registrations per source IP per minute (default 10) -> `--register-rate` (default 1e9);
 *   - per-connection requests (default 200/s, burst 400) -> `--conn-rate` (default 1e9/s), so a
 *     benchmark connection carrying many simulated agents is not throttled.
 *
 *   node --import tsx bench/fleet-backbone.ts --data DIR [--registry 127.0.0.1:0] [--beacon 127.0.0.1:0]
 *
 * Prints one JSON line when listening: {registry, beacon, pid, restoreMs, nodes}. Then answers
 * each stdin line `status` with one JSON line: the backbone's status plus process.cpuUsage() and
 * memoryUsage(); `snapshot` writes a snapshot first. SIGTERM/SIGINT or stdin EOF: clean close
 * (snapshot). Logs (warn and up) go to stderr.
 */
import readline from 'node:readline';
import { startBackbone } from '../main/backbone';
import { createLogger, jsonLineSink } from '../main/util/log';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const t0 = performance.now();
const logger = createLogger({ level: 'warn', sinks: [jsonLineSink((l) => process.stderr.write(l))], fields: { pid: process.pid } });
const connRate = Number(arg('conn-rate') ?? 1e9);
const bb = await startBackbone({
  registry: arg('registry') ?? '127.0.0.1:0',
  beacon: arg('beacon') ?? '127.0.0.1:0',
  dataDir: arg('data'),
  logger,
  registerRatePerMin: Number(arg('register-rate') ?? 1e9),
  rateLimit: { perSec: connRate, burst: connRate * 2, closeAfter: 1e9 },
  netcheck: false,
});
const restoreMs = performance.now() - t0;
const line = (o: unknown): void => {
  process.stdout.write(JSON.stringify(o) + '\n');
};
line({
  registry: `${bb.registryAddress.host}:${bb.registryAddress.port}`,
  beacon: `${bb.beaconAddress.host}:${bb.beaconAddress.port}`,
  pid: process.pid,
  restoreMs,
  nodes: bb.status().nodes,
});

let closing = false;
const close = (): void => {
  if (closing) return;
  closing = true;
  bb.close().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`close failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', close);
process.on('SIGINT', close);

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (cmd) => {
  const reply = async (): Promise<void> => {
    if (cmd.trim() === 'snapshot') await bb.snapshot();
    const s = bb.status();
    line({ status: { nodes: s.nodes, online: s.online, groups: s.groups, requests: s.requestsServed, errors: s.errors, connections: s.connections, store: s.store }, cpu: process.cpuUsage(), mem: process.memoryUsage() });
  };
  reply().catch((e: unknown) => line({ error: String(e) }));
});
rl.on('close', close);
