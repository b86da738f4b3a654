#!/usr/bin/env node
// Size gate for the root entry (`vonage-messenger`), run by scripts/check-package.sh after
// the build. It reports:
//   1. our own code: dist/index.js plus every dist chunk it reaches through static or
//      dynamic relative imports (ESM), and the same for dist/index.cjs (CJS);
//   2. the whole closure a user loads: dist/index.js bundled by esbuild with its
//      dependencies (zod, @vonage/*), minified, gzip -9.
// It fails when the root entry can reach a database client, msw, vitest or OpenTelemetry: those are
// optional peers that only the subpath entries may load.
import { readFileSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// PACKAGE_ROOT lets the gate's own tests point it at a fixture package.
const root = process.env.PACKAGE_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FORBIDDEN = ['ioredis', 'pg', 'better-sqlite3', 'msw', 'vitest', '@opentelemetry/api'];
const gz = (buf) => gzipSync(buf, { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
const fail = (message) => {
  console.error(`size check FAILED: ${message}`);
  process.exit(1);
};

/** Relative and bare specifiers of an ESM or CJS file, split into static and dynamic ones. */
function specifiers(code) {
  const found = { static: new Set(), dynamic: new Set() };
  // Module syntax as tsup emits it: one statement per line, specifiers without whitespace
  // (so text inside string literals, e.g. an error message saying "from", is not taken).
  const staticPatterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*["']([^"'\s]+)["']/gm,
    /^\s*import\s*["']([^"'\s]+)["']/gm,
    /\brequire\(\s*["']([^"'\s]+)["']\s*\)/g,
  ];
  for (const pattern of staticPatterns) for (const match of code.matchAll(pattern)) found.static.add(match[1]);
  for (const match of code.matchAll(/\bimport\(\s*["']([^"'\s]+)["']\s*\)/g)) found.dynamic.add(match[1]);
  return found;
}

const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

function walk(entry) {
  const files = new Map();
  const bare = new Set();
  const lazy = new Set();
  const queue = [resolve(root, entry)];
  while (queue.length > 0) {
    const file = queue.pop();
    if (files.has(file)) continue;
    const code = readFileSync(file);
    files.set(file, code);
    const found = specifiers(code.toString());
    for (const [kind, specs] of Object.entries(found)) {
      for (const spec of specs) {
        // Our own chunks count whether imported statically or lazily: they ship in the package.
        if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
        else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) {
          (kind === 'static' ? bare : lazy).add(packageName(spec));
        }
      }
    }
  }
  for (const name of bare) lazy.delete(name);
  return { files, bare, lazy };
}

let lazyPackages = new Set();
const report = { generatedAt: new Date().toISOString(), entries: {} };
for (const entry of ['dist/index.js', 'dist/index.cjs']) {
  let graph;
  try {
    graph = walk(entry);
  } catch (error) {
    fail(`cannot read ${entry} or a file it imports (${error.message}); run npm run build first`);
  }
  const files = [...graph.files.entries()].map(([file, code]) => ({
    file: relative(root, file),
    bytes: code.length,
    gzip: gz(code),
  }));
  // A lazy import() of a peer would still load it on some path of the root entry: refused too.
  const bad = [...graph.bare, ...graph.lazy].filter((name) => FORBIDDEN.includes(name));
  if (bad.length > 0)
    fail(`${entry} pulls ${bad.join(', ')} into the root entry (optional peers belong to subpaths only)`);
  const all = Buffer.concat([...graph.files.values()]);
  report.entries[entry] = {
    files,
    bytes: all.length,
    gzipFiles: files.reduce((sum, f) => sum + f.gzip, 0),
    gzipConcatenated: gz(all),
    dependencies: [...graph.bare].sort(),
    lazyDependencies: [...graph.lazy].sort(),
  };
  lazyPackages = new Set([...lazyPackages, ...graph.lazy]);
  console.log(
    `${entry}: ${files.length} file(s), ${kb(all.length)} raw, ${kb(gz(all))} gzip; imports ${[...graph.bare].sort().join(', ') || 'nothing external'}${graph.lazy.size > 0 ? `; lazily ${[...graph.lazy].sort().join(', ')}` : ''}`,
  );
  for (const f of files)
    console.log(`  ${f.file.padEnd(34)} ${kb(f.bytes).padStart(9)} ${kb(f.gzip).padStart(9)} gzip`);
}

// The full closure: what `import 'vonage-messenger'` costs a user, dependencies included.
let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  fail('esbuild (a tsup dependency) is not installed');
}
const result = await esbuild.build({
  entryPoints: [join(root, 'dist/index.js')],
  bundle: true,
  minify: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  write: false,
  metafile: true,
  logLevel: 'silent',
  // Packages only reached through import() load on demand, not at `import 'vonage-messenger'`.
  external: [...lazyPackages],
});
const bundle = result.outputFiles[0].contents;
const packages = new Map();
for (const [input, info] of Object.entries(result.metafile.inputs)) {
  const match = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\//g);
  const name = match ? match[match.length - 1].slice('node_modules/'.length, -1) : 'vonage-messenger (dist)';
  packages.set(name, (packages.get(name) ?? 0) + info.bytes);
}
const pulled = [...packages.keys()].filter((name) => FORBIDDEN.includes(name));
if (pulled.length > 0) fail(`the bundled root entry contains ${pulled.join(', ')}`);
report.closure = {
  lazyExcluded: [...lazyPackages],
  bytesMinified: bundle.length,
  gzipMinified: gz(bundle),
  packages: Object.fromEntries([...packages.entries()].sort((a, b) => b[1] - a[1])),
};
console.log(
  `root entry with its dependencies, bundled + minified: ${kb(bundle.length)}, ${kb(gz(bundle))} gzip` +
    (lazyPackages.size > 0 ? ` (not counting ${[...lazyPackages].join(', ')}, loaded on demand)` : ''),
);
for (const [name, bytes] of [...packages.entries()].sort((a, b) => b[1] - a[1])) {
  console.log(`  ${name.padEnd(34)} ${kb(bytes).padStart(9)} (unminified input)`);
}
const out = process.argv[2];
if (out) writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
console.log(`size check passed: no ${FORBIDDEN.join('/')} in the root entry`);
