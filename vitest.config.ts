import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['main/**/*.test.ts', 'shared/**/*.test.ts', 'renderer/**/*.test.ts', 'renderer/**/*.test.tsx', 'test/**/*.test.ts'],
    // The NAT lab needs root and its own run: `npm run test:nat` (vitest.nat.config.ts).
    exclude: [...configDefaults.exclude, 'test/nat/**'],
    // Integration tests start real processes and sockets; give them room on a shared 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Tests spawn bin/pilotctl.mjs: build the compiled CLI once per run so children run current code.
    globalSetup: ['scripts/build-cli.mjs'],
  },
});
