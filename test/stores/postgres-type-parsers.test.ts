/**
 * postgresStore when the app has changed pg's global type parsers, as many apps do for
 * `bigint` (int8) columns: to JavaScript numbers, or to BigInt. The store's times are bigint
 * columns, so it must read them either way.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { postgresStore } from '../../src/store/postgres.js';
import { describeSessionStore } from '../../src/testing/conformance.js';
import { connectPostgres, dropPostgresStore, runId } from './services.js';

const INT8 = 20;
const NUMERIC = 1700;
const parsers = [
  ['int8 as BigInt', (text: string) => BigInt(text)],
  ['int8 as Number', (text: string) => Number.parseInt(text, 10)],
] as const;
const tables = parsers.map(() => `vm_test_${runId()}`);
let pool: pg.Pool;

beforeAll(async () => {
  pool = await connectPostgres();
  for (const table of tables) await postgresStore({ pool, table }).createTables();
});
afterAll(async () => {
  for (const table of tables) await dropPostgresStore(pool, table);
  pg.types.setTypeParser(INT8, (text: string) => text);
  pg.types.setTypeParser(NUMERIC, (text: string) => text);
  await pool.end();
});

parsers.forEach(([name, parse], i) => {
  describeSessionStore(`postgresStore, pg type parser ${name}`, () => {
    pg.types.setTypeParser(INT8, parse);
    pg.types.setTypeParser(NUMERIC, Number.parseFloat);
    return postgresStore({ pool, table: tables[i] as string });
  });
});
