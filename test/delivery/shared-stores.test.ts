import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import { connectPostgres, connectRedis, dropPostgresStore, dropRedisPrefix, runId } from '../stores/services.js';
import { describeDelivery } from './suite.js';

const prefix = `vm-delivery-${runId()}:`;
const table = `vm_delivery_${runId()}`;
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
});

describeDelivery('redisStore', () => redisStore({ client: redis, prefix }));
describeDelivery('postgresStore', () => postgresStore({ pool, table }));
