import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { d1Store } from '../../src/store/d1.js';
import { memoryStore } from '../../src/store/memory.js';
import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import { sqliteStore } from '../../src/store/sqlite.js';

// Each factory with its required option, and a wrong-typed value for each other option;
// nothing here reaches a client (options are checked first).
const COMMON = { ttlMs: 'a day', dedupeTtlMs: -1, now: 5, windowIndex: 'yes' };
const FACTORIES: [string, (options: never) => unknown, Record<string, unknown>, Record<string, unknown>][] = [
  ['memoryStore', memoryStore, {}, { ...COMMON, maxConversations: 0, maxClaims: 1.5 }],
  ['redisStore', redisStore, { client: { evalsha() {} } }, { ...COMMON, prefix: 123 }],
  [
    'postgresStore',
    postgresStore,
    { pool: { query() {} } },
    { ...COMMON, table: 'A-B', schema: 7, synchronousCommit: 'no', preparedStatements: 1 },
  ],
  ['sqliteStore', sqliteStore, { database: ':memory:' }, { ...COMMON, table: 5, driver: 'mysql', busyTimeoutMs: -5 }],
  ['d1Store', d1Store, { database: { prepare() {}, batch() {} } }, { ...COMMON, table: '' }],
];

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe.each(FACTORIES)('%s options', (name, create, required, wrong) => {
  it.each(Object.entries(wrong))(
    'refuses %s of the wrong type or range with a ValidationError naming it',
    (option, value) => {
      const error = thrown(() => create({ ...required, [option]: value } as never));
      expect(error).toBeInstanceOf(ValidationError);
      expect(JSON.stringify((error as ValidationError).issues)).toContain(option);
    },
  );

  it('refuses an unknown option by name (a typo must not fall back to a default)', () => {
    const error = thrown(() => create({ ...required, tablePrefix: 'x' } as never));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(
      new RegExp(`^${name} has no option "tablePrefix"; its options are `),
    );
    expect((error as ValidationError).issues).toEqual([{ path: 'tablePrefix', message: 'unknown option' }]);
  });

  it('says a duration given as a string is a string', () => {
    const error = thrown(() => create({ ...required, ttlMs: '1000' } as never));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/ttlMs must be a positive integer.*"1000" \(a string\)/);
  });

  if (name !== 'memoryStore') {
    it('refuses being called without options with a ValidationError, not a TypeError', () => {
      const error = thrown(() => (create as (options?: unknown) => unknown)());
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toMatch(new RegExp(`^${name} needs its options: ${name}\\(\\{`));
    });
  }
});
