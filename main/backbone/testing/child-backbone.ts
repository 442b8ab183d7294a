/**
 * Runs a backbone in its own process for crash tests: `node --import tsx child-backbone.ts <dataDir>`.
 * Prints `READY <registryPort> <beaconPort>` on stdout once listening; runs until killed.
 */
import { startBackbone } from '../index';
import { silentLogger } from '../../util/log';

const dataDir = process.argv[2];
if (!dataDir) {
  process.stderr.write('usage: child-backbone.ts <dataDir>\n');
  process.exit(2);
}
const bb = await startBackbone({
  registry: '127.0.0.1:0',
  beacon: '127.0.0.1:0',
  dataDir,
  logger: silentLogger,
  registerRatePerMin: 1_000_000,
  rateLimit: { perSec: 100_000, burst: 100_000, closeAfter: 1_000_000 },
  // small enough that snapshots (and log rotation) happen during the test's write stream
  snapshotEveryRecords: Number(process.env['PILOT_TEST_SNAPSHOT_EVERY'] ?? 400),
});
process.stdout.write(`READY ${bb.registryAddress.port} ${bb.beaconAddress.port}\n`);
process.on('SIGTERM', () => {
  bb.close().then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`close failed: ${String(e)}\n`);
      process.exit(1);
    },
  );
});
