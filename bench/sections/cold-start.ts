/**
 * Cold start: a fresh `node` per run imports one module; the child reports the import's
 * wall time and its RSS afterwards. The SDK is measured as users get it (the built
 * dist/index.js, rebuilt first when src/ is newer); runs alternate and the median is kept.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { SectionContext } from '../lib/context.js';
import { median } from '../lib/measure.js';
import { compare } from '../lib/report.js';

const run = promisify(execFile);
const SECTION = 'cold start';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DIST = join(ROOT, 'dist', 'index.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

const PROBE = `
const rss0 = process.memoryUsage().rss;
const t0 = performance.now();
await import(process.argv[1]);
const ms = performance.now() - t0;
const rss = process.memoryUsage().rss;
console.log(JSON.stringify({ ms, rss, rssDelta: rss - rss0 }));
`;

async function probe(specifier: string): Promise<{ ms: number; rss: number; rssDelta: number }> {
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', PROBE, specifier], { cwd: ROOT });
  return JSON.parse(stdout.trim()) as { ms: number; rss: number; rssDelta: number };
}

export async function coldStartSection(ctx: SectionContext): Promise<void> {
  if (!existsSync(DIST) || statSync(DIST).mtimeMs < newestMtime(join(ROOT, 'src'))) {
    ctx.log('cold start: dist/ is missing or older than src/, running npm run build');
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'ignore' });
  }
  const runs = ctx.quick ? 3 : 9;
  const ours: { ms: number; rss: number }[] = [];
  const sdk: { ms: number; rss: number }[] = [];
  const ourSpecifier = pathToFileURL(DIST).href;
  await probe(ourSpecifier); // fill the OS file cache for both, so neither pays for the disk
  await probe('@vonage/server-sdk');
  for (let i = 0; i < runs; i++) {
    ours.push(await probe(ourSpecifier));
    sdk.push(await probe('@vonage/server-sdk'));
  }
  const oursMs = median(ours.map((r) => r.ms));
  const sdkMs = median(sdk.map((r) => r.ms));
  const oursRss = median(ours.map((r) => r.rss)) / 2 ** 20;
  const sdkRss = median(sdk.map((r) => r.rss)) / 2 ** 20;
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: 'import time',
      subject: { label: 'import dist/index.js', value: oursMs, unit: 'ms' },
      baseline: { label: "import '@vonage/server-sdk'", value: sdkMs, unit: 'ms' },
      ratio: oursMs / sdkMs,
      ratioMeaning: "× the SDK's",
      target: { kind: 'max', value: 1, text: "below the SDK's" },
      notes: [`median of ${runs} fresh processes each, alternating; time of the dynamic import() inside the process`],
    }),
  );
  ctx.comparisons.push(
    compare({
      section: SECTION,
      name: 'RSS after import',
      subject: { label: 'import dist/index.js', value: oursRss, unit: 'MB' },
      baseline: { label: "import '@vonage/server-sdk'", value: sdkRss, unit: 'MB' },
      ratio: oursRss / sdkRss,
      ratioMeaning: "× the SDK's",
      target: { kind: 'max', value: 1, text: "below the SDK's" },
      notes: [
        `process RSS (node itself is ~${(median(ours.map((r) => r.rss - (r as { rssDelta?: number }).rssDelta!)) / 2 ** 20).toFixed(0)} MB before the import)`,
      ],
    }),
  );
}
