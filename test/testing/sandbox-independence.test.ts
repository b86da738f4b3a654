import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const FORBIDDEN = ['evaluateSend', 'MESSENGER_POLICY', 'definePolicy'];

interface ValueImport {
  from: string;
  /** Resolved file, for relative imports. */
  file: string | undefined;
  names: string[];
}

/** The imports of a module that exist at runtime (`import type` and type-only names left out). */
function valueImports(file: string): ValueImport[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: ValueImport[] = [];
  const resolveSpec = (spec: string) =>
    spec.startsWith('.') ? resolve(dirname(file), spec.replace(/\.js$/, '.ts')) : undefined;
  for (const node of source.statements) {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      if (clause?.isTypeOnly) continue;
      const names: string[] = [];
      if (clause?.name) names.push('default');
      const bindings = clause?.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) names.push('*');
      if (bindings && ts.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          if (!element.isTypeOnly) names.push((element.propertyName ?? element.name).text);
        }
      }
      // A side-effect import (`import './x.js'`) still loads the module.
      if (clause === undefined || names.length > 0) {
        out.push({ from: node.moduleSpecifier.text, file: resolveSpec(node.moduleSpecifier.text), names });
      }
    }
    if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      if (node.isTypeOnly) continue;
      const clause = node.exportClause;
      const names =
        clause === undefined
          ? ['*']
          : ts.isNamedExports(clause)
            ? clause.elements.filter((e) => !e.isTypeOnly).map((e) => (e.propertyName ?? e.name).text)
            : ['*'];
      if (names.length > 0) {
        out.push({ from: node.moduleSpecifier.text, file: resolveSpec(node.moduleSpecifier.text), names });
      }
    }
  }
  return out;
}

/** Every module the entry loads at runtime, following relative value imports. */
function runtimeClosure(entry: string): Map<string, ValueImport[]> {
  const seen = new Map<string, ValueImport[]>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    const imports = valueImports(file);
    seen.set(file, imports);
    for (const i of imports) if (i.file !== undefined) queue.push(i.file);
  }
  return seen;
}

describe('the sandbox is a second implementation of the rules', () => {
  const closure = runtimeClosure(resolve(root, 'src/testing/sandbox.ts'));

  it('loads no module that holds or re-exports the SDK policy at runtime', () => {
    const files = [...closure.keys()].map((f) => f.slice(root.length + 1));
    expect(files).toContain('src/testing/sandbox/rules.ts');
    expect(files).not.toContain('src/policy.ts');
    expect(files).not.toContain('src/messenger.ts');
    expect(files).not.toContain('src/index.ts');
  });

  it('imports none of evaluateSend, MESSENGER_POLICY or definePolicy, from anywhere', () => {
    const offending = [...closure.entries()].flatMap(([file, imports]) =>
      imports
        .filter((i) => i.names.some((n) => FORBIDDEN.includes(n) || n === '*'))
        .filter((i) => i.names.some((n) => FORBIDDEN.includes(n)) || i.file?.endsWith('/policy.ts'))
        .map((i) => `${file.slice(root.length + 1)} imports ${i.names.join(', ')} from ${i.from}`),
    );
    expect(offending).toEqual([]);
  });

  it('would notice a value import of the policy (the check itself can fail)', () => {
    // The send pipeline imports evaluateSend; messenger.ts, the policy objects.
    const fromPipeline = valueImports(resolve(root, 'src/send/pipeline.ts')).find((i) => i.from === '../policy.js');
    expect(fromPipeline?.names).toEqual(expect.arrayContaining(['evaluateSend']));
    const imports = valueImports(resolve(root, 'src/messenger.ts'));
    const fromPolicy = imports.find((i) => i.from === './policy.js');
    expect(fromPolicy?.names).toEqual(expect.arrayContaining(['MESSENGER_POLICY', 'definePolicy']));
    expect(runtimeClosure(resolve(root, 'src/messenger.ts')).has(resolve(root, 'src/policy.ts'))).toBe(true);
  });
});
