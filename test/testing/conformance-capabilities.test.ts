/**
 * describeSessionStore on a store that lacks optional capabilities: their tests are reported
 * as skipped, with the reason, never as passed. Run in a child vitest on a fixture, so that
 * this run itself skips nothing (CI fails on any skip).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_STORE_TESTS } from '../../src/testing/conformance.js';

interface Assertion {
  ancestorTitles: string[];
  title: string;
  status: string;
  failureMessages: string[];
  meta: { skipReason?: string };
}

// The tests gated on an optional capability: those of the three capability groups.
const CAPABILITY_TESTS: string[] = SESSION_STORE_TESTS.filter((t) =>
  /^(readForSend|takeToken|recordAdReferral|later user messages|setTagAvailability)/.test(t),
);

const dir = mkdtempSync(join(tmpdir(), 'vm-conformance-'));
let results: Assertion[] = [];

beforeAll(() => {
  const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
  const config = fileURLToPath(new URL('./fixtures/vitest.fixture.config.ts', import.meta.url));
  const outputFile = join(dir, 'report.json');
  const { CI: _ci, ...env } = process.env;
  spawnSync(process.execPath, [vitest, 'run', '--config', config, `--outputFile=${outputFile}`], {
    env,
    encoding: 'utf8',
  });
  const report = JSON.parse(readFileSync(outputFile, 'utf8')) as { testResults: { assertionResults: Assertion[] }[] };
  results = report.testResults.flatMap((file) => file.assertionResults);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const suite = (name: string) => results.filter((r) => r.ancestorTitles.includes(`SessionStore conformance: ${name}`));

describe('describeSessionStore on a store without optional capabilities', () => {
  it('reports each capability test as skipped, with the missing capability as the reason', () => {
    const run = suite('required operations only');
    const skipped = run.filter((r) => r.status === 'skipped');
    expect(CAPABILITY_TESTS).toHaveLength(8);
    expect(skipped.map((r) => r.title).sort()).toEqual([...CAPABILITY_TESTS].sort());
    const reasons = Object.fromEntries(skipped.map((r) => [r.title, r.meta.skipReason]));
    expect(reasons[CAPABILITY_TESTS[1] as string]).toBe('the store has no takeToken (optional capability)');
    expect(reasons[CAPABILITY_TESTS[6] as string]).toBe(
      'the store has no setTagAvailability or getTagAvailability (optional capability)',
    );
  });

  it('still runs and passes every other test, the input checks included', () => {
    const run = suite('required operations only');
    const others = run.filter((r) => !CAPABILITY_TESTS.includes(r.title));
    expect(others.length).toBeGreaterThan(40);
    expect(others.filter((r) => r.status !== 'passed').map((r) => r.title)).toEqual([]);
    expect(others.map((r) => r.title)).toContain('bad input is refused with ValidationError and stores nothing');
  });

  it('fails a store that forgets conversations too soon, and one that forgets message ids too soon', () => {
    const failed = (name: string) =>
      suite(name)
        .filter((r) => r.status === 'failed')
        .map((r) => r.title);
    expect(failed('forgets conversations after 2 hours')).toContain(
      'a conversation is kept until ttlMs after its last message, and not longer',
    );
    expect(failed('remembers message ids for 50 ms')).toContain(
      'a message id is remembered across a retry: seconds later, and for a message a day old',
    );
  });

  it('fails, not skips, the tests of a capability the store has only half of', () => {
    const tags = suite('half the tag capability').filter((r) => r.title.startsWith('setTagAvailability'));
    expect(tags).toHaveLength(2);
    for (const r of tags) {
      expect(r.status).toBe('failed');
      expect(r.failureMessages.join('\n')).toMatch(/setTagAvailability and getTagAvailability come together/);
    }
  });
});
