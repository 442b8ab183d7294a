/**
 * Development only: the web console over the made-up DEVELOPMENT FIXTURE (scripts/dev-fixture.ts),
 * to look at the UI without a fleet. `npx electron-vite build && npx tsx scripts/dev-console.ts [peers]`
 */
import { createDevFixtureService } from './dev-fixture';
import { startWebConsole } from '../main/console/web-server';

const peers = Number(process.argv[2] ?? 1000);
const service = createDevFixtureService({ peers, live: true });
const web = await startWebConsole({ service, port: Number(process.env['PORT'] ?? 0), staticDir: 'out/renderer' });
console.log(`dev fixture console (NOT a node): ${web.url}`);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    service.close();
    void web.close().then(() => process.exit(0));
  });
