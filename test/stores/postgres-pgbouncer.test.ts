/**
 * postgresStore behind PgBouncer in transaction mode (1.18, Debian's): each transaction may
 * get another server connection, so named prepared statements break, and
 * `preparedStatements: false` is the way through. Outside CI, a machine without PgBouncer
 * skips this file; under CI=true it runs (.ci/run installs PgBouncer) and fails without it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { postgresStore } from '../../src/store/postgres.js';
import { describeSessionStore } from '../../src/testing/conformance.js';
import { describeOptionShapes } from '../options/shapes.js';
import { pgBouncerRuns, usePgBouncer } from './pgbouncer.js';
import { connectPostgres, dropPostgresStore, runId } from './services.js';

describe.skipIf(!pgBouncerRuns)('postgresStore through PgBouncer', () => {
  const bouncer = usePgBouncer();
  const table = `vm_test_${runId()}`;
  let direct: pg.Pool | undefined;
  let pooled: pg.Pool;

  beforeAll(async () => {
    direct = await connectPostgres();
    pooled = new pg.Pool({ ...bouncer.config, max: 8 });
    pooled.on('error', () => {});
    // Through the pooler too: one transaction (BEGIN, an advisory lock, the DDL, COMMIT).
    await postgresStore({ pool: pooled, table, preparedStatements: false }).createTables();
  });
  afterAll(async () => {
    await pooled?.end();
    if (direct === undefined) return; // the pooler never started
    await dropPostgresStore(direct, table);
    await direct.end();
  });

  const through = () => postgresStore({ pool: pooled, table, preparedStatements: false });
  describeSessionStore('postgresStore through PgBouncer (transaction mode), preparedStatements: false', through);
  describeOptionShapes('postgresStore through PgBouncer (transaction mode), preparedStatements: false', through);

  describe('postgresStore behind PgBouncer in transaction mode', () => {
    it('with named prepared statements (the default), says to pass preparedStatements: false', async () => {
      // Two clients, one after the other: a statement one prepared is missing, or already
      // there, on the server connection the other gets.
      const pools = [new pg.Pool({ ...bouncer.config, max: 1 }), new pg.Pool({ ...bouncer.config, max: 1 })];
      const failures: unknown[] = [];
      try {
        const stores = pools.map((pool) => postgresStore({ pool, table }));
        for (let i = 0; i < 20; i++) {
          for (const store of stores) {
            await store
              .get(conversationKey(pageId('101'), psid(String(2000 + i))))
              .catch((e: unknown) => failures.push(e));
          }
        }
      } finally {
        await Promise.all(pools.map((pool) => pool.end()));
      }
      expect(failures.length).toBeGreaterThan(0);
      for (const failure of failures) {
        expect((failure as Error).message).toMatch(
          /prepared statements.*pass postgresStore\(\{ preparedStatements: false \}\)/,
        );
        expect(['26000', '42P05']).toContain(((failure as Error).cause as { code?: string }).code);
      }
    });

    it('with preparedStatements: false, names no statement', async () => {
      const names: unknown[] = [];
      const spy = {
        query: (config: { name?: unknown }, ...rest: unknown[]) => {
          names.push(config.name);
          return (pooled.query as (...a: unknown[]) => unknown)(config, ...rest);
        },
      } as unknown as pg.Pool;
      const store = postgresStore({ pool: spy, table, preparedStatements: false });
      const key = conversationKey(pageId('101'), psid('3001'));
      await store.recordInbound(key, Date.now(), 'm-1');
      await store.get(key);
      expect(names).toEqual([undefined, undefined]);
    });

    it('refuses a preparedStatements that is not a boolean', () => {
      expect(() => postgresStore({ pool: pooled, preparedStatements: 'no' as unknown as boolean })).toThrow(
        ValidationError,
      );
    });
  });
});
