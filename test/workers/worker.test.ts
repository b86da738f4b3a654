import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleWorker, runWorkerScenario } from '../../scripts/runtimes/worker/scenario.mjs';
import * as testing from '../../src/testing/index.js';
import { webModules } from '../../tsup.worker.config.js';

const src = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url));

/** `vonage-messenger` and its `/d1` subpath from src/, as the Workers build compiles them. */
const fromSource: Plugin = {
  name: 'vonage-messenger-source',
  setup(build) {
    build.onResolve({ filter: /^vonage-messenger(\/d1)?$/ }, (args) => ({
      path: args.path === 'vonage-messenger' ? src('index.ts') : src('store/d1.ts'),
    }));
  },
};

describe('the Workers build', () => {
  it('imports nothing from Node: every node:crypto/node:http module has a -web.ts twin swapped in', async () => {
    const { nodeImports } = await bundleWorker({ plugins: [fromSource, webModules] });
    expect(nodeImports).toEqual([]);
    // Without the swap the same entry needs Node: the check above can fail.
    const unswapped = await bundleWorker({ plugins: [fromSource], external: ['@vonage/*'] });
    expect(unswapped.nodeImports).toEqual(expect.arrayContaining(['node:crypto', 'node:http']));
  });

  it('answers webhooks and replies from workerd, with D1 as the store', async () => {
    const { code } = await bundleWorker({ plugins: [fromSource, webModules] });
    const seen = await runWorkerScenario({ code, testing });
    expect(seen).toMatchObject({ status: 200, forgedStatus: 401 });
    expect(seen.reply).toMatch(/^[0-9a-f-]{36}$/);
  }, 60_000);
});
