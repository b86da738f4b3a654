import { describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/store/memory.js';
import { describeSessionStore, SESSION_STORE_TESTS } from '../../src/testing/conformance.js';

describe('describeSessionStore options', () => {
  it('refuses a skip without a written reason', () => {
    expect(() =>
      describeSessionStore('x', () => memoryStore(), {
        skip: [{ reason: '  ', tests: ['claim is true again after its ttl'] }],
      }),
    ).toThrow(/written reason/);
  });

  it('refuses to skip a test that does not exist, so a typo never hides a rule', () => {
    expect(() =>
      describeSessionStore('x', () => memoryStore(), {
        skip: [{ reason: 'no ttl', tests: ['claim expires' as (typeof SESSION_STORE_TESTS)[number]] }],
      }),
    ).toThrow(/no test named "claim expires"/);
  });

  it('refuses a declared absent capability without a written reason', () => {
    expect(() =>
      describeSessionStore('x', () => memoryStore(), { lacks: [{ reason: '', capabilities: ['takeToken'] }] }),
    ).toThrow(/declared absence needs a written reason/);
  });

  it('refuses an option, a capability or a ttl it does not know, so a typo never tests less', () => {
    const options = (value: unknown) => value as Parameters<typeof describeSessionStore>[2];
    expect(() => describeSessionStore('x', () => memoryStore(), options({ lack: [] }))).toThrow(/no option "lack"/);
    expect(() =>
      describeSessionStore(
        'x',
        () => memoryStore(),
        options({ lacks: [{ reason: 'r', capabilities: ['takeTokens'] }] }),
      ),
    ).toThrow(/no optional capability "takeTokens"/);
    expect(() => describeSessionStore('x', () => memoryStore(), { ttlMs: -5 })).toThrow(
      /ttlMs must be a positive integer/,
    );
    expect(() => describeSessionStore('x', () => memoryStore(), { shortTtlMs: 0.5 })).toThrow(/shortTtlMs/);
  });

  it('names every test uniquely', () => {
    expect(new Set(SESSION_STORE_TESTS).size).toBe(SESSION_STORE_TESTS.length);
  });
});
