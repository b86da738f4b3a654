import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Plugin } from 'esbuild';
import { defineConfig } from 'tsup';

/**
 * The Workers build (export conditions `workerd`, `worker`, `browser`, `edge-light`): the
 * same sources as the Node build, except that every module with a `-web.ts` sibling is
 * replaced by it (hmac.ts → hmac-web.ts: Web Crypto; auth.ts → auth-web.ts: Web Crypto
 * RS256; transports.ts → transports-web.ts: `fetch`). No `node:` import is then reachable
 * from dist/worker.js (test/workers/bundle.test.ts checks it). Run after tsup.config.ts
 * (`npm run build`), into the same dist/ without cleaning it.
 */
export const webModules: Plugin = {
  name: 'web-modules',
  setup(build) {
    build.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      if (!args.importer.includes(`${join('src', '')}`)) return undefined;
      const web = join(dirname(args.importer), args.path.replace(/\.js$/, '-web.ts'));
      return existsSync(web) ? { path: web } : undefined;
    });
  },
};

export default defineConfig({
  entry: { worker: 'src/index.ts', 'worker-d1': 'src/store/d1.ts' },
  format: ['esm'],
  // Types are the Node build's (dist/index.d.ts, dist/d1.d.ts): the API is the same.
  dts: false,
  clean: false,
  sourcemap: false,
  platform: 'neutral',
  target: 'es2022',
  splitting: true,
  treeshake: true,
  external: ['zod'],
  esbuildPlugins: [webModules],
});
