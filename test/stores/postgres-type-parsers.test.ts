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

// A pool of its own whose `types` keep every value as PostgreSQL's text (an app that parses
// numerics and timestamps itself): booleans then arrive as "t" and "f".
const textTable = `vm_test_${runId()}`;
let textPool: pg.Pool;
beforeAll(async () => {
  textPool = await connectPostgres({ types: { getTypeParser: () => (text: string) => text } });
  await postgresStore({ pool: textPool, table: textTable }).createTables();
});
afterAll(async () => {
  await dropPostgresStore(textPool, textTable);
  await textPool.end();
});
describeSessionStore('postgresStore, a pool whose types keep every value as text', () =>
  postgresStore({ pool: textPool, table: textTable }),
);

parsers.forEach(([name, parse], i) => {
  describeSessionStore(`postgresStore, pg type parser ${name}`, () => {
    pg.types.setTypeParser(INT8, parse);
    pg.types.setTypeParser(NUMERIC, Number.parseFloat);
    return postgresStore({ pool, table: tables[i] as string });
  });
});
