import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { keyValueStore, memoryKeyValueTable } from '../../examples/custom-kv-store.js';
import { memoryStore } from '../../src/store/memory.js';
import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { connectPostgres, connectRedis, dropPostgresStore, dropRedisPrefix, runId } from '../stores/services.js';
import { describeOptionShapes } from './shapes.js';

const prefix = `vm-options-${runId()}:`;
const table = `vm_options_${runId()}`;
const dir = mkdtempSync(join(tmpdir(), 'vm-options-'));
let redis: Redis;
let pool: pg.Pool;

beforeAll(async () => {
  redis = await connectRedis();
  pool = await connectPostgres();
  await postgresStore({ pool, table }).createTables();
});
afterAll(async () => {
  await dropRedisPrefix(redis, prefix);
  redis.disconnect();
  await dropPostgresStore(pool, table);
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
});

describeOptionShapes('memoryStore', () => memoryStore());
describeOptionShapes('keyValueStore (examples/custom-kv-store.ts)', () => keyValueStore(memoryKeyValueTable()));
describeOptionShapes('sqliteStore', () => sqliteStore({ database: join(dir, 'options.db') }));
describeOptionShapes('redisStore', () => redisStore({ client: redis, prefix }));
describeOptionShapes('postgresStore', () => postgresStore({ pool, table }));
