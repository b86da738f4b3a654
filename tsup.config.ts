import { defineConfig } from 'tsup';

// One entry per subpath export. Database clients and msw stay external (optional peers),
// so the root entry never loads them.
export default defineConfig({
  entry: {
    index: 'src/index.ts',
    redis: 'src/store/redis.ts',
    postgres: 'src/store/postgres.ts',
    sqlite: 'src/store/sqlite.ts',
    d1: 'src/store/d1.ts',
    testing: 'src/testing/index.ts',
    'testing-stores': 'src/testing/conformance.ts',
    'testing-msw': 'src/testing/msw.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  // No source maps in the package: they tripled its size; the dist is readable, unminified ESM/CJS.
  sourcemap: false,
  target: 'node20',
  splitting: true,
  treeshake: true,
  external: ['ioredis', 'pg', 'better-sqlite3', 'msw', 'vitest'],
});
