import { defineConfig } from 'vitest/config';

// The NAT traversal lab (test/nat): real network namespaces, veth pairs and iptables NAT. Needs root;
// run on its own with `npm run test:nat` (one file at a time: the lab suites share the machine's
// netfilter and CPU, and their timing-free assertions still want the CPU to themselves).
export default defineConfig({
  test: {
    include: ['test/nat/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Tests spawn bin/pilotctl.mjs: build the compiled CLI once per run so children run current code.
    globalSetup: ['scripts/build-cli.mjs'],
    fileParallelism: false,
  },
});
