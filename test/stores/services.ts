/**
 * Connections to the real services the adapter tests use. A service that does not answer
 * fails the test file with a message that says how to start it: these suites never skip.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import pg from 'pg';

export const REDIS_HOST = '127.0.0.1';
export const REDIS_PORT = 6379;
export const PG_CONFIG = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' } as const;

const HOW = 'start it with scripts/start-services.sh (CI runs that from .ci/run)';

/** A random name part, unique per test-file run, so parallel runs never share keys or tables. */
export const runId = (): string => randomBytes(5).toString('hex');

/** Connects to the shared Redis, or throws a clear error when it does not answer. */
export async function connectRedis(options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis({
    host: REDIS_HOST,
    port: REDIS_PORT,
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: () => null,
    ...options,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(`Redis at ${REDIS_HOST}:${REDIS_PORT} is not answering (${String(error)}): ${HOW}`);
  }
  return client;
}

/** Deletes every key under `prefix` (SCAN, never KEYS: the server is shared). */
export async function dropRedisPrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.unlink(...keys);
  } while (cursor !== '0');
}

/** A pg Pool on the shared PostgreSQL, or a clear error when it does not answer. */
export async function connectPostgres(options: pg.PoolConfig = {}): Promise<pg.Pool> {
  const pool = new pg.Pool({ ...PG_CONFIG, connectionTimeoutMillis: 3000, max: 10, ...options });
  pool.on('error', () => {});
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => {});
    throw new Error(
      `PostgreSQL at ${PG_CONFIG.host}:${PG_CONFIG.port} (user postgres, db test) is not answering (${String(error)}): ${HOW}`,
    );
  }
  return pool;
}

/** Drops every table and the ingest function of a `postgresStore({ table })` (test-owned names only). */
export async function dropPostgresStore(pool: pg.Pool, table: string): Promise<void> {
  await pool.query(
    `${['conversations', 'messages', 'pages', 'claims', 'tokens', 'deliveries', 'page_tags']
      .map((t) => `DROP TABLE IF EXISTS "${table}_${t}";`)
      .join(' ')} DROP FUNCTION IF EXISTS "${table}_ingest";`,
  );
}
