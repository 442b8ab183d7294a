// A child process for process-guard.test.ts: installs the guard, then misbehaves as argv[2] says.
import { installProcessGuard } from '../../main/util/process-guard';
import { createLogger, jsonLineSink } from '../../main/util/log';

const log = createLogger({ sinks: [jsonLineSink((l) => process.stderr.write(l))] });
installProcessGuard(log, { onFatal: () => void process.stdout.write('graceful stop ran\n') });
const mode = process.argv[2];
if (mode === 'reject') {
  void Promise.reject(new Error('boom from a continuation'));
  // Still alive afterwards: answer on stdout once the rejection has been reported, then exit 0.
  setTimeout(() => {
    process.stdout.write('still serving\n');
    process.exit(0);
  }, 50);
} else if (mode === 'throw') {
  setTimeout(() => {
    throw new Error('boom from a timer');
  }, 10);
  setInterval(() => undefined, 1000);
}
