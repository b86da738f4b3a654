// The size gate of scripts/check-package.sh, run against fixture packages: it must refuse a
// root entry that can reach a database client or msw, through any chunk, in ESM or CJS.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'check-size.mjs');
const made: string[] = [];

function fixture(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'vm-size-'));
  made.push(root);
  mkdirSync(join(root, 'dist'));
  const base: Record<string, string> = {
    'index.js': 'import { helper } from "./chunk-A.js";\nexport const run = () => helper();\n',
    'chunk-A.js': 'import { createHash } from "node:crypto";\nexport const helper = () => createHash("sha256");\n',
    'index.cjs': 'const { helper } = require("./chunk-A.cjs");\nexports.run = () => helper();\n',
    'chunk-A.cjs': 'const { createHash } = require("node:crypto");\nexports.helper = () => createHash("sha256");\n',
  };
  for (const [name, text] of Object.entries({ ...base, ...files })) writeFileSync(join(root, 'dist', name), text);
  return root;
}

function sizeCheck(root: string): { ok: boolean; output: string } {
  try {
    const output = execFileSync(process.execPath, [SCRIPT], {
      env: { ...process.env, PACKAGE_ROOT: root },
      encoding: 'utf8',
      stdio: 'pipe',
    });
    return { ok: true, output };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('the root-entry size gate', () => {
  it('passes a root entry that only reaches its own chunks and node built-ins, and reports its gzip size', () => {
    const result = sizeCheck(fixture({}));
    expect(result.ok).toBe(true);
    expect(result.output).toMatch(/dist\/index\.js: 2 file\(s\), .* gzip/);
    expect(result.output).toContain('size check passed');
  });

  it('fails when a chunk the ESM root entry imports pulls in ioredis', () => {
    const root = fixture({
      'chunk-A.js': 'import { Redis } from "ioredis";\nexport const helper = () => new Redis();\n',
    });
    const result = sizeCheck(root);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('dist/index.js pulls ioredis into the root entry');
  });

  it('fails when the CJS root entry requires msw', () => {
    const root = fixture({ 'index.cjs': 'const { http } = require("msw");\nexports.run = () => http;\n' });
    const result = sizeCheck(root);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('dist/index.cjs pulls msw into the root entry');
  });

  it('fails when the root entry loads pg lazily through import()', () => {
    const root = fixture({
      'index.js': 'export const connect = async () => (await import("pg")).default;\n',
    });
    const result = sizeCheck(root);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('dist/index.js pulls pg into the root entry');
  });

  it('fails when a chunk of the root entry imports @opentelemetry/api (the otel subpath alone may)', () => {
    const root = fixture({
      'chunk-A.js': 'import { trace } from "@opentelemetry/api";\nexport const helper = () => trace;\n',
    });
    const result = sizeCheck(root);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('dist/index.js pulls @opentelemetry/api into the root entry');
  });

  it('ignores the word "from" inside string literals (an error message is not an import)', () => {
    const root = fixture({
      'index.js':
        'import { helper } from "./chunk-A.js";\nexport const run = () => { throw new Error("refused: from \'pg\' we learnt"); };\nexport { helper };\n',
    });
    expect(sizeCheck(root).ok).toBe(true);
  });
});
