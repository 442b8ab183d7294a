// Fixture for lab.test.ts: builds a small lab with a process inside it, prints
// `READY {"prefix": …, "sleeper": pid}`, then either throws an uncaught error as soon as a line
// arrives on stdin (`throw`) or waits to be killed (`wait`). The test then checks that nothing of the
// lab survived.

import { createInterface } from 'node:readline';
import { Lab } from './lab';

const mode = process.argv[2] ?? 'wait';
const lab = new Lab();
await lab.setup({ routers: { r: { nat: 'masquerade' } }, hosts: { h: { behind: 'r' } } });
const sleeper = lab.spawn('h', 'sleep', ['600']);
process.stdout.write(`READY ${JSON.stringify({ prefix: lab.prefix, sleeper: sleeper.pid })}\n`);
if (mode === 'throw') {
  createInterface({ input: process.stdin }).once('line', () => {
    throw new Error('fixture: deliberate uncaught error');
  });
} else {
  // Keep the event loop alive until a signal arrives (the test bounds how long it waits for us).
  setInterval(() => undefined, 60_000);
}
