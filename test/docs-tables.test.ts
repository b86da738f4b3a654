import { describe, expect, it } from 'vitest';
import { currentBlock, policyRows, renderErrorTable, renderPolicyTable } from '../scripts/docs-tables.js';
import { definePolicy, MESSENGER_POLICY, MESSENGER_POLICY_SOURCES } from '../src/policy.js';
import { PLATFORM_ERRORS } from '../src/webhooks/platform.js';

describe('docs/rules.md and the policy table; docs/errors.md and the Vonage codes', () => {
  it('every policy row has a source, and every source a row', () => {
    const rows = policyRows().map((r) => r.name);
    expect(rows.sort()).toEqual(Object.keys(MESSENGER_POLICY_SOURCES).sort());
    expect(rows).toContain('tags.HUMAN_AGENT');
    for (const row of policyRows()) expect(row.source).toMatch(/https:\/\/|this SDK's choice/);
  });

  it('lists the effective dates of the retired tags', () => {
    const byName = Object.fromEntries(policyRows().map((r) => [r.name, r]));
    expect(byName['tags.ACCOUNT_UPDATE']?.effective).toBe('retired 2026-04-27');
    expect(byName['tags.SHIPPING_UPDATE']?.effective).toBe('retired 2020-03-04');
    expect(byName['tags.HUMAN_AGENT']?.value).toBe("7 d after the user's last message");
    expect(Object.keys(MESSENGER_POLICY.tags)).toHaveLength(20);
  });

  it('docs/rules.md carries the table generated from the policy (npx tsx scripts/docs-tables.ts --write)', () => {
    expect(currentBlock('policy-table')).toBe(renderPolicyTable());
  });

  it('docs/errors.md carries one row per Vonage code, with its kind and source', () => {
    expect(currentBlock('error-table')).toBe(renderErrorTable());
    for (const code of [
      '1010',
      '1030',
      '1170',
      '1180',
      '1282',
      '1330',
      '1360',
      '1431',
      '2001',
      '1021',
      '1340',
      '1370',
    ]) {
      expect(currentBlock('error-table')).toContain(`| ${code} | \`${PLATFORM_ERRORS[code]?.kind}\` |`);
    }
  });

  it('would notice a policy change (the check can fail)', () => {
    expect(renderPolicyTable(definePolicy({ standardWindowMs: 48 * 3_600_000 }))).not.toBe(
      currentBlock('policy-table'),
    );
    const { '1180': _dropped, ...fewer } = PLATFORM_ERRORS;
    expect(renderErrorTable(fewer)).not.toBe(currentBlock('error-table'));
    expect(() => policyRows(definePolicy({ tags: { CUSTOMER_FEEDBACK: { windowMs: 1 } } }))).toThrow(/no source/);
  });
});
