import { defineConfig, type Options } from 'tsup';

// One entry per subpath export. Database clients, msw, Vonage's SDK and @opentelemetry/api stay external (optional peers),
// so the root entry never loads them.
const PEERS = [
  'ioredis',
  'pg',
  'better-sqlite3',
  'msw',
  'vitest',
  '@vonage/messages',
  '@vonage/auth',
  '@opentelemetry/api',
];

const library: Options = {
  entry: {
    index: 'src/index.ts',
    redis: 'src/store/redis.ts',
    postgres: 'src/store/postgres.ts',
    sqlite: 'src/store/sqlite.ts',
    d1: 'src/store/d1.ts',
    testing: 'src/testing/index.ts',
    'testing-stores': 'src/testing/conformance.ts',
    'testing-msw': 'src/testing/msw.ts',
    otel: 'src/otel/index.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  // No source maps in the package: they tripled its size; the dist is readable, unminified ESM/CJS.
  sourcemap: false,
  target: 'node20',
  splitting: true,
  treeshake: true,
  external: PEERS,
  noExternal: ['zod'],
};

export default defineConfig([
  library,
  // The `bin` (npx vonage-messenger): ESM only, no types, one file; it never loads the peers.
  {
    entry: { cli: 'src/cli/bin.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    sourcemap: false,
    target: 'node20',
    splitting: false,
    treeshake: true,
    external: PEERS,
    banner: { js: '#!/usr/bin/env node' },
  },
  // The chat page's script, served by the sandbox as /playground.js: one small browser file.
  {
    entry: { playground: 'src/cli/page/client.ts' },
    format: ['iife'],
    platform: 'browser',
    dts: false,
    clean: false,
    sourcemap: false,
    target: 'es2020',
    minify: true,
    outExtension: () => ({ js: '.js' }),
  },
]);
