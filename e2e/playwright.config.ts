import { defineConfig } from '@playwright/test';

// Browser tests run in Debian's Chromium (`apt-get install -y chromium`); Playwright never downloads
// a browser here. PILOT_CHROMIUM overrides the binary.
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export default defineConfig({
  testDir: '.',
  testMatch: '**/*.spec.ts',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: process.env['CI'] ? [['list']] : [['list']],
  outputDir: '../test-results',
  // The suites spawn bin/pilotctl.mjs: build the compiled CLI once per run so it runs current code.
  globalSetup: '../scripts/build-cli.mjs',
  use: {
    browserName: 'chromium',
    viewport: { width: 1440, height: 900 },
    launchOptions: { executablePath: process.env['PILOT_CHROMIUM'] ?? '/usr/bin/chromium', args: CHROMIUM_ARGS },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
});
