#!/usr/bin/env node
// pilotctl entry. Runs the compiled build in out/cli (scripts/build-cli.mjs: `npm run build:cli`, run
// by `npm ci` and by each test run) when it is there and none of its sources changed since; else, or
// with PILOT_DEV=1, runs the TypeScript sources through tsx (a slower start, but always current).
// Kept to builtins and a few stat calls: this file is on the path of every pilotctl start.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The build is current: present, and no source it was built from was modified after it started. */
function buildIsCurrent() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(root + 'out/cli/build.json', 'utf8'));
  } catch {
    return false;
  }
  for (const f of stamp.inputs) {
    const st = statSync(root + f, { throwIfNoEntry: false });
    if (!st || st.mtimeMs > stamp.builtAt) return false;
  }
  return true;
}

let cliMain;
if (process.env.PILOT_DEV !== '1' && buildIsCurrent()) {
  ({ cliMain } = await import('../out/cli/pilotctl.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ cliMain } = await import('../main/cli/entry.ts'));
}
await cliMain(process.argv.slice(2));
