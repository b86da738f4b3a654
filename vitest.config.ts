import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Built-in SQLite drivers Node 20 lacks: vitest.runtimes.config.ts, run by scripts/runtimes.sh.
    exclude: [...configDefaults.exclude, 'test/runtimes/**'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Adapter suites share real Redis/PostgreSQL servers; files run in parallel, each
    // with its own random key prefix or table.
    pool: 'forks',
    // In CI the results are also written as JSON, so .ci/run can print one closing
    // "N passed, N failed, N skipped" line and fail on any skipped test.
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.tmp/vitest-results.json' }]] : ['default'],
  },
});
