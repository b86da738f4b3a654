/**
 * Cold start: a fresh `node` per measurement (bench/cold-start-probe.cjs), in both module
 * systems, ours next to the Vonage SDK, runs interleaved so that load on the machine hits
 * both alike:
 *
 * - loading the root entry: `require('dist/index.cjs')` / `import('dist/index.js')` vs
 *   `@vonage/server-sdk` the same way;
 * - the first answered webhook: load, `createMessenger` with the application's key, then
 *   `receive` one signed inbound message, vs `new Vonage({ applicationId, privateKey })` +
 *   `@vonage/jwt`'s `verifySignature` + payload_hash check + `JSON.parse`.
 *
 * Ours is measured as users get it: the built dist/ (rebuilt first when src/ is newer).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureBuilt, ROOT } from '../lib/built.js';
import { PAGE_ID, psidFor, type SectionContext } from '../lib/context.js';
import { median } from '../lib/measure.js';
import { compare } from '../lib/report.js';
import { inboundTextBody, signRequest } from '../lib/sign.js';

const run = promisify(execFile);
const SECTION = 'cold start';
const PROBE = join(ROOT, 'bench', 'cold-start-probe.cjs');
const SDK = '@vonage/server-sdk';

type System = 'require' | 'import';
type Task = 'import' | 'webhook';
type Who = 'ours' | 'sdk';
interface Sample {
  ms: number;
  rss: number;
  modules?: number;
}

function entryOf(who: Who, system: System): string {
  return who === 'sdk' ? SDK : join(ROOT, 'dist', system === 'require' ? 'index.cjs' : 'index.js');
}

async function probe(system: System, who: Who, task: Task, ctx: SectionContext): Promise<Sample> {
  const { applicationId, privateKey, signatureSecret } = ctx.credentials;
  // A fresh jti per process: nothing is shared between processes, but this is what Vonage sends.
  const body = inboundTextBody(PAGE_ID, psidFor(1), randomUUID(), new Date());
  const { headers } = signRequest(body, signatureSecret, applicationId);
  const request = JSON.stringify({ applicationId, privateKey, signatureSecret, headers, body });
  const { stdout } = await run(process.execPath, [PROBE, system, who, task, entryOf(who, system)], {
    cwd: ROOT,
    env: { ...process.env, COLD_START_REQUEST: request },
  });
  return JSON.parse(stdout.trim()) as Sample;
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

// Issue 17: loading the root entry at most half the SDK's time, in both module systems. The
// first answered webhook has no number in the issue ("well below the SDK's"): it is held to
// "below", and its ratio is the figure to read.
const IMPORT_TARGET = { kind: 'max', value: 0.5, text: "≤ 0.5× the SDK's" } as const;
const WEBHOOK_TARGET = { kind: 'max', value: 1, text: "below the SDK's" } as const;

export async function coldStartSection(ctx: SectionContext): Promise<void> {
  ensureBuilt((line) => ctx.log(`cold start: ${line}`));
  const rounds = ctx.quick ? 5 : 21;
  const cases: { system: System; task: Task }[] = [
    { system: 'require', task: 'import' },
    { system: 'import', task: 'import' },
    { system: 'require', task: 'webhook' },
    { system: 'import', task: 'webhook' },
  ];
  const samples = new Map<string, Sample[]>();
  const key = (system: System, task: Task, who: Who) => `${system} ${task} ${who}`;
  // One unmeasured round fills the OS file cache for every file either side reads.
  for (const { system, task } of cases) for (const who of ['ours', 'sdk'] as const) await probe(system, who, task, ctx);
  for (let round = 0; round < rounds; round++) {
    ctx.log(`cold start: round ${round + 1} of ${rounds} (8 fresh processes)`);
    // Alternate who goes first, so that a process never always follows the same neighbour.
    const order: Who[] = round % 2 === 0 ? ['ours', 'sdk'] : ['sdk', 'ours'];
    for (const { system, task } of cases) {
      for (const who of order) {
        const list = samples.get(key(system, task, who)) ?? [];
        list.push(await probe(system, who, task, ctx));
        samples.set(key(system, task, who), list);
      }
    }
  }

  for (const { system, task } of cases) {
    const ours = samples.get(key(system, task, 'ours'))!;
    const sdk = samples.get(key(system, task, 'sdk'))!;
    const oursMs = median(ours.map((s) => s.ms));
    const sdkMs = median(sdk.map((s) => s.ms));
    const spread = (list: Sample[]) =>
      `median ${median(list.map((s) => s.ms)).toFixed(1)} ms, p90 ${percentile(
        list.map((s) => s.ms),
        90,
      ).toFixed(1)} ms`;
    const modules =
      system === 'require'
        ? `; modules loaded: ours ${median(ours.map((s) => s.modules ?? 0))}, the SDK ${median(sdk.map((s) => s.modules ?? 0))}`
        : '';
    const load = system === 'require' ? "require('dist/index.cjs')" : "import('dist/index.js')";
    const sdkLoad = `${system}('${SDK}')`;
    ctx.comparisons.push(
      compare({
        section: SECTION,
        name: task === 'import' ? `${system} time` : `first answered webhook (${system})`,
        subject:
          task === 'import'
            ? { label: load, value: oursMs, unit: 'ms' }
            : { label: `${load} + createMessenger + receive`, value: oursMs, unit: 'ms' },
        baseline:
          task === 'import'
            ? { label: sdkLoad, value: sdkMs, unit: 'ms' }
            : { label: `${sdkLoad} + new Vonage + @vonage/jwt verifySignature`, value: sdkMs, unit: 'ms' },
        ratio: oursMs / sdkMs,
        ratioMeaning: "× the SDK's",
        target: task === 'import' ? IMPORT_TARGET : WEBHOOK_TARGET,
        notes: [
          `${rounds} fresh processes each, interleaved; ours ${spread(ours)}; the SDK ${spread(sdk)}${modules}`,
          ...(task === 'webhook'
            ? [
                'from just before the load to the verified, parsed (ours: and recorded) message; the request is signed by the parent, outside the timing',
              ]
            : []),
        ],
      }),
    );
  }

  const ours = samples.get(key('import', 'import', 'ours'))!;
  const sdk = samples.get(key('import', 'import', 'sdk'))!;
  const oursRss = median(ours.map((s) => s.rss)) / 2 ** 20;
  const sdkRss = median(sdk.map((s) => s.rss)) / 2 ** 20;
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: 'RSS after import',
      subject: { label: "import('dist/index.js')", value: oursRss, unit: 'MB' },
      baseline: { label: `import('${SDK}')`, value: sdkRss, unit: 'MB' },
      ratio: oursRss / sdkRss,
      ratioMeaning: "× the SDK's",
      target: { kind: 'max', value: 1, text: "below the SDK's" },
      notes: ['process RSS after the import, node itself included'],
    }),
  );
}
