// Validates electron-builder.yml with electron-builder's own loader and schema (no download needed;
// packaging itself cannot run on machines without access to GitHub releases).
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config');
const { DebugLogger } = require('builder-util');

const projectDir = path.resolve(import.meta.dirname, '..');
const config = await getConfig(projectDir, path.join(projectDir, 'electron-builder.yml'), null);
await validateConfiguration(config, new DebugLogger(false));
console.log(`electron-builder.yml is valid (appId ${config.appId}, productName ${config.productName})`);
