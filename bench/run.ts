/**
 * `npm run bench`: every measurement of docs/performance.md in one run, against loopback
 * servers only. Prints a table of figures and ratios with targets met/missed and writes
 * bench/results/latest.json.
 *
 *   npm run bench                 # full run (a few minutes on 2 cores)
 *   npm run bench -- --quick      # short windows: checks the harness, noisy figures
 *   npm run bench -- --only=send,webhook
 *   npm run bench -- --only=observability   # channels and OpenTelemetry overhead
 *   npm run bench -- --scale      # only the window index at 1,000,000 conversations (long)
 *   npm run bench -- --scale --only=scale-redis   # one backend of it
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SectionContext } from './lib/context.js';
import { generateCredentials } from './lib/keys.js';
import { type BenchReport, machineInfo, renderTable } from './lib/report.js';
import { coldStartSection } from './sections/cold-start.js';
import { memorySection } from './sections/memory.js';
import { observabilitySection } from './sections/observability.js';
import { scaleSections } from './sections/scale.js';
import { sendSection } from './sections/send.js';
import { storesSection } from './sections/stores.js';
import { webhookSection } from './sections/webhook.js';

const SECTIONS: Record<string, (ctx: SectionContext) => Promise<void>> = {
  send: sendSection,
  webhook: webhookSection,
  stores: storesSection,
  memory: memorySection,
  'cold-start': coldStartSection,
  observability: observabilitySection,
};

/** Run only with --scale: it seeds a million conversations per store and takes minutes. */
const SCALE_SECTIONS: Record<string, (ctx: SectionContext) => Promise<void>> = scaleSections;

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const scale = args.includes('--scale');
  const sections = scale ? SCALE_SECTIONS : SECTIONS;
  const only = args
    .find((a) => a.startsWith('--only='))
    ?.slice('--only='.length)
    .split(',');
  const unknown = only?.filter((name) => !(name in sections)) ?? [];
  if (unknown.length > 0)
    throw new Error(`unknown section(s) ${unknown.join(', ')}; known: ${Object.keys(sections).join(', ')}`);

  const machine = machineInfo();
  const started = performance.now();
  const ctx: SectionContext = {
    credentials: generateCredentials(),
    quick,
    comparisons: [],
    pending: [],
    log: (message) => process.stderr.write(`  … ${message}\n`),
  };
  for (const [name, section] of Object.entries(sections)) {
    if (only !== undefined && !only.includes(name)) continue;
    try {
      await section(ctx);
    } catch (error) {
      // One broken section (a service down, a module mid-rewrite) must not hide the others.
      ctx.pending.push({ section: name, name: '(whole section)', reason: `failed: ${(error as Error).message}` });
      process.stderr.write(`section ${name} failed: ${(error as Error).stack}\n`);
    }
  }
  const report: BenchReport = {
    machine,
    durationSeconds: (performance.now() - started) / 1000,
    comparisons: ctx.comparisons,
    pending: ctx.pending,
  };
  process.stdout.write(`${renderTable(report)}\n`);
  const out = fileURLToPath(
    new URL(
      quick || only ? './results/last-partial.tmp.json' : scale ? './results/scale.json' : './results/latest.json',
      import.meta.url,
    ),
  );
  mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ quick, only: only ?? null, ...report }, null, 2)}\n`);
  process.stdout.write(`\nwritten to ${out}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
