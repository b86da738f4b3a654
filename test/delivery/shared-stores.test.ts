import { postgresStore } from '../../src/store/postgres.js';
import { redisStore } from '../../src/store/redis.js';
import { useSharedServices } from '../stores/shared-services.js';
import { describeDelivery } from './suite.js';

const s = useSharedServices('delivery');

describeDelivery('redisStore', () => redisStore({ client: s.redis, prefix: s.prefix }));
describeDelivery('postgresStore', () => postgresStore({ pool: s.pool, table: s.table }));
