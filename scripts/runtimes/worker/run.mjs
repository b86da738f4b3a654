// scripts/runtimes.sh workerd: the worker bundled from the packed tarball installed in
// <app>/node_modules, with the `workerd` condition; no `node:` import may remain.
import { copyFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bundleWorker, runWorkerScenario, WORKER_ENTRY } from './scenario.mjs';

const app = process.argv[2];
const fromApp = createRequire(join(app, 'package.json'));
// Bundled from inside the app, so that `vonage-messenger` and zod resolve to what the tarball installed.
const entry = join(app, 'worker.mjs');
copyFileSync(WORKER_ENTRY, entry);
const { code, nodeImports } = await bundleWorker({ entry });
if (nodeImports.length > 0) throw new Error(`workerd: the worker bundle imports ${nodeImports.join(', ')}`);
console.log(`workerd: worker bundled from the tarball (${(code.length / 1024).toFixed(0)} kB, no node: import)`);
const testing = await import(fromApp.resolve('vonage-messenger/testing'));
const seen = await runWorkerScenario({ code, testing });
console.log(
  `workerd: ok: signed ${seen.status}, forged ${seen.forgedStatus}, refused without a request, reply ${seen.reply} accepted (202), retried webhook deduplicated in D1`,
);
