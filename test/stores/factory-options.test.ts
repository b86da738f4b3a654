import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { d1Store } from '../../src/store/d1.js';
import { memoryStore } from '../../src/store/memory.js';
import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import { sqliteStore } from '../../src/store/sqlite.js';

// Each factory with its required option; nothing here reaches a client (options are checked first).
const FACTORIES: [string, (options: never) => unknown, Record<string, unknown>][] = [
  ['memoryStore', memoryStore, {}],
  ['redisStore', redisStore, { client: { evalsha() {} } }],
  ['postgresStore', postgresStore, { pool: { query() {} } }],
  ['sqliteStore', sqliteStore, { database: ':memory:' }],
  ['d1Store', d1Store, { database: { prepare() {}, batch() {} } }],
];

function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe.each(FACTORIES)('%s options', (name, create, required) => {
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
