/**
 * Two builds of the SDK for side-by-side rows in one process: `channels` (src/ as it is) and
 * `none` (src/diagnostics.ts swapped for bench/lib/no-diagnostics.ts: the store layer of
 * src/store/checked.ts then never times, but still checks, so only the channels differ).
 * Both are bundled by esbuild with the same options, so that only the channels differ.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CreateMessenger } from './subject.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = `${ROOT}node_modules/.cache/vonage-messenger-bench/`;
const STUB = fileURLToPath(new URL('./no-diagnostics.ts', import.meta.url));

export interface Variant {
  createMessenger: CreateMessenger;
  memoryStore: () => import('../../src/store/types.js').SessionStore;
}

export interface OtelVariant extends Variant {
  enableOpenTelemetry: typeof import('../../src/otel/index.js').enableOpenTelemetry;
}

async function build(name: string, stubbed: boolean): Promise<string> {
  const esbuild = await import('esbuild');
  const outdir = `${OUT}${name}`;
  mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: { index: `${ROOT}src/index.ts`, otel: `${ROOT}src/otel/index.ts` },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    outdir,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
    plugins: stubbed
      ? [
          {
            name: 'no-diagnostics',
            setup(b) {
              b.onResolve({ filter: /(^|\/)diagnostics\.js$/ }, (args) =>
                args.importer.startsWith(`${ROOT}src`) ? { path: STUB } : undefined,
              );
            },
          },
        ]
      : [],
  });
  return outdir;
}

const load = async (dir: string) => ({
  index: (await import(pathToFileURL(`${dir}/index.mjs`).href)) as Record<string, unknown>,
  otel: (await import(pathToFileURL(`${dir}/otel.mjs`).href)) as Record<string, unknown>,
});

const asOtelVariant = (a: Awaited<ReturnType<typeof load>>): OtelVariant => ({
  createMessenger: a.index.createMessenger as CreateMessenger,
  memoryStore: a.index.memoryStore as Variant['memoryStore'],
  enableOpenTelemetry: a.otel.enableOpenTelemetry as OtelVariant['enableOpenTelemetry'],
});

/**
 * The `channels` build as {@link loadVariants} left it on disk, for a child process of the
 * bench: the parent builds once, so that children never race esbuild on one directory.
 */
export async function loadBuiltChannels(): Promise<OtelVariant> {
  return asOtelVariant(await load(`${OUT}channels`));
}

/** Builds and loads both variants. */
export async function loadVariants(): Promise<{ channels: OtelVariant; none: Variant }> {
  const [withChannels, without] = await Promise.all([build('channels', false), build('none', true)]);
  const a = await load(withChannels);
  const b = await load(without);
  const mentions = (dir: string) =>
    readdirSync(dir).some((f) => readFileSync(`${dir}/${f}`, 'utf8').includes('node:diagnostics_channel'));
  if (!mentions(withChannels) || mentions(without)) throw new Error('the two builds do not differ by the channels');
  return {
    channels: asOtelVariant(a),
    none: {
      createMessenger: b.index.createMessenger as CreateMessenger,
      memoryStore: b.index.memoryStore as Variant['memoryStore'],
    },
  };
}
