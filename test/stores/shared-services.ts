/**
 * One test file's share of the real services: a Redis client and key prefix, a PostgreSQL
 * pool with its own tables, and a temporary directory for SQLite files, all cleaned up after
 * the file (or the describe block it is called in). The fields are set in `beforeAll`, so read
 * them inside tests and store factories, not at import time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { postgresStore } from '../../src/store/postgres.js';
import { connectPostgres, connectRedis, dropPostgresStore, dropRedisPrefix, runId } from './services.js';

export interface SharedServices {
  redis: Redis;
  pool: pg.Pool;
  /** A Redis key prefix of this run. */
  readonly prefix: string;
  /** A PostgreSQL table prefix of this run (its tables are created before the tests). */
  readonly table: string;
  /** A temporary directory, removed afterwards. */
  readonly dir: string;
}

/** `name`: lowercase letters and digits, used in the prefix, the table and the directory. */
export function useSharedServices(name: string): SharedServices {
  const id = runId();
  const services = {
    prefix: `vm-${name}-${id}:`,
    table: `vm_${name}_${id}`,
    dir: mkdtempSync(join(tmpdir(), `vm-${name}-`)),
  } as SharedServices;
  beforeAll(async () => {
    services.redis = await connectRedis();
    services.pool = await connectPostgres();
    await postgresStore({ pool: services.pool, table: services.table }).createTables();
  });
  afterAll(async () => {
    await dropRedisPrefix(services.redis, services.prefix);
    services.redis.disconnect();
    await dropPostgresStore(services.pool, services.table);
    await services.pool.end();
    rmSync(services.dir, { recursive: true, force: true });
  });
  return services;
}
