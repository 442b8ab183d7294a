#!/usr/bin/env node
// pilotctl entry: runs the TypeScript sources through tsx (no build step needed after `npm ci`).
import { register } from 'tsx/esm/api';

register();
const { cliMain } = await import('../main/cli/entry.ts');
await cliMain(process.argv.slice(2));
