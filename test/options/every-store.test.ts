import { join } from 'node:path';
import { keyValueStore, memoryKeyValueTable } from '../../examples/custom-kv-store.js';
import { memoryStore } from '../../src/store/memory.js';
import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import { sqliteStore } from '../../src/store/sqlite.js';
import { useSharedServices } from '../stores/shared-services.js';
import { describeOptionShapes } from './shapes.js';

const s = useSharedServices('options');

describeOptionShapes('memoryStore', () => memoryStore());
describeOptionShapes('keyValueStore (examples/custom-kv-store.ts)', () => keyValueStore(memoryKeyValueTable()));
describeOptionShapes('sqliteStore', () => sqliteStore({ database: join(s.dir, 'options.db') }));
describeOptionShapes('redisStore', () => redisStore({ client: s.redis, prefix: s.prefix }));
describeOptionShapes('postgresStore', () => postgresStore({ pool: s.pool, table: s.table }));
