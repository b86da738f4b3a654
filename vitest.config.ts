import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Adapter suites share real Redis/PostgreSQL servers; files run in parallel, each
    // with its own random key prefix or table.
    pool: 'forks',
  },
});
