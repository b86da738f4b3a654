/**
 * Removes what a bench's PostgreSQL store created: every table whose name starts with the
 * store's `table` option (the store adds one per kind of record, and new kinds are added over
 * time, so the names are read from the catalogue, not listed), and its functions (`T_ingest`).
 */
import type pg from 'pg';

/** `LIKE` matches `_` and `%` as wildcards: these are the prefix's own characters. */
const literal = (prefix: string) => `${prefix.replace(/[\\_%]/g, '\\$&')}%`;

export async function dropBenchTables(pool: pg.Pool, prefix: string): Promise<void> {
  const tables = await pool.query<{ name: string }>(
    `SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE $1`,
    [literal(prefix)],
  );
  if (tables.rows.length > 0) {
    await pool.query(`DROP TABLE IF EXISTS ${tables.rows.map((r) => r.name).join(', ')} CASCADE`);
  }
  const functions = await pool.query<{ name: string }>(
    `SELECT quote_ident(proname) AS name FROM pg_proc WHERE pronamespace = 'public'::regnamespace AND proname LIKE $1`,
    [literal(prefix)],
  );
  for (const { name } of functions.rows) await pool.query(`DROP FUNCTION IF EXISTS ${name}`);
}
