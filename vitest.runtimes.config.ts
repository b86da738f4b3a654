import { defineConfig } from 'vitest/config';

// The tests that need a runtime other than the machine's Node 20 (scripts/runtimes.sh runs
// them on Bun and on Node 22, 24, 26).
export default defineConfig({
  test: {
    include: ['test/runtimes/**/*.test.ts'],
    testTimeout: 20_000,
    pool: 'forks',
  },
});
