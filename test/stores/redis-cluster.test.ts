import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationKey, pageId, psid } from '../../src/ids.js';
import { redisStore } from '../../src/store/redis.js';
import { describeSessionStore } from '../../src/testing/conformance.js';
import { describeDelivery } from '../delivery/suite.js';
import { describeOptionShapes } from '../options/shapes.js';
import { connectCluster } from './fixtures/backend.js';
import { useRedisCluster } from './redis-cluster.js';
import { runId } from './services.js';

const prefix = `vm-cluster-${runId()}:`;
const cluster = useRedisCluster();
const client = () => cluster.client;
let prefixedClient: Cluster;
beforeAll(async () => {
  prefixedClient = connectCluster(cluster.port, { keyPrefix: `vm-kp-${runId()}:` });
  await prefixedClient.ping();
});
afterAll(() => prefixedClient?.disconnect());

describeSessionStore('redisStore on Redis Cluster (3 masters)', () => redisStore({ client: client(), prefix }));
describeSessionStore('redisStore on Redis Cluster, a client with keyPrefix', () =>
  redisStore({ client: prefixedClient, prefix }),
);
describeDelivery('redisStore on Redis Cluster (3 masters)', () => redisStore({ client: client(), prefix }));
describeOptionShapes('redisStore on Redis Cluster (3 masters)', () => redisStore({ client: client(), prefix }));

describe('redisStore on Redis Cluster', () => {
  it('keeps each operation in one hash slot while conversations spread over every master', async () => {
    const store = redisStore({ client: client(), prefix });
    const slots = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const key = conversationKey(pageId(String(1000 + i)), psid(String(5000 + 7 * i)));
      await store.recordInbound(key, Date.now(), `m-${i}`);
      const [conv, seen] = await Promise.all([
        client().cluster('KEYSLOT', `${prefix}c:{${key.split(':')[0]}}:${key.split(':')[1]}`) as Promise<number>,
        client().cluster('KEYSLOT', `${prefix}p:{${key.split(':')[0]}}`) as Promise<number>,
      ]);
      expect(seen).toBe(conv);
      slots.add(conv);
      await store.delete(key);
      expect(await store.get(key)).toBeNull();
    }
    const masters = client().nodes('master');
    expect(masters).toHaveLength(3);
    const owners = new Set<number>();
    const shards = (await client().cluster('SHARDS')) as unknown[];
    expect(shards.length).toBe(3);
    for (const slot of slots) owners.add(slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2);
    expect(owners.size).toBe(3);
  });
});
