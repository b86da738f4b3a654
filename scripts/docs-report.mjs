#!/usr/bin/env node
// Lists the public exports whose TSDoc lacks a comment, or that need an @example and lack one,
// per source file, from the JSON that `npm run docs` writes (docs/api/api.json). Typedoc's own
// `notDocumented` validation already warns about every undocumented member; this adds the
// project's rules: every public export has a TSDoc comment; functions and classes (what a user
// calls or constructs, the entry points) also have an @example; types, interfaces and
// constants need none (their fields are documented, and scripts/check-examples.mjs compiles
// every example that exists). Error classes need none either: they are thrown, not built, and
// share the one example of src/errors.ts's module comment.
//   node scripts/docs-report.mjs            # report, exit 0
//   node scripts/docs-report.mjs --strict   # exit 1 when anything is missing
import { readFileSync } from 'node:fs';

const path = new URL('../docs/api/api.json', import.meta.url);
let project;
try {
  project = JSON.parse(readFileSync(path, 'utf8'));
} catch (error) {
  console.error(`cannot read ${path.pathname} (${error.message}); run npm run docs first`);
  process.exit(1);
}

// Typedoc's ReflectionKind values for what a module can export.
const KIND = {
  4: 'namespace',
  8: 'enum',
  32: 'variable',
  64: 'function',
  128: 'class',
  256: 'interface',
  2097152: 'type',
  4194304: 'reference',
};
const NEEDS_EXAMPLE = new Set(['function', 'class']);

const comments = (reflection) =>
  [reflection.comment, ...(reflection.signatures ?? []).map((s) => s.comment)].filter(Boolean);
const hasSummary = (reflection) =>
  comments(reflection).some((c) => (c.summary ?? []).some((p) => p.text.trim() !== ''));
const hasExample = (reflection) =>
  comments(reflection).some((c) => (c.blockTags ?? []).some((t) => t.tag === '@example'));

// Error classes: those whose superclass chain reaches Error, by name within this project.
const superOf = new Map();
const collect = (r) => {
  if (r.kind === 128) superOf.set(r.name, r.extendedTypes?.[0]?.name);
  for (const c of r.children ?? []) collect(c);
};
collect(project);
const isErrorClass = (name) => {
  for (let n = name, depth = 0; n !== undefined && depth < 10; n = superOf.get(n), depth++)
    if (n === 'Error') return true;
  return false;
};

const seen = new Set();
const byFile = new Map();
const modules = project.children?.some((c) => c.kind === 2) ? project.children : [project];
for (const mod of modules) {
  for (const child of mod.children ?? []) {
    const kind = KIND[child.kind];
    if (kind === undefined || kind === 'reference' || seen.has(child.id)) continue;
    seen.add(child.id);
    const file = child.sources?.[0]?.fileName ?? '(unknown file)';
    const problems = [];
    if (!hasSummary(child)) problems.push('no TSDoc comment');
    const needsExample = NEEDS_EXAMPLE.has(kind) && !(kind === 'class' && isErrorClass(child.name));
    if (needsExample && !hasExample(child)) problems.push('no @example');
    if (problems.length === 0) continue;
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file).push(`${kind} ${child.name}: ${problems.join(', ')}`);
  }
}

let total = 0;
for (const [file, lines] of [...byFile.entries()].sort()) {
  console.log(`${file}`);
  for (const line of lines) console.log(`  - ${line}`);
  total += lines.length;
}
console.log(
  total === 0
    ? `every one of ${seen.size} public exports has a TSDoc comment, and every function and class an @example`
    : `${total} of ${seen.size} public exports lack a TSDoc comment, or an @example on a function or class (listed above by file)`,
);
if (total > 0 && process.argv.includes('--strict')) process.exit(1);
