#!/usr/bin/env node
// Type-checks every example: each ```ts / ```typescript block of README.md and docs/*.md, and
// each `@example` block of a TSDoc comment in src/. Each becomes one module in .tmp/examples/
// (gitignored), compiled with tsc's API against src/ (not dist/), and any error is reported at
// the snippet's own file:line. Exit code 1 when one fails.
//
// The convention a snippet may rely on (README.md, "Documentation", says it to readers):
// - `vonage-messenger` and its subpaths (`vonage-messenger/redis`, ...) resolve to src/.
// - README/docs snippets are code a user can paste: they import what they use from the package.
//   Within one page, a snippet may use what an earlier snippet of that page declared only
//   through the ambient names below.
// - `@example` snippets in src/ get an automatic import of every package export they use and
//   do not declare or import themselves; a name the package does not export but the snippet's
//   own module does (an internal helper's example) is imported from that module.
// - The ambient names of scripts/examples-prelude.d.ts are declared for every snippet
//   (`messenger`, `store`, `request`, `page`, `user`, `event`, ...); a snippet's own
//   declaration of the same name wins.
// - A snippet that is not meant to compile (shell output, a type error on purpose) uses
//   another fence language (```text, ```js), not ```ts.
//   node scripts/check-examples.mjs          # check all
//   node scripts/check-examples.mjs --list   # print every snippet's location
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, '.tmp/examples');

/** Each package subpath and the source file it is built from (package.json exports + tsup entries). */
function subpaths() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const tsup = readFileSync(join(ROOT, 'tsup.config.ts'), 'utf8');
  const entries = Object.fromEntries(
    [...tsup.matchAll(/^\s*'?([\w-]+)'?: '(src\/[^']+\.ts)'/gm)].map((m) => [m[1], m[2]]),
  );
  const out = {};
  for (const [key, value] of Object.entries(pkg.exports)) {
    const dist = typeof value === 'string' ? value : value.import?.default;
    const entry = /^\.\/dist\/([\w-]+)\.js$/.exec(dist ?? '')?.[1];
    if (entry === undefined) continue;
    if (entries[entry] === undefined) throw new Error(`tsup.config.ts has no entry ${entry} for ${key}`);
    out[key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`] = entries[entry];
  }
  return out;
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

/** ```ts / ```typescript fences of a Markdown file, with the line of their first code line. */
function markdownSnippets(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(ts|typescript)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^\s*```\s*$/.test(lines[end])) end++;
    out.push({ file, line: start + 1, code: lines.slice(start, end).map((l) => l.slice(open[1].length)), kind: 'md' });
    i = end;
  }
  return out;
}

/** The fenced code after each `@example` tag of the TSDoc comments of a source file. */
function sourceSnippets(file) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\*\s*@example\b/.test(lines[i])) continue;
    let j = i + 1;
    while (j < lines.length && !/^\s*\*\s*```/.test(lines[j]) && !/\*\//.test(lines[j])) j++;
    if (!/^\s*\*\s*```(ts|typescript)?\s*$/.test(lines[j] ?? '')) {
      out.push({ file, line: i + 1, code: [], kind: 'src', problem: '@example without a ```ts fence' });
      continue;
    }
    const start = j + 1;
    let end = start;
    while (end < lines.length && !/^\s*\*\s*```\s*$/.test(lines[end])) end++;
    const code = lines.slice(start, end).map((l) => l.replace(/^\s*\* ?/, ''));
    out.push({ file, line: start + 1, code, kind: 'src' });
    i = end;
  }
  return out;
}

/** Exported names of each subpath entry, first subpath first (the root wins a name). */
function exportsBySubpath(map) {
  const program = ts.createProgram(Object.values(map), compilerOptions(map));
  const checker = program.getTypeChecker();
  const owner = new Map();
  for (const [specifier, file] of Object.entries(map)) {
    const source = program.getSourceFile(join(ROOT, file));
    const symbol = source && checker.getSymbolAtLocation(source);
    if (!symbol) throw new Error(`cannot read the exports of ${file}`);
    for (const exported of checker.getExportsOfModule(symbol)) {
      if (!owner.has(exported.name)) owner.set(exported.name, specifier);
    }
  }
  return owner;
}

/** Exported names of each source file that has `@example` snippets (for internal helpers' examples). */
function exportsByFile(files, map) {
  const program = ts.createProgram(files, compilerOptions(map));
  const checker = program.getTypeChecker();
  const out = new Map();
  for (const file of files) {
    const source = program.getSourceFile(file);
    const symbol = source && checker.getSymbolAtLocation(source);
    out.set(file, new Set(symbol ? checker.getExportsOfModule(symbol).map((e) => e.name) : []));
  }
  return out;
}

function compilerOptions(map) {
  const { config } = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(config, ts.sys, ROOT);
  const paths = Object.fromEntries(Object.entries(map).map(([specifier, file]) => [specifier, [join(ROOT, file)]]));
  // As strict as a user's project may be: a snippet must compile under exactOptionalPropertyTypes too.
  return {
    ...options,
    noEmit: true,
    paths,
    noUnusedLocals: false,
    noUnusedParameters: false,
    exactOptionalPropertyTypes: true,
  };
}

const IDENTIFIER = /(?<![.\w$'"`])[A-Za-z_$][\w$]*/g;
const DECLARED =
  /\b(?:const|let|var|function\*?|class|type|interface|enum|import\s+type|import)\s+(?:\{([^}]*)\}|([A-Za-z_$][\w$]*))/g;

/** Names a snippet declares or imports itself (roughly: enough to avoid a duplicate import). */
function ownNames(code) {
  const names = new Set();
  for (const m of code.matchAll(DECLARED)) {
    if (m[2]) names.add(m[2]);
    for (const part of (m[1] ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+|:\s*/)
        .pop()
        ?.trim();
      if (name && /^[A-Za-z_$][\w$]*$/.test(name)) names.add(name);
    }
  }
  for (const m of code.matchAll(/\bimport\s+\*\s+as\s+([\w$]+)/g)) names.add(m[1]);
  return names;
}

function main() {
  const map = subpaths();
  const snippets = [];
  for (const file of [join(ROOT, 'README.md'), ...readdirSync(join(ROOT, 'docs')).map((f) => join(ROOT, 'docs', f))]) {
    if (file.endsWith('.md')) snippets.push(...markdownSnippets(file));
  }
  for (const file of walk(join(ROOT, 'src'))) if (file.endsWith('.ts')) snippets.push(...sourceSnippets(file));

  if (process.argv.includes('--list')) {
    for (const s of snippets) console.log(`${relative(ROOT, s.file)}:${s.line}`);
    return 0;
  }

  const owner = exportsBySubpath(map);
  const local = exportsByFile([...new Set(snippets.filter((s) => s.kind === 'src').map((s) => s.file))], map);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const prelude = join(ROOT, 'scripts/examples-prelude.d.ts');
  const generated = new Map();
  const failures = [];
  snippets.forEach((s, index) => {
    if (s.problem) {
      failures.push(`${relative(ROOT, s.file)}:${s.line}: ${s.problem}`);
      return;
    }
    const body = s.code.join('\n');
    const header = [];
    if (s.kind === 'src') {
      const own = ownNames(body);
      const wanted = new Map();
      const ownModule = s.file.replace(/\.ts$/, '.js');
      for (const [name] of body.matchAll(IDENTIFIER)) {
        const from = owner.get(name) ?? (local.get(s.file)?.has(name) ? ownModule : undefined);
        if (from === undefined || own.has(name)) continue;
        if (!wanted.has(from)) wanted.set(from, new Set());
        wanted.get(from).add(name);
      }
      for (const [from, names] of wanted) header.push(`import { ${[...names].sort().join(', ')} } from '${from}';`);
    }
    const name = `${relative(ROOT, s.file).replace(/[^\w]+/g, '_')}_L${s.line}_${index}.mts`;
    const path = join(OUT, name);
    // Import declarations may come anywhere at the top level, so the snippet stays as written
    // after the automatic imports (whose lines are subtracted from error positions).
    const text = [...header, ...s.code, 'export {};', ''].join('\n');
    generated.set(path, { snippet: s, offset: header.length });
    writeFileSync(path, text);
  });

  const options = compilerOptions(map);
  const program = ts.createProgram([prelude, ...generated.keys()], options);
  const diagnostics = ts.getPreEmitDiagnostics(program);
  for (const d of diagnostics) {
    const file = d.file?.fileName;
    const entry = file && generated.get(file);
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n  ');
    if (!entry) {
      failures.push(`${file ? relative(ROOT, file) : '(no file)'}: ${message}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const at = line - entry.offset;
    const where = at < 0 ? `${entry.snippet.line} (in the automatic import)` : `${entry.snippet.line + at}`;
    failures.push(`${relative(ROOT, entry.snippet.file)}:${where}: TS${d.code}: ${message}`);
  }
  for (const failure of failures) console.error(failure);
  const files = new Set(snippets.map((s) => s.file)).size;
  console.log(
    failures.length === 0
      ? `check-examples: all ${snippets.length} snippets from ${files} files compile`
      : `check-examples: ${failures.length} errors in ${snippets.length} snippets (${relative(ROOT, OUT)}/ holds the generated files)`,
  );
  return failures.length === 0 ? 0 : 1;
}

process.exitCode = main();
